import { formatDuration } from '../core/duration.js';
import type { JobResult } from './outcome.js';
import type { PlannedJob } from './plan.js';
import type { RunProgress } from './runner.js';

export type ProgressMode = 'live' | 'plain' | 'none';

const words: Record<JobResult['status'], string> = {
  successful: 'ok', failed: 'FAILED', timedOut: 'TIMED OUT', skipped: 'skipped', interrupted: 'INTERRUPTED', notRun: 'not run', planned: 'planned',
};
const marks: Record<JobResult['status'], string> = {
  successful: '✔', failed: '✖', timedOut: '⏱', skipped: '⏭', interrupted: '■', notRun: '·', planned: '·',
};

/** One line per job as it starts and as it ends. */
export function endLine(job: PlannedJob, result: JobResult, live: boolean): string {
  const took = result.durationMs !== null ? ` ${formatDuration(result.durationMs)}` : '';
  const why = result.reason ? `: ${result.reason}` : '';
  return live ? `${marks[result.status]} ${job.stage}/${job.name}${took}${why}` : `${words[result.status]} ${job.stage}/${job.name}${took}${why}`;
}

function startLine(job: PlannedJob, live: boolean): string {
  const what = job.kind === 'unit' ? ` (${job.unit})` : job.kind === 'mirror' ? ' (mirror)' : '';
  return `${live ? '▶' : 'start'} ${job.stage}/${job.name}${what}`;
}

/**
 * `plain`: timestamped lines, for logs and cron mail. `live` (a terminal): the same lines with a
 * footer, redrawn in place, naming the jobs running and for how long.
 */
export function createProgress(mode: ProgressMode, out: NodeJS.WritableStream, now: () => number = Date.now): RunProgress & { close(): void } {
  const running = new Map<string, number>();
  let done = 0;
  let footerShown = false;
  const clearFooter = () => {
    if (footerShown) out.write('\r\x1b[2K');
    footerShown = false;
  };
  const drawFooter = () => {
    if (mode !== 'live' || running.size === 0) return;
    const list = [...running].map(([name, since]) => `${name} ${formatDuration(Math.max(0, now() - since))}`).join(', ');
    const text = `… ${done} done, ${running.size} running: ${list}`;
    out.write(text.length > 160 ? `${text.slice(0, 159)}…` : text);
    footerShown = true;
  };
  const line = (text: string) => {
    if (mode === 'none') return;
    clearFooter();
    out.write(mode === 'plain' ? `${new Date(now()).toISOString().slice(11, 19)} ${text}\n` : `${text}\n`);
    drawFooter();
  };
  const timer = mode === 'live' ? setInterval(() => {
    clearFooter();
    drawFooter();
  }, 1_000) : undefined;
  timer?.unref();
  return {
    jobStarted(job) {
      running.set(`${job.stage}/${job.name}`, now());
      line(startLine(job, mode === 'live'));
    },
    jobEnded(job, result) {
      if (running.delete(`${job.stage}/${job.name}`) || result.status !== 'notRun') done += 1;
      line(endLine(job, result, mode === 'live'));
    },
    close() {
      clearInterval(timer);
      clearFooter();
    },
  };
}
