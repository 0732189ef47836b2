import type { Clock } from '../core/clock.js';
import type { RetryPolicy } from './backoff.js';
import type { OutboxEntry } from './outbox-entry.js';
import type { ChannelCounts, NotifyLogger } from './outbox.js';
import type { Channel, NotifyConfig } from './types.js';

export interface NotifierOptions {
  /** The outbox directory, `.redundancy/outbox/`. */
  dir: string;
  config: NotifyConfig;
  clock: Clock;
  logger: NotifyLogger;
  host: string;
  /** @default Math.random */
  random?: () => number;
  /** @default defaultRetryPolicy (1 s base, 5 min cap, 24 h) */
  retry?: Partial<RetryPolicy>;
  /** Channels to use instead of those `config.channels` describes (tests). */
  channels?: Channel[];
}

/** Counters since this process started (`failed`: attempts to retry; `dropped`: never attempted). */
export type ChannelStats = ChannelCounts & { disabled: boolean; pending: number };

export interface NotifierStats {
  pending: number;
  /** Lines in dead.jsonl (given up and dropped), earlier runs included. */
  dead: number;
  channels: Record<string, ChannelStats>;
}

/** An outbox entry as `status` shows it. */
export type PendingNotification = Omit<OutboxEntry, 'events'> & { types: string[] };
