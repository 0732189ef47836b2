import { RedundancyError } from '../../core/errors.js';
import type { Generations } from './generations.js';

export interface SettledStopOptions {
  /** The app, for messages. */
  name: string;
  pmId: number;
  /** One stop RPC; the restart count of PM2's answer (undefined when it carries none), or `gone` for an id PM2 no longer knows. */
  stop: () => Promise<number | undefined | 'gone'>;
  generations: Generations;
  /** How long to wait for a counted restart to fork before taking it as never coming. @default 10 s */
  forkWaitMs?: number;
  /** Stops in a row that each find another restart under way, before giving up. @default 5 */
  attempts?: number;
}

/**
 * Stops one app so that it stays stopped. PM2 answers a stop that lands while it restarts a
 * crashed app (its restart timer fired, the new process not forked yet) with `stopped`, and forks
 * the new process all the same; the answer's restart count then exceeds the newest generation
 * known to have forked (see Generations). That restart is awaited and stopped in turn. A counted
 * restart that does not fork within `forkWaitMs` never will (PM2 cleared its timer): when the next
 * stop counts no further restart, the stop stands. Resolves false when PM2 no longer knows the id.
 */
export async function stopForGood(opts: SettledStopOptions): Promise<boolean> {
  const { name, pmId, generations, forkWaitMs = 10_000, attempts = 5 } = opts;
  let unforked: number | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const restarts = await opts.stop();
    if (restarts === 'gone') return false;
    if (restarts === undefined || generations.has(pmId, restarts) || restarts === unforked) return true;
    if (attempt >= attempts) {
      throw new RedundancyError('PM2_OPERATION', `pm2 stop ${name}: PM2 had another restart under way at each of ${attempts} stops`);
    }
    unforked = (await generations.waitFor(pmId, restarts, forkWaitMs)) ? undefined : restarts;
  }
}
