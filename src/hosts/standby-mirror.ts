import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CompiledConfig } from '../core/config-types.js';
import type { MirrorSpec } from '../core/orchestrate-types.js';
import { mirrorMain } from '../mirror/mirror.js';
import { readJsonFile, writeFileAtomic } from '../store/atomic-file.js';
import type { Logger } from '../store/logger.js';

const run = promisify(execFile);

export interface MirrorStatus {
  /** When the last run in which every mirror job completed ended (ISO); null: never. */
  lastCompleteAt: string | null;
  /** Why the last run did not complete. */
  error?: string;
}

/** The config's orchestrate mirror jobs, which a standby runs on a schedule. */
export function mirrorJobs(config: CompiledConfig): Array<{ name: string; mirror: MirrorSpec }> {
  return (config.orchestrate?.stages ?? []).flatMap((stage) => stage.jobs.flatMap((job) => (job.kind === 'mirror' ? [{ name: job.name, mirror: job.mirror }] : [])));
}

/**
 * On a standby, every `host.mirrorEvery`: each mirror job in turn, as its own process like an
 * orchestrate job. The end of the last complete run is kept in the state directory: its age bounds
 * the data a failover to this host loses.
 */
export class StandbyMirror {
  private timer: NodeJS.Timeout | undefined;
  private status: MirrorStatus = { lastCompleteAt: null };
  private readonly file: string;
  private running = false;

  constructor(private readonly opts: { config: CompiledConfig; everyMs: number; logger: Logger; standingBy: () => boolean; onStatus: (status: MirrorStatus) => void }) {
    this.file = join(opts.config.stateDir, 'host-mirror.json');
  }

  async start(): Promise<void> {
    const saved = await readJsonFile(this.file);
    if (saved.kind === 'ok') this.status = saved.value as MirrorStatus;
    this.opts.onStatus(this.status);
    const loop = () => {
      this.timer = setTimeout(() => void this.once().finally(loop), this.opts.everyMs);
    };
    // Not at once: a manager starts as standby and most often leads a moment later.
    loop();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** One run of every mirror job, only while this host stands by (the active host's data is the source). */
  async once(): Promise<void> {
    if (this.running || !this.opts.standingBy()) return;
    this.running = true;
    try {
      for (const job of mirrorJobs(this.opts.config)) {
        await run(process.execPath, [mirrorMain, JSON.stringify(job.mirror)], { cwd: this.opts.config.cwd, timeout: Math.max(this.opts.everyMs, 60_000) }).catch((error: { stderr?: string; message: string }) => {
          throw new Error(`mirror ${job.name}: ${(error.stderr ?? '').trim() || error.message}`);
        });
      }
      this.status = { lastCompleteAt: new Date().toISOString() };
    } catch (error) {
      this.status = { lastCompleteAt: this.status.lastCompleteAt, error: error instanceof Error ? error.message : String(error) };
      this.opts.logger.warn({ err: this.status.error }, 'standby mirror did not complete');
    } finally {
      this.running = false;
    }
    this.opts.onStatus(this.status);
    await writeFileAtomic(this.file, `${JSON.stringify(this.status)}\n`).catch(() => undefined);
  }
}
