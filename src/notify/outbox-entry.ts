import { createHash, randomBytes } from 'node:crypto';
import type { NotificationEvent } from './types.js';

/** One pending delivery: `<outbox>/<id>.json`. Times are ISO-8601. */
export interface OutboxEntry {
  /** `msg_...`: the webhook-id (and mail Message-ID), the same on every retry. */
  id: string;
  /** The channel's name. */
  channel: string;
  events: NotificationEvent[];
  createdAt: string;
  /** Failed attempts so far. */
  attempts: number;
  /** Not sent before this; for an open group, when the group closes. */
  nextAttemptAt: string;
  lastError?: string;
}

const idPattern = /^msg_[A-Za-z0-9_-]+$/;

let sequence = 0;

/**
 * Time, then a per-process sequence, so that ids made in one millisecond still sort in creation
 * order (delivery order); random bytes keep ids unique across restarts and processes.
 */
export function newEntryId(now: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `msg_${now.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBytes(8).toString('hex')}`;
}

/** An id that depends only on what the notification is about: the same edge, found twice, is one entry. */
export function keyedEntryId(channel: string, key: string): string {
  return `msg_k${createHash('sha256').update(`${channel}\n${key}`).digest('hex').slice(0, 32)}`;
}

export function newEntry(channel: string, events: NotificationEvent[], now: number, dueAt: number, id = newEntryId(now)): OutboxEntry {
  return { id, channel, events, createdAt: new Date(now).toISOString(), attempts: 0, nextAttemptAt: new Date(dueAt).toISOString() };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isEvent(value: unknown): value is NotificationEvent {
  return isRecord(value) && typeof value.type === 'string' && typeof value.reason === 'string'
    && typeof value.at === 'string' && typeof value.host === 'string';
}

/** The entry a file holds, or undefined when it is not valid JSON of the right shape, or not named after its id. */
export function parseEntry(text: string, idFromName: string): OutboxEntry | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(raw) || raw.id !== idFromName || typeof raw.id !== 'string' || !idPattern.test(raw.id)) return undefined;
  if (typeof raw.channel !== 'string' || !Array.isArray(raw.events) || raw.events.length === 0 || !raw.events.every(isEvent)) return undefined;
  if (!isIsoTime(raw.createdAt) || !isIsoTime(raw.nextAttemptAt)) return undefined;
  if (typeof raw.attempts !== 'number' || !Number.isInteger(raw.attempts) || raw.attempts < 0) return undefined;
  return {
    id: raw.id,
    channel: raw.channel,
    events: raw.events,
    createdAt: raw.createdAt,
    attempts: raw.attempts,
    nextAttemptAt: raw.nextAttemptAt,
    ...(typeof raw.lastError === 'string' && { lastError: raw.lastError }),
  };
}
