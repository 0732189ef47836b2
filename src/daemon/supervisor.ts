import type { Clock } from '../core/clock.js';
import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import { errorMessage } from '../core/errors.js';
import { effectsOf, isTransitional, transition, type Effect, type UnitEvent, type UnitPolicy, type UnitRecord } from '../core/failover.js';
import { buildReport, type SideObservation, type UnitObservation } from '../core/health.js';
import type { ProcessManager, Probe } from '../core/ports.js';
import { recordFromLiveView } from '../core/live-record.js';
import type { HealthReport, ManagerReport } from '../core/report-types.js';
import type { TwinPlan } from '../core/twin-plan.js';
import type { Pm2Unit, ProcessEvent, ProcessView, Sample, UnitId } from '../core/types.js';
import type { Logger } from '../store/logger.js';
import type { ReportWriter } from '../store/report-writer.js';
import type { StateStore } from '../store/state-store.js';
import { observePrimary, observeTwin, type PrimaryMemory } from './observe.js';
import { LatestReportSink } from './report-sink.js';
import type { TwinDriver } from './twin-driver.js';
import { UnitQueue } from './unit-queue.js';

export interface SupervisedUnit {
  unit: Pm2Unit;
  twin: TwinPlan;
  driver: TwinDriver;
  probe?: Probe;
  policy: UnitPolicy;
}

export interface SupervisorDeps {
  config: CompiledConfig;
  units: SupervisedUnit[];
  pm: ProcessManager;
  store: Pick<StateStore<UnitRecord>, 'load' | 'save'>;
  reports: Pick<ReportWriter, 'write'>;
  logger: Logger;
  clock: Clock;
  manager: ManagerReport;
  /**
   * How often a round asks a large PM2 daemon for the whole list. In between, the adapter's view is
   * kept current by bus events and the manager's own operations; the full list catches what the bus
   * does not say (apps added or deleted by others) and refreshes memory figures; on a large daemon
   * it is the biggest cost of the manager (2,000 apps: a 9 MB answer). @default 5 min
   */
  fullListEveryMs?: number;
  /** Below this many apps in PM2, every round lists them all: a few milliseconds. @default 50 */
  smallDaemonApps?: number;
}

/** Per-unit memory that does not survive a restart: PM2 counters and the last look at each side. */
interface Volatile {
  memory: PrimaryMemory;
  /** Last probe verdict of each side; undefined when not probed since it last started. */
  primaryProbeOk?: boolean;
  twinProbeOk?: boolean;
}

export function unitPolicy(config: CompiledConfig, id: UnitId): UnitPolicy {
  return { ...config.policy, overlap: unitConfig(config, id).overlap };
}

/**
 * Carries the failover state machine out for every unit: feeds it samples from PM2 and probes,
 * saves each transition before running its effects, and writes the health report.
 */
export class Supervisor {
  private readonly records = new Map<UnitId, UnitRecord>();
  private readonly volatile = new Map<UnitId, Volatile>();
  private readonly byName = new Map<string, SupervisedUnit>();
  private readonly units = new Map<UnitId, SupervisedUnit>();
  private readonly queue = new UnitQueue();
  private lastFullListAt = Number.NEGATIVE_INFINITY;
  private lastListSize = 0;
  private lastReport: HealthReport | undefined;
  private readonly sink: LatestReportSink;

  constructor(private readonly deps: SupervisorDeps) {
    this.sink = new LatestReportSink((report) => deps.reports.write(report));
    for (const s of deps.units) {
      this.units.set(s.unit.id, s);
      this.byName.set(s.unit.name, s);
      this.volatile.set(s.unit.id, { memory: { exitsSinceRound: 0 } });
    }
  }

  /** Loads saved state, registers the twins stopped, and carries on any transition a previous manager left half done. */
  async init(): Promise<void> {
    const { logger, clock, store } = this.deps;
    const loaded = await store.load(clock.now());
    await this.refresh(true);
    for (const s of this.units.values()) {
      // No saved record (first start, state file lost): the side PM2 shows it on, not a flip back.
      const record = loaded.units[s.unit.id] ?? this.fromLiveView(s);
      this.records.set(s.unit.id, record);
    }
    const orphans = Object.keys(loaded.units).filter((id) => !this.units.has(id));
    if (orphans.length > 0) logger.warn({ units: orphans }, 'saved state names units the inventory no longer has; left as they are');
    // Kept in the file: a unit missing from one inventory (a live unit after `pm2 kill`) is not forgotten.
    for (const id of orphans) this.records.set(id, loaded.units[id]!);
    await this.save();
    await Promise.all([...this.units.values()].map((s) => this.queue.run(s.unit.id, () => this.reconcile(s))));
    for (const s of this.units.values()) {
      this.volatile.get(s.unit.id)!.memory.restartsSeen = this.view(s.unit.name)?.restarts;
    }
  }

