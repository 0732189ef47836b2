import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { monotonicClock, type Clock } from '../core/clock.js';
import type { HostConfig } from '../core/config-host.js';
import { errorMessage, RedundancyError } from '../core/errors.js';
import type { HealthReport, HostReport } from '../core/report-types.js';
import type { UnitId } from '../core/types.js';
import type { Logger } from '../store/logger.js';
import type { HostGate } from '../core/host-gate.js';
import type { ElectionPort } from './election-port.js';
import { EtcdGateway } from './etcd-gateway.js';
import { heartbeatFile, writeHeartbeat, type Heartbeat } from './heartbeat.js';
import { LeaseKeeper } from './lease-keeper.js';
import { acting, type RoleChange } from './leadership.js';

/** Kinds whose units run on this host, so a standby stops them here; the others run on a service all hosts share. */
const hostLocalKinds = new Set(['pm2', 'cron', 'script']);

/** What the host asks of the units when its role changes. */
export interface HostUnits {
  activate(): Promise<void>;
  park(): Promise<void>;
}

/** Where a cluster's keys live in etcd. */
export function clusterKeys(cluster: string): { election: string; hosts: string; promote: string } {
  const root = `/redundancy/${cluster}`;
  return { election: `${root}/leader`, hosts: `${root}/hosts/`, promote: `${root}/promote` };
}

/** What each host publishes under the cluster's `hosts/` prefix, with its own lease. */
export interface PublishedHost {
  host: string;
  role: 'active' | 'standby';
  epoch: number | null;
  pid: number;
  summary?: HealthReport['summary'];
  /** When the last complete mirror of the active host's data ended (ISO), on a standby. */
  mirror?: { lastCompleteAt: string | null; error?: string };
  at: string;
}

export interface HostRuntimeOptions {
  config: HostConfig;
  stateDir: string;
  logsDir: string;
  logger: Logger;
  /** The PM2 apps (primaries and twins) of the units that follow the lease: what the watchdog stops. */
  apps: string[];
  port?: ElectionPort;
  clock?: Clock;
  /** Start the watchdog process (off in unit tests). @default true */
  watchdog?: boolean;
}

/**
 * This host's side of a multi-host cluster in the manager: the lease keeper, the gate the
 * supervisor asks before it acts, the watchdog's heartbeat, what the host publishes, and the manual
 * and health-driven switches.
 */
export class HostRuntime implements HostGate {
  readonly keys: ReturnType<typeof clusterKeys>;
  private readonly keeper: LeaseKeeper;
  private readonly port: ElectionPort;
  private readonly clock: Clock;
  private readonly beatFile: string;
  private units: HostUnits | undefined;
  private lastEpoch: number | undefined;
  private watchdogPid: number | undefined;
  private criticalRounds = 0;
  /** A promotion asked for another host: this one does not campaign meanwhile. */
  private promoteFor: string | undefined;
  /** After `host demote`: not campaigning until then, so another host takes over. */
  private holdUntil = 0;
  private promoteTimer: NodeJS.Timeout | undefined;
  private mirror: PublishedHost['mirror'];
  private apps: string[];

  constructor(private readonly opts: HostRuntimeOptions) {
    const { config } = opts;
    this.keys = clusterKeys(config.cluster);
    this.clock = opts.clock ?? monotonicClock;
    this.port = opts.port ?? new EtcdGateway(config.lease.etcd, config.lease.renewTimeoutMs);
    this.beatFile = heartbeatFile(opts.stateDir);
    this.apps = opts.apps;
    this.keeper = new LeaseKeeper({
      port: this.port,
      election: this.keys.election,
      host: config.name,
      timing: config.lease,
      clock: this.clock,
      logger: opts.logger.child({ host: config.name }),
      onChange: (change) => this.changed(change),
      onState: () => this.beat(),
      holdCampaign: () => (this.promoteFor !== undefined && this.promoteFor !== config.name) || this.clock.now() < this.holdUntil,
    });
  }

