import type { ProcessManager } from '../../core/ports.js';

/** A ProcessManager that reads the real PM2 but only says what it would change. */
export function dryRunProcessManager(real: ProcessManager, say: (action: string) => void): ProcessManager {
  return {
    list: () => real.list(),
    view: (name) => real.view(name),
    start: async (spec) => say(`would start ${spec.name}`),
    register: async (spec) => {
      const known = (await real.list()).some((view) => view.name === spec.name);
      if (!known) say(`would register ${spec.name} (stopped)`);
    },
    stop: async (name) => say(`would stop ${name}`),
    remove: async (name) => say(`would remove ${name}`),
    onEvent: (listener) => real.onEvent(listener),
    close: () => real.close(),
  };
}
