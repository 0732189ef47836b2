import type { Clock } from '../core/clock.js';
import { unitConfig, type CompiledConfig } from '../core/config-types.js';
import { errorMessage } from '../core/errors.js';
import { effectsOf, isTransitional, transition, type Effect, type StateKind, type UnitEvent, type UnitPolicy, type UnitRecord } from '../core/failover.js';
import { reportOf, standbyReport, unitReport } from '../core/health.js';
import { RedundancyError } from '../core/errors.js';
import { activePause, holdWhilePaused, noPauses, type Pauses } from '../core/pause.js';
import type { KindRuntime, UnitDriver } from '../core/kind.js';
import type { DrillVerifier } from '../core/drill.js';
import type { HostGate } from '../core/host-gate.js';
import type { DrillSummary, HealthReport, ManagerReport, UnitReport } from '../core/report-types.js';
import type { Sample, UnitId } from '../core/types.js';
import type { Logger } from '../store/logger.js';
import type { ReportWriter } from '../store/report-writer.js';
import type { StateStore } from '../store/state-store.js';
import { LatestReportSink } from './report-sink.js';
import { UnitQueue } from './unit-queue.js';

export interface SupervisorDeps {
  kinds: readonly KindRuntime[];
  store: Pick<StateStore<UnitRecord>, 'load' | 'save'> & { touch?: () => Promise<void> };
  reports: Pick<ReportWriter, 'write'>;
  logger: Logger;
  clock: Clock;
  manager: ManagerReport;
  /** Maintenance pauses in force (`redundancy pause`). */
  pauses?: () => Pauses;
  /** Told of every change of state and every report, for notifications and metrics. */
  observer?: SupervisorObserver;
  /** Multi-host: whether this host may act on a unit now (it holds the lease). */
  host?: HostGate;
  /** The last drill of each unit, shown in the report. */
  drills?: () => Record<UnitId, DrillSummary>;
}

/** What a standby runs to keep a unit ready and not running: the primary stopped, the twin parked. */
const parkEffects: Effect[] = [{ type: 'stop-primary', park: true }, { type: 'stop-twin' }];

export interface SupervisorObserver {
  transition?(id: UnitId, from: UnitRecord, to: UnitRecord, event: UnitEvent): void;
  /** Every sample a unit's kind reported, with the state it found the unit in. */
  sample?(id: UnitId, sample: Sample, state: StateKind): void;
  report?(report: HealthReport): void;
}

export function unitPolicy(config: CompiledConfig, id: UnitId): UnitPolicy {
  const unit = unitConfig(config, id);
  return { ...unit.policy, overlap: unit.overlap };
}

/**
 * Carries the failover state machine out for every unit of every kind: feeds it what the kinds
 * observe, saves each transition before running its effects, and writes the health report.
 */
export class Supervisor {
  private readonly records = new Map<UnitId, UnitRecord>();
  private readonly drivers = new Map<UnitId, UnitDriver>();
  private readonly queue = new UnitQueue();
  private readonly reported = new Map<UnitId, { record: UnitRecord; key: string; report: UnitReport }>();
  private lastReport: HealthReport | undefined;
  private readonly sink: LatestReportSink;
  private kinds: readonly KindRuntime[];
  private unlisten: (() => void) | undefined;

  constructor(private readonly deps: SupervisorDeps) {
    this.sink = new LatestReportSink((report) => deps.reports.write(report));
    this.kinds = deps.kinds;
    for (const kind of this.kinds) for (const d of kind.drivers) this.drivers.set(d.unit.id, d);
  }

