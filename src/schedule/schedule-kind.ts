import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { KindRuntime } from '../core/kind.js';
import { nextSlot } from '../core/schedule/slots.js';
import type { UnitKind } from '../core/types.js';
import type { Ledger } from '../store/ledger.js';
import type { Logger } from '../store/logger.js';
import { runRecorded } from './run-wrapper.js';
import { ScheduledUnitDriver, type RunOutcome, type ScheduledUnitSpec, type ScheduleTiming, type TwinRunner } from './schedule-unit.js';

export interface ScheduleRuntimeOptions {
  kind: Extract<UnitKind, 'cron' | 'script'>;
  units: readonly ScheduledUnitSpec[];
  ledger: Ledger;
  timing: ScheduleTiming;
  clock: Clock;
  logger: Logger;
  host: string;
  /** Say what would run instead of running it. */
  dryRun?: (action: string) => void;
  /** Runs one job and records it in the ledger. @default runRecorded, through the job's shell command */
  runJob?: (spec: ScheduledUnitSpec, side: 'primary' | 'twin') => Promise<{ exitCode: number; durationMs: number }>;
}

/** Even with the watcher, every ledger is looked at this often. */
const sweepEveryMs = 60_000;
/** Longest sleep of the twin timer: a machine that slept or a clock that jumped is noticed this soon. */
const maxSleepMs = 30_000;

/**
 * Ledger-watched units of one kind, and the manager's own scheduler for their twins: a twin fires
 * on its throttled schedule only while its unit is on the twin, never beside a run still under way.
 */
