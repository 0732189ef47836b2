import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { RedundancyError, errorMessage } from '../core/errors.js';
import type { LedgerEvent } from '../core/schedule/ledger-event.js';

export type { LedgerEvent };

export interface LedgerOptions {
  /** Folder of the ledger files, normally `.redundancy/ledger`. */
  dir: string;
  /** Size at which a unit's current file is rotated. @default 1048576 */
  maxBytes?: number;
  /** Rotated files kept per unit, besides the current one. @default 3 */
  keep?: number;
  /** The fencing token every line carries when hosts are configured (undefined: none). */
  epoch?: () => number | undefined;
}

export interface LedgerRead {
  events: LedgerEvent[];
  /** One line per corrupt or truncated line skipped, naming file and line number. */
  warnings: string[];
}

/** Makes every rotated name unique, with the time and the pid, even for rotations in one millisecond. */
let rotateCounter = 0;

/** `cron:backup` -> `cron_backup.jsonl`. Two ids may share a file; each line keeps its exact id. */
export function ledgerFileName(unit: string): string {
  return `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`;
}

export function newRunId(): string {
  return randomUUID();
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function ioError(file: string, what: string, cause: unknown): RedundancyError {
  return new RedundancyError('IO', `${file}: ${what}: ${errorMessage(cause)}`, { cause });
}

/**
 * Appends `text` (one line) to `file` in a single write(2) on an O_APPEND descriptor, so writers in
 * many processes never interleave; makes the directory on first use. Resolves with the file's size after.
 */
export async function appendWholeLine(file: string, text: string): Promise<fs.Stats> {
  const line = Buffer.from(text);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'a').catch(async (error: unknown) => {
      if (!isMissing(error)) throw error;
      await fsp.mkdir(path.dirname(file), { recursive: true });
      return fsp.open(file, 'a');
    });
  } catch (error) {
    throw ioError(file, 'append failed', error);
  }
  try {
    const { bytesWritten } = await handle.write(line);
    if (bytesWritten !== line.length) throw new Error(`short write, ${bytesWritten} of ${line.length} bytes`);
    return await handle.stat();
  } catch (error) {
    throw ioError(file, 'append failed', error);
  } finally {
    await handle.close();
  }
}

/**
 * The run ledger: one append-only JSON-lines file per unit. Each append opens the file with
 * O_APPEND and writes its whole line in one write(2), so writers in many processes never
 * interleave. Rotation renames the file to a unique name `<file>.<ms>-<pid>-<n>` (no shifting of
 * `.1`, `.2`: two processes rotating at once would overwrite each other's file); a writer that
 * opened the old inode just before finishes its line into the rotated file, which `read` reads too.
 */
export class Ledger {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(opts: LedgerOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.keep = opts.keep ?? 3;
    this.epoch = opts.epoch;
  }

  private readonly epoch: (() => number | undefined) | undefined;

  private lineOf(event: LedgerEvent): Buffer {
    const epoch = this.epoch?.();
    return Buffer.from(`${JSON.stringify(epoch === undefined || event.epoch !== undefined ? event : { ...event, epoch })}\n`);
  }

  fileFor(unit: string): string {
    return path.join(this.dir, ledgerFileName(unit));
  }

  /** Appends one line; rejects with IO when the line could not be written (or rotation failed after it). */
  async append(event: LedgerEvent): Promise<void> {
    const file = this.fileFor(event.unit);
    const stat = await appendWholeLine(file, this.lineOf(event).toString());
    if (stat.size < this.maxBytes) return;
    try {
      await this.rotate(file, stat);
    } catch (error) {
      throw ioError(file, 'line written, rotation failed', error);
    }
  }

  /** Same as `append`, for a signal handler or an exit path that cannot wait. */
  appendSync(event: LedgerEvent): void {
    const file = this.fileFor(event.unit);
    const line = this.lineOf(event);
    let fd: number;
    try {
      try {
        fd = fs.openSync(file, 'a');
      } catch (error) {
        if (!isMissing(error)) throw error;
        fs.mkdirSync(this.dir, { recursive: true });
        fd = fs.openSync(file, 'a');
      }
    } catch (error) {
      throw ioError(file, 'append failed', error);
    }
    let stat: fs.Stats;
    try {
      const written = fs.writeSync(fd, line);
      if (written !== line.length) throw new Error(`short write, ${written} of ${line.length} bytes`);
      stat = fs.fstatSync(fd);
    } catch (error) {
      throw ioError(file, 'append failed', error);
    } finally {
      fs.closeSync(fd);
    }
    if (stat.size < this.maxBytes) return;
    try {
      this.rotateSync(file, stat);
    } catch (error) {
      throw ioError(file, 'line written, rotation failed', error);
    }
  }

