import type { Clock } from '../../core/clock.js';
import { averagePollCost, pollWaitMs, type RateBudget } from '../../core/api-pace.js';
import { errorMessage } from '../../core/errors.js';
import { initialRecord, primaryWatched, type Effect, type UnitEvent, type UnitPolicy, type UnitRecord } from '../../core/failover.js';
import type { KindRuntime, Observation, UnitDriver, UnitSides } from '../../core/kind.js';
import type { Probe } from '../../core/ports.js';
import type { RunsReport } from '../../core/report-types.js';
import { nextSlot } from '../../core/schedule/slots.js';
import type { Sample } from '../../core/types.js';
import type { Logger } from '../../store/logger.js';
import type { NetlifyFunctionInfo, NetlifyUnit } from './netlify-function.js';
import type { NetlifyTwinPlan } from './netlify-twin.js';

/** What the kind needs of the Netlify API: one look at the site a poll. */
export interface SiteHealthPort {
  siteHealth(): Promise<SiteView>;
  budget?(): RateBudget & { requests: number };
}

export interface SiteView {
  latestProduction?: { id: string; state: string; errorMessage?: string };
  published?: { id: string; state: string; functionSchedules?: Array<{ name: string; cron: string }> };
  /** Names of the functions the published deploy carries, when the API lists them. */
  functions?: string[];
}

/** What the kind needs of the local runner. */
export interface LocalRunnerPort {
  enable(fn: { unitId: string; info: NetlifyFunctionInfo; timeoutMs?: number }): Promise<void>;
  disable(unitId: string): Promise<void>;
  enabled(unitId: string): boolean;
  runScheduled(unitId: string, nextRun: Date): Promise<{ ok: boolean; reason?: string; durationMs: number }>;
  listen(address: string): Promise<{ port: number }>;
  close(): Promise<void>;
}

export interface NetlifyUnitSpec {
  unit: NetlifyUnit;
  plan: NetlifyTwinPlan;
  policy: UnitPolicy;
  /** Sync functions with a site URL: their public URL, probed each poll. */
  probe?: Probe;
}

export interface NetlifyRuntimeOptions {
  units: readonly NetlifyUnitSpec[];
  /** Undefined when the site is not watched through the API (no token, no site). */
  api?: SiteHealthPort;
  unwatched?: string;
  runner: LocalRunnerPort;
  /** `host:port` of the runner's listener for sync functions. */
  listen: string;
  clock: Clock;
  logger: Logger;
  pollEveryMs: number;
}

/** What the last poll saw: the site through the API and each probed function. */
interface PollView {
  poll: number;
  site?: SiteView;
  apiError?: string;
  probes: Map<string, Omit<Sample, 'at'>>;
}

/** Longest sleep of the twin timer, so a clock that jumped is noticed soon. */
const maxSleepMs = 30_000;

/**
 * Netlify functions as units: one look at the site a `pollEvery` (the latest production deploy, the
 * published one's schedules, its functions) and a probe of each sync function's public URL. Nothing
 * can stop a deployed function, so the twin runs beside it: the local runner serves it, or runs it on
 * its throttled schedule, while the unit is on its twin.
 */
