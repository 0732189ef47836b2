import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireStateLock } from './state-lock.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redundancy-lock-'));
  dirs.push(dir);
  return dir;
}

describe('acquireStateLock', () => {
  it('lets one writer in and names it to the next; release frees it', async () => {
    const dir = await stateDir();
    const first = await acquireStateLock(dir);
    expect(first.acquired).toBe(true);
    expect(await readFile(join(dir, 'manager.lock'), 'utf8')).toBe(`${process.pid}\n`);
    // Another live process holds it.
    const child = execa('node', ['-e', 'setTimeout(() => {}, 10_000)']);
    await writeFile(join(dir, 'manager.lock'), `${child.pid}\n`);
    expect(await acquireStateLock(dir)).toEqual({ acquired: false, heldBy: child.pid });
    child.kill();
    await child.catch(() => undefined);
    // Its owner is dead now: the lock is stale and taken over.
    const taken = await acquireStateLock(dir);
    expect(taken.acquired).toBe(true);
    if (taken.acquired) await taken.release();
    await expect(readFile(join(dir, 'manager.lock'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock file that names no pid', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, 'manager.lock'), 'garbage');
    expect((await acquireStateLock(dir)).acquired).toBe(true);
  });
});
