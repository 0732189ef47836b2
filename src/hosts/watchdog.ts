import type { Clock } from '../core/clock.js';
import { heartbeatActing, type Heartbeat } from './heartbeat.js';

export interface WatchdogDeps {
  read(): Heartbeat | undefined;
  clock: Clock;
  /** Stops the apps; throws when PM2 does not answer (tried again next look). */
  stop(apps: string[]): Promise<void>;
  alive(pid: number): boolean;
  self: number;
  say(line: string): void;
}

/**
 * One look of the watchdog: stops the apps once for each deadline the manager let pass while
 * active (it is frozen or dead), and says when the watchdog is no longer needed.
 */
export class WatchdogLook {
  private fencedFor: number | undefined;
  /** The last heartbeat that said active: kept, so a manager that died mid-write still gets fenced. */
  private lastActive: Heartbeat | undefined;

  constructor(private readonly deps: WatchdogDeps) {}

  async look(): Promise<'watch' | 'leave'> {
    const { read, clock, alive, self } = this.deps;
    const beat = read();
    if (beat?.watchdog !== undefined && beat.watchdog !== self) return 'leave';
    if (beat?.role === 'stopped') return 'leave';
    if (beat?.role === 'active') this.lastActive = beat;
    else if (beat?.role === 'standby') this.lastActive = undefined;
    const now = clock.now();
    const watched = this.lastActive;
    if (watched && !heartbeatActing(watched, now) && this.fencedFor !== watched.deadline) {
      await this.deps.stop(watched.apps);
      this.fencedFor = watched.deadline;
      this.deps.say(`manager ${watched.manager} let its lease deadline pass by ${Math.round(now - watched.deadline)}ms (epoch ${watched.epoch}): stopped ${watched.apps.join(', ') || 'nothing'}`);
    }
    const managerGone = beat === undefined ? !(watched && alive(watched.manager)) : !alive(beat.manager);
    const settled = watched === undefined || this.fencedFor === watched.deadline;
    return managerGone && settled ? 'leave' : 'watch';
  }
}