  /** After PM2 came back as a new daemon: looks again and restores every unit's active side. */
  async resync(): Promise<void> {
    await this.refresh(true);
    await Promise.all(
      [...this.units.values()].map((s) =>
        this.queue.run(s.unit.id, async () => {
          // The old daemon's counters mean nothing to the new one.
          this.volatile.get(s.unit.id)!.memory = { exitsSinceRound: 0 };
          await this.reconcile(s);
        }),
      ),
    );
    this.writeReport();
  }

  /** One health round: look at PM2, probe, feed the state machine, write the report. */
  async round(): Promise<HealthReport> {
    await this.refresh(false);
    await Promise.all(
      [...this.units.values()].map((s) =>
        this.queue.run(s.unit.id, async () => {
          await this.observe(s);
          await this.apply(s, { type: 'tick' });
          await this.reconcile(s);
        }),
      ),
    );
    return this.writeReport();
  }

  /** Bus events arrive between rounds: a crash is a failed sample at once. */
  handleProcessEvent(event: ProcessEvent): void {
    const s = this.byName.get(event.name);
    if (!s) return;
    const v = this.volatile.get(s.unit.id)!;
    if (event.type === 'exit' && !event.manually) {
      v.memory.exitsSinceRound += 1;
      const code = event.exitCode ?? event.signal ?? 'unknown';
      const sample: Sample = { ok: false, reason: `exited (${code})`, at: event.at, crash: true };
      void this.queue.run(s.unit.id, () => this.apply(s, { type: 'sample', sample }));
    } else if (event.type === 'restart-overlimit') {
      void this.queue.run(s.unit.id, () => this.apply(s, { type: 'primary-dead', reason: 'PM2 gave up restarting (restart overlimit)' }));
    }
  }

  /** `failover <unit>` / `failback <unit>`: the same transitions as the automatic ones. */
  async manual(id: UnitId, action: 'failover' | 'failback'): Promise<UnitRecord> {
    const s = this.units.get(id);
    if (!s) throw new Error(`unknown unit ${id}`);
    const event: UnitEvent = action === 'failover' ? { type: 'manual-failover', reason: 'manual failover' } : { type: 'manual-failback' };
    await this.queue.run(id, () => this.apply(s, event, true));
    return this.records.get(id)!;
  }

  report(): HealthReport {
    return this.lastReport ?? this.buildReport();
  }

  has(id: UnitId): boolean {
    return this.units.has(id);
  }

  /** Waits for work under way, then saves synchronously enough for a SIGTERM. */
  async drain(): Promise<void> {
    await this.queue.idle();
    await this.save();
    await this.sink.flush();
  }

  private async observe(s: SupervisedUnit): Promise<void> {
    const v = this.volatile.get(s.unit.id)!;
    const record = this.records.get(s.unit.id)!;
    const now = this.deps.clock.now();
    const primaryView = this.view(s.unit.name);
    const twinView = this.view(s.twin.twin.name);
    const twinStatus = s.driver.effective(twinView).status;
    const twinSeen = twinView && { ...twinView, status: twinStatus };
    v.twinProbeOk = (await observeTwin(twinSeen, s.probe, record.state.kind, { now, startGraceMs: s.policy.startGraceMs })).probeOk;
    const observed = await observePrimary({
      view: primaryView,
      probe: s.probe,
      memory: v.memory,
      now,
      deadAfterMs: s.policy.deadAfterMs,
      startGraceMs: s.policy.startGraceMs,
      state: record.state.kind,
    });
    v.primaryProbeOk = observed.probeOk;
    v.memory.restartsSeen = primaryView?.restarts;
    v.memory.exitsSinceRound = 0;
    for (const event of observed.events) await this.apply(s, event);
  }

  private async apply(s: SupervisedUnit, event: UnitEvent, rethrow = false): Promise<void> {
    const before = this.records.get(s.unit.id)!;
    let t;
    try {
      t = transition(before, event, this.deps.clock.now(), s.policy);
    } catch (error) {
      if (rethrow) throw error;
      this.deps.logger.error({ unit: s.unit.id, err: error }, 'transition refused');
      return;
    }
    this.records.set(s.unit.id, t.record);
    if (!t.changed) return;
    if (t.record.state.kind !== before.state.kind) {
      this.deps.logger.info({ unit: s.unit.id, from: before.state.kind, to: t.record.state.kind, reason: t.record.reason }, 'transition');
    }
    // The intent is durable before anything moves, so a killed manager resumes it.
    await this.save();
    const effects = t.effects.filter((e) => this.needed(s, e));
    const done = effects.length === 0 || (await this.runEffects(s, effects));
    this.writeReport();
    // Completed now, not at the next round: the report never lags a failover that is already done.
    if (done && isTransitional(t.record.state) && event.type !== 'effects-done') await this.apply(s, { type: 'effects-done' });
  }

