import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { defer } from './cleanup.js';
import { sleep } from './time.js';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux builds in practice). */
const ticksPerSecond = 100;

/** utime + stime of a process, in seconds of CPU. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident set size in MB (VmRSS). */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kb / 1024;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A killed child stays a zombie until reaped: that is not alive.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Spawns a child the benchmark owns: registered for cleanup (SIGTERM, then SIGKILL after
 * `graceMs`), so Ctrl-C or a failed scenario never leaves it behind. Returns { child, exited, stop }.
 */
export function spawnOwned(command, args, { env = process.env, cwd, stdio = 'ignore', graceMs = 5_000, label } = {}) {
  const child = spawn(command, args, { env, cwd, stdio });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const stop = defer(label ?? `${command} ${args.join(' ')}`.slice(0, 80), async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited, stop };
}

/** Runs a command to completion; resolves { code, stdout, stderr, ms }. Killed after `timeoutMs`. */
export function run(command, args, { env = process.env, cwd, timeoutMs = 120_000 } = {}) {
  const started = performance.now();
  const { child, exited, stop } = spawnOwned(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], graceMs: 2_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // 'exit' can come before the pipes are drained; a grandchild holding them must not hang us.
  const drained = Promise.all([child.stdout, child.stderr].map((s) => new Promise((resolve) => s.once('close', resolve))));
  const timer = setTimeout(() => void stop(), timeoutMs);
  return exited.then(async ({ code, signal, error }) => {
    const ms = performance.now() - started;
    clearTimeout(timer);
    await Promise.race([drained, sleep(1_000)]);
    await stop();
    if (error) throw error;
    return { code, signal, stdout, stderr, ms };
  });
}