  follows(id: UnitId): boolean {
    const units = this.opts.config.units;
    return units === 'all' || units.includes(id);
  }

  acting(): boolean {
    return this.keeper.acting();
  }

  parks(id: UnitId): boolean {
    return hostLocalKinds.has(id.slice(0, id.indexOf(':')));
  }

  epoch(): number | undefined {
    return this.keeper.epoch() ?? this.lastEpoch;
  }

  report(): HostReport {
    return { name: this.opts.config.name, cluster: this.opts.config.cluster, role: this.acting() ? 'active' : 'standby', epoch: this.epoch() ?? null };
  }

  /** Saved in the state file beside the units. */
  stateExtra(): Record<string, unknown> {
    return { host: this.report() };
  }

  /** The apps changed (a reload): the watchdog stops these from the next heartbeat on. */
  setApps(apps: string[]): void {
    this.apps = apps;
    // Before start, a heartbeat would tell a previous manager's watchdog, still waiting to fence, that all is well.
    if (this.units) this.beat();
  }

  /** Starts the watchdog, then campaigns; the units stay parked until this host leads. */
  start(units: HostUnits): void {
    this.units = units;
    if (this.opts.watchdog !== false) this.watchdogPid = this.spawnWatchdog();
    this.beat();
    this.keeper.start();
    this.promoteTimer = setInterval(() => void this.followPromotion(), this.opts.config.lease.renewEveryMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.promoteTimer);
    await this.keeper.stop();
    await this.keeper.settled();
    this.writeBeat('stopped');
  }

  /** After each health round: publishes this host, and resigns when its units stayed critical for `stepDownAfter` rounds. */
  async round(report: HealthReport): Promise<void> {
    const { config } = this.opts;
    const critical = report.units.some((u) => this.follows(u.id) && u.active === 'none');
    this.criticalRounds = this.acting() && critical ? this.criticalRounds + 1 : 0;
    if (config.stepDownAfter > 0 && this.criticalRounds >= config.stepDownAfter) {
      this.criticalRounds = 0;
      const others = await this.otherCandidates().catch((): string[] => []);
      if (others.length > 0) {
        this.opts.logger.warn({ rounds: config.stepDownAfter, epoch: this.epoch() }, 'units critical on this host: resigning the lease for a standby');
        this.holdUntil = this.clock.now() + 2 * config.lease.ttlMs;
        await this.keeper.resign(`units critical for ${config.stepDownAfter} rounds`);
      }
    }
    await this.publish(report).catch(() => undefined);
  }

  setMirror(mirror: PublishedHost['mirror']): void {
    this.mirror = mirror;
  }

  /** `host demote`: only when another host stands ready, since this one would otherwise win again at once. */
  async demote(): Promise<string> {
    if (!this.acting()) throw new RedundancyError('USAGE', `${this.opts.config.name} is not the active host; \`redundancy host status\` shows which is`);
    const others = await this.otherCandidates();
    if (others.length === 0) throw new RedundancyError('USAGE', 'no standby host is campaigning: demoting would leave nobody active, so this host stays');
    this.holdUntil = this.clock.now() + 2 * this.opts.config.lease.ttlMs;
    await this.keeper.resign('host demote');
    return `${this.opts.config.name} stepped down (epoch ${this.lastEpoch}); ${others[0]} is next in line`;
  }

