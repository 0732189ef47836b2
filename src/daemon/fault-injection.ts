import type { ProcessManager } from '../core/ports.js';

/**
 * Crash testing: `REDUNDANCY_FAULT=kill-before:start:api-backup` (or `kill-after:`, `stop`, `register`)
 * SIGKILLs this process around that PM2 call, the way a power cut would. Unset in normal use.
 */
export function withInjectedFault(pm: ProcessManager, fault: string | undefined): ProcessManager {
  const match = /^kill-(before|after):(start|stop|register|remove):(.+)$/.exec(fault ?? '');
  if (!match) return pm;
  const [, when, operation, target] = match as unknown as [string, 'before' | 'after', 'start' | 'stop' | 'register' | 'remove', string];
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  const wrap = <A extends unknown[]>(op: typeof operation, name: (...args: A) => string, call: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const hit = op === operation && name(...args) === target;
      if (hit && when === 'before') die();
      await call(...args);
      if (hit && when === 'after') die();
    };
  return {
    list: () => pm.list(),
    onEvent: (listener) => pm.onEvent(listener),
    close: () => pm.close(),
    start: wrap('start', (spec) => spec.name, (spec) => pm.start(spec)),
    register: wrap('register', (spec) => spec.name, (spec) => pm.register(spec)),
    stop: wrap('stop', (name) => name, (name) => pm.stop(name)),
    remove: wrap('remove', (name) => name, (name) => pm.remove(name)),
  };
}
