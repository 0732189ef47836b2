import { RedundancyError } from '../../core/errors.js';
import type { Generations } from './generations.js';

/** The process a stop answer describes: PM2's restart count and start time of the app as it stood. */
export interface StoppedProcess {
  restarts: number;
  startedAt: number;
  /**
   * The answer leaves the app other than stopped (running, or waiting to restart): the stop killed
   * an older process while PM2 forked the restart (a crashed app whose restart timer fired as the
   * stop came, with a `restart_delay`: PM2 then kills the old pid and answers with the app as it
   * stands, the new process, or its own crash and the timer of its next restart).
   */
  notStopped?: boolean;
}

export interface SettledStopOptions {
  /** The app, for messages. */
  name: string;
  pmId: number;
  /** One stop RPC: what PM2's answer describes (undefined when it describes no process), or `gone` for an id PM2 no longer knows. */
  stop: () => Promise<StoppedProcess | undefined | 'gone'>;
  generations: Generations;
  /** How long to wait for a counted restart to fork before taking it as never coming. @default 10 s */
  forkWaitMs?: number;
  /** Stops in a row that each find another restart under way, before giving up. @default 5 */
  attempts?: number;
}

/**
 * Stops one app so that it stays stopped. A stop answer describing a generation no process is
 * known to have been forked for is a stop that landed while PM2 restarted the app (see
 * Generations): that restart is awaited and stopped in turn. A counted restart that does not fork
 * within `forkWaitMs` never will (PM2 cleared its timer, or the app was only ever seen in a list):
 * when the next stop's answer is the same, the stop stands. An answer leaving the app other than
 * stopped (the stop killed the old pid while PM2 forked the restart) is stopped again. Resolves false when PM2 no longer
 * knows the id; throws when every one of `attempts` stops found another restart under way.
 */
export async function stopForGood(opts: SettledStopOptions): Promise<boolean> {
  const { name, pmId, generations, forkWaitMs = 10_000, attempts = 5 } = opts;
  let unforked: StoppedProcess | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const answer = await opts.stop();
    if (answer === 'gone') return false;
    if (answer === undefined) return true;
    if (answer.notStopped) {
      if (attempt >= attempts) throw underWay(name, attempts);
      continue;
    }
    if (generations.forked(pmId, answer.restarts, answer.startedAt)) return true;
    if (unforked?.restarts === answer.restarts && unforked.startedAt === answer.startedAt) return true;
    if (attempt >= attempts) throw underWay(name, attempts);
    unforked = (await generations.waitFor(pmId, answer.restarts, forkWaitMs)) ? undefined : answer;
  }
}

function underWay(name: string, attempts: number): RedundancyError {
  return new RedundancyError('PM2_OPERATION', `pm2 stop ${name}: PM2 had another restart under way at each of ${attempts} stops`);
}
