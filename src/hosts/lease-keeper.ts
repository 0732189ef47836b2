import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../store/logger.js';
import type { ElectionPort, LeaderKey } from './election-port.js';
import { acting, elected, expire, granted, leaseLost, renewDue, renewed, standby, stepDown, type Leadership, type LeaseTiming, type RoleChange, type Step } from './leadership.js';

export interface LeaseKeeperDeps {
  port: ElectionPort;
  /** The election's name in etcd (one per cluster). */
  election: string;
  /** This host's name: the candidate's value. */
  host: string;
  timing: LeaseTiming;
  /** Monotonic. */
  clock: Clock;
  logger: Logger;
  /** Starts the units on `lead`, stops them on `fence`; awaited before the keeper goes on. */
  onChange(change: RoleChange): Promise<void>;
  /** After every change of the state or of the lease's deadline (the watchdog's heartbeat). */
  onState?(state: Leadership): void;
  /** When to hold back from campaigning (a promotion asked for another host). */
  holdCampaign?(): boolean;
}

/**
 * Carries the pure leadership steps out against etcd: grants a lease, keeps it alive every
 * `renewEvery`, campaigns with it, and checks on its own monotonic clock, several times a renewal,
 * that a lease it leads with is still usable.
 */
export class LeaseKeeper {
  private state: Leadership = standby;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private granting = false;
  private renewing = false;
  private campaign: AbortController | undefined;
  private changing: Promise<void> = Promise.resolve();
  private lastError = '';

  constructor(private readonly deps: LeaseKeeperDeps) {}

  get leadership(): Leadership {
    return this.state;
  }

  /** True while this host leads with a usable lease: judged now, so a frozen process that wakes up refuses at once. */
  acting(): boolean {
    this.tickExpiry();
    return acting(this.state, this.deps.clock.now(), this.deps.timing);
  }

  epoch(): number | undefined {
    return this.state.role === 'leader' ? this.state.epoch : undefined;
  }

  start(): void {
    const every = Math.max(20, Math.min(100, Math.floor(this.deps.timing.renewEveryMs / 4)));
    const loop = () => {
      if (this.stopped) return;
      this.tick();
      this.timer = setTimeout(loop, every);
    };
    loop();
  }

  /** Resolves once the units were told of every change so far. */
  settled(): Promise<void> {
    return this.changing;
  }

  /** Steps down by choice: the units stop first, then the key goes, and the lease queues again behind the others. */
  async resign(reason: string): Promise<boolean> {
    if (this.state.role !== 'leader') return false;
    const key = this.state.key;
    this.apply(stepDown(this.state, reason));
    await this.changing;
    await this.deps.port.resign(key).catch((error: unknown) => this.deps.logger.warn({ err: errorMessage(error) }, 'resign failed; the lease expires instead'));
    return true;
  }

  /** Leaves the election: units stopped, key resigned, lease revoked, so another host takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.campaign?.abort();
    await this.resign('manager stopping');
    const lease = this.state.lease;
    this.state = standby;
    this.deps.onState?.(this.state);
    if (lease) await this.deps.port.revoke(lease.id).catch(() => undefined);
  }

  private tick(): void {
    this.tickExpiry();
    const { port, timing, clock } = this.deps;
    const lease = this.state.lease;
    if (!lease) {
      if (this.granting) return;
      this.granting = true;
      const sentAt = clock.now();
      port.grant(Math.round(timing.ttlMs / 1000)).then(
        (id) => this.setState(granted(this.state, id, sentAt)),
        (error: unknown) => this.failed('lease grant', error),
      ).finally(() => (this.granting = false));
      return;
    }
    if (renewDue(lease, clock.now(), timing) && !this.renewing) {
      this.renewing = true;
      const sentAt = clock.now();
      port.keepAlive(lease.id).then(
        (alive) => {
          if (alive) this.setState(renewed(this.state, lease.id, sentAt));
          else this.apply(leaseLost(this.state, lease.id));
        },
        (error: unknown) => {
          this.failed('lease renewal', error);
          // A campaign waits on one member with no timeout; if that member is cut off it would wait forever. Asked again, it goes where renewals now get answers.
          this.campaign?.abort();
        },
      ).finally(() => (this.renewing = false));
    }
    if (this.state.role === 'standby' && !this.campaign && !this.deps.holdCampaign?.()) this.campaignWith(lease.id);
    if (this.state.role === 'standby' && this.campaign && this.deps.holdCampaign?.()) this.campaign.abort();
  }

  private campaignWith(lease: string): void {
    const controller = new AbortController();
    this.campaign = controller;
    const { port, election, host, clock, timing, logger } = this.deps;
    port.campaign(election, lease, host, controller.signal).then(
      (key) => {
        const step = elected(this.state, key, clock.now(), timing);
        if (!step.accepted) {
          logger.warn({ epoch: key.rev }, 'elected with a lease no longer usable; resigned');
          void port.resign(key).catch(() => undefined);
          return;
        }
        logger.info({ epoch: key.rev, host }, 'this host leads');
        this.apply(step);
      },
      (error: unknown) => {
        if (!controller.signal.aborted) this.failed('campaign', error);
      },
    ).finally(() => {
      if (this.campaign === controller) this.campaign = undefined;
    });
  }

  private tickExpiry(): void {
    const before = this.state.lease;
    this.apply(expire(this.state, this.deps.clock.now(), this.deps.timing));
    // A campaign for a dropped lease would answer for nothing: etcd removes its key when it is aborted.
    if (before && !this.state.lease) this.campaign?.abort();
  }

  private apply(step: Step): void {
    const before = this.state;
    this.setState(step.state);
    if (before.lease && !step.state.lease) this.campaign?.abort();
    const change = step.change;
    if (!change) return;
    if (change.type === 'fence') this.deps.logger.warn({ epoch: change.epoch, reason: change.reason }, 'this host stops acting (fenced)');
    this.changing = this.changing.then(() => this.deps.onChange(change)).catch((error: unknown) => {
      this.deps.logger.error({ err: errorMessage(error), change: change.type }, 'units not brought in line with the lease');
    });
  }

  private setState(state: Leadership): void {
    if (state === this.state) return;
    this.state = state;
    this.deps.onState?.(state);
  }

  private failed(what: string, error: unknown): void {
    const message = `${what} failed: ${errorMessage(error)}`;
    // Said once per kind of failure, not every tick while etcd is away.
    if (message !== this.lastError) this.deps.logger.warn({ err: errorMessage(error) }, `${what} failed`);
    this.lastError = message;
  }
}

export type { LeaderKey };
