import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc times (USER_HZ), as in proc.js. */
const ticksPerSecond = 100;

/**
 * CPU seconds (utime + stime) of each live thread of a process, by thread id. The thread whose id
 * is the pid is the main (JavaScript) thread; Node's others are V8's platform workers (parallel and
 * concurrent GC, compilation) and libuv's pool (fs calls), which Node 20 leaves unnamed.
 */
export function threadCpuSeconds(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid] = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** % of one core of the main thread and of all other threads between two `threadCpuSeconds` readings. */
export function threadSplitPercent(pid, before, after, seconds) {
  let main = 0;
  let others = 0;
  for (const [tid, s] of Object.entries(after)) {
    const used = s - (before[tid] ?? 0);
    if (Number(tid) === pid) main += used;
    else others += used;
  }
  return { main: (main / seconds) * 100, otherThreads: (others / seconds) * 100 };
}
