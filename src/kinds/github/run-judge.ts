import { parseCronExpression } from '../../core/schedule/cron-fields.js';
import { slotsBetween } from '../../core/schedule/slots.js';
import type { Sample } from '../../core/types.js';
import type { WorkflowRun } from './github-api.js';
import type { GithubUnit } from './github-inventory.js';

/** How far a workflow's runs are judged; saved with its record. */
export interface GithubCursor {
  /** Scheduled slots at or before this are judged. */
  judgedThrough: number;
  /** Ids of the runs already turned into samples (bounded). */
  seen: number[];
}

export interface JudgeInput {
  unit: GithubUnit;
  /** The primary's runs on the repository's newest page. */
  runs: readonly WorkflowRun[];
  /** Runs created before this may be missing from the page. */
  pageFloor: number;
  cursor: GithubCursor;
  /** The primary is the active side since then: nothing older is its sample. */
  since: number;
  now: number;
  missedAfterMs: number;
  /** This workflow's runs since a time, asked of the API only when the page cannot tell. */
  older: (since: number) => Promise<WorkflowRun[]>;
}

const failed = new Set(['failure', 'timed_out', 'startup_failure']);
const seenLimit = 500;

/**
 * Each completed run since the last look is a sample (`success` ok; `failure`, `timed_out`,
 * `startup_failure` failed; `cancelled`, `skipped`, `neutral`, `stale`, `action_required` none);
 * a scheduled slot with no scheduled run by slot + missedAfter is one failed sample. Undefined
 * cursor: nothing moved.
 */
export async function judgeRuns(input: JudgeInput): Promise<{ samples: Sample[]; cursor?: GithubCursor }> {
  const { cursor, now, since, missedAfterMs } = input;
  const seen = new Set(cursor.seen);
  const samples: Sample[] = [];
  const counted: number[] = [];
  for (const run of [...input.runs].sort((a, b) => a.updatedAt - b.updatedAt)) {
    if (run.status !== 'completed' || seen.has(run.id) || run.createdAt < since) continue;
    counted.push(run.id);
    if (run.conclusion === 'success') samples.push({ ok: true, reason: `run #${run.runNumber} success`, at: run.updatedAt });
    else if (failed.has(run.conclusion ?? '')) samples.push({ ok: false, reason: `run #${run.runNumber} ${run.conclusion}`, at: run.updatedAt });
  }

  const after = Math.max(cursor.judgedThrough, since);
  const due = dueSlots(input.unit, after, now - missedAfterMs);
  let runs = input.runs;
  if (due.some((slot) => slot < input.pageFloor && !scheduledRunFor(runs, slot, missedAfterMs))) runs = await input.older(Math.min(...due));
  for (const slot of due) {
    if (!scheduledRunFor(runs, slot, missedAfterMs)) {
      samples.push({ ok: false, reason: `missed schedule at ${new Date(slot).toISOString().slice(0, 16)}Z (no run within ${Math.round(missedAfterMs / 60_000)}m)`, at: slot + missedAfterMs });
    }
  }
  samples.sort((a, b) => a.at - b.at);
  if (counted.length === 0 && due.length === 0) return { samples };
  return {
    samples,
    cursor: { judgedThrough: due.length > 0 ? Math.max(after, ...due) : cursor.judgedThrough, seen: [...cursor.seen, ...counted].slice(-seenLimit) },
  };
}

/** Slots of every cron of the workflow in (after, until], in its zone (UTC unless the entry names one). */
function dueSlots(unit: GithubUnit, after: number, until: number): number[] {
  if (!(until > after)) return [];
  const slots: number[] = [];
  for (const entry of unit.workflow.schedules) {
    const parsed = parseCronExpression(entry.cron);
    if (parsed.ok) slots.push(...slotsBetween(parsed.schedule, entry.timezone ?? 'UTC', after, until, 1_000));
  }
  return [...new Set(slots)].sort((a, b) => a - b);
}

/** GitHub starts scheduled runs late, never early (by more than a minute of clock skew). */
function scheduledRunFor(runs: readonly WorkflowRun[], slot: number, missedAfterMs: number): boolean {
  return runs.some((r) => r.event === 'schedule' && r.createdAt >= slot - 60_000 && r.createdAt <= slot + missedAfterMs);
}
