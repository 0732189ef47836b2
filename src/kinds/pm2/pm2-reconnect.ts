import type { Pm2ProcessManager } from './pm2-client.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../store/logger.js';

export interface ReconnectOptions {
  pm: Pick<Pm2ProcessManager, 'reconnect' | 'daemonAlive' | 'onLost' | 'lost'>;
  logger: Logger;
  /** Runs once the connection is back, before supervision resumes: brings every unit's side back. */
  restored: () => Promise<void>;
  /** First wait before reconnecting; doubles on each failed attempt. @default 250 */
  firstDelayMs?: number;
  /** Cap of the doubling. @default 5000 */
  maxDelayMs?: number;
}

/**
 * Keeps the manager on a PM2 daemon. When the daemon goes (`pm2 kill`, a crash), the user's apps
 * went with it: this reconnects with doubling delays, starting a new daemon when none runs, and
 * then lets the supervisor restore each unit's active side. One recovery at a time.
 */
export class Pm2Reconnector {
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: ReconnectOptions) {
    this.unsubscribe = opts.pm.onLost((reason) => this.recover(reason));
  }

  /** True from a lost daemon until its units are restored on the new one. */
  get down(): boolean {
    return this.running !== undefined || this.opts.pm.lost;
  }

  /** After a failed PM2 call: a daemon that no longer listens counts as lost. */
  async check(): Promise<void> {
    if (this.down || this.stopped) return;
    if (!(await this.opts.pm.daemonAlive())) this.recover('the PM2 daemon does not answer');
  }

  recover(reason: string): void {
    if (this.stopped) return;
    this.running ??= this.loop(reason).finally(() => {
      this.running = undefined;
    });
  }

  /** Stops any recovery under way; waits for it to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wake?.();
    await this.running;
  }

  private async loop(reason: string): Promise<void> {
    const { pm, logger } = this.opts;
    logger.warn({ reason }, 'PM2 daemon lost; reconnecting (a new daemon is started if none runs)');
    // Lost again while restoring: go round again.
    while (!this.stopped) {
      const attempts = await this.reconnect();
      if (attempts === undefined) return;
      logger.info({ attempts }, 'PM2 connected again; restoring the active side of every unit');
      try {
        await this.opts.restored();
      } catch (error) {
        logger.error({ err: errorMessage(error) }, 'restoring units after a PM2 reconnect failed; the next rounds retry');
      }
      if (!pm.lost) return;
    }
  }

  /** Tries until connected; the number of attempts, or undefined when stopped first. */
  private async reconnect(): Promise<number | undefined> {
    const { pm, logger } = this.opts;
    let delay = this.opts.firstDelayMs ?? 250;
    for (let attempt = 1; ; attempt += 1) {
      await this.sleep(delay);
      if (this.stopped) return undefined;
      try {
        await pm.reconnect();
        return attempt;
      } catch (error) {
        // Said on the first failure and then now and again, not on every try.
        if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: errorMessage(error), attempt }, 'PM2 reconnect failed; retrying');
        delay = Math.min(delay * 2, this.opts.maxDelayMs ?? 5_000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
