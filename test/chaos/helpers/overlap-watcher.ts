import { Pm2ProcessManager } from '../../../src/kinds/pm2/pm2-client.js';
import type { ProcessEvent } from '../../../src/core/types.js';

export interface WatchedUnit {
  unit: string;
  primary: string;
  twin: string;
  /** False for `overlap: true` units, whose sides may run together. @default true */
  exclusive?: boolean;
}

export interface Overlap {
  unit: string;
  at: number;
  /** The app whose `online` found the other side online. */
  started: string;
  /** What the test was doing (a trial seed), for replay. */
  context: string;
}

/**
 * A second PM2 client on the test's daemon that follows the bus: which app is online, from its
 * `online` event to its `exit`. An `online` of one side while the other is online is an overlap.
 * It never starts a daemon; when the daemon goes, every app went with it, and it reconnects to the
 * one the manager brings back, reading the list once to catch up.
 */
export class OverlapWatcher {
  readonly overlaps: Overlap[] = [];
  /** `online` events by app name. */
  readonly onlines = new Map<string, number>();
  /** How many times the daemon was lost and found again. */
  reconnects = 0;
  private readonly up = new Set<string>();
  private readonly byApp = new Map<string, WatchedUnit>();
  private readonly contexts = new Map<string, () => string>();
  private stopped = false;
  private recovering: Promise<void> | undefined;

  private constructor(private readonly pm: Pm2ProcessManager) {
    pm.onEvent((event) => this.onEvent(event));
    pm.onLost(() => {
      this.up.clear();
      this.recovering ??= this.recover().finally(() => {
        this.recovering = undefined;
      });
    });
  }

  /** Connects to the daemon of `process.env.PM2_HOME`, which must be running. */
  static async open(): Promise<OverlapWatcher> {
    return new OverlapWatcher(await Pm2ProcessManager.connect({ startDaemon: false, timeoutMs: 10_000 }));
  }

  /** Follows these units; `context` labels an overlap found on them. */
  watch(units: WatchedUnit[], context: () => string = () => ''): void {
    for (const u of units) {
      this.byApp.set(u.primary, u);
      this.byApp.set(u.twin, u);
      this.contexts.set(u.unit, context);
    }
  }

  isOnline(app: string): boolean {
    return this.up.has(app);
  }

  /** PM2's list through this client; the watcher's own view of what runs. */
  list(): ReturnType<Pm2ProcessManager['list']> {
    return this.pm.list();
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.recovering;
    await this.pm.close();
  }

  private onEvent(event: ProcessEvent): void {
    if (event.type === 'exit') this.up.delete(event.name);
    if (event.type !== 'online') return;
    this.onlines.set(event.name, (this.onlines.get(event.name) ?? 0) + 1);
    this.markOnline(event.name, event.at);
  }

  private markOnline(app: string, at: number): void {
    this.up.add(app);
    const unit = this.byApp.get(app);
    if (!unit || unit.exclusive === false) return;
    const other = app === unit.primary ? unit.twin : unit.primary;
    if (this.up.has(other)) this.overlaps.push({ unit: unit.unit, at, started: app, context: this.contexts.get(unit.unit)?.() ?? '' });
  }

  private async recover(): Promise<void> {
    while (!this.stopped) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      try {
        await this.pm.reconnect();
      } catch {
        continue; // no daemon yet: the manager starts it
      }
      this.reconnects += 1;
      // Subscribed first, listed second: an app started in between is seen twice, never missed.
      const views = await this.pm.list().catch(() => []);
      for (const view of views) if (view.status === 'online' || view.status === 'launching') this.markOnline(view.name, Date.now());
      return;
    }
  }
}
