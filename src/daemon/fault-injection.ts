import { writeSync } from 'node:fs';
import type { Effect } from '../core/failover.js';
import type { KindRuntime } from '../core/kind.js';
import type { ProcessManager } from '../core/ports.js';

type Pm2Operation = 'start' | 'stop' | 'register' | 'remove';
type EffectName = Effect['type'];
type Operation = Pm2Operation | EffectName;
type When = 'before' | 'after';

/** Which mutating PM2 call to die around: by operation and app, or by its rank among all of them; or none, only saying each. */
type KillPoint = { when: When; operation: Operation; target: string } | { when: When; call: number } | { trace: true };

/**
 * Crash testing; unset in normal use. `REDUNDANCY_FAULT` SIGKILLs this process around one PM2 call,
 * the way a power cut would:
 * - `kill-before:<op>:<app>` / `kill-after:<op>:<app>`: around `<op>` (start, stop, register, remove) of `<app>`;
 * - `kill-before:<effect>:<unit>` / `kill-after:...`: around one effect of any kind's unit (see withEffectFault);
 * - `kill-random:<seed>:<max>`: around the n-th mutating call of this process, n in 1..max and
 *   before or after, both drawn from the seed, so a seed replays the same kill point;
 * - `trace`: kills nothing, writes every mutating call to stderr (to count the kill points).
 * The kill point is written to stderr just before the kill. An unknown value injects nothing.
 */
export function withInjectedFault(pm: ProcessManager, fault: string | undefined): ProcessManager {
  const point = parseFault(fault);
  if (!point) return pm;
  const kill = 'trace' in point ? undefined : point;
  let calls = 0;
  const say = (text: string) => writeSync(2, `redundancy fault: ${text} [${fault}]\n`);
  const die = (when: When, operation: Operation, name: string): never => {
    // Synchronous: nothing may be left in a buffer when the kill lands.
    say(`SIGKILL ${when} call ${calls} (${operation} ${name})`);
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  const wrap = <A extends unknown[]>(operation: Operation, name: (...args: A) => string, call: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      calls += 1;
      if (!kill) say(`call ${calls} (${operation} ${name(...args)})`);
      const hit = kill && ('call' in kill ? kill.call === calls : kill.operation === operation && kill.target === name(...args));
      if (hit && kill.when === 'before') die('before', operation, name(...args));
      await call(...args);
      if (hit && kill.when === 'after') die('after', operation, name(...args));
    };
  return {
    list: () => pm.list(),
    view: (name) => pm.view(name),
    onEvent: (listener) => pm.onEvent(listener),
    close: () => pm.close(),
    start: wrap('start', (spec) => spec.name, (spec) => pm.start(spec)),
    register: wrap('register', (spec) => spec.name, (spec) => pm.register(spec)),
    stop: wrap('stop', (name) => name, (name) => pm.stop(name)),
    remove: wrap('remove', (name) => name, (name) => pm.remove(name)),
  };
}

/**
 * The same kill points around the effects of every kind's units (`kill-after:start-twin:cron:backup`):
 * a crash of the manager between a durable decision and its effects, whatever the kind.
 */
export function withEffectFault(kinds: readonly KindRuntime[], fault: string | undefined): void {
  const point = parseFault(fault);
  if (!point || !('operation' in point) || !effectNames.includes(point.operation as EffectName)) return;
  for (const kind of kinds) {
    for (const driver of kind.drivers) {
      if (driver.unit.id !== point.target) continue;
      const run = driver.run.bind(driver);
      driver.run = async (effect, record) => {
        const hit = effect.type === point.operation;
        if (hit && point.when === 'before') killSelf(`SIGKILL before ${effect.type} of ${point.target} [${fault}]`);
        const outcome = await run(effect, record);
        if (hit && point.when === 'after') killSelf(`SIGKILL after ${effect.type} of ${point.target} [${fault}]`);
        return outcome;
      };
    }
  }
}

const effectNames: readonly EffectName[] = ['stop-primary', 'start-twin', 'start-primary', 'stop-twin', 'restore-primary'];

function killSelf(line: string): void {
  writeSync(2, `redundancy fault: ${line}\n`);
  process.kill(process.pid, 'SIGKILL');
}

export function parseFault(fault: string | undefined): KillPoint | undefined {
  if (fault === 'trace') return { trace: true };
  const named = /^kill-(before|after):(start|stop|register|remove|stop-primary|start-twin|start-primary|stop-twin|restore-primary):(.+)$/.exec(fault ?? '');
  if (named) return { when: named[1] as When, operation: named[2] as Operation, target: named[3]! };
  const random = /^kill-random:(\d+):(\d+)$/.exec(fault ?? '');
  const max = Number(random?.[2]);
  if (!random || !(max >= 1)) return undefined;
  const next = mulberry32(Number(random[1]) >>> 0);
  return { call: 1 + Math.floor(next() * max), when: next() < 0.5 ? 'before' : 'after' };
}

/** A small seeded generator (Tommy Ettinger's mulberry32): the same seed, the same draws, on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
