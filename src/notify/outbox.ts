import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { RedundancyError, errorMessage } from '../core/errors.js';
import { quarantine, writeFileAtomic } from '../store/atomic-file.js';
import type { Logger } from '../store/logger.js';
import { fullJitterMs, type RetryPolicy } from './backoff.js';
import { parseEntry, type OutboxEntry } from './outbox-entry.js';
import type { DeliveryResult } from './types.js';

export type { OutboxEntry } from './outbox-entry.js';
export type NotifyLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
export type DeliveryCounter = 'sent' | 'failed' | 'dead' | 'dropped';
export type ChannelCounts = Record<DeliveryCounter, number>;

export const DEAD_FILE = 'dead.jsonl';
/** Ids of keyed entries already delivered: the same edge found again after a crash is not sent again. */
export const SENT_FILE = 'sent-keys.txt';
/** Kept of them: an edge is found again within a round or two of the crash, never thousands later. */
const sentKept = 1_000;

/**
 * Notifications not yet delivered, one `<id>.json` file each, written durably before any send
 * and removed once the channel took it. Given up entries go to `dead.jsonl`, one line each.
 * A crash after the channel accepted but before the removal sends that entry once more, with
 * the same id: receivers de-duplicate on `webhook-id` (mail: `Message-ID`).
 */
export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  private readonly counts = new Map<string, ChannelCounts>();
  private deadLines = 0;
  private sentKeys: string[] = [];
  private readonly sentSet = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly logger: NotifyLogger,
  ) {}

  /** Reads the directory: entries left by an earlier run, bad files moved aside (never a crash). */
  async load(now: number): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    for (const name of (await fsp.readdir(this.dir)).sort()) {
      const file = path.join(this.dir, name);
      // A temp file of a write cut short by a crash: the rename never happened, nothing to keep.
      if (name.startsWith('.') && name.endsWith('.tmp')) await fsp.rm(file, { force: true });
      if (!name.endsWith('.json')) continue;
      // An unreadable file (EISDIR, EACCES) is handled like a corrupt one.
      const text = await fsp.readFile(file, 'utf8').catch(() => '');
      const entry = parseEntry(text, name.slice(0, -'.json'.length));
      if (entry) {
        this.entries.set(entry.id, entry);
        continue;
      }
      try {
        const movedTo = await quarantine(file, now);
        this.logger.warn({ file, movedTo }, 'outbox: unreadable notification moved aside');
      } catch (error) {
        this.logger.warn({ file, err: errorMessage(error) }, 'outbox: unreadable notification skipped');
      }
    }
    this.deadLines = await countLines(path.join(this.dir, DEAD_FILE));
    const sent = await fsp.readFile(path.join(this.dir, SENT_FILE), 'utf8').catch(() => '');
    this.sentKeys = sent.split('\n').filter((id) => /^msg_k[0-9a-f]+$/.test(id)).slice(-sentKept);
    for (const id of this.sentKeys) this.sentSet.add(id);
  }

  /** A keyed entry (an edge) delivered before: queuing it again would send it twice. */
  wasSent(id: string): boolean {
    return this.sentSet.has(id);
  }

  /** Pending entries, oldest first. */
  list(): OutboxEntry[] {
    return [...this.entries.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  get(id: string): OutboxEntry | undefined {
    return this.entries.get(id);
  }

  /** Writes (or rewrites) an entry durably; resolves once it would survive a crash. */
  async put(entry: OutboxEntry): Promise<void> {
    await writeFileAtomic(this.fileOf(entry.id), `${JSON.stringify(entry)}\n`, { durable: true });
    this.entries.set(entry.id, entry);
  }

  /** Records a delivery's outcome: removed when sent or given up, rescheduled otherwise. */
  async settle(entry: OutboxEntry, result: DeliveryResult, now: number, policy: RetryPolicy, random: () => number): Promise<void> {
    if (result.ok) {
      if (entry.id.startsWith('msg_k')) await this.rememberSent(entry.id);
      await this.remove(entry.id);
      this.count(entry.channel, 'sent');
      return;
    }
    const attempts = entry.attempts + 1;
    const deadline = Date.parse(entry.createdAt) + policy.maxAgeMs;
    if (result.permanent || now >= deadline) {
      const why = result.permanent ? result.reason : `gave up after ${attempts} attempts: ${result.reason}`;
      await this.bury({ ...entry, attempts }, why, 'dead', now);
      return;
    }
    const wait = Math.max(fullJitterMs(attempts, policy, random), result.retryAfterMs ?? 0);
    // One last attempt at the deadline rather than none after the last backoff.
    const nextAttemptAt = new Date(Math.min(now + wait, deadline)).toISOString();
    await this.put({ ...entry, attempts, nextAttemptAt, lastError: result.reason });
    this.count(entry.channel, 'failed');
  }

  /**
   * Appends the entry to `dead.jsonl` (O_APPEND, fsync), then removes it: a crash between the two
   * tries it once more after the restart and records it twice, never loses it.
   */
  async bury(entry: OutboxEntry, reason: string, counter: 'dead' | 'dropped', now: number): Promise<void> {
    const line = JSON.stringify({ ...entry, lastError: reason, result: counter, deadAt: new Date(now).toISOString() });
    const handle = await fsp.open(path.join(this.dir, DEAD_FILE), 'a');
    try {
      await handle.write(`${line}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.deadLines += 1;
    await this.remove(entry.id);
    this.count(entry.channel, counter);
  }

  /** Lines in `dead.jsonl`, this run's and earlier runs'. */
  deadCount(): number {
    return this.deadLines;
  }

  countsOf(channel: string): ChannelCounts {
    return { ...(this.counts.get(channel) ?? { sent: 0, failed: 0, dead: 0, dropped: 0 }) };
  }

  count(channel: string, counter: DeliveryCounter, n = 1): void {
    const counts = this.counts.get(channel) ?? { sent: 0, failed: 0, dead: 0, dropped: 0 };
    counts[counter] += n;
    this.counts.set(channel, counts);
  }

  /** Before the entry's file goes: a crash in between leaves both, and the entry is sent once more (same id). */
  private async rememberSent(id: string): Promise<void> {
    this.sentKeys.push(id);
    this.sentSet.add(id);
    if (this.sentKeys.length > 2 * sentKept) {
      for (const old of this.sentKeys.splice(0, this.sentKeys.length - sentKept)) this.sentSet.delete(old);
      await writeFileAtomic(path.join(this.dir, SENT_FILE), `${this.sentKeys.join('\n')}\n`);
      return;
    }
    await fsp.appendFile(path.join(this.dir, SENT_FILE), `${id}\n`);
  }

  private async remove(id: string): Promise<void> {
    await fsp.rm(this.fileOf(id), { force: true });
    this.entries.delete(id);
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

async function countLines(file: string): Promise<number> {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.split('\n').filter((line) => line.trim() !== '').length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new RedundancyError('IO', `${file}: read failed: ${errorMessage(error)}`, { cause: error });
  }
}
