import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { DrillRecord } from '../core/drill.js';
import { formatDuration } from '../core/duration.js';
import type { CompiledConfig } from '../core/config-types.js';
import { RedundancyError, errorMessage } from '../core/errors.js';
import type { Pauses } from '../core/pause.js';
import type { HealthReport, ManagerReport, UnitReport } from '../core/report-types.js';
import { resolveSecret } from '../core/secrets.js';
import type { Sample, UnitId } from '../core/types.js';
import type { ManagerMetrics } from '../http/metrics.js';
import { Notifier, notificationEvent, unitEdges, type ChannelConfig, type EdgeMemory, type NotificationEvent, type NotificationType } from '../notify/index.js';
import { readJsonFile, writeFileAtomic } from '../store/atomic-file.js';
import type { Logger } from '../store/logger.js';

/** The channels of a config with their secrets read: an unset reference stops a start or a reload. */
export function resolveChannels(config: CompiledConfig): ChannelConfig[] {
  return config.notify.channels.map((spec, i) => {
    const at = `notify.channels[${i}]`;
    switch (spec.type) {
      case 'webhook': {
        const secret = spec.secret && resolveSecret(spec.secret, `${at}.secret`);
        if (secret !== undefined && !/^whsec_[A-Za-z0-9+/=]+$/.test(secret)) throw new RedundancyError('CONFIG_INVALID', `${at}.secret: env:${spec.secret!.env} must hold whsec_<base64>`);
        return { type: 'webhook', name: spec.name, url: spec.url, ...(secret && { secret }), timeoutMs: spec.timeoutMs };
      }
      case 'slack': {
        const url = typeof spec.url === 'string' ? spec.url : resolveSecret(spec.url, `${at}.url`);
        if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new RedundancyError('CONFIG_INVALID', `${at}.url: expected an http:// or https:// Slack webhook URL`);
        return { type: 'slack', name: spec.name, url, timeoutMs: spec.timeoutMs };
      }
      case 'email':
        return spec;
    }
  });
}

interface EdgeFile {
  version: 1;
  units: Record<UnitId, EdgeMemory>;
}

/**
 * Notifications on every edge of every unit, through a durable outbox: computed from the reports
 * the supervisor writes (never in the way of a failover: the supervisor does not wait for them),
 * with what was already said kept in `.redundancy/notify-edges.json`, so a restart repeats nothing.
 */
export class Alerts {
  private notifier: Notifier;
  private memory = new Map<UnitId, EdgeMemory>();
  private readonly seen = new Map<UnitId, UnitReport>();
  private readonly missing = new Map<UnitId, boolean>();
  private chain: Promise<unknown> = Promise.resolve();
  private latest: HealthReport | undefined;
  private readonly host: string;
  private readonly edgeFile: string;

  constructor(
    private config: CompiledConfig,
    channels: ChannelConfig[],
    private readonly deps: { clock: Clock; logger: Logger; metrics: ManagerMetrics; manager: ManagerReport; epoch?: () => number | undefined },
  ) {
    this.host = config.host?.name ?? hostname();
    this.edgeFile = join(config.stateDir, 'notify-edges.json');
    this.notifier = this.open(config, channels);
  }

  private open(config: CompiledConfig, channels: ChannelConfig[]): Notifier {
    const { groupWaitMs, repeatIntervalMs, backoff } = config.notify;
    return new Notifier({ dir: join(config.stateDir, 'outbox'), config: { groupWaitMs, repeatIntervalMs, channels }, clock: this.deps.clock, logger: this.deps.logger, host: this.host, retry: backoff });
  }

  /** Before the supervisor's first report: what was already said must be known before anything is judged. */
  async start(): Promise<void> {
    const file = await readJsonFile(this.edgeFile);
    if (file.kind === 'ok') this.memory = new Map(Object.entries((file.value as EdgeFile).units ?? {}));
    else if (file.kind !== 'missing') this.deps.logger.warn({ file: this.edgeFile }, 'notification memory unreadable; edges are judged afresh');
    await this.notifier.start();
    this.send([this.event('manager-start', { reason: `manager started (pid ${process.pid})` })]);
  }