export class NetlifyRuntime implements KindRuntime {
  readonly kind = 'netlify' as const;
  readonly drivers: NetlifyUnitDriver[];
  private lastPoll = Number.NEGATIVE_INFINITY;
  private pollWait: number;
  private pollCost: number | undefined;
  private view: PollView = { poll: 0, probes: new Map() };
  private listening: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly runs = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: NetlifyRuntimeOptions) {
    this.drivers = opts.units.map((spec) => new NetlifyUnitDriver(spec, this, () => this.view));
    this.pollWait = opts.pollEveryMs;
  }

  get watched(): boolean {
    return this.opts.api !== undefined;
  }

  get unwatched(): string | undefined {
    return this.opts.api ? undefined : this.opts.unwatched ?? 'no token';
  }

  async refresh(force: boolean): Promise<void> {
    const { api, clock, pollEveryMs, logger } = this.opts;
    const now = clock.now();
    if (!force && now - this.lastPoll < this.pollWait) return;
    this.lastPoll = now;
    const sentBefore = api?.budget?.().requests ?? 0;
    const next: PollView = { poll: this.view.poll + 1, probes: new Map() };
    const probed = this.drivers.filter((d) => d.spec.probe);
    const [site] = await Promise.all([
      api?.siteHealth().then(
        (value) => ({ value }),
        (error: unknown) => ({ error: errorMessage(error) }),
      ),
      ...probed.map(async (d) => next.probes.set(d.unit.id, await d.spec.probe!.check())),
    ]);
    if (site && 'value' in site) next.site = site.value;
    else if (site) {
      next.apiError = site.error;
      if (this.view.apiError !== site.error) logger.warn({ kind: 'netlify', err: site.error }, 'Netlify API: no samples from it until it answers');
    }
    const budget = api?.budget?.();
    if (budget) this.pollCost = averagePollCost(this.pollCost, budget.requests - sentBefore);
    this.pollWait = budget ? pollWaitMs(budget, clock.now(), pollEveryMs, this.pollCost!) : pollEveryMs;
    this.view = next;
    this.arm();
  }

  subscribe(): () => void {
    return () => undefined;
  }

  forget(): void {}

  /** The listener for sync functions, opened once and kept: a failure is retried at the next start-twin. */
  async ensureListening(): Promise<void> {
    this.listening ??= this.opts.runner.listen(this.opts.listen).catch((error: unknown) => {
      this.listening = undefined;
      throw error;
    });
    await this.listening;
  }

  get listen(): string {
    return this.opts.listen;
  }

  running(unitId: string): boolean {
    return this.runs.has(unitId);
  }

  /** Fires every scheduled twin that is due, then sleeps until the next one. */
  private fire(): void {
    const now = this.opts.clock.now();
    for (const d of this.drivers) {
      if (!d.twinOn || d.nextTwinAt === undefined || d.nextTwinAt > now || !d.spec.plan.parsed) continue;
      const slot = d.nextTwinAt;
      d.nextTwinAt = nextSlot(d.spec.plan.parsed, 'UTC', now);
      if (this.runs.has(d.unit.id)) {
        this.opts.logger.warn({ unit: d.unit.id }, 'twin firing skipped: the last twin run is still under way');
        continue;
      }
      this.runScheduled(d, new Date(d.nextTwinAt ?? slot));
    }
    this.arm();
  }

  private runScheduled(d: NetlifyUnitDriver, nextRun: Date): void {
    const { logger, runner } = this.opts;
    const run = runner
      .runScheduled(d.unit.id, nextRun)
      .then((result) => {
        d.lastTwinRun = { at: this.opts.clock.now(), ...result };
        logger.info({ unit: d.unit.id, ok: result.ok, durationMs: result.durationMs, ...(result.reason && { reason: result.reason }) }, 'twin run ended');
      })
      .catch((error: unknown) => logger.error({ unit: d.unit.id, err: errorMessage(error) }, 'twin run failed to start'))
      .finally(() => this.runs.delete(d.unit.id));
    this.runs.set(d.unit.id, run);
  }

  arm(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const now = this.opts.clock.now();
    const due = this.drivers.filter((d) => d.twinOn && d.nextTwinAt !== undefined).map((d) => d.nextTwinAt!);
    const next = Math.min(...due, now + maxSleepMs);
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - now));
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // A twin run under way is stopped with the runner; its ledger line says so.
    await Promise.race([Promise.all(this.runs.values()), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await this.opts.runner.close();
  }

  summary(): Record<string, unknown> {
    const { api } = this.opts;
    if (!api) return { unwatched: this.unwatched };
    const budget = api.budget?.();
    const site = this.view.site;
    return {
      ...(site?.latestProduction && { latestDeploy: { id: site.latestProduction.id, state: site.latestProduction.state } }),
      ...(site?.published && { publishedDeploy: { id: site.published.id, state: site.published.state } }),
      ...(budget && { api: { ...budget, resetAt: budget.resetAt === null ? null : new Date(budget.resetAt).toISOString() } }),
      ...(this.pollWait > this.opts.pollEveryMs && { pollSlowedToMs: this.pollWait }),
      ...(this.view.apiError && { apiError: this.view.apiError }),
    };
  }

  runner(): LocalRunnerPort {
    return this.opts.runner;
  }

  now(): number {
    return this.opts.clock.now();
  }

  get log(): Logger {
    return this.opts.logger;
  }
}

/** One function: samples from the site and its probe; the twin is the local runner, beside the deployed function. */
export class NetlifyUnitDriver implements UnitDriver {
  readonly unit: NetlifyUnit;
  readonly policy: UnitPolicy;
  twinOn = false;
  nextTwinAt: number | undefined;
  lastTwinRun: { at: number; ok: boolean; reason?: string; durationMs: number } | undefined;
  private countedPoll = 0;
  private lastError: string | undefined;
  private lastSamples: Array<Omit<Sample, 'at'>> = [];

  constructor(
    readonly spec: NetlifyUnitSpec,
    private readonly runtime: NetlifyRuntime,
    private readonly view: () => PollView,
  ) {
    this.unit = spec.unit;
    this.policy = spec.policy;
  }

  async observe(record: UnitRecord, now: number): Promise<Observation> {
    const view = this.view();
    const watched = primaryWatched(record.state);
    // One look a poll: a round between polls has nothing new to say.
    if (!watched || this.countedPoll === view.poll) return { events: [] };
    this.countedPoll = view.poll;
    this.lastSamples = [...this.siteSamples(view), ...(view.probes.has(this.unit.id) ? [view.probes.get(this.unit.id)!] : [])];
    const events: UnitEvent[] = this.lastSamples.map((sample) => ({ type: 'sample', sample: { ...sample, at: now } }));
    return { events };
  }

