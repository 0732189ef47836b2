import type { ProbeConfig } from '../core/config-types.js';
import type { Probe } from '../core/ports.js';
import { CommandProbe } from './command-probe.js';
import { HttpProbe } from './http-probe.js';

/** The probe a unit's config asks for; `cwd` is where command probes run (the project directory). */
export function makeProbe(cfg: ProbeConfig, cwd: string): Probe {
  switch (cfg.kind) {
    case 'http':
      return new HttpProbe({ url: cfg.url, expectStatus: cfg.expectStatus, timeoutMs: cfg.timeoutMs });
    case 'command':
      return new CommandProbe({ command: cfg.command, cwd, timeoutMs: cfg.timeoutMs });
    default: {
      const unknown: never = cfg;
      throw new Error(`unknown probe kind ${JSON.stringify(unknown)}`);
    }
  }
}
