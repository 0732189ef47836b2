import type { DrillVerifier, SideVerdict } from '../../core/drill.js';
import type { ProcessManager, Probe } from '../../core/ports.js';
import type { ProcessView } from '../../core/types.js';
import type { TwinDriver } from './twin-driver.js';

export interface Pm2DrillSides {
  pm: ProcessManager;
  primary: string;
  twin: { name: string; driver: TwinDriver };
  probe?: Probe;
  /** A side with no probe serves once it stayed online this long (the unit's start grace). */
  stableMs: number;
  now: () => number;
}

/**
 * Whether a PM2 unit's side serves during a drill: online in PM2, then its probe passes; with no
 * probe, online and not restarted for `stableMs`. A twin that failed to load, or is not in PM2,
 * is not ready and the drill is refused before anything moves.
 */
export function pm2DrillVerifier(sides: Pm2DrillSides): DrillVerifier {
  /** Per side and drill step: when it was first seen online, and its restart count then. */
  const seen = new Map<string, { at: number; restarts: number }>();
  const statusOf = (side: 'primary' | 'twin'): { view: ProcessView | undefined; status: string; reason?: string } => {
    if (side === 'primary') {
      const view = sides.pm.view(sides.primary);
      return { view, status: view?.status ?? 'missing' };
    }
    const view = sides.pm.view(sides.twin.name);
    return { view, ...sides.twin.driver.effective(view) };
  };
  return {
    twinNotReady() {
      const { status, reason } = statusOf('twin');
      if (status === 'missing') return `${sides.twin.name} is not registered in PM2 (\`redundancy start\` registers it)`;
      if (status === 'failed' || status === 'errored') return `${sides.twin.name} is ${status}${reason ? `: ${reason}` : ''}`;
      return undefined;
    },
    async verify(side, since): Promise<SideVerdict> {
      const name = side === 'primary' ? sides.primary : sides.twin.name;
      const { view, status, reason } = statusOf(side);
      const key = `${side}:${since}`;
      if (status === 'failed') return { state: 'failed', reason: `${name} failed${reason ? `: ${reason}` : ''}` };
      if (status !== 'online' || !view) {
        seen.delete(key);
        return { state: 'waiting', reason: `${name} is ${status}` };
      }
      const now = sides.now();
      let first = seen.get(key);
      if (!first || first.restarts !== view.restarts) seen.set(key, (first = { at: now, restarts: view.restarts }));
      if (sides.probe) {
        const result = await sides.probe.check();
        return result.ok ? { state: 'ok', reason: `${name} online, probe passed (${result.reason})` } : { state: 'waiting', reason: `${name} online, probe: ${result.reason}` };
      }
      if (now - first.at < sides.stableMs) return { state: 'waiting', reason: `${name} online for ${now - first.at}ms of ${sides.stableMs}ms` };
      return { state: 'ok', reason: `${name} stayed online ${sides.stableMs}ms (no probe)`, at: first.at };
    },
  };
}
