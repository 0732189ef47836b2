import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../core/errors.js';
import { defaultRetryPolicy, type RetryPolicy } from './backoff.js';
import { makeChannel } from './channels/make-channel.js';
import { DueTimer } from './due-timer.js';
import type { ChannelStats, NotifierOptions, NotifierStats, PendingNotification } from './notifier-types.js';
import { keyedEntryId, newEntry, type OutboxEntry } from './outbox-entry.js';
import { Outbox } from './outbox.js';
import type { Channel, DeliveryResult, NotificationEvent } from './types.js';

export type { ChannelStats, NotifierOptions, NotifierStats, PendingNotification } from './notifier-types.js';

/**
 * Durable notification delivery. `notify()` writes the outbox and returns; a timer delivers,
 * one entry at a time per channel, oldest first. Slack and email group a burst: the first event
 * opens a group entry due `groupWaitMs` later and later events are appended to that same file
 * (rewritten atomically) until it is due, so a crash during groupWait loses nothing already notified.
 * Crash windows: killed before the write resolves, the events are lost (persist edge memory only
 * after `notify()` resolved, and the edge is found again); killed after the channel accepted but
 * before the file is removed, the entry goes out once more with the same id.
 */
export class Notifier {
  private readonly outbox: Outbox;
  private readonly channels: Map<string, Channel>;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly disabled = new Set<string>();
  private readonly busy = new Set<string>();
  private readonly openGroups = new Map<string, string>();
  private readonly writing = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly timer = new DueTimer(() => this.pump());
  private started = false;
  private closed = false;
  /** While closing with a flush: entries never tried go out without waiting for their group. */
  private flushing = false;

  constructor(private readonly opts: NotifierOptions) {
    this.outbox = new Outbox(opts.dir, opts.logger);
    const channels = opts.channels ?? opts.config.channels.map((c) => makeChannel(c, opts.clock));
    this.channels = new Map(channels.map((c) => [c.name, c]));
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.random = opts.random ?? Math.random;
  }

  /** Loads what an earlier run left in the outbox and starts delivering. Never throws. */
  async start(): Promise<void> {
    await this.serial(async () => {
      const now = this.opts.clock.now();
      await this.outbox.load(now);
      for (const entry of this.outbox.list()) {
        if (!this.channels.has(entry.channel)) await this.outbox.bury(entry, `channel ${entry.channel} is not configured`, 'dropped', now);
      }
    });
    this.started = true;
    this.pump();
  }

  /**
   * Queues events durably; resolves once written (or the failure logged). Never throws, never waits
   * for a delivery. `keys` (one per event) name what each is about: a one-event delivery for a key
   * already queued or sent before is the same entry, with the same id.
   */
  notify(events: NotificationEvent[], keys?: readonly string[]): Promise<void> {
    // Written even after close(): the next start delivers it.
    if (events.length === 0) return Promise.resolve();
    return this.serial(() => this.enqueue(events, keys)).then(() => this.pump());
  }

  /**
   * Stops delivering and waits for deliveries in flight; undelivered entries stay on disk. With
   * `flushMs`, first gives entries never tried (open groups included: a manager-stop) that long to go out.
   */
  async close(opts: { flushMs?: number } = {}): Promise<void> {
    const until = performance.now() + (opts.flushMs ?? 0);
    this.flushing = (opts.flushMs ?? 0) > 0 && this.started && !this.closed;
    await this.chain;
    this.pump();
    // A channel whose oldest entry is failing already is not waited for.
    while (this.flushing && performance.now() < until && this.heads().some((e) => e.attempts === 0)) {
      await Promise.race([...this.inFlight, sleep(Math.min(20, until - performance.now()))]);
    }
    this.closed = true;
    this.timer.cancel();
    await Promise.all([...this.inFlight]);
    await this.chain;
  }

  stats(): NotifierStats {
    const pending = this.outbox.list();
    const channels = Object.fromEntries([...this.channels.keys()].map((name): [string, ChannelStats] => [name,
      { ...this.outbox.countsOf(name), disabled: this.disabled.has(name), pending: pending.filter((e) => e.channel === name).length }]));
    return { pending: pending.length, dead: this.outbox.deadCount(), channels };
  }

  pending(): PendingNotification[] {
    return this.outbox.list().map(({ events, ...e }) => ({ ...e, types: events.map((ev) => ev.type) }));
  }