  /** The deploy's state is every function's; a scheduled function also needs its schedule registered. */
  private siteSamples(view: PollView): Array<Omit<Sample, 'at'>> {
    const site = view.site;
    if (!site) return [];
    const { name, type } = this.unit.fn;
    const latest = site.latestProduction;
    if (latest?.state === 'error') return [{ ok: false, reason: `production deploy ${latest.id} failed${latest.errorMessage ? `: ${latest.errorMessage}` : ''}` }];
    if (site.functions && !site.functions.includes(name)) return [{ ok: false, reason: 'not in the published deploy' }];
    const schedules = site.published?.functionSchedules;
    if (type === 'scheduled' && schedules && !schedules.some((s) => s.name === name)) return [{ ok: false, reason: 'schedule not registered in the published deploy' }];
    // A sync function's probe says whether it answers; the deploy being fine is no sample of that.
    if (this.spec.probe) return [];
    return [{ ok: true, reason: `deploy ${site.published?.id ?? latest?.id ?? ''} ${site.published?.state ?? latest?.state ?? 'ready'}`.trim() }];
  }

  needed(effect: Effect): boolean {
    const runner = this.runtime.runner();
    switch (effect.type) {
      case 'start-twin':
        return !runner.enabled(this.unit.id) || !this.twinOn;
      case 'stop-twin':
        return runner.enabled(this.unit.id) || this.twinOn;
      // Nothing can stop, start or restore a deployed function from here.
      case 'stop-primary':
      case 'start-primary':
      case 'restore-primary':
        return false;
    }
  }

  async run(effect: Effect): Promise<void> {
    try {
      await this.carryOut(effect);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = errorMessage(error);
      throw error;
    }
  }

  private async carryOut(effect: Effect): Promise<void> {
    const runner = this.runtime.runner();
    const { plan } = this.spec;
    switch (effect.type) {
      case 'start-twin':
        await runner.enable({ unitId: this.unit.id, info: this.unit.fn, timeoutMs: plan.twin.timeoutMs });
        if (plan.twin.runner === 'http') await this.runtime.ensureListening();
        if (plan.parsed) this.nextTwinAt = nextSlot(plan.parsed, 'UTC', this.runtime.now());
        this.twinOn = true;
        this.runtime.arm();
        this.runtime.log.info({ unit: this.unit.id, runner: plan.twin.runner, ...(plan.twin.runner === 'http' ? { listen: this.runtime.listen } : { schedule: plan.twin.schedule }) }, 'local runner on');
        return;
      case 'stop-twin':
        this.twinOn = false;
        this.nextTwinAt = undefined;
        await runner.disable(this.unit.id);
        this.runtime.arm();
        this.runtime.log.info({ unit: this.unit.id }, 'local runner off');
        return;
      case 'stop-primary':
      case 'start-primary':
      case 'restore-primary':
        return;
    }
  }

  sides(record: UnitRecord): UnitSides {
    const view = this.view();
    const onTwin = record.state.kind === 'backup' || record.state.kind === 'failing-over';
    const unwatched = this.runtime.unwatched;
    const latest = view.site?.latestProduction;
    const failed = this.lastSamples.find((s) => !s.ok);
    const reason = (view.apiError && `Netlify API: ${view.apiError}`) ?? failed?.reason ?? this.lastError;
    const primaryStatus = latest ? `deploy ${latest.state}` : unwatched && !this.spec.probe ? 'unwatched' : this.spec.probe ? 'probed' : 'unknown';
    const primary = {
      name: this.unit.fn.name,
      status: primaryStatus,
      ok: failed === undefined,
      ...((reason ?? (unwatched && `unwatched: ${unwatched}`)) && { reason: reason ?? `unwatched: ${unwatched}` }),
    };
    const { twin } = this.spec.plan;
    const serving = twin.runner === 'http' ? `serving on http://${this.runtime.listen}` : 'scheduled';
    const twinStatus = this.runtime.running(this.unit.id) ? 'running' : this.twinOn ? serving : 'standby';
    const runs: RunsReport | undefined =
      twin.runner === 'schedule'
        ? {
            schedule: this.unit.fn.schedule ?? null,
            lastRun: this.lastTwinRun ? { at: new Date(this.lastTwinRun.at).toISOString(), side: 'twin', exitCode: this.lastTwinRun.ok ? 0 : 1, durationMs: this.lastTwinRun.durationMs, ok: this.lastTwinRun.ok } : null,
            nextSlot: null,
            twinSchedule: twin.schedule,
            nextTwinRun: onTwin && this.nextTwinAt !== undefined ? new Date(this.nextTwinAt).toISOString() : null,
          }
        : undefined;
    return {
      primary,
      twin: { name: twin.name, status: twinStatus, ok: this.twinOn && this.lastTwinRun?.ok !== false, ...(this.lastError && { reason: this.lastError }) },
      ...(runs && { runs }),
    };
  }

  rebuild(now: number): UnitRecord {
    return initialRecord(this.unit.id, now);
  }
}
