import { averagePollCost, pollWaitMs } from '../../core/api-pace.js';
import type { Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { initialRecord, primaryWatched, type Effect, type UnitEvent, type UnitPolicy, type UnitRecord } from '../../core/failover.js';
import type { KindRuntime, Observation, UnitDriver, UnitSides } from '../../core/kind.js';
import type { Logger } from '../../store/logger.js';
import type { GitHubApi, WorkflowRun } from './github-api.js';
import type { GithubUnit } from './github-inventory.js';
import { judgeRuns, type GithubCursor } from './run-judge.js';

export interface GithubUnitSpec {
  unit: GithubUnit;
  policy: UnitPolicy;
  /** `<stem>-backup.yml` */
  twinFile: string;
  /** `REDUNDANCY_ACTIVE_<STEM>` */
  variable: string;
}

export interface GithubRuntimeOptions {
  units: readonly GithubUnitSpec[];
  /** Undefined when the kind is not watched (no token, no repository): inventoried and twinned only. */
  api?: GitHubApi;
  unwatched?: string;
  clock: Clock;
  logger: Logger;
  pollEveryMs: number;
  missedAfterMs: number;
  /** Workflow states change rarely: listed this often. @default 10 min */
  statesEveryMs?: number;
}

/** What the last poll saw of the repository, shared by every workflow. */
export interface RepoView {
  runsByPath: Map<string, WorkflowRun[]>;
  /** Oldest run on the page: a slot before it may have a run the page no longer shows. */
  pageFloor: number;
  states: Map<string, string>;
  /** Set when the API failed: never a sample of any workflow. */
  apiError?: string;
  /** The poll that made this view, so a state is counted once a poll. */
  poll: number;
}

/**
 * Workflows as units: one poll of the repository's runs a `pollEvery` (a conditional request; a
 * 304 costs no rate limit), workflow states every few minutes, one question per workflow only to
 * confirm a schedule that looks missed.
 */
export class GithubRuntime implements KindRuntime {
  readonly kind = 'github' as const;
  readonly drivers: GithubUnitDriver[];
  private lastPoll = Number.NEGATIVE_INFINITY;
  private lastStates = Number.NEGATIVE_INFINITY;
  private pollWait: number | undefined;
  private pollCost: number | undefined;
  private view: RepoView = { runsByPath: new Map(), pageFloor: Number.POSITIVE_INFINITY, states: new Map(), poll: 0 };

  constructor(private readonly opts: GithubRuntimeOptions) {
    this.drivers = opts.units.map((spec) => new GithubUnitDriver(spec, opts, () => this.view));
  }

  async refresh(force: boolean): Promise<void> {
    const { api, clock, pollEveryMs, statesEveryMs = 600_000, logger } = this.opts;
    const now = clock.now();
    if (!api || (!force && now - this.lastPoll < (this.pollWait ?? pollEveryMs))) return;
    this.lastPoll = now;
    const before = api.budget();
    const next: RepoView = { ...this.view, poll: this.view.poll + 1 };
    try {
      const { runs } = await api.listRepoRuns();
      next.runsByPath = new Map();
      for (const run of runs) next.runsByPath.set(run.path, [...(next.runsByPath.get(run.path) ?? []), run]);
      next.pageFloor = runs.length >= 100 ? Math.min(...runs.map((r) => r.createdAt)) : Number.NEGATIVE_INFINITY;
      if (force || now - this.lastStates >= statesEveryMs) {
        next.states = new Map((await api.listWorkflows()).map((w) => [w.path, w.state]));
        this.lastStates = now;
      }
      delete next.apiError;
    } catch (error) {
      next.apiError = errorMessage(error);
      if (this.view.apiError !== next.apiError) logger.warn({ kind: 'github', err: next.apiError }, 'GitHub API: no samples until it answers');
    }
    // A 304 costs no rate limit, so only the other answers count as this poll's cost.
    const after = api.budget();
    const spent = after.requests - after.notModified - (before.requests - before.notModified);
    this.pollCost = averagePollCost(this.pollCost, spent);
    this.pollWait = pollWaitMs(after, clock.now(), pollEveryMs, this.pollCost);
    this.view = next;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  forget(): void {}

  async close(): Promise<void> {}

  summary(): Record<string, unknown> {
    const { api, unwatched } = this.opts;
    if (!api) return { unwatched: unwatched ?? 'no token' };
    const budget = api.budget();
    return {
      api: { ...budget, resetAt: budget.resetAt === null ? null : new Date(budget.resetAt).toISOString() },
      ...(this.pollWait !== undefined && this.pollWait > this.opts.pollEveryMs && { pollSlowedToMs: this.pollWait }),
      ...(this.view.apiError && { apiError: this.view.apiError }),
    };
  }
}

/** One workflow: samples from its completed runs, its state and its schedule; failover by disable, variable and dispatch. */
export class GithubUnitDriver implements UnitDriver {
  readonly unit: GithubUnit;
  readonly policy: UnitPolicy;
  private readonly path: string;
  private twinVariable: string | undefined;
  private twinPresent: boolean | undefined;
  private lastError: string | undefined;
  private countedStatePoll = 0;
  /** The failover (by count) whose twin was dispatched. */
  private dispatchedFor: number | undefined;

  constructor(
    readonly spec: GithubUnitSpec,
    private readonly opts: GithubRuntimeOptions,
    private readonly view: () => RepoView,
  ) {
    this.unit = spec.unit;
    this.policy = spec.policy;
    this.path = `.github/workflows/${spec.unit.name}`;
  }

  async observe(record: UnitRecord, now: number): Promise<Observation> {
    const view = this.view();
    const { api } = this.opts;
    if (!api || view.apiError !== undefined) return { events: [] };
    const watched = primaryWatched(record.state);
    if (!watched) return { events: [] };
    const events: UnitEvent[] = [];
    const state = view.states.get(this.path);
    // Disabled by its owner while the manager had it on the primary: paused by them, not failed.
    if (state !== undefined && state !== 'active' && !(state === 'disabled_manually' && record.state.kind === 'primary')) {
      if (this.countedStatePoll !== view.poll) events.push({ type: 'sample', sample: { ok: false, reason: `workflow ${state}`, at: now } });
      this.countedStatePoll = view.poll;
    }
    const judged = await judgeRuns({
      unit: this.unit,
      runs: view.runsByPath.get(this.path) ?? [],
      pageFloor: view.pageFloor,
      cursor: isCursor(record.cursor) ? record.cursor : { judgedThrough: now, seen: [] },
      since: record.state.since,
      now,
      missedAfterMs: this.opts.missedAfterMs,
      // A slot the page is too short to show: asked of this workflow alone.
      older: (since) => api.listWorkflowRuns(this.unit.name, since),
    }).catch((error: unknown) => {
      this.lastError = errorMessage(error);
      return undefined;
    });
    if (!judged) return { events };
    events.push(...judged.samples.map((sample) => ({ type: 'sample' as const, sample })));
    return { events, cursor: judged.cursor };
  }

  needed(effect: Effect, record: UnitRecord): boolean {
    const state = this.view().states.get(this.path);
    switch (effect.type) {
      case 'stop-primary':
        return state !== 'disabled_manually';
      case 'start-twin':
        return this.twinVariable !== 'twin' || this.dispatchDue(record);
      case 'stop-twin':
        // Settled on the primary, the variable was set back before the state moved (or never made):
        // a manager starting up writes nothing for it. GitHub allows few content writes an hour.
        return this.twinVariable === 'twin' || (this.twinVariable === undefined && record.state.kind !== 'primary');
      case 'start-primary':
        return state !== 'active';
      case 'restore-primary':
        // A workflow its owner disabled stays as they left it.
        return false;
    }
  }

  async run(effect: Effect, record: UnitRecord): Promise<void> {
    const { api } = this.opts;
    if (!api) throw new Error(`${this.unit.id} is not watched (${this.opts.unwatched ?? 'no token'})`);
    try {
      await this.carryOut(api, effect, record);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = errorMessage(error);
      throw error;
    }
  }

  private async carryOut(api: GitHubApi, effect: Effect, record: UnitRecord): Promise<void> {
    const { twinFile, variable } = this.spec;
    const states = this.view().states;
    switch (effect.type) {
      case 'stop-primary':
        // No twin in the repository: no failover, the primary keeps its schedule.
        this.twinPresent = (await api.getWorkflow(twinFile)) !== undefined;
        if (!this.twinPresent) throw new Error(`no failover: commit .github/workflows/${twinFile} to the default branch (\`redundancy twins --write\` writes it)`);
        await api.disableWorkflow(this.unit.name);
        states.set(this.path, 'disabled_manually');
        return;
      case 'start-twin':
        if (this.twinVariable !== 'twin') {
          await api.setVariable(variable, 'twin');
          this.twinVariable = 'twin';
        }
        if (this.dispatchDue(record)) {
          await api.dispatch(twinFile, await api.defaultBranch());
          this.dispatchedFor = record.failovers;
        }
        return;
      case 'stop-twin':
        await api.setVariable(variable, 'primary');
        this.twinVariable = 'primary';
        return;
      case 'start-primary':
        await api.enableWorkflow(this.unit.name);
        states.set(this.path, 'active');
        // A trial needs runs: a workflow that can be dispatched gets one now, the others wait for their schedule.
        if (record.state.kind === 'probing' && this.unit.workflow.dispatchInputs !== undefined) {
          await api.dispatch(this.unit.name, await api.defaultBranch());
        }
        return;
      case 'restore-primary':
        return;
    }
  }

  /**
   * One dispatch of the twin a failover, while failing over: after that it runs on its schedule. A
   * manager killed after the dispatch finds the run on the repository's page and does not push again.
   */
  private dispatchDue(record: UnitRecord): boolean {
    if (record.state.kind !== 'failing-over' || this.dispatchedFor === record.failovers) return false;
    const twinRuns = this.view().runsByPath.get(`.github/workflows/${this.spec.twinFile}`) ?? [];
    return !twinRuns.some((r) => r.event === 'workflow_dispatch' && r.createdAt >= record.state.since);
  }

  sides(record: UnitRecord): UnitSides {
    const view = this.view();
    const onTwin = record.state.kind === 'backup' || record.state.kind === 'failing-over';
    const state = view.states.get(this.path);
    const unwatched = this.opts.api ? undefined : `unwatched: ${this.opts.unwatched ?? 'no token'}`;
    const paused = state === 'disabled_manually' && record.state.kind === 'primary' ? 'paused by its owner (disabled_manually)' : undefined;
    const reason = unwatched ?? (view.apiError && `GitHub API: ${view.apiError}`) ?? paused ?? this.lastError;
    const primary = { name: this.unit.name, status: unwatched ? 'unwatched' : state ?? 'unknown', ok: !onTwin && (state === undefined || state === 'active'), ...(reason && { reason }) };
    const twinStatus = this.twinPresent === false ? 'not in repository' : this.twinVariable === 'twin' ? 'active' : 'standby';
    return { primary, twin: { name: this.spec.twinFile, status: twinStatus, ok: onTwin && this.twinVariable === 'twin', ...(reason && { reason }) } };
  }

  rebuild(now: number): UnitRecord {
    return initialRecord(this.unit.id, now);
  }
}

function isCursor(value: unknown): value is GithubCursor {
  const c = value as GithubCursor | undefined;
  return typeof c === 'object' && c !== null && typeof c.judgedThrough === 'number' && Array.isArray(c.seen);
}
