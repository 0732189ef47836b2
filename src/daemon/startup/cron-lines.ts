import { RedundancyError } from '../../core/errors.js';

/** What the lines run, every path absolute: cron runs with a bare PATH in the home directory. */
export interface StartupCronInput {
  node: string;
  cli: string;
  project: string;
  /** A config file other than the project's default, passed as `--config`. */
  configFile?: string;
  /** Set on the command, so the manager finds the PM2 the user runs. */
  pm2Home?: string;
  /** Set on the command: the PATH a PM2 daemon started by the manager passes on to the apps. */
  path?: string;
}

/**
 * The marker name of the startup block: `# BEGIN redundancy startup <project>`, distinct from the
 * block of wrapped schedule lines (`# BEGIN redundancy <project>`), whose name is an absolute path.
 */
export function startupBlockName(project: string): string {
  return `startup ${project}`;
}

/** Single quotes for sh, `%` escaped for cron (which would otherwise start stdin there). */
function word(what: string, text: string): string {
  // A backslash before `%` cannot be written so that cron keeps it.
  if (/[\\\n\r\0]/.test(text) || text === '') {
    throw new RedundancyError('USAGE', `cannot put ${what} ${JSON.stringify(text)} on a crontab line: empty, or has a backslash or a line break`);
  }
  return `'${text.replaceAll("'", `'\\''`)}'`.replaceAll('%', '\\%');
}

/** The command both lines run: `[PM2_HOME=.. PATH=..] <node> <cli> --cwd <project> [--config f] --quiet ensure`. */
export function ensureCommand(input: StartupCronInput): string {
  return [
    ...(input.pm2Home ? [`PM2_HOME=${word('PM2_HOME', input.pm2Home)}`] : []),
    ...(input.path ? [`PATH=${word('PATH', input.path)}`] : []),
    word('the node path', input.node),
    word('the CLI path', input.cli),
    '--cwd',
    word('the project path', input.project),
    ...(input.configFile ? ['--config', word('the config path', input.configFile)] : []),
    // Quiet: a manager already running is the usual case, and cron would mail every line printed.
    '--quiet',
    'ensure',
  ].join(' ');
}

/**
 * The two lines `startup cron` installs: one at boot, one every minute (a manager that died with
 * PM2's daemon, or by any other cause, is back within the minute). Both run `redundancy ensure`,
 * which does nothing while a manager answers.
 */
export function startupCronLines(input: StartupCronInput): [string, string] {
  const command = ensureCommand(input);
  return [`@reboot ${command}`, `* * * * * ${command}`];
}

export { isStartupCommand } from '../../kinds/cron/startup-line.js';