export class ScheduleRuntime implements KindRuntime, TwinRunner {
  readonly kind: ScheduleRuntimeOptions['kind'];
  readonly drivers: ScheduledUnitDriver[];
  private readonly runs = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Units whose ledger file the watcher saw change since their last look; all of them when there is no watcher. */
  private readonly touched = new Set<string>();
  private watcher: FSWatcher | undefined;
  private readonly byFile = new Map<string, string>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: ScheduleRuntimeOptions) {
    this.kind = opts.kind;
    this.drivers = opts.units.map((spec) => new ScheduledUnitDriver(spec, opts.ledger, opts.timing, this, opts.host, () => opts.clock.now(), (line) => opts.logger.warn({ kind: opts.kind }, line)));
  }

  /**
   * At start-up every ledger is read before the first reconcile: a run under way then must be seen.
   * Then the ledger directory is watched, so a round reads only the files that changed; every
   * minute all are looked at anyway, in case the watcher missed something (a full inotify, a rename).
   */
  async refresh(force: boolean): Promise<void> {
    if (force) {
      await Promise.all(this.drivers.map((d) => d.readLedger()));
      this.watch();
    }
    const now = this.opts.clock.now();
    if (!this.watcher || now - this.lastSweep >= sweepEveryMs) {
      this.lastSweep = now;
      for (const d of this.drivers) this.touched.add(d.unit.id);
    }
    this.arm();
  }

  changed(unitId: string): boolean {
    return this.touched.delete(unitId);
  }

  private watch(): void {
    if (this.watcher || this.closed) return;
    for (const d of this.drivers) this.byFile.set(basename(this.opts.ledger.fileFor(d.unit.id)), d.unit.id);
    try {
      mkdirSync(this.opts.ledger.dir, { recursive: true });
      this.watcher = watch(this.opts.ledger.dir, (_event, file) => {
        // Rotated files are named after the live one: `<file>.<stamp>`.
        const unit = file ? this.byFile.get(file) ?? this.byFile.get(file.replace(/\.\d{13}-\d+-\d+$/, '')) : undefined;
        if (unit) this.touched.add(unit);
        else for (const d of this.drivers) this.touched.add(d.unit.id);
      });
      this.watcher.on('error', (error) => {
        this.opts.logger.warn({ kind: this.kind, err: errorMessage(error) }, 'ledger watcher failed; every ledger is looked at each round');
        this.watcher?.close();
        this.watcher = undefined;
      });
      this.watcher.unref();
    } catch (error) {
      this.opts.logger.warn({ kind: this.kind, err: errorMessage(error) }, 'ledger directory not watched; every ledger is looked at each round');
    }
  }

  /** Finished runs are read from the ledger in rounds: nothing is pushed. */
  subscribe(): () => void {
    return () => undefined;
  }

  forget(): void {}

  running(unitId: string): boolean {
    return this.runs.has(unitId);
  }

  runNow(spec: ScheduledUnitSpec, side: 'primary' | 'twin', reason: string): Promise<RunOutcome> | undefined {
    const { logger, dryRun } = this.opts;
    if (this.runs.has(spec.unit.id)) return undefined;
    if (dryRun) {
      dryRun(`would run ${spec.unit.id} (${side}: ${reason})`);
      return undefined;
    }
    logger.info({ unit: spec.unit.id, side, reason }, 'run starts');
    const run = (this.opts.runJob ?? this.runRecordedJob)(spec, side)
      .then((outcome) => {
        logger.info({ unit: spec.unit.id, side, exitCode: outcome.exitCode, durationMs: outcome.durationMs }, 'run ended');
        return outcome;
      })
      .catch((error: unknown): RunOutcome => {
        logger.error({ unit: spec.unit.id, err: errorMessage(error) }, 'run failed to start');
        return { exitCode: -1, durationMs: 0, error: errorMessage(error) };
      })
      .finally(() => this.runs.delete(spec.unit.id));
    this.runs.set(spec.unit.id, run);
    return run;
  }

  private readonly runRecordedJob = (spec: ScheduledUnitSpec, side: 'primary' | 'twin') =>
    runRecorded({
      unit: spec.unit.id,
      side,
      ...spec.job,
      // Like a PM2 twin, a twin run knows it is one.
      env: { ...process.env, ...spec.job.env, ...(side === 'twin' && { REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: spec.unit.id }) },
      ledger: this.opts.ledger,
      gate: { run: true },
      slot: null,
      timeoutMs: spec.twin.timeoutMs,
      host: this.opts.host,
      warn: (line) => this.opts.logger.warn({ unit: spec.unit.id }, line),
      stdio: 'pipe',
      // The manager's own SIGTERM stops the manager, not the job.
      forwardSignals: false,
    });

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    // A twin run under way finishes, or is stopped at its timeout; the manager waits a little for it.
    await Promise.race([Promise.all(this.runs.values()), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  }

  /** Fires every twin that is due, then sleeps until the next one (at most maxSleepMs). */
  private fire(): void {
    const now = this.opts.clock.now();
    for (const d of this.drivers) {
      const schedule = d.spec.twin.schedule;
      if (!d.twinOn || !schedule || d.nextTwinAt === undefined || d.nextTwinAt > now) continue;
      // From now, not from the slot: after a sleep the twin fires once, not once per slot missed.
      d.nextTwinAt = nextSlot(schedule.parsed, schedule.tz, now);
      if (this.runs.has(d.unit.id)) {
        this.skip(d, 'the last twin run is still under way');
        continue;
      }
      this.runNow(d.spec, 'twin', 'twin schedule');
    }
    this.arm();
  }

  rearm(): void {
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const now = this.opts.clock.now();
    const next = Math.min(...this.drivers.filter((d) => d.twinOn).map((d) => d.nextTwinAt ?? now), now + maxSleepMs);
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - now));
    this.timer.unref();
  }

  private skip(d: ScheduledUnitDriver, reason: string): void {
    const at = this.opts.clock.now();
    void this.opts.ledger
      .append({ run: `skip-${at}`, unit: d.unit.id, side: 'twin', event: 'skipped', at, slot: null, pid: null, exitCode: null, signal: null, durationMs: null, host: this.opts.host, reason })
      .catch((error: unknown) => this.opts.logger.warn({ unit: d.unit.id, err: errorMessage(error) }, 'ledger not written'));
  }
}
