import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../store/atomic-file.js';

/**
 * What the manager tells its watchdog, and `redundancy run`, through one small file: whether it
 * acts, under which epoch, and until when (monotonic ms, the same clock in every process here)
 * it may. Rewritten at every renewal of the lease.
 */
export interface Heartbeat {
  manager: number;
  /** The watchdog this manager started; another one reading the file leaves. */
  watchdog?: number;
  role: 'active' | 'standby' | 'stopped';
  epoch: number | null;
  /** The manager's lease is usable until then; past it, the watchdog stops the apps. */
  deadline: number;
  /** The PM2 apps (primaries and twins) of the units that follow the lease. */
  apps: string[];
}

export function heartbeatFile(stateDir: string): string {
  return join(stateDir, 'host-heartbeat.json');
}

export function writeHeartbeat(file: string, beat: Heartbeat): void {
  writeFileAtomicSync(file, `${JSON.stringify(beat)}\n`);
}

/** The heartbeat, or undefined when the file is missing or not one. */
export function readHeartbeat(file: string): Heartbeat | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<Heartbeat>;
    if (typeof value.manager !== 'number' || typeof value.deadline !== 'number' || !Array.isArray(value.apps)) return undefined;
    return value as Heartbeat;
  } catch {
    return undefined;
  }
}

/** Whether the heartbeat says its host may act now. */
export function heartbeatActing(beat: Heartbeat | undefined, now: number): boolean {
  return beat !== undefined && beat.role === 'active' && now <= beat.deadline;
}
