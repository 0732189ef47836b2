import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { RedundancyError, errorMessage } from '../core/errors.js';

/** Per-process counter: with the pid it makes every temp name unique, even for concurrent writes. */
let tempCounter = 0;

function tempPathFor(file: string): string {
  tempCounter += 1;
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tempCounter}.tmp`);
}

/**
 * Some platforms and file systems refuse to open or fsync a directory (EACCES: a write-only
 * directory cannot be opened for reading); durability there is best effort, the rename is done.
 */
const dirSyncRefusals = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EACCES']);

function isDirSyncRefusal(error: unknown): boolean {
  return dirSyncRefusals.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

function writeFailed(file: string, cause: unknown): RedundancyError {
  return new RedundancyError('IO', `${file}: write failed: ${errorMessage(cause)}`, { cause });
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!isDirSyncRefusal(error)) throw error;
  } finally {
    await handle?.close();
  }
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    if (!isDirSyncRefusal(error)) throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Replaces `file` with `data` so that a reader (or a crash) sees either the old or the new
 * content, never a mix: temp file in the same directory, fsync, rename, fsync the directory.
 * `durable: false` skips the fsyncs, for a file rewritten every few seconds from what the
 * process holds anyway (the health report): readers still never see a mix.
 */
export async function writeFileAtomic(file: string, data: string, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable !== false;
  const dir = path.dirname(file);
  const temp = tempPathFor(file);
  try {
    await fsp.mkdir(dir, { recursive: true });
    const handle = await fsp.open(temp, 'wx');
    try {
      await handle.writeFile(data, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
    if (durable) await fsyncDir(dir);
  } catch (error) {
    // After a successful rename the temp name is gone and `force` makes this a no-op; a failed
    // cleanup is not reported because the write error below is the one that matters.
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw writeFailed(file, error);
  }
}

/** Same as `writeFileAtomic`, for paths that cannot wait (a SIGTERM handler about to exit). */
export function writeFileAtomicSync(file: string, data: string): void {
  const dir = path.dirname(file);
  const temp = tempPathFor(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(temp, 'wx');
    try {
      fs.writeFileSync(fd, data, 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    fsyncDirSync(dir);
  } catch (error) {
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      // The write error below is the one that matters; a leftover temp file is harmless.
    }
    throw writeFailed(file, error);
  }
}

export type JsonReadResult =
  | { kind: 'missing' }
  | { kind: 'ok'; value: unknown }
  | { kind: 'corrupt'; error: string };

/** Reads and parses a JSON file. A missing file and bad JSON are results; any other I/O failure throws IO. */
export async function readJsonFile(file: string): Promise<JsonReadResult> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new RedundancyError('IO', `${file}: read failed: ${errorMessage(error)}`, { cause: error });
  }
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch (error) {
    return { kind: 'corrupt', error: errorMessage(error) };
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves a bad file aside as `<file>.corrupt-<ISO time, ':' as '-'>` (a `-<n>` suffix if that name
 * is taken) so that it can be inspected later; returns the new path.
 */
export async function quarantine(file: string, now: number): Promise<string> {
  const base = `${file}.corrupt-${new Date(now).toISOString().replace(/:/g, '-')}`;
  let target = base;
  for (let n = 1; await exists(target); n += 1) target = `${base}-${n}`;
  try {
    await fsp.rename(file, target);
  } catch (error) {
    throw new RedundancyError('IO', `${file}: quarantine failed: ${errorMessage(error)}`, { cause: error });
  }
  return target;
}
