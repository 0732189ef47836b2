import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthReport } from '../core/report-types.js';
import { version as packageVersion } from '../version.js';
import { failoverReason } from './failover-reason.js';
import { UnitSeries, type DrillResult, type FailbackResult } from './unit-series.js';

export type { DrillResult, FailbackResult } from './unit-series.js';

/** A channel's delivery counts since the manager started (the outbox's own tally). */
export interface NotificationStats {
  sent: number;
  failed: number;
  dead: number;
}
const notificationResults = ['sent', 'failed', 'dead'] as const;

export interface ManagerMetricsOptions {
  /** @default the package version */
  version?: string;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
}

/**
 * The metrics of DESIGN.md ("Metrics and notifications") on a prom-client registry of its own, with
 * prom-client's process metrics. The per-unit families (state, active, error ratio, paused,
 * failovers, failbacks, drills) follow the last report given to `update()` and are rendered by
 * `UnitSeries`, which caches each unit's lines: cheap at 1,000 units.
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly units = new UnitSeries();
  private readonly notifications: Counter<'channel' | 'result'>;
  private readonly notificationsPending: Gauge;
  private readonly reloadOk: Gauge;
  private readonly reloadAt: Gauge;
  private leader: Gauge<'host'> | undefined;
  private epoch: Gauge | undefined;
  private readonly notificationsSeen = new Map<string, number>();

  constructor(opts: ManagerMetricsOptions = {}) {
    this.now = opts.now ?? Date.now;
    const registers = [this.registry];
    // A lag sampler at prom-client's 10 ms would wake the manager 100 times a second for a figure read once a scrape.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    const build = new Gauge({ name: 'redundancy_build_info', help: 'The running version; always 1.', labelNames: ['version'], registers });
    build.set({ version: opts.version ?? packageVersion }, 1);
    this.notifications = new Counter({ name: 'redundancy_notifications_total', help: 'Notifications by channel and result (sent, failed attempts, dead-lettered).', labelNames: ['channel', 'result'], registers });
    this.notificationsPending = new Gauge({ name: 'redundancy_notifications_pending', help: 'Notifications in the outbox not yet delivered.', registers });
    this.reloadOk = new Gauge({ name: 'redundancy_config_last_reload_successful', help: 'Whether the last configuration load or reload succeeded.', registers });
    this.reloadAt = new Gauge({ name: 'redundancy_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful configuration load or reload.', registers });
    // The configuration the manager started with is the first successful load.
    this.configReloaded(true);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: the registry's families, then the per-unit ones. */
  async metrics(): Promise<string> {
    return `${await this.registry.metrics()}\n${this.units.render()}`;
  }

  /**
   * Sets the per-unit series from a round's report and drops those of units no longer in it.
   * A unit's report object must not be mutated once given: a change is a new object (the cache key).
   */
  update(report: HealthReport): void {
    this.units.update(report.units);
    const host = report.manager.host;
    if (host) this.setLeader(host.name, host.role === 'active', host.epoch);
  }

  /** `reason` is free text (a transition's reason) or a label value; see `failoverReason` for the mapping. */
  countFailover(unit: string, reason: string): void {
    this.units.count(unit, 'failovers', failoverReason(reason));
  }

  countFailback(unit: string, result: FailbackResult): void {
    this.units.count(unit, 'failbacks', result);
  }

  countDrill(unit: string, result: DrillResult): void {
    this.units.count(unit, 'drills', result);
  }

  /** Takes the outbox's running tallies; the counters go up by the difference (by the whole value after the source restarted). */
  setNotificationStats(stats: Record<string, NotificationStats>): void {
    for (const [channel, counts] of Object.entries(stats)) {
      for (const result of notificationResults) {
        const key = `${channel}\0${result}`;
        const value = counts[result];
        const seen = this.notificationsSeen.get(key);
        this.notificationsSeen.set(key, value);
        this.notifications.inc({ channel, result }, seen === undefined || value < seen ? value : value - seen);
      }
    }
  }

  setNotificationsPending(count: number): void {
    this.notificationsPending.set(count);
  }

  /** Records a configuration load or reload; the timestamp moves only on success. */
  configReloaded(ok: boolean): void {
    this.reloadOk.set(ok ? 1 : 0);
    if (ok) this.reloadAt.set(this.now() / 1000);
  }

  /** Multi-host: the family appears on the first call (a single host shows none); a new host name replaces the old series. */
  setLeader(host: string, isLeader: boolean, epoch: number | null = null): void {
    this.leader ??= new Gauge({ name: 'redundancy_leader', help: 'Multi-host: 1 while this host holds the lease.', labelNames: ['host'], registers: [this.registry] });
    this.leader.reset();
    this.leader.set({ host }, isLeader ? 1 : 0);
    if (epoch === null) return;
    this.epoch ??= new Gauge({ name: 'redundancy_lease_epoch', help: 'Multi-host: the fencing token (leader key creation revision) this host acts under, or last held.', registers: [this.registry] });
    this.epoch.set(epoch);
  }
}