  /** Loads saved state and carries on any transition a previous manager left half done. */
  async init(): Promise<void> {
    const { logger, clock, store } = this.deps;
    const kinds = this.kinds;
    const loaded = await store.load(clock.now());
    await Promise.all(kinds.map((k) => k.refresh(true)));
    for (const d of this.drivers.values()) {
      // No saved record (first start, state file lost): the side the world shows it on, not a flip back.
      this.records.set(d.unit.id, loaded.units[d.unit.id] ?? d.rebuild(clock.now()));
    }
    const orphans = Object.keys(loaded.units).filter((id) => !this.drivers.has(id));
    if (orphans.length > 0) logger.warn({ units: orphans }, 'saved state names units the inventory no longer has; left as they are');
    // Kept in the file: a unit missing from one inventory (a live unit after `pm2 kill`) is not forgotten.
    for (const id of orphans) this.records.set(id, loaded.units[id]!);
    await this.save();
    await this.eachUnit((d) => this.reconcile(d));
    // A drill's runner died with the last manager: nobody verifies the twin now, so the unit goes back.
    await this.eachUnit(async (d) => {
      const state = this.records.get(d.unit.id)!.state;
      if ((state.kind === 'backup' || state.kind === 'failing-over') && state.drill) {
        await this.apply(d, { type: 'drill-failback', reason: 'drill interrupted by a manager restart; back to the primary' });
      }
    });
    for (const kind of kinds) kind.settle?.();
  }

  /** Subscribes to what the kinds push between rounds; returns the unsubscribe. */
  listen(): () => void {
    const offs = this.kinds.map((kind) => kind.subscribe((id, event) => this.event(id, event)));
    this.unlisten = () => offs.forEach((off) => off());
    return () => {
      this.unlisten?.();
      this.unlisten = undefined;
    };
  }