  private async enqueue(events: NotificationEvent[], keys: readonly string[] | undefined): Promise<void> {
    const now = this.opts.clock.now();
    await Promise.all([...this.channels.values()].map(async (channel) => {
      if (this.disabled.has(channel.name)) return this.outbox.count(channel.name, 'dropped', channel.groups ? 1 : events.length);
      try {
        if (!channel.groups) {
          await Promise.all(events.map((event, i) => {
            const key = keys?.[i];
            const id = key === undefined ? undefined : keyedEntryId(channel.name, key);
            if (id !== undefined && (this.outbox.get(id) || this.outbox.wasSent(id))) return undefined;
            return this.outbox.put(newEntry(channel.name, [event], now, now, id));
          }));
        } else if (this.opts.config.groupWaitMs <= 0) {
          await this.outbox.put(newEntry(channel.name, events, now, now));
        } else {
          await this.addToGroup(channel.name, events, now);
        }
      } catch (error) {
        this.outbox.count(channel.name, 'dropped');
        this.opts.logger.error({ channel: channel.name, events, err: errorMessage(error) }, 'notification not queued: outbox write failed');
      }
    }));
  }

  private async addToGroup(channel: string, events: NotificationEvent[], now: number): Promise<void> {
    const open = this.outbox.get(this.openGroups.get(channel) ?? '');
    // Still open: not due yet and never handed to the channel (delivery seals it, see deliver()).
    if (open && now < Date.parse(open.nextAttemptAt)) {
      // Not delivered while rewritten: the copy sent must be the one with these events.
      this.writing.add(open.id);
      await this.outbox.put({ ...open, events: [...open.events, ...events] }).finally(() => this.writing.delete(open.id));
      return;
    }
    const entry = newEntry(channel, events, now, now + this.opts.config.groupWaitMs);
    this.openGroups.set(channel, entry.id);
    await this.outbox.put(entry);
  }

  /** Starts every due delivery (the oldest entry of each idle channel) and arms the timer for the next. */
  private pump(): void {
    if (!this.started || this.closed) return;
    const now = this.opts.clock.now();
    let next = Infinity;
    for (const entry of this.heads()) {
      if (this.busy.has(entry.channel) || this.writing.has(entry.id)) continue;
      const due = this.flushing && entry.attempts === 0 ? now : Date.parse(entry.nextAttemptAt);
      if (due <= now) this.deliver(entry);
      else next = Math.min(next, due);
    }
    if (next < Infinity) this.timer.arm(next, now);
  }

  /** The oldest entry of each enabled channel: a channel delivers in order, one at a time. */
  private heads(): OutboxEntry[] {
    const heads = new Map<string, OutboxEntry>();
    for (const entry of this.outbox.list()) {
      if (!heads.has(entry.channel) && !this.disabled.has(entry.channel)) heads.set(entry.channel, entry);
    }
    return [...heads.values()];
  }

  private deliver(entry: OutboxEntry): void {
    const channel = this.channels.get(entry.channel)!;
    this.busy.add(channel.name);
    if (this.openGroups.get(channel.name) === entry.id) this.openGroups.delete(channel.name);
    const task = this.attempt(channel, entry)
      .catch((error: unknown) => this.opts.logger.error({ channel: channel.name, id: entry.id, err: errorMessage(error) }, 'notification outbox update failed'))
      .finally(() => {
        this.busy.delete(channel.name);
        this.inFlight.delete(task);
        this.pump();
      });
    this.inFlight.add(task);
  }

  private async attempt(channel: Channel, entry: OutboxEntry): Promise<void> {
    const result: DeliveryResult = await channel.send(entry.events, { id: entry.id })
      .catch((error: unknown) => ({ ok: false, permanent: false, reason: `channel threw: ${errorMessage(error)}` }));
    const now = this.opts.clock.now();
    await this.outbox.settle(entry, result, now, this.retry, this.random);
    const log = { channel: channel.name, id: entry.id, attempts: entry.attempts + 1, types: entry.events.map((e) => e.type) };
    if (result.ok) return this.opts.logger.debug(log, 'notification delivered');
    if (result.disable) return this.serial(() => this.disable(channel.name, result.reason, now));
    const gone = result.permanent || !this.outbox.get(entry.id);
    // A receiver down for hours must not flood the log: the first failure and the end are enough.
    if (gone || entry.attempts === 0) this.opts.logger.warn({ ...log, reason: result.reason }, gone ? 'notification given up (dead.jsonl)' : 'notification delivery failed; retrying');
  }

  /** 410: the endpoint is gone. Its pending entries go to dead.jsonl; new events are dropped until a restart. */
  private async disable(channel: string, reason: string, now: number): Promise<void> {
    this.disabled.add(channel);
    this.openGroups.delete(channel);
    this.opts.logger.warn({ channel, reason }, 'notification channel disabled');
    for (const entry of this.outbox.list()) {
      if (entry.channel === channel) await this.outbox.bury(entry, `channel disabled: ${reason}`, 'dropped', now);
    }
  }

  /** Runs outbox mutations one after another; a failure is logged, never thrown. */
  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work).catch((error: unknown) => {
      this.opts.logger.error({ err: errorMessage(error) }, 'notification outbox failed');
    });
    this.chain = run;
    return run;
  }
}
