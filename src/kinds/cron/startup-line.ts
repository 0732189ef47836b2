/**
 * Whether a crontab command is one of `redundancy startup cron`'s lines (`... --cwd <project>
 * --quiet ensure`, any project): the supervision of a manager, not a job to supervise.
 */
export function isStartupCommand(command: string): boolean {
  return /\s--cwd\s/.test(command) && /\s--quiet ensure\s*$/.test(command);
}