  /**
   * A reload: the kinds of a new config and inventory take over. A unit kept keeps its state,
   * window and failovers (its driver, probe and policy are the new ones); a unit added starts from
   * what the world shows; a unit removed keeps its saved state and is left as it is. The caller
   * runs no round meanwhile.
   */
  async replaceKinds(kinds: readonly KindRuntime[]): Promise<{ added: UnitId[]; removed: UnitId[] }> {
    const { clock, logger } = this.deps;
    await this.queue.idle();
    const listening = this.unlisten !== undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    const before = new Set(this.drivers.keys());
    await Promise.all(this.kinds.map((kind) => kind.close()));
    this.kinds = kinds;
    this.drivers.clear();
    this.reported.clear();
    for (const kind of kinds) for (const d of kind.drivers) this.drivers.set(d.unit.id, d);
    const added = [...this.drivers.keys()].filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !this.drivers.has(id));
    await Promise.all(kinds.map((k) => k.refresh(true)));
    for (const id of added) this.records.set(id, this.records.get(id) ?? this.drivers.get(id)!.rebuild(clock.now()));
    await this.save();
    if (listening) this.listen();
    await this.eachUnit((d) => this.reconcile(d));
    for (const kind of kinds) kind.settle?.();
    if (removed.length > 0) logger.warn({ units: removed }, 'units no longer in the config or sources: their state is kept and they are left as they are');
    this.writeReport();
    return { added, removed };
  }

  /** An observation pushed between rounds (a crash on PM2's bus, a finished run). */
  event(id: UnitId, event: UnitEvent): void {
    const d = this.drivers.get(id);
    if (d) void this.queue.run(id, () => this.apply(d, event));
  }

  /** After a kind's world was replaced (a new PM2 daemon): looks again and restores every unit's active side. */
  async resync(): Promise<void> {
    for (const kind of this.kinds) kind.forget();
    await Promise.all(this.kinds.map((k) => k.refresh(true)));
    await this.eachUnit((d) => this.reconcile(d));
    this.writeReport();
  }

  /** One health round: look at every unit, feed the state machine, write the report. */
  async round(): Promise<HealthReport> {
    await Promise.all(this.kinds.map((k) => k.refresh(false)));
    let cursorsMoved = false;
    await this.eachUnit(async (d) => {
      if (this.standingBy(d.unit.id)) return this.reconcile(d);
      const record = this.records.get(d.unit.id)!;
      const { events, cursor } = await d.observe(record, this.deps.clock.now());
      if (cursor !== undefined && cursor !== record.cursor) {
        this.records.set(d.unit.id, { ...record, cursor });
        cursorsMoved = true;
      }
      for (const event of events) await this.apply(d, event);
      await this.apply(d, { type: 'tick' });
      await this.reconcile(d);
    });
    // Read positions (and the samples they gave) are durable once a round ends.
    if (cursorsMoved) await this.save();
    // Tells `redundancy run` that a manager still keeps the gates, without rewriting the state.
    else await this.deps.store.touch?.();
    return this.writeReport();
  }

  /** `failover <unit>` / `failback <unit>`: the same transitions as the automatic ones. */
  async manual(id: UnitId, action: 'failover' | 'failback'): Promise<UnitRecord> {
    const event: UnitEvent = action === 'failover' ? { type: 'manual-failover', reason: 'manual failover' } : { type: 'manual-failback' };
    return this.operate(id, event);
  }

  /** A drill's switch (`drill-failover`, `drill-failback`): the same queue and effects as any transition; throws when illegal. */
  drillSwitch(id: UnitId, event: Extract<UnitEvent, { type: 'drill-failover' | 'drill-failback' }>): Promise<UnitRecord> {
    return this.operate(id, event);
  }

  /** An operator's event: queued with the unit's others, and an illegal one throws to the caller. */
  private async operate(id: UnitId, event: UnitEvent): Promise<UnitRecord> {
    const d = this.drivers.get(id);
    if (!d) throw new Error(`unknown unit ${id}`);
    await this.queue.run(id, () => this.apply(d, event, true));
    return this.records.get(id)!;
  }

  drillVerifier(id: UnitId): DrillVerifier | undefined {
    return this.drivers.get(id)?.drill;
  }

  report(): HealthReport {
    return this.lastReport ?? this.buildReport();
  }

  /**
   * This host now leads: every unit that follows the lease goes to the side its state names, the
   * primary started even where PM2 keeps it registered stopped.
   */
  async activate(): Promise<void> {
    await this.eachUnit(async (d) => {
      if (!this.deps.host?.follows(d.unit.id)) return;
      const record = this.records.get(d.unit.id)!;
      const wanted = record.state.kind === 'primary' ? effectsOf({ kind: 'probing', since: 0, okCount: 0, started: false }, d.policy.overlap) : effectsOf(record.state, d.policy.overlap);
      await this.runEffects(d, wanted.filter((e) => d.needed(e, record)));
    });
    this.writeReport();
  }

  /** This host no longer may act: every unit that follows the lease is stopped, whatever its state. */
  async park(): Promise<void> {
    await Promise.all([...this.drivers.values()].filter((d) => this.deps.host?.follows(d.unit.id)).map((d) => this.parkUnit(d)));
    this.writeReport();
  }

  /** Writes the report now (something it shows changed outside a round: a pause). */
  refreshReport(): HealthReport {
    return this.writeReport();
  }

  has(id: UnitId): boolean {
    return this.drivers.has(id);
  }

  record(id: UnitId): UnitRecord | undefined {
    return this.records.get(id);
  }

  /** Waits for work under way, then saves synchronously enough for a SIGTERM. */
  async drain(): Promise<void> {
    await this.queue.idle();
    await Promise.all(this.kinds.map((kind) => kind.close()));
    await this.save();
    await this.sink.flush();
  }

  private eachUnit(work: (d: UnitDriver) => Promise<void>): Promise<unknown> {
    return Promise.all([...this.drivers.values()].map((d) => this.queue.run(d.unit.id, () => work(d))));
  }

  private async apply(d: UnitDriver, event: UnitEvent, rethrow = false): Promise<void> {
    const id = d.unit.id;
    if (this.standingBy(id)) {
      // A standby's units are parked: what they show is not the active host's business.
      if (rethrow) throw new RedundancyError('USAGE', `${id}: this host is a standby (epoch ${this.deps.host?.epoch() ?? 'none'}); act on the active host, or \`redundancy host promote\` here`);
      return;
    }
    const before = this.records.get(id)!;
    const now = this.deps.clock.now();
    let t;
    try {
      t = transition(before, event, now, d.policy);
      if (activePause(this.deps.pauses?.() ?? noPauses, id, now)) t = holdWhilePaused(before, event, t, now, d.policy);
    } catch (error) {
      if (rethrow) throw error;
      this.deps.logger.error({ unit: id, err: error }, 'transition refused');
      return;
    }
    this.records.set(id, t.record);
    if (event.type === 'sample') this.deps.observer?.sample?.(id, event.sample, before.state.kind);
    if (!t.changed) return;
    if (t.record.state.kind !== before.state.kind) {
      this.deps.logger.info({ unit: id, from: before.state.kind, to: t.record.state.kind, reason: t.record.reason }, 'transition');
      this.deps.observer?.transition?.(id, before, t.record, event);
    }
    // The intent is durable before anything moves, so a killed manager resumes it.
    await this.save();
    const effects = t.effects.filter((e) => d.needed(e, t.record));
    const done = effects.length === 0 || (await this.runEffects(d, effects));
    this.writeReport();
    // Completed now, not at the next round: the report never lags a failover that is already done.
    if (done && isTransitional(t.record.state) && event.type !== 'effects-done') await this.apply(d, { type: 'effects-done' });
  }

  /** Brings the world in line with the unit's state; completes a transitional state whose effects all succeed. */
  private async reconcile(d: UnitDriver): Promise<void> {
    if (this.standingBy(d.unit.id)) return this.parkUnit(d);
    const record = this.records.get(d.unit.id)!;
    const effects = effectsOf(record.state, d.policy.overlap).filter((e) => d.needed(e, record));
    if (effects.length > 0 && !(await this.runEffects(d, effects))) return;
    if (isTransitional(record.state)) await this.apply(d, { type: 'effects-done' });
  }

  private standingBy(id: UnitId): boolean {
    const host = this.deps.host;
    return host !== undefined && host.follows(id) && !host.acting();
  }

  private async parkUnit(d: UnitDriver): Promise<void> {
    if (!this.deps.host?.parks(d.unit.id)) return;
    const record = this.records.get(d.unit.id)!;
    await this.runEffects(d, parkEffects.filter((e) => d.needed(e, record)));
  }

  private async runEffects(d: UnitDriver, effects: Effect[]): Promise<boolean> {
    const log = this.deps.logger.child({ unit: d.unit.id });
    for (const effect of effects) {
      // The fencing token is checked before every effect that starts something: a host that lost the lease does nothing.
      if (!effect.type.startsWith('stop-') && this.standingBy(d.unit.id)) {
        log.warn({ effect: effect.type, epoch: this.deps.host?.epoch() ?? null }, 'effect refused: this host does not hold the lease (stale epoch)');
        return false;
      }
      try {
        const outcome = await d.run(effect, this.records.get(d.unit.id)!);
        if (outcome === 'pending') {
          log.debug({ effect: effect.type }, 'effect waits; tried again next round');
          return false;
        }
        log.info({ effect: effect.type }, 'effect done');
      } catch (error) {
        log.error({ effect: effect.type, err: errorMessage(error) }, 'effect failed; retried next round');
        return false;
      }
    }
    return true;
  }

  private async save(): Promise<void> {
    await this.deps.store.save(Object.fromEntries(this.records));
  }

  private buildReport(): HealthReport {
    const now = this.deps.clock.now();
    const units = [...this.drivers.values()].map((d) => this.unitReportOf(d, now));
    const host = this.deps.host?.report?.();
    const drills = this.deps.drills?.();
    const report = { ...reportOf(units, host ? { ...this.deps.manager, host } : this.deps.manager, now), ...(drills && Object.keys(drills).length > 0 && { drills }) };
    const kinds = Object.fromEntries(this.kinds.flatMap((k) => {
      const summary = k.summary?.();
      return summary ? [[k.kind, summary]] : [];
    }));
    return Object.keys(kinds).length > 0 ? { ...report, kinds } : report;
  }

  /** The unit's line of the report, the same object as last time when neither its record nor what its kind sees changed. */
  private unitReportOf(d: UnitDriver, now: number): UnitReport {
    const record = this.records.get(d.unit.id)!;
    const sides = d.sides(record, now);
    const pause = activePause(this.deps.pauses?.() ?? noPauses, d.unit.id, now);
    const key = JSON.stringify({ sides, pause, standby: this.standingBy(d.unit.id) });
    const kept = this.reported.get(d.unit.id);
    if (kept && kept.record === record && kept.key === key) return kept.report;
    const full = unitReport({ unit: d.unit, record, policy: d.policy, ...sides });
    const line = this.standingBy(d.unit.id) ? standbyReport(full) : full;
    const report = pause ? { ...line, paused: { since: new Date(pause.since).toISOString(), until: pause.until === null ? null : new Date(pause.until).toISOString() } } : line;
    this.reported.set(d.unit.id, { record, key, report });
    return report;
  }

  private writeReport(): HealthReport {
    const report = this.buildReport();
    this.lastReport = report;
    this.sink.offer(report);
    this.deps.observer?.report?.(report);
    return report;
  }
}
