import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive } from './process-alive.js';

export type StateLock = { acquired: true; release(): Promise<void> } | { acquired: false; heldBy: number };

/**
 * One writer of a project's state at a time: the manager, or a CLI command standing in for it.
 * The lock file names its owner's pid; a lock whose owner is dead (SIGKILL, power cut) is taken over.
 */
export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const file = join(stateDir, 'manager.lock');
  await mkdir(stateDir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      // Written whole, then linked into place: a reader never sees the lock without its pid.
      const draft = `${file}.${process.pid}.tmp`;
      await writeFile(draft, `${process.pid}\n`);
      await link(draft, file).finally(() => unlink(draft).catch(() => undefined));
      return {
        acquired: true,
        release: async () => {
          if ((await ownerOf(file)) === process.pid) await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await ownerOf(file);
    if (owner !== undefined && owner !== process.pid && isProcessAlive(owner)) return { acquired: false, heldBy: owner };
    // Dead or unreadable owner: the file is stale. Two takers race on unlink + wx; one wins.
    await unlink(file).catch(() => undefined);
  }
  return { acquired: false, heldBy: (await ownerOf(file)) ?? 0 };
}

async function ownerOf(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