  /** `host promote`: asks the active host to step down for this one, and waits until this host leads. */
  async promote(waitMs: number): Promise<string> {
    const { config } = this.opts;
    if (this.acting()) return `${config.name} is already the active host (epoch ${this.epoch()})`;
    const lease = this.keeper.leadership.lease;
    if (!lease) throw new RedundancyError('USAGE', `${config.name} holds no lease yet (is etcd reachable?)`);
    this.holdUntil = 0;
    await this.port.put(this.keys.promote, config.name, lease.id);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (this.acting()) {
        await this.keeper.settled();
        return `${config.name} is now the active host (epoch ${this.epoch()})`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.port.remove(this.keys.promote).catch(() => undefined);
    throw new RedundancyError('USAGE', `${config.name} did not become active within ${waitMs}ms; the active host did not step down (see \`redundancy host status\`)`);
  }

  private async otherCandidates(): Promise<string[]> {
    const candidates = await this.port.candidates(this.keys.election);
    return candidates.map((c) => c.value).filter((v) => v !== this.opts.config.name);
  }

  /** Reads a promotion request: the active host steps down for it, other standbys hold back, the promoted host clears it once it leads. */
  private async followPromotion(): Promise<void> {
    const { config } = this.opts;
    let wanted: string | undefined;
    try {
      wanted = (await this.port.list(this.keys.promote)).find((kv) => kv.key === this.keys.promote)?.value;
    } catch {
      return;
    }
    this.promoteFor = wanted;
    if (wanted === undefined) return;
    if (wanted === config.name) {
      if (this.acting()) await this.port.remove(this.keys.promote).catch(() => undefined);
      return;
    }
    if (this.acting()) {
      const others = await this.otherCandidates().catch((): string[] => []);
      if (!others.includes(wanted)) return;
      this.opts.logger.info({ for: wanted }, 'promotion of another host asked: stepping down');
      await this.keeper.resign(`host promote on ${wanted}`);
    }
  }

  private async changed(change: RoleChange): Promise<void> {
    this.lastEpoch = change.epoch;
    this.beat();
    if (change.type === 'lead') {
      this.opts.logger.info({ epoch: change.epoch }, 'active: starting the units');
      await this.units?.activate();
    } else {
      this.opts.logger.warn({ epoch: change.epoch, reason: change.reason }, 'standby: stopping the units');
      await this.units?.park();
    }
  }

  private async publish(report: HealthReport): Promise<void> {
    const lease = this.keeper.leadership.lease;
    if (!lease) return;
    const host = this.report();
    const value: PublishedHost = { host: host.name, role: host.role, epoch: host.epoch, pid: process.pid, summary: report.summary, ...(this.mirror && { mirror: this.mirror }), at: new Date().toISOString() };
    await this.port.put(`${this.keys.hosts}${host.name}`, JSON.stringify(value), lease.id);
  }

  private beat(): void {
    this.writeBeat(acting(this.keeper.leadership, this.clock.now(), this.opts.config.lease) ? 'active' : 'standby');
  }

  private writeBeat(role: Heartbeat['role']): void {
    const state = this.keeper.leadership;
    const { ttlMs, marginMs } = this.opts.config.lease;
    const beat: Heartbeat = {
      manager: process.pid,
      ...(this.watchdogPid !== undefined && { watchdog: this.watchdogPid }),
      role,
      epoch: this.epoch() ?? null,
      deadline: state.role === 'leader' ? state.lease.okAt + ttlMs - marginMs : 0,
      apps: this.apps,
    };
    try {
      writeHeartbeat(this.beatFile, beat);
    } catch (error) {
      this.opts.logger.error({ err: errorMessage(error) }, 'heartbeat not written; the watchdog stops the apps at the last deadline it read');
    }
  }

  private spawnWatchdog(): number | undefined {
    const main = fileURLToPath(new URL('./watchdog-main.js', import.meta.url));
    mkdirSync(this.opts.logsDir, { recursive: true });
    const out = openSync(join(this.opts.logsDir, 'redundancy-watchdog.log'), 'a');
    try {
      // Its own process group: a signal to the manager's group (a terminal's ^Z) does not freeze it too.
      const child = spawn(process.execPath, [main, this.beatFile, String(Math.max(10, Math.min(50, Math.floor(this.opts.config.lease.marginMs / 10))))], {
        detached: true,
        stdio: ['ignore', out, out],
        env: process.env,
      });
      child.unref();
      return child.pid;
    } finally {
      closeSync(out);
    }
  }
}
