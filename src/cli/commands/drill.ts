import { drillDefaults, drillExitCode } from '../../core/drill.js';
import { formatDuration } from '../../core/duration.js';
import { RedundancyError } from '../../core/errors.js';
import type { HealthReport } from '../../core/report-types.js';
import { askManager } from '../../daemon/control-client.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import type { DrillAnswer } from '../../daemon/drills.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';

export interface DrillOptions {
  all?: boolean;
  yes?: boolean;
  dryRun?: boolean;
}

/**
 * `redundancy drill <unit>|--all`: planned failovers and failbacks run by the manager, one unit
 * at a time (`--all` passes over the kinds that cannot be drilled). Exit 0 every drill done, 1 some refused (nothing changed), 2 some twin (or primary)
 * not verified (the unit was put back), 64 no terminal to confirm on and no --yes.
 */
export async function drillCommand(ctx: Context, unit: string | undefined, opts: DrillOptions): Promise<number> {
  if (opts.all && unit) throw new RedundancyError('USAGE', 'give a unit or --all, not both');
  if (!opts.all && !unit) throw new RedundancyError('USAGE', 'give a unit (see `redundancy status`) or --all');
  const socket = controlSocketPath(ctx.config.stateDir);
  const status = await askManager(socket, 'GET', '/status', 10_000).catch(() => undefined);
  if (status?.status !== 200) {
    throw new RedundancyError('REFUSED', `drill: no manager is running for ${ctx.config.cwd}; drills go through it: start it first (\`redundancy start\`); nothing changed`);
  }
  const report = status.body as HealthReport;
  const targets = opts.all ? report.units.map((u) => u.id) : [unit!];
  if (unit && !report.units.some((u) => u.id === unit)) throw new RedundancyError('UNKNOWN_UNIT', `unknown unit ${unit}; see \`redundancy status\``);
  if (targets.length === 0) throw new RedundancyError('USAGE', 'drill --all: the manager supervises no unit');

  const config = ctx.config.drills ?? drillDefaults;
  const out = ctx.json ? process.stderr : process.stdout;
  if (!opts.dryRun && !opts.yes) {
    const interactive = process.stdin.isTTY === true && out.isTTY === true;
    if (!interactive) throw new RedundancyError('USAGE', 'drill: no terminal to confirm on: add --yes to run it (or --dry-run to see it)');
    const what = targets.length === 1 ? targets[0] : `${targets.length} units, one at a time`;
    if (!(await confirm(`Drill ${what}: fail over to the twin and back (the twin serves meanwhile)? [y/N] `, out))) {
      out.write('nothing was changed\n');
      return 1;
    }
  }

  const ask = async (id: string, dryRun: boolean): Promise<DrillAnswer> => {
    // Both sides may take the whole timeout; the manager answers when the drill is over.
    const answer = await askManager(socket, 'POST', `/drill/${encodeURIComponent(id)}${dryRun ? '?dryRun=1' : ''}`, 2 * config.timeoutMs + 120_000).catch(() => undefined);
    if (!answer) throw new RedundancyError('MANAGER_UNREACHABLE', `drill: the manager stopped answering during the drill of ${id}; a manager that starts again puts the unit back on its primary`);
    if (answer.status !== 200) {
      const error = (answer.body as { error?: { code?: string; message?: string } }).error;
      throw new RedundancyError(error?.code === 'UNKNOWN_UNIT' ? 'UNKNOWN_UNIT' : 'MANAGER_UNREACHABLE', error?.message ?? `manager answered ${answer.status}`);
    }
    return answer.body as DrillAnswer;
  };
  const answers: DrillAnswer[] = [];
  let drilled = 0;
  for (const id of targets) {
    // --all passes over the kinds that cannot be drilled, asking first (a dry run changes and records nothing).
    const skip = opts.all && !opts.dryRun ? await ask(id, true) : undefined;
    if (skip?.unsupported) {
      if (!ctx.json) ctx.say(`${id}: skipped: ${skip.reason}`);
      continue;
    }
    if (drilled > 0 && !opts.dryRun && config.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, config.pauseMs));
    const drill = await ask(id, opts.dryRun === true);
    drilled += 1;
    answers.push(drill);
    if (!ctx.json) ctx.say(drillLine(drill));
  }
  if (ctx.json) ctx.result(opts.all ? answers : answers[0], '');
  if (answers.length === 0) return 0;
  return Math.max(...answers.map((a) => (a.unsupported && opts.all ? 0 : a.dryRun && a.result === 'ok' ? 0 : drillExitCode(a.result))));
}

export function drillLine(d: DrillAnswer): string {
  if (d.dryRun) return d.result === 'refused' ? `${d.unit}: would be refused: ${d.reason}` : `${d.unit}: would\n${(d.plan ?? []).map((step) => `  - ${step}`).join('\n')}`;
  if (d.result === 'refused') return `${d.unit}: refused, nothing changed: ${d.reason}`;
  const ms = (v: number | null) => (v === null ? 'not verified' : formatDuration(v));
  const mode = d.twinMode ? ` (${d.twinMode} twin)` : '';
  return `${d.unit}: drill ${d.result}${mode}: twin serving ${ms(d.rtoMs)} after the decision (RTO), primary serving ${ms(d.failbackMs)} after failing back; ${formatDuration(d.totalMs)} in all\n  ${d.reason}`;
}