  /** Each report: the edges of every unit whose line changed. */
  report(report: HealthReport): void {
    this.latest = report;
    this.enqueue(async () => {
      if (this.latest !== report) return; // a newer report is queued; it sees the same edges
      const now = this.deps.clock.now();
      const events: NotificationEvent[] = [];
      const keys: string[] = [];
      let changed = false;
      for (const unit of report.units) {
        const prev = this.seen.get(unit.id);
        if (prev === unit) continue;
        this.seen.set(unit.id, unit);
        // Paused units are recorded but do not alert: a deploy is not an incident. A drill says itself once it is done.
        if (unit.paused || unit.drill) continue;
        const edge = unitEdges(prev, unit, this.memory.get(unit.id), now, { repeatIntervalMs: this.config.notify.repeatIntervalMs, host: this.host });
        events.push(...edge.events);
        keys.push(...edge.keys);
        if (JSON.stringify(edge.memory) !== JSON.stringify(this.memory.get(unit.id))) {
          this.memory.set(unit.id, edge.memory);
          changed = true;
        }
      }
      if (events.length > 0) await this.notifier.notify(this.stamped(events), keys);
      // After the outbox holds the events: a crash in between finds the edge again.
      if (changed) await writeFileAtomic(this.edgeFile, `${JSON.stringify({ version: 1, units: Object.fromEntries(this.memory) } satisfies EdgeFile)}\n`);
      this.publishStats();
    });
  }

  /** The first slot with no run after runs that came: one notification for a stretch of missed runs. */
  sample(id: UnitId, sample: Sample, state: string): void {
    const missed = !sample.ok && /^missed /.test(sample.reason);
    const before = this.missing.get(id) ?? false;
    this.missing.set(id, missed);
    if (missed && !before) this.send([this.event('missed-run', { unit: id, state, reason: sample.reason })]);
  }

  /** A drill that ran (refusals changed nothing and are not sent). */
  drill(record: DrillRecord): void {
    const times = record.rtoMs === null ? 'twin not verified' : `RTO ${formatDuration(record.rtoMs)}${record.failbackMs === null ? '' : `, primary back in ${formatDuration(record.failbackMs)}`}`;
    this.send([this.event('drill', { unit: record.unit, state: 'primary', reason: `drill ${record.result}: ${times}; ${record.reason}` })]);
  }

  configError(error: string): void {
    this.send([this.event('config-error', { reason: error })]);
  }

  paused(before: Pauses, after: Pauses): void {
    const events: NotificationEvent[] = [];
    if (!before.all && after.all) events.push(this.event('paused', { reason: pauseReason('every unit', after.all.until) }));
    if (before.all && !after.all) events.push(this.event('resumed', { reason: 'every unit resumed' }));
    for (const id of Object.keys(after.units)) if (!before.units[id]) events.push(this.event('paused', { unit: id, reason: pauseReason(id, after.units[id]!.until) }));
    for (const id of Object.keys(before.units)) if (!after.units[id]) events.push(this.event('resumed', { unit: id, reason: `${id} resumed` }));
    this.send(events);
  }

  /** A reload: channels and timings of the new config; what is in the outbox stays. */
  async reconfigure(next: CompiledConfig, channels: ChannelConfig[]): Promise<void> {
    await this.enqueue(async () => {
      await this.notifier.close();
      this.config = next;
      this.notifier = this.open(next, channels);
      await this.notifier.start();
    });
  }

  async close(): Promise<void> {
    const left = this.config.host ? 'the lease is given up and the units that follow it stop here' : 'the active side of every unit keeps running';
    this.send([this.event('manager-stop', { reason: `manager stopping (pid ${process.pid}); ${left}` })]);
    await this.chain;
    await this.notifier.close({ flushMs: 2_000 });
  }

  private event(type: NotificationType, fields: { unit?: string; state?: string; reason: string }): NotificationEvent {
    return notificationEvent(type, fields, this.deps.clock.now(), this.host);
  }

  private send(events: NotificationEvent[]): void {
    if (events.length > 0) this.enqueue(() => this.notifier.notify(this.stamped(events)));
  }

  /** Every event carries the epoch the host acted under, when hosts are configured. */
  private stamped(events: NotificationEvent[]): NotificationEvent[] {
    const epoch = this.deps.epoch?.();
    return epoch === undefined ? events : events.map((e) => ({ ...e, epoch }));
  }

  private enqueue(work: () => Promise<unknown>): Promise<unknown> {
    this.chain = this.chain.then(work).catch((error: unknown) => this.deps.logger.error({ err: errorMessage(error) }, 'notifications: not written to the outbox'));
    return this.chain;
  }

  private publishStats(): void {
    const stats = this.notifier.stats();
    this.deps.metrics.setNotificationStats(stats.channels);
    this.deps.metrics.setNotificationsPending(stats.pending);
    const disabled = Object.entries(stats.channels).filter(([, c]) => c.disabled).map(([name]) => name);
    this.deps.manager.notifications = { pending: stats.pending, dead: stats.dead, disabled };
  }
}

function pauseReason(what: string, until: number | null): string {
  return `${what} paused${until === null ? ' until resumed' : ` until ${new Date(until).toISOString()}`}: samples are recorded, no failover or failback fires`;
}
