import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedundancyError } from '../core/errors.js';
import { quarantine, readJsonFile, writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';

const isRoot = process.getuid?.() === 0;
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redundancy-atomic-'));
});

afterEach(async () => {
  await fs.chmod(dir, 0o755).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

async function tempFilesIn(folder: string): Promise<string[]> {
  return (await fs.readdir(folder)).filter((name) => name.endsWith('.tmp'));
}

describe('writeFileAtomic', () => {
  it('creates missing directories and replaces an existing file', async () => {
    const file = path.join(dir, 'a', 'b', 'state.json');
    await writeFileAtomic(file, 'first');
    await writeFileAtomic(file, 'second');
    expect(await fs.readFile(file, 'utf8')).toBe('second');
    expect(await tempFilesIn(path.dirname(file))).toEqual([]);
  });

  it('ends 50 concurrent writes with one complete file and no temp files', async () => {
    const file = path.join(dir, 'race.json');
    const payloads = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ writer: i, filler: 'x'.repeat(1000 + i * 37) }),
    );
    await Promise.all(payloads.map((data) => writeFileAtomic(file, data)));
    const text = await fs.readFile(file, 'utf8');
    expect(() => JSON.parse(text)).not.toThrow();
    expect(payloads).toContain(text);
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it('throws IO naming the path when the directory cannot be created', async () => {
    // A regular file where a directory should be fails for root too.
    await fs.writeFile(path.join(dir, 'blocker'), '');
    const file = path.join(dir, 'blocker', 'state.json');
    const error = await writeFileAtomic(file, '{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedundancyError);
    expect((error as RedundancyError).code).toBe('IO');
    expect((error as RedundancyError).message).toContain(`${file}: write failed:`);
    expect((error as RedundancyError).cause).toBeDefined();
  });

  it.skipIf(isRoot)('throws IO in a read-only directory and leaves nothing behind', async () => {
    const file = path.join(dir, 'state.json');
    await fs.writeFile(file, 'old');
    await fs.chmod(dir, 0o555);
    const error = await writeFileAtomic(file, 'new').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedundancyError);
    expect((error as RedundancyError).code).toBe('IO');
    expect(await fs.readFile(file, 'utf8')).toBe('old');
    expect(await tempFilesIn(dir)).toEqual([]);
  });
});

describe('writeFileAtomicSync', () => {
  it('writes and replaces synchronously without temp files', async () => {
    const file = path.join(dir, 'sub', 'state.json');
    writeFileAtomicSync(file, 'one');
    writeFileAtomicSync(file, 'two');
    expect(await fs.readFile(file, 'utf8')).toBe('two');
    expect(await tempFilesIn(path.dirname(file))).toEqual([]);
  });

  it('throws IO when the target cannot be written', async () => {
    await fs.writeFile(path.join(dir, 'blocker'), '');
    expect(() => writeFileAtomicSync(path.join(dir, 'blocker', 'x.json'), '{}')).toThrow(/write failed/);
  });
});

describe('readJsonFile', () => {
  it('tells missing, ok and corrupt apart', async () => {
    const file = path.join(dir, 'x.json');
    expect(await readJsonFile(file)).toEqual({ kind: 'missing' });
    await fs.writeFile(file, '{"a":1}');
    expect(await readJsonFile(file)).toEqual({ kind: 'ok', value: { a: 1 } });
    await fs.writeFile(file, '{"a":');
    const corrupt = await readJsonFile(file);
    expect(corrupt.kind).toBe('corrupt');
    expect(corrupt.kind === 'corrupt' && corrupt.error.length).toBeGreaterThan(0);
  });

  it('throws IO for a failure other than a missing file', async () => {
    await expect(readJsonFile(dir)).rejects.toMatchObject({ code: 'IO' });
  });
});

describe('quarantine', () => {
  it('moves the file aside under a time-stamped name without colons', async () => {
    const file = path.join(dir, 'state.json');
    await fs.writeFile(file, 'bad');
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
    const kept = await quarantine(file, now);
    expect(kept).toBe(`${file}.corrupt-2025-01-02T03-04-05.006Z`);
    expect(await fs.readFile(kept, 'utf8')).toBe('bad');
    await expect(fs.access(file)).rejects.toThrow();

    await fs.writeFile(file, 'worse');
    const second = await quarantine(file, now);
    expect(second).toBe(`${kept}-1`);
    expect(await fs.readFile(kept, 'utf8')).toBe('bad');
  });

  it('throws IO when the file is not there', async () => {
    await expect(quarantine(path.join(dir, 'nope.json'), 0)).rejects.toMatchObject({ code: 'IO' });
  });
});
