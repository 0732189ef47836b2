import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { RedundancyError } from '../../core/errors.js';

/** What the unit runs, for whom and where; every path absolute. */
export interface SystemdUnitInput {
  /** The node binary (`process.execPath`). */
  node: string;
  /** `dist/cli/main.js`. */
  cli: string;
  /** The project directory: `--cwd` and `WorkingDirectory`. */
  project: string;
  /** A config file other than the project's default, passed as `--config`. */
  configFile?: string;
  /** The PM2 home the manager talks to (and the daemon it starts uses). */
  pm2Home: string;
  /** PATH for the manager and for a PM2 daemon it starts (the apps inherit it), as `pm2 startup` does. */
  path?: string;
  /**
   * `system`: a unit in /etc/systemd/system with `User=`, wanted by multi-user.target.
   * `user`: a unit of the user's own systemd (`systemctl --user`), wanted by default.target; no `User=`.
   */
  scope: 'system' | 'user';
  /** The account the manager runs as (`system` scope only). */
  user?: string;
}

/**
 * `redundancy-<slug>.service`: the project directory's name (lower case, `[a-z0-9-]`, at most 40
 * characters) and 8 hex digits of its path's SHA-256, so two checkouts named alike get two units.
 */
export function systemdUnitName(project: string): string {
  const slug = basename(project).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  const digest = createHash('sha256').update(project).digest('hex').slice(0, 8);
  return `redundancy-${slug || 'project'}-${digest}.service`;
}

/** systemd expands `%` specifiers in these settings: a literal `%` is written `%%`. */
function noSpecifiers(text: string): string {
  return text.replaceAll('%', '%%');
}

function checked(what: string, text: string): string {
  if (/[\n\r\0]/.test(text) || text === '') throw new RedundancyError('USAGE', `cannot put ${what} ${JSON.stringify(text)} in a systemd unit: empty, or has a line break`);
  return text;
}

/** One word of `ExecStart=`: bare when plain, else double-quoted (C escapes); `$` kept literal as `$$`. */
function execWord(text: string): string {
  const word = noSpecifiers(checked('an argument', text)).replaceAll('$', () => '$$');
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(word) ? word : `"${word.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `Environment="NAME=value"`: quoted as a whole, so spaces stay in the value. */
function environment(name: string, value: string): string {
  const pair = noSpecifiers(checked(name, `${name}=${value}`));
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(pair) ? `Environment=${pair}` : `Environment="${pair.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The unit's text: the manager in the foreground, outside PM2, restarted by systemd whenever it ends. */
export function renderSystemdUnit(input: SystemdUnitInput): string {
  if (input.scope === 'system' && !input.user) throw new RedundancyError('USAGE', 'a system unit needs the user the manager runs as');
  const argv = [input.node, input.cli, '--cwd', input.project, ...(input.configFile ? ['--config', input.configFile] : []), 'start', '--foreground'];
  return [
    '# Written by `redundancy startup systemd`; remove it with `redundancy unstartup`.',
    `# The redundancy manager of ${checked('the project path', input.project)}, in the foreground, outside PM2:`,
    "# the death of PM2's daemon is something it survives (it starts a new one and restores every unit).",
    '[Unit]',
    `Description=redundancy manager for ${noSpecifiers(input.project)}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '# Never give up restarting it: it is the one thing that brings the units back.',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    ...(input.scope === 'system' ? [`User=${noSpecifiers(checked('the user', input.user!))}`] : []),
    `WorkingDirectory=${noSpecifiers(input.project)}`,
    environment('PM2_HOME', input.pm2Home),
    ...(input.path ? [environment('PATH', input.path)] : []),
    `ExecStart=${argv.map(execWord).join(' ')}`,
    'Restart=always',
    'RestartSec=2',
    "# PM2's God daemon (which the manager starts when none runs) and the apps under it are not the",
    "# manager's children, but they stay in this unit's control group. KillMode=process signals the",
    '# manager alone on a stop or restart of the unit, so the apps keep running; control-group or',
    '# mixed would kill the daemon and every app with it.',
    'KillMode=process',
    '# On SIGTERM the manager saves its state and finishes a transition under way (PM2 allows it 15 s).',
    'TimeoutStopSec=20',
    '',
    '[Install]',
    `WantedBy=${input.scope === 'system' ? 'multi-user.target' : 'default.target'}`,
    '',
  ].join('\n');
}
