import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { RedundancyError, errorMessage } from '../core/errors.js';
import type { HealthReport } from '../core/report-types.js';
import { writeFileAtomic } from './atomic-file.js';

export const HEALTH_REPORT_FILE = 'redundancy-health.json';
export const HEALTH_HISTORY_FILE = 'health-history.jsonl';

export interface ReportWriterOptions {
  /** Directory of the report and its history (created when missing). */
  logsDir: string;
  /** Rotate the history before it would grow past this many bytes. */
  historyMaxBytes: number;
  /** Rotated history files kept (`.1` newest ... `.N` oldest); 0 keeps none. */
  historyKeep: number;
  /** Called on the first failed write of a streak, not on every round; see `failed`. */
  onError: (err: Error) => void;
  /** Called on the first good write after a failed streak. */
  onRecover?: () => void;
}

/**
 * One line of `health-history.jsonl`: the summary, and each unit that is not healthy on its
 * primary. A unit left out was healthy on its primary, so a line stays small however many units
 * are supervised (a line naming all 1,000 units every round was 100 KB).
 */
export interface HistoryLine {
  at: string;
  summary: HealthReport['summary'];
  units: Array<Pick<HealthReport['units'][number], 'id' | 'state' | 'active' | 'health' | 'errorRate'>>;
}

export function historyLine(report: HealthReport): HistoryLine {
  return {
    at: report.generatedAt,
    summary: report.summary,
    units: report.units
      .filter((unit) => unit.health !== 'healthy' || unit.active !== 'primary')
      .map(({ id, state, active, health, errorRate }) => ({ id, state, active, health, errorRate })),
  };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** rename that treats a missing source as done: the rotation chain has gaps until it is full. */
async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Writes the health report after every round: replaces `redundancy-health.json` atomically and
 * appends a summary line to `health-history.jsonl`. `write` never rejects, so a full disk or an
 * unwritable `logs/` does not stop the manager; writes are serialised so rotations never interleave.
 */
export class ReportWriter {
  private readonly opts: ReportWriterOptions;
  private chain: Promise<void> = Promise.resolve();
  private lastError: Error | undefined;

  constructor(opts: ReportWriterOptions) {
    this.opts = opts;
  }

  get reportFile(): string {
    return path.join(this.opts.logsDir, HEALTH_REPORT_FILE);
  }

  get historyFile(): string {
    return path.join(this.opts.logsDir, HEALTH_HISTORY_FILE);
  }

  /** True while the last write failed. */
  get failed(): boolean {
    return this.lastError !== undefined;
  }

  /** The last write's failure, if it failed. */
  get error(): Error | undefined {
    return this.lastError;
  }

  /** Each unit's text by its report object: a unit the supervisor did not rebuild is not serialised again. */
  private readonly unitTexts = new WeakMap<object, string>();

  write(report: HealthReport): Promise<void> {
    const run = this.chain.then(() => this.writeNow(report));
    this.chain = run;
    return run;
  }

  private async writeNow(report: HealthReport): Promise<void> {
    try {
      // Rewritten every round from memory: atomic for readers, without an fsync a round.
      await writeFileAtomic(this.reportFile, reportText(report, this.unitTexts), { durable: false });
      await this.appendHistory(`${JSON.stringify(historyLine(report))}\n`);
    } catch (error) {
      const first = this.lastError === undefined;
      this.lastError = error instanceof Error ? error : new Error(String(error));
      if (first) this.opts.onError(this.lastError);
      return;
    }
    if (this.lastError !== undefined) {
      this.lastError = undefined;
      this.opts.onRecover?.();
    }
  }

  private async appendHistory(line: string): Promise<void> {
    const file = this.historyFile;
    try {
      const size = await sizeOf(file);
      // An empty file is never rotated, so a line longer than the limit still gets written.
      if (size > 0 && size + Buffer.byteLength(line) > this.opts.historyMaxBytes) await this.rotate();
      await fsp.appendFile(file, line, 'utf8');
    } catch (error) {
      if (error instanceof RedundancyError) throw error;
      throw new RedundancyError('IO', `${file}: append failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** `.N` is dropped, each `.i` moves to `.i+1`, the live file becomes `.1`. */
  private async rotate(): Promise<void> {
    const file = this.historyFile;
    const keep = Math.max(0, Math.floor(this.opts.historyKeep));
    if (keep === 0) {
      await fsp.rm(file, { force: true });
      return;
    }
    await fsp.rm(`${file}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i -= 1) await renameIfExists(`${file}.${i}`, `${file}.${i + 1}`);
    await fsp.rename(file, `${file}.1`);
  }
}

/**
 * The report as `JSON.stringify(report, null, 2)` writes it, with each unit's text taken from
 * `cache` when its object was already written: at 1,000 units most rounds change a few of them.
 */
export function reportText(report: HealthReport, cache: WeakMap<object, string>): string {
  const { units } = report;
  const unitTexts = units.map((unit) => {
    let text = cache.get(unit);
    if (text === undefined) {
      text = JSON.stringify(unit, null, 2).replace(/\n/g, '\n    ');
      cache.set(unit, text);
    }
    return `    ${text}`;
  });
  // Overriding `units` keeps its place among the keys, so the text is the one JSON.stringify would write.
  const head = JSON.stringify({ ...report, units: [] }, null, 2);
  const body = units.length === 0 ? '[]' : `[\n${unitTexts.join(',\n')}\n  ]`;
  return `${head.replace(/"units": \[\]/, () => `"units": ${body}`)}\n`;
}