  /**
   * The unit's events, oldest file first. With `sinceMs`, rotated files last written before it are
   * not read and older events are left out. Lines of other units sharing the file are left out.
   */
  async read(unit: string, opts: { sinceMs?: number } = {}): Promise<LedgerRead> {
    const file = this.fileFor(unit);
    // A rotation between listing and reading moves lines out of the current file: list again and
    // start over when the rotated set changed (bounded; the last pass is returned as it is).
    for (let pass = 0; ; pass += 1) {
      const before = await this.rotatedFiles(file);
      const result: LedgerRead = { events: [], warnings: [] };
      for (const name of [...before, file]) await this.readFile(name, unit, opts.sinceMs, name !== file, result);
      const after = await this.rotatedFiles(file);
      if (pass >= 2 || after.join('\n') === before.join('\n')) return result;
    }
  }

  private async readFile(file: string, unit: string, sinceMs: number | undefined, rotated: boolean, into: LedgerRead): Promise<void> {
    let text: string;
    try {
      if (rotated && sinceMs !== undefined && (await fsp.stat(file)).mtimeMs < sinceMs) return;
      text = await fsp.readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return; // pruned or never written
      throw ioError(file, 'read failed', error);
    }
    const { events, warnings } = parseLines(text, file);
    into.warnings.push(...warnings);
    for (const event of events) {
      if (event.unit === unit && (sinceMs === undefined || event.at >= sinceMs)) into.events.push(event);
    }
  }

  /** Rotated files of `file`, oldest first. */
  private async rotatedFiles(file: string): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw ioError(this.dir, 'read failed', error);
    }
    return rotatedOf(file, names);
  }

  private async rotate(file: string, written: fs.Stats): Promise<void> {
    const current = await fsp.stat(file).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error)));
    // Another writer rotated this inode already: the path is a new file, or gone.
    if (current === undefined || current.ino !== written.ino || current.dev !== written.dev) return;
    try {
      await fsp.rename(file, rotatedName(file));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const all = rotatedOf(file, await fsp.readdir(this.dir));
    await Promise.all(all.slice(0, Math.max(0, all.length - this.keep)).map((old) => fsp.rm(old, { force: true })));
  }

  private rotateSync(file: string, written: fs.Stats): void {
    let current: fs.Stats | undefined;
    try {
      current = fs.statSync(file);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    if (current.ino !== written.ino || current.dev !== written.dev) return;
    try {
      fs.renameSync(file, rotatedName(file));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const all = rotatedOf(file, fs.readdirSync(this.dir));
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) fs.rmSync(old, { force: true });
  }
}

function rotatedName(file: string): string {
  rotateCounter += 1;
  return `${file}.${String(Date.now()).padStart(13, '0')}-${process.pid}-${rotateCounter}`;
}

/** Paths of the rotated files of `file` among `names` (a folder listing), oldest first. */
function rotatedOf(file: string, names: string[]): string[] {
  const prefix = `${path.basename(file)}.`;
  const stamps: Array<{ name: string; key: number[] }> = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d{13})-(\d+)-(\d+)$/.exec(name.slice(prefix.length));
    if (match) stamps.push({ name, key: match.slice(1).map(Number) });
  }
  stamps.sort((a, b) => a.key[0]! - b.key[0]! || a.key[1]! - b.key[1]! || a.key[2]! - b.key[2]!);
  return stamps.map(({ name }) => path.join(path.dirname(file), name));
}

const sides = new Set(['primary', 'twin']);
const kinds = new Set(['start', 'end', 'skipped', 'interrupted']);
const isNumberOrNull = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));
const isOptional = (v: unknown, type: 'string' | 'number'): boolean => v === undefined || typeof v === type;

/** The event if `value` has the shape of one, else undefined. */
function asEvent(value: unknown): LedgerEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  const ok =
    typeof e['run'] === 'string' && e['run'] !== '' && typeof e['unit'] === 'string' &&
    sides.has(e['side'] as string) && kinds.has(e['event'] as string) &&
    typeof e['at'] === 'number' && Number.isFinite(e['at']) &&
    isNumberOrNull(e['slot']) && isNumberOrNull(e['pid']) && isNumberOrNull(e['exitCode']) &&
    (e['signal'] === null || typeof e['signal'] === 'string') && isNumberOrNull(e['durationMs']) &&
    typeof e['host'] === 'string' && isOptional(e['reason'], 'string') &&
    isOptional(e['attempt'], 'number') && isOptional(e['epoch'], 'number');
  return ok ? (value as LedgerEvent) : undefined;
}

/** Events of one file's text; each bad line is skipped with one warning. */
function parseLines(text: string, file: string): LedgerRead {
  const result: LedgerRead = { events: [], warnings: [] };
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const event = asEvent(value);
    if (event !== undefined) {
      result.events.push(event);
    } else {
      // Only the last piece can lack its newline: a write cut short, or one still under way.
      const what = i === lines.length - 1 ? 'truncated line' : value === undefined ? 'invalid JSON' : 'not a ledger event';
      result.warnings.push(`${file}:${i + 1}: ${what}, skipped`);
    }
  });
  return result;
}
