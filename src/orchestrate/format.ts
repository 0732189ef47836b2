import { relative } from 'node:path';
import { formatDuration } from '../core/duration.js';
import type { MirrorTarget } from '../core/config-orchestrate.js';
import { formatBytes } from './format-bytes.js';
import type { JobResult, RunCounts, StageResult } from './outcome.js';
import type { Plan, PlannedJob } from './plan.js';
import type { PreflightResult } from './preflight.js';

/** What `--json` prints and `logs/orchestrate-<time>.json` holds (DESIGN.md, `orchestrate`). */
export interface OrchestrateResult extends RunCounts {
  preflight: PreflightResult[];
  stages: StageResult[];
}

export function resultOf(counts: RunCounts, preflight: PreflightResult[], stages: StageResult[]): OrchestrateResult {
  const { total, successful, failed, timedOut, skipped, interrupted, failureRatePercent, exitCode } = counts;
  return { total, successful, failed, timedOut, skipped, interrupted, failureRatePercent, exitCode, preflight, stages };
}

/** Every job of the plan with one status and reason: a dry run (`planned`), a run stopped before its first job (`notRun`). */
export function stagesWith(plan: Plan, status: JobResult['status'], reason: string | null): StageResult[] {
  return plan.stages.map((stage) => ({
    name: stage.name,
    status: status === 'planned' ? 'planned' : 'notRun',
    jobs: stage.jobs.map((job) => ({ name: job.name, status, exitCode: null, durationMs: null, reason })),
  }));
}

function target(to: MirrorTarget, cwd: string): string {
  return to.kind === 'ssh' ? `${to.host}:${to.path}` : shortPath(cwd, to.path);
}

function shortPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

export function jobText(job: PlannedJob, cwd: string): string {
  switch (job.kind) {
    case 'run':
      return `run: ${job.command}`;
    case 'unit':
      return `unit ${job.unit}${job.discovered ? ' (discovered)' : ''}`;
    case 'mirror': {
      const m = job.mirror;
      const extra = [`keep ${m.keep}`, m.verify ? 'verify' : 'no verify', ...(m.exclude.length > 0 ? [`exclude ${m.exclude.join(' ')}`] : [])];
      return `mirror ${shortPath(cwd, m.from)}/ -> ${target(m.to, cwd)}/<time>/ (${extra.join(', ')})`;
    }
  }
}

/** The plan as people read it before saying yes. */
export function planText(plan: Plan, opts: { cwd: string; file: string }): string {
  const lines = [`Plan (${opts.file}, orchestrate): exit 2 above a failure rate of ${plan.failureThreshold * 100}%`];
  if (plan.preflight.length > 0) {
    lines.push('  preflight:');
    for (const check of plan.preflight) {
      lines.push(`    ${check.kind === 'path' ? `${shortPath(opts.cwd, check.path)} has ${formatBytes(check.minFreeBytes)} free` : check.kind === 'command' ? `command exits 0: ${check.command}` : `${check.url} answers 2xx`}`);
    }
  }
  for (const stage of plan.stages) {
    const how = stage.parallel ? `parallel, ${stage.limit < stage.jobs.length ? `at most ${stage.limit} at once` : 'all at once'}` : 'one at a time';
    lines.push(`  stage ${stage.name}: ${stage.jobs.length} job(s), ${how}, timeout ${formatDuration(stage.timeoutMs)}, on failure ${stage.onFailure}`);
    for (const job of stage.jobs) lines.push(`    ${job.name}: ${jobText(job, opts.cwd)}`);
  }
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

export function preflightText(results: readonly PreflightResult[]): string {
  if (results.length === 0) return 'preflight: no checks';
  return results.map((r) => `preflight ${r.ok ? 'ok    ' : 'FAILED'} ${r.check} ${r.target}: ${r.reason}`).join('\n');
}

export function summaryText(result: OrchestrateResult, threshold: number): string {
  const parts = [`${result.successful} successful`, `${result.failed} failed`, `${result.timedOut} timed out`, `${result.skipped} skipped`];
  if (result.interrupted > 0) parts.push(`${result.interrupted} interrupted`);
  const warned = result.stages.filter((s) => s.status === 'warned').map((s) => s.name);
  const lines = [`orchestrate: ${result.total} job(s): ${parts.join(', ')}; failure rate ${result.failureRatePercent}% (threshold ${threshold * 100}%); exit ${result.exitCode}`];
  if (warned.length > 0) lines.push(`warnings: stage(s) ${warned.join(', ')} had failures (onFailure: warn, not counted)`);
  const notRun = new Map<string, number>();
  for (const stage of result.stages) {
    for (const job of stage.jobs) {
      if (job.status === 'notRun') notRun.set(job.reason ?? '', (notRun.get(job.reason ?? '') ?? 0) + 1);
      else if (job.status !== 'successful' && job.status !== 'planned' && job.reason) lines.push(`  ${stage.name}/${job.name}: ${job.status}: ${job.reason}`);
    }
  }
  for (const [reason, n] of notRun) lines.push(`  ${n} job(s) not run${reason ? `: ${reason}` : ''}`);
  return lines.join('\n');
}
