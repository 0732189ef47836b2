import { hostname } from 'node:os';
import { isProcessAlive } from '../store/process-alive.js';
import type { Destination } from './destination.js';

export const lockName = '.mirror.lock';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** `<pid> <host> <ISO time>`: enough to tell whether the holder still lives. */
export function lockText(holder: LockHolder): string {
  return `${holder.pid} ${holder.host} ${holder.since}`;
}

export function parseLock(text: string): LockHolder | undefined {
  const m = /^(\d+) (\S+) (\S+)$/.exec(text.trim());
  return m ? { pid: Number(m[1]), host: m[2]!, since: m[3]! } : undefined;
}

/** Pure: a lock is stale when its holder was on this host and is gone; one from another host cannot be checked from here. */
export function lockIsStale(holder: LockHolder | undefined, host: string, isAlive: (pid: number) => boolean): boolean {
  if (holder === undefined) return true;
  return holder.host === host && !isAlive(holder.pid);
}

export type LockResult = { held: true; tookOver?: LockHolder } | { held: false; holder: LockHolder | undefined; reason: string };

/**
 * Takes the destination's lock file with O_EXCL (`set -C`). A stale lock is moved aside under a
 * name only this process uses, and taken over only if what was moved is the stale lock seen: two
 * mirrors taking over at once cannot both win.
 */
export async function acquireLock(dest: Destination, self: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() }): Promise<LockResult> {
  const mine = lockText(self);
  let tookOver: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await dest.must('taking the lock', 'cd -- "$1" && if (set -C; printf "%s\\n" "$2" > "$3") 2>/dev/null; then echo acquired; else echo held; cat -- "$3" 2>/dev/null; fi', mine, lockName);
    const [state, ...rest] = r.split('\n');
    if (state === 'acquired') return { held: true, ...(tookOver && { tookOver }) };
    const text = rest.join('\n').trim();
    const holder = parseLock(text);
    if (!lockIsStale(holder, self.host, isProcessAlive)) {
      return { held: false, holder, reason: `${dest.label} is locked by pid ${holder!.pid} on ${holder!.host} since ${holder!.since} (${lockName})` };
    }
    const aside = `${lockName}.stale-${self.pid}`;
    const moved = await dest.sh('cd -- "$1" && mv -T -- "$2" "$3" && cat -- "$3"', lockName, aside);
    if (moved.code !== 0) continue; // someone else moved it first: look again
    if (moved.stdout.trim() === text) {
      await dest.sh('cd -- "$1" && rm -f -- "$2"', aside);
      tookOver = holder;
      continue;
    }
    // Not the lock seen: a fresh one taken in between. Put it back unless another is there already.
    await dest.sh('cd -- "$1" && if [ -e "$3" ]; then rm -f -- "$2"; else mv -T -- "$2" "$3"; fi', aside, lockName);
  }
  return { held: false, holder: undefined, reason: `${dest.label}: could not take ${lockName} (contended)` };
}

/** Removes the lock if it is still this process's. */
export async function releaseLock(dest: Destination, self: LockHolder): Promise<void> {
  await dest.sh('cd -- "$1" && if [ "$(cat -- "$3" 2>/dev/null)" = "$2" ]; then rm -f -- "$3"; fi', lockText(self), lockName);
}
