import { writeFile } from 'node:fs/promises';
import { waitForAnswer, whoAnswers } from './http.js';
import { failoverTimeline } from './manager-log.js';
import { median, round } from './stats.js';
import { now } from './time.js';

/**
 * One failover of a fixture service unit under a running manager: make the primary unable to
 * boot (its DIE_AT_BOOT_FILE), SIGKILL it, and time the kill to the twin (REDUNDANCY_ROLE=backup)
 * answering on the shared port. PM2 restarts the primary at once; those boots die.
 */
export async function failoverTrial(project, { name, port }, pollMs) {
  const before = await whoAnswers(port);
  if (before.role !== 'primary') throw new Error(`${name}: expected the primary on port ${port}, got ${before.role}`);
  await writeFile(project.path(`die-${name}`), '');
  const killedEpoch = Date.now();
  const killedAt = now();
  process.kill(before.pid, 'SIGKILL');
  const answered = await waitForAnswer(port, { intervalMs: pollMs, timeoutMs: 60_000, accept: (res) => JSON.parse(res.body).role === 'backup' });
  return { unit: `pm2:${name}`, killedEpoch, ms: answered - killedAt };
}

/** Medians, from the manager's log, of when each step of the trials' failovers was done (ms after the kill). */
export function failoverBreakdown(log, trials) {
  const timelines = trials.map((t) => ({ ...failoverTimeline(log, t.unit, t.killedEpoch), answeredMs: round(t.ms) }));
  const part = (key) => median(timelines.map((t) => t[key]).filter((v) => v !== null));
  // Decision to twin answering: the effects (stop primary, start twin) and the twin's boot.
  const afterDecision = median(timelines.filter((t) => t.decidedMs !== null).map((t) => t.answeredMs - t.decidedMs));
  return {
    breakdownMs: {
      decided: part('decidedMs'),
      primaryStopped: part('primaryStoppedMs'),
      twinStarted: part('twinStartedMs'),
      answered: part('answeredMs'),
      decidedToAnswered: round(afterDecision),
    },
    timelines,
  };
}