  /** Brings PM2 in line with the unit's state; completes a transitional state whose effects all succeed. */
  private async reconcile(s: SupervisedUnit): Promise<void> {
    const record = this.records.get(s.unit.id)!;
    const effects = effectsOf(record.state, s.policy.overlap).filter((e) => this.needed(s, e));
    if (effects.length > 0 && !(await this.runEffects(s, effects))) return;
    if (isTransitional(record.state)) await this.apply(s, { type: 'effects-done' });
  }

  /** Skips effects PM2 already satisfies, so reconciling a settled unit costs nothing. */
  private needed(s: SupervisedUnit, effect: Effect): boolean {
    const primary = this.view(s.unit.name)?.status;
    const twin = s.driver.effective(this.view(s.twin.twin.name));
    switch (effect.type) {
      case 'restore-primary':
        return primary === undefined;
      case 'start-primary':
        return primary !== 'online' && primary !== 'launching';
      case 'stop-primary':
        return primary !== undefined && primary !== 'stopped';
      case 'start-twin':
        return s.driver.needsActivate(twin);
      case 'stop-twin':
        return s.driver.needsStandby(twin);
    }
  }

  private async runEffects(s: SupervisedUnit, effects: Effect[]): Promise<boolean> {
    const { pm, logger } = this.deps;
    const log = logger.child({ unit: s.unit.id });
    const v = this.volatile.get(s.unit.id)!;
    for (const effect of effects) {
      try {
        switch (effect.type) {
          case 'stop-primary':
            await pm.stop(s.unit.name);
            break;
          case 'restore-primary':
          case 'start-primary':
            v.primaryProbeOk = undefined;
            await pm.start(s.unit.app);
            break;
          case 'start-twin':
            v.twinProbeOk = undefined;
            await s.driver.activate(pm, this.view(s.twin.twin.name));
            break;
          case 'stop-twin':
            await s.driver.standby(pm, this.view(s.twin.twin.name));
            break;
        }
        log.info({ effect: effect.type }, 'effect done');
      } catch (error) {
        log.error({ effect: effect.type, err: errorMessage(error) }, 'effect failed; retried next round');
        return false;
      }
    }
    return true;
  }

  private fromLiveView(s: SupervisedUnit): UnitRecord {
    const twin = s.driver.effective(this.view(s.twin.twin.name)).status;
    const record = recordFromLiveView(s.unit.id, this.deps.clock.now(), this.view(s.unit.name)?.status, twin);
    if (record.state.kind !== 'primary') this.deps.logger.warn({ unit: s.unit.id }, `no saved state; ${record.reason}: kept on its twin`);
    return record;
  }

  private view(name: string): ProcessView | undefined {
    return this.deps.pm.view(name);
  }

  /** A full PM2 list when one is due (or `force`d); the adapter's view answers in between. */
  private async refresh(force: boolean): Promise<void> {
    const { clock, pm, fullListEveryMs = 300_000, smallDaemonApps = 50 } = this.deps;
    const now = clock.now();
    const due = this.lastListSize < smallDaemonApps || now - this.lastFullListAt >= fullListEveryMs;
    if (!force && !due) return;
    this.lastListSize = (await pm.list()).length;
    this.lastFullListAt = now;
  }

  private async save(): Promise<void> {
    await this.deps.store.save(Object.fromEntries(this.records));
  }

  private buildReport(): HealthReport {
    const observations: UnitObservation[] = [...this.units.values()].map((s) => {
      const v = this.volatile.get(s.unit.id)!;
      return {
        unit: s.unit,
        record: this.records.get(s.unit.id)!,
        primary: side(s.unit.name, this.view(s.unit.name), v.primaryProbeOk, s.probe !== undefined),
        twin: twinSide(s, this.view(s.twin.twin.name), v.twinProbeOk),
      };
    });
    return buildReport(observations, this.deps.manager, this.deps.clock.now());
  }

  private writeReport(): HealthReport {
    const report = this.buildReport();
    this.lastReport = report;
    this.sink.offer(report);
    return report;
  }
}

function side(name: string, view: ProcessView | undefined, probeOk: boolean | undefined, probed: boolean): SideObservation {
  const status = view?.status ?? 'missing';
  const ok = status === 'online' && probeOk !== false;
  return { name, status, ok, starting: ok && probed && probeOk === undefined };
}

function twinSide(s: SupervisedUnit, view: ProcessView | undefined, probeOk: boolean | undefined): SideObservation {
  const { status, reason } = s.driver.effective(view);
  const side: SideObservation = { name: s.twin.twin.name, status, ok: status === 'online' && probeOk !== false, mode: s.twin.mode };
  if (reason !== undefined) side.reason = reason;
  else if (s.twin.coldReason !== undefined) side.reason = `cold: ${s.twin.coldReason}`;
  if (view && view.memoryBytes > 0) side.memoryMb = Math.round((view.memoryBytes / 1_048_576) * 10) / 10;
  return side;
}
