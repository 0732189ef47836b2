import type { Clock } from '../../core/clock.js';
import type { Effect, UnitEvent, UnitPolicy, UnitRecord } from '../../core/failover.js';
import type { SideObservation } from '../../core/health.js';
import type { KindRuntime, Observation, UnitDriver, UnitSides } from '../../core/kind.js';
import { recordFromLiveView } from '../../core/live-record.js';
import type { ProcessManager, Probe } from '../../core/ports.js';
import type { Pm2AppSpec, Pm2Unit, ProcessView, Sample, UnitId } from '../../core/types.js';
import type { Logger } from '../../store/logger.js';
import type { DrillVerifier } from '../../core/drill.js';
import { observePrimary, observeTwin, type PrimaryMemory } from './observe.js';
import { pm2DrillVerifier } from './pm2-drill.js';
import type { TwinDriver } from './twin-driver.js';
import { primaryAsStarted, type TwinPlan } from './twin-plan.js';

export interface Pm2UnitSpec {
  unit: Pm2Unit;
  twin: TwinPlan;
  driver: TwinDriver;
  probe?: Probe;
  policy: UnitPolicy;
}

export interface Pm2RuntimeOptions {
  pm: ProcessManager;
  units: readonly Pm2UnitSpec[];
  clock: Clock;
  logger: Logger;
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

/** PM2 apps as units: bus events between rounds, a full list when one is due. */
export class Pm2Runtime implements KindRuntime {
  readonly kind = 'pm2' as const;
  readonly drivers: Pm2UnitDriver[];
  private readonly byName = new Map<string, Pm2UnitDriver>();
  private lastFullListAt = Number.NEGATIVE_INFINITY;
  private lastListSize = 0;

  constructor(private readonly opts: Pm2RuntimeOptions) {
    this.drivers = opts.units.map((spec) => new Pm2UnitDriver(spec, opts.pm, opts.logger, () => opts.clock.now()));
    for (const d of this.drivers) this.byName.set(d.unit.name, d);
  }

  /** A full PM2 list when one is due (or `force`d); the adapter's view answers in between. */
  async refresh(force: boolean): Promise<void> {
    const { clock, pm, fullListEveryMs = 300_000, smallDaemonApps = 50 } = this.opts;
    const now = clock.now();
    const due = this.lastListSize < smallDaemonApps || now - this.lastFullListAt >= fullListEveryMs;
    if (!force && !due) return;
    this.lastListSize = (await pm.list()).length;
    this.lastFullListAt = now;
  }

  /** Bus events arrive between rounds: a crash is a failed sample at once. */
  subscribe(emit: (id: UnitId, event: UnitEvent) => void): () => void {
    return this.opts.pm.onEvent((event) => {
      const d = this.byName.get(event.name);
      if (!d) return;
      if (event.type === 'exit' && !event.manually) {
        d.memory.exitsSinceRound += 1;
        const code = event.exitCode ?? event.signal ?? 'unknown';
        const sample: Sample = { ok: false, reason: `exited (${code})`, at: event.at, crash: true };
        emit(d.unit.id, { type: 'sample', sample });
      } else if (event.type === 'restart-overlimit') {
        emit(d.unit.id, { type: 'primary-dead', reason: 'PM2 gave up restarting (restart overlimit)' });
      }
    });
  }

  /** The old daemon's counters mean nothing to the new one. */
  forget(): void {
    for (const d of this.drivers) d.memory = { exitsSinceRound: 0 };
  }

  /** Restart counts as PM2 shows them once the units are reconciled: later restarts are the ones that count. */
  settle(): void {
    for (const d of this.drivers) d.memory.restartsSeen = this.opts.pm.view(d.unit.name)?.restarts;
  }

  async close(): Promise<void> {}
}

/** One PM2 unit: its primary app, its twin (cold or warm), and the probe of both. */
export class Pm2UnitDriver implements UnitDriver {
  readonly unit: Pm2Unit;
  readonly policy: UnitPolicy;
  readonly drill: DrillVerifier;
  memory: PrimaryMemory = { exitsSinceRound: 0 };
  /** The primary's app as the manager starts it (see `primaryAsStarted`). */
  private readonly primaryApp: Pm2AppSpec;
  /** Last probe verdict of each side; undefined when not probed since it last started. */
  private primaryProbeOk: boolean | undefined;
  private twinProbeOk: boolean | undefined;

