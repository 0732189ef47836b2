import type { Clock } from './clock.js';
import type { DrillSummary, UnitReport } from './report-types.js';
import type { UnitId } from './types.js';

/** `drills:` in the config. */
export interface DrillConfig {
  /** `status` flags a unit whose last drill is older than this, or that was never drilled. @default 30d */
  maxAgeMs: number;
  /** How long each side may take to be verified serving. @default 60s */
  timeoutMs: number;
  /** `drill --all`: the wait between two units. @default 10s */
  pauseMs: number;
}

export const drillDefaults: DrillConfig = { maxAgeMs: 30 * 86_400_000, timeoutMs: 60_000, pauseMs: 10_000 };

/** One look at whether a side serves. `at`: since when it serves, when the kind knows better than "now". */
export type SideVerdict = { state: 'ok'; reason: string; at?: number } | { state: 'waiting' | 'failed'; reason: string };

/** What a kind answers about one of its units during a drill. */
export interface DrillVerifier {
  /** Why the twin cannot take over now (not registered, failed to load), or undefined when it can. */
  twinNotReady(): string | undefined;
  /** `since`: when the side was asked to serve. Never throws: a failure is a verdict. */
  verify(side: 'primary' | 'twin', since: number): Promise<SideVerdict>;
}

export type DrillResult = 'ok' | 'refused' | 'failed';

/** One line of `logs/drills.jsonl`. Times in ms; `null` for what was not reached. */
export interface DrillRecord {
  unit: UnitId;
  /** ISO-8601: when the drill was decided. */
  at: string;
  result: DrillResult;
  reason: string;
  /** Decision to the twin verified serving. */
  rtoMs: number | null;
  /** Failback decision to the primary verified serving. */
  failbackMs: number | null;
  /** The whole drill. */
  totalMs: number;
  twinMode?: 'cold' | 'warm';
  host: string;
}

/** Why a drill of this unit must not start (nothing is changed then), or undefined when it may. */
export function drillRefusal(unit: UnitReport | undefined, id: UnitId, check: { verifier: DrillVerifier | undefined; busyWith?: UnitId }): string | undefined {
  if (!unit) return `unknown unit ${id}`;
  if (check.busyWith !== undefined) return `a drill of ${check.busyWith} is under way; drills run one at a time`;
  if (!check.verifier) return `${unit.kind} units cannot be drilled yet (pm2, cron and script units can)`;
  if (unit.paused) return `${id} is paused: resume it first (\`redundancy resume ${id}\`)`;
  if (unit.state !== 'primary' || unit.active !== 'primary') return `${id} is not on its primary (state ${unit.state}, active ${unit.active}): a drill starts from a healthy primary`;
  if (unit.health !== 'healthy') return `${id} is not healthy on its primary (${unit.health}: ${unit.reason})`;
  const twin = check.verifier.twinNotReady();
  return twin === undefined ? undefined : `${id}: its twin is not ready: ${twin}`;
}

export function drillExitCode(result: DrillResult): 0 | 1 | 2 {
  return result === 'ok' ? 0 : result === 'refused' ? 1 : 2;
}

/** What the drill does to the world, in order; the supervisor carries each switch out through the state machine. */
export interface DrillPorts {
  /** Planned failover: resolves once its effects ran (or wait for a later round). */
  failover(reason: string): Promise<void>;
  /** Back to the primary at once: no hold-down, no trial. */
  failback(reason: string): Promise<void>;
  verify(side: 'primary' | 'twin', since: number): Promise<SideVerdict>;
  sleep(ms: number): Promise<void>;
  /** Why waiting must end now (the manager is stopping), or undefined. */
  stopped?(): string | undefined;
}

export interface DrillTimes {
  result: Exclude<DrillResult, 'refused'>;
  reason: string;
  rtoMs: number | null;
  failbackMs: number | null;
  totalMs: number;
}

/**
 * A drill once allowed: fail over, wait for the twin to be verified serving, fail back, wait for
 * the primary. A twin not verified within `timeoutMs` fails the drill and the unit goes back to
 * its primary all the same: finding that twin is what drills are for.
 */
export async function runDrill(ports: DrillPorts, clock: Clock, opts: { timeoutMs: number; pollMs: number }): Promise<DrillTimes> {
  const start = clock.now();
  const waitFor = async (side: 'primary' | 'twin', since: number): Promise<SideVerdict> => {
    const deadline = since + opts.timeoutMs;
    for (;;) {
      const verdict = await ports.verify(side, since);
      if (verdict.state !== 'waiting') return verdict;
      const stop = ports.stopped?.();
      if (stop !== undefined) return { state: 'failed', reason: `${stop} (${verdict.reason})` };
      if (clock.now() >= deadline) return { state: 'failed', reason: `not verified within ${opts.timeoutMs}ms: ${verdict.reason}` };
      await ports.sleep(opts.pollMs);
    }
  };
  const servedAfter = (v: SideVerdict, since: number) => Math.max(0, (v.state === 'ok' && v.at !== undefined ? Math.max(v.at, since) : clock.now()) - since);

  await ports.failover('drill: planned failover to the twin');
  const twin = await waitFor('twin', start);
  const rtoMs = twin.state === 'ok' ? servedAfter(twin, start) : null;
  const backAt = clock.now();
  await ports.failback(twin.state === 'ok' ? 'drill: twin verified; failing back' : `drill: twin not verified (${twin.reason}); back to the primary`);
  const primary = await waitFor('primary', backAt);
  const failbackMs = primary.state === 'ok' ? servedAfter(primary, backAt) : null;
  const totalMs = clock.now() - start;
  if (twin.state !== 'ok') {
    const after = primary.state === 'ok' ? 'the primary serves again' : `and the primary does not serve either: ${primary.reason}`;
    return { result: 'failed', reason: `twin ${twin.reason}; ${after}`, rtoMs, failbackMs, totalMs };
  }
  if (primary.state !== 'ok') return { result: 'failed', reason: `twin verified (${twin.reason}); primary after failback ${primary.reason}`, rtoMs, failbackMs, totalMs };
  return { result: 'ok', reason: `twin: ${twin.reason}; primary: ${primary.reason}`, rtoMs, failbackMs, totalMs };
}

/** The last drill of each unit that was drilled (refusals changed nothing and do not count). */
export function lastDrills(records: readonly DrillRecord[]): Record<UnitId, DrillSummary> {
  const last: Record<UnitId, DrillSummary> = {};
  for (const r of records) {
    if (r.result === 'refused') continue;
    const seen = last[r.unit];
    if (seen && Date.parse(seen.at) > Date.parse(r.at)) continue;
    last[r.unit] = { at: r.at, result: r.result, rtoMs: r.rtoMs, failbackMs: r.failbackMs, reason: r.reason };
  }
  return last;
}

/** `status`'s flag: never drilled, or the last drill is older than `maxAgeMs` (or failed). */
export function drillFlag(last: DrillSummary | undefined, now: number, maxAgeMs: number): string | undefined {
  if (!last) return 'never drilled';
  const age = now - Date.parse(last.at);
  if (age > maxAgeMs) return `last drill ${Math.floor(age / 86_400_000)}d ago`;
  return last.result === 'failed' ? 'last drill failed' : undefined;
}
