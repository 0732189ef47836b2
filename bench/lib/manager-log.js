import { readFile } from 'node:fs/promises';

/** The manager's pino log (logs/redundancy.log) as objects; lines that are not JSON are skipped. */
export async function readManagerLog(file) {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // a line cut short by a kill
    }
  }
  return lines;
}

/**
 * Where the time of one failover went, from the manager's own log (ms clock): when it logged the
 * decision, and when each effect finished, relative to `fromEpochMs`.
 */
export function failoverTimeline(log, unit, fromEpochMs) {
  const after = log.filter((l) => l.unit === unit && l.time >= fromEpochMs - 1);
  const at = (pred) => {
    const line = after.find(pred);
    return line === undefined ? null : line.time - fromEpochMs;
  };
  return {
    decidedMs: at((l) => l.msg === 'transition' && l.to === 'failing-over'),
    primaryStoppedMs: at((l) => l.msg === 'effect done' && l.effect === 'stop-primary'),
    twinStartedMs: at((l) => l.msg === 'effect done' && l.effect === 'start-twin'),
  };
}