  constructor(
    readonly spec: Pm2UnitSpec,
    private readonly pm: ProcessManager,
    private readonly logger: Logger,
    now: () => number,
  ) {
    this.unit = spec.unit;
    this.policy = spec.policy;
    this.primaryApp = primaryAsStarted(spec.unit.app);
    const twin = { name: spec.twin.twin.name, driver: spec.driver };
    this.drill = pm2DrillVerifier({ pm, primary: spec.unit.name, twin, ...(spec.probe && { probe: spec.probe }), stableMs: spec.policy.startGraceMs, now });
  }

  async observe(record: UnitRecord, now: number): Promise<Observation> {
    const { spec } = this;
    const primaryView = this.view(this.unit.name);
    const twinView = this.view(spec.twin.twin.name);
    const twinStatus = spec.driver.effective(twinView).status;
    const twinSeen = twinView && { ...twinView, status: twinStatus };
    this.twinProbeOk = (await observeTwin(twinSeen, spec.probe, record.state.kind, { now, startGraceMs: this.policy.startGraceMs })).probeOk;
    const observed = await observePrimary({
      view: primaryView,
      probe: spec.probe,
      memory: this.memory,
      now,
      deadAfterMs: this.policy.deadAfterMs,
      startGraceMs: this.policy.startGraceMs,
      state: record.state.kind,
    });
    this.primaryProbeOk = observed.probeOk;
    this.memory.restartsSeen = primaryView?.restarts;
    this.memory.exitsSinceRound = 0;
    return { events: observed.events };
  }

  needed(effect: Effect): boolean {
    const primary = this.view(this.unit.name)?.status;
    const twin = this.spec.driver.effective(this.view(this.spec.twin.twin.name));
    switch (effect.type) {
      case 'restore-primary':
        return primary === undefined;
      case 'start-primary':
        return primary !== 'online' && primary !== 'launching';
      case 'stop-primary':
        return effect.park ? primary !== 'stopped' : primary !== undefined && primary !== 'stopped';
      case 'start-twin':
        return this.spec.driver.needsActivate(twin);
      case 'stop-twin':
        return this.spec.driver.needsStandby(twin);
    }
  }

  async run(effect: Effect): Promise<void> {
    const { pm, spec } = this;
    switch (effect.type) {
      case 'stop-primary':
        // PM2's `autostart: false`: on a standby the primary is in `pm2 status`, stopped, ready for promotion.
        if (effect.park && this.view(this.unit.name) === undefined) return pm.register(this.primaryApp);
        return pm.stop(this.unit.name);
      case 'restore-primary':
      case 'start-primary':
        this.primaryProbeOk = undefined;
        return pm.start(this.primaryApp);
      case 'start-twin':
        this.twinProbeOk = undefined;
        return spec.driver.activate(pm, this.view(spec.twin.twin.name));
      case 'stop-twin':
        return spec.driver.standby(pm, this.view(spec.twin.twin.name));
    }
  }

  sides(): UnitSides {
    const primaryView = this.view(this.unit.name);
    const status = primaryView?.status ?? 'missing';
    const ok = status === 'online' && this.primaryProbeOk !== false;
    const primary: SideObservation = { name: this.unit.name, status, ok, starting: ok && this.spec.probe !== undefined && this.primaryProbeOk === undefined };
    return { primary, twin: this.twinSide() };
  }

  rebuild(now: number): UnitRecord {
    const twin = this.spec.driver.effective(this.view(this.spec.twin.twin.name)).status;
    const record = recordFromLiveView(this.unit.id, now, this.view(this.unit.name)?.status, twin);
    if (record.state.kind !== 'primary') this.logger.warn({ unit: this.unit.id }, `no saved state; ${record.reason}: kept on its twin`);
    return record;
  }

  private twinSide(): SideObservation {
    const { spec } = this;
    const view = this.view(spec.twin.twin.name);
    const { status, reason } = spec.driver.effective(view);
    const side: SideObservation = { name: spec.twin.twin.name, status, ok: status === 'online' && this.twinProbeOk !== false, mode: spec.twin.mode };
    if (reason !== undefined) side.reason = reason;
    else if (spec.twin.coldReason !== undefined) side.reason = `cold: ${spec.twin.coldReason}`;
    if (view && view.memoryBytes > 0) side.memoryMb = Math.round((view.memoryBytes / 1_048_576) * 10) / 10;
    return side;
  }

  private view(name: string): ProcessView | undefined {
    return this.pm.view(name);
  }
}
