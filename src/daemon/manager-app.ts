import { fileURLToPath } from 'node:url';
import type { CompiledConfig } from '../core/config-types.js';
import type { Pm2AppSpec } from '../core/types.js';

export const MANAGER_APP = 'redundancy-manager';

/** The manager as a PM2 app: this CLI in the foreground, for the same project and config. */
export function managerAppSpec(config: CompiledConfig): Pm2AppSpec {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return {
    name: MANAGER_APP,
    script: cli,
    args: ['--cwd', config.cwd, ...(config.file ? ['--config', config.file] : []), 'start', '--foreground'],
    cwd: config.cwd,
    env: {},
    maxRestarts: 10,
    minUptimeMs: 5_000,
    expBackoffRestartDelayMs: 500,
    autorestart: true,
    // Time to save state and finish a transition under way before PM2 escalates to SIGKILL.
    options: { kill_timeout: 15_000 },
  };
}
