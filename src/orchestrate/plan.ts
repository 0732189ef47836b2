import type { MirrorSpec, OnFailure, OrchestrateConfig, OrchestrateJobSpec, PreflightCheck } from '../core/config-orchestrate.js';
import { configError, RedundancyError } from '../core/errors.js';
import { globMatches } from './glob.js';

/** A unit a `{ unit }` job or a `discover` glob can name: a cron line or a script, with its command. */
export interface RunnableUnit {
  id: string;
  /** The crontab line's command, or the script's path. */
  command: string;
}

interface JobBase {
  /** As shown and in the JSON: the job's name in its stage. */
  name: string;
  stage: string;
  /** Where its runs are recorded: the unit's id, or `orchestrate:<stage>/<job>`. */
  ledgerId: string;
  timeoutMs: number;
}

export type PlannedJob =
  | (JobBase & { kind: 'run'; command: string })
  | (JobBase & { kind: 'unit'; unit: string; discovered: boolean })
  | (JobBase & { kind: 'mirror'; mirror: MirrorSpec });

export interface PlannedStage {
  name: string;
  parallel: boolean;
  /** Jobs at once: 1 unless parallel; a parallel stage without a limit runs all of them at once. */
  limit: number;
  onFailure: OnFailure;
  timeoutMs: number;
  jobs: PlannedJob[];
}

export interface Plan {
  failureThreshold: number;
  preflight: PreflightCheck[];
  stages: PlannedStage[];
  /** Things worth saying that are no error: a `discover` glob that matched nothing. */
  notes: string[];
}

export function ledgerIdOf(stage: string, job: string): string {
  return `orchestrate:${stage}/${job}`;
}

/**
 * Pure: the stages with every `{ unit }` job resolved against the inventory and every `discover`
 * glob expanded (units a stage lists itself are not added twice). An unknown unit is a one-line
 * configuration error (exit 78) naming where it was written, before anything runs.
 */
export function expandPlan(config: OrchestrateConfig, units: readonly RunnableUnit[], file: string): Plan {
  const known = new Map(units.map((u) => [u.id, u]));
  const notes: string[] = [];
  const stages = config.stages.map((stage): PlannedStage => {
    const base = (name: string, ledgerId: string) => ({ name, stage: stage.name, ledgerId, timeoutMs: stage.timeoutMs });
    const jobs = stage.jobs.map((job): PlannedJob => plannedJob(stage.name, job, known, file, base));
    const names = new Set(jobs.map((j) => j.name));
    const listed = new Set(jobs.flatMap((j) => (j.kind === 'unit' ? [j.unit] : [])));
    for (const glob of stage.discover) {
      const found = units.filter((u) => globMatches(glob, u.id) || globMatches(glob, u.command));
      if (found.length === 0) notes.push(`stage ${stage.name}: discover ${glob} matched no cron or script unit`);
      for (const unit of found) {
        if (listed.has(unit.id) || names.has(unit.id)) continue;
        listed.add(unit.id);
        names.add(unit.id);
        jobs.push({ ...base(unit.id, unit.id), kind: 'unit', unit: unit.id, discovered: true });
      }
    }
    const limit = stage.parallel ? Math.max(1, stage.concurrency ?? jobs.length) : 1;
    return { name: stage.name, parallel: stage.parallel, limit, onFailure: stage.onFailure, timeoutMs: stage.timeoutMs, jobs };
  });
  return { failureThreshold: config.failureThreshold, preflight: config.preflight, stages, notes };
}

function plannedJob(
  stage: string,
  job: OrchestrateJobSpec,
  known: ReadonlyMap<string, RunnableUnit>,
  file: string,
  base: (name: string, ledgerId: string) => JobBase,
): PlannedJob {
  switch (job.kind) {
    case 'run':
      return { ...base(job.name, ledgerIdOf(stage, job.name)), kind: 'run', command: job.command };
    case 'mirror':
      return { ...base(job.name, ledgerIdOf(stage, job.name)), kind: 'mirror', mirror: job.mirror };
    case 'unit':
      if (!known.has(job.unit)) {
        throw configError('CONFIG_INVALID', file, [...job.at, 'unit'], job.unit, 'a cron: or script: unit of `redundancy inventory` (no such unit)');
      }
      return { ...base(job.name, job.unit), kind: 'unit', unit: job.unit, discovered: false };
  }
}

/** Only the stage `--stage` names (preflight still runs); an unknown name is a usage error. */
export function selectStage(plan: Plan, name: string | undefined): Plan {
  if (name === undefined) return plan;
  const stage = plan.stages.find((s) => s.name === name);
  if (!stage) {
    const names = plan.stages.map((s) => s.name);
    throw new RedundancyError('USAGE', `orchestrate --stage ${JSON.stringify(name)}: no such stage (${names.length > 0 ? `stages: ${names.join(', ')}` : 'the plan has no stages'})`);
  }
  return { ...plan, stages: [stage] };
}

export function jobCount(plan: Plan): number {
  return plan.stages.reduce((n, s) => n + s.jobs.length, 0);
}
