import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { drillDefaults, drillRefusal, lastDrills, runDrill, type DrillConfig, type DrillRecord, type DrillVerifier } from '../core/drill.js';
import { errorMessage } from '../core/errors.js';
import type { DrillSummary } from '../core/report-types.js';
import type { UnitId } from '../core/types.js';
import type { ManagerMetrics } from '../http/metrics.js';
import { appendWholeLine } from '../store/ledger.js';
import type { Logger } from '../store/logger.js';
import type { Supervisor } from './supervisor.js';

export const DRILLS_FILE = 'drills.jsonl';

/** What `POST /drill/<unit>` answers: the record written, or with `dryRun` what would happen. */
export interface DrillAnswer extends DrillRecord {
  dryRun?: boolean;
  /** Dry run: the steps a drill would take. */
  plan?: string[];
  /** Refused because the unit's kind cannot be drilled: `drill --all` passes over it. */
  unsupported?: boolean;
}

export interface DrillsDeps {
  supervisor: Pick<Supervisor, 'drillSwitch' | 'drillVerifier' | 'report' | 'refreshReport'>;
  metrics: Pick<ManagerMetrics, 'countDrill'>;
  /** Told of every drill that ran (the `drill` notification). */
  notify(record: DrillRecord): void;
  logsDir: () => string;
  config: () => DrillConfig | undefined;
  clock: Clock;
  logger: Logger;
  /** How often a side is looked at while a drill waits for it: the resolution of the times measured. @default 50 */
  pollMs?: number;
}

/**
 * Drills in the running manager: one at a time, refused with nothing changed unless the unit is
 * healthy on its primary, not paused, and its twin is ready; each drill and refusal is a line
 * of `logs/drills.jsonl`, a `redundancy_drills_total` count, and (when it ran) a notification.
 */
export class Drills {
  private last: Record<UnitId, DrillSummary> = {};
  private busy: UnitId | undefined;
  private current: Promise<unknown> | undefined;
  private stopping = false;
  private readonly host = hostname();

  constructor(private readonly deps: DrillsDeps) {}

  /** The last drills already on disk, for the report from the first round on. */
  async load(): Promise<void> {
    const file = this.file();
    const text = await readFile(file, 'utf8').catch(() => '');
    const records: DrillRecord[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        records.push(JSON.parse(line) as DrillRecord);
      } catch {
        this.deps.logger.warn({ file }, 'a line of the drill log is not JSON; skipped');
      }
    }
    this.last = lastDrills(records);
  }

  summaries(): Record<UnitId, DrillSummary> {
    return this.last;
  }

  async drill(id: UnitId, opts: { dryRun?: boolean } = {}): Promise<DrillAnswer> {
    const { supervisor, clock } = this.deps;
    const config = this.deps.config() ?? drillDefaults;
    const started = clock.now();
    const unit = supervisor.report().units.find((u) => u.id === id);
    const verifier = supervisor.drillVerifier(id);
    const refusal = this.stopping ? 'the manager is stopping' : drillRefusal(unit, id, { verifier, ...(this.busy !== undefined && { busyWith: this.busy }) });
    const base = { unit: id, at: new Date(started).toISOString(), host: this.host, ...(unit?.twin.mode && { twinMode: unit.twin.mode }) };
    if (refusal !== undefined) {
      const record: DrillRecord = { ...base, result: 'refused', reason: refusal, rtoMs: null, failbackMs: null, totalMs: 0 };
      const unsupported = unit !== undefined && !verifier ? { unsupported: true } : {};
      if (opts.dryRun) return { ...record, dryRun: true, ...unsupported };
      if (unit) await this.record(record);
      return { ...record, ...unsupported };
    }
    if (opts.dryRun) {
      const plan = [
        `fail ${id} over to its twin ${unit!.twin.name} (no hold-down, not counted as a failover)`,
        `verify the twin serves within ${config.timeoutMs}ms`,
        `fail back to ${unit!.primary.name} at once and verify it serves within ${config.timeoutMs}ms`,
        `write the times to ${join(this.deps.logsDir(), DRILLS_FILE)}`,
      ];
      return { ...base, result: 'ok', reason: 'would run', rtoMs: null, failbackMs: null, totalMs: 0, dryRun: true, plan };
    }
    this.busy = id;
    const done = this.run(id, base, started, config, verifier!);
    this.current = done;
    try {
      return await done;
    } finally {
      this.busy = undefined;
      this.current = undefined;
    }
  }

  /** The manager is stopping: a drill under way stops waiting, puts its unit back and answers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.current?.catch(() => undefined);
  }

  private async run(id: UnitId, base: Pick<DrillRecord, 'unit' | 'at' | 'host' | 'twinMode'>, started: number, config: DrillConfig, verifier: DrillVerifier): Promise<DrillAnswer> {
    const { supervisor, clock } = this.deps;
    this.deps.logger.info({ unit: id }, 'drill starts');
    const times = await runDrill(
      {
        failover: async (reason) => void (await supervisor.drillSwitch(id, { type: 'drill-failover', reason })),
        failback: async (reason) => void (await supervisor.drillSwitch(id, { type: 'drill-failback', reason })),
        verify: (side, since) => verifier.verify(side, since).catch((error: unknown) => ({ state: 'waiting' as const, reason: errorMessage(error) })),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        stopped: () => (this.stopping ? 'the manager is stopping' : undefined),
      },
      clock,
      { timeoutMs: config.timeoutMs, pollMs: this.deps.pollMs ?? 50 },
    ).catch(async (error: unknown) => {
      // A switch refused midway (the unit failed for real meanwhile): the state machine has it now.
      await supervisor.drillSwitch(id, { type: 'drill-failback', reason: 'drill aborted; back to the primary' }).catch(() => undefined);
      return { result: 'failed' as const, reason: `drill aborted: ${errorMessage(error)}`, rtoMs: null, failbackMs: null, totalMs: clock.now() - started };
    });
    const record: DrillRecord = { ...base, ...times };
    this.deps.logger.info({ unit: id, result: record.result, rtoMs: record.rtoMs, failbackMs: record.failbackMs, reason: record.reason }, 'drill done');
    await this.record(record);
    this.deps.notify(record);
    return record;
  }

  private file(): string {
    return join(this.deps.logsDir(), DRILLS_FILE);
  }

  private async record(record: DrillRecord): Promise<void> {
    this.deps.metrics.countDrill(record.unit, record.result);
    if (record.result !== 'refused') this.last = { ...this.last, ...lastDrills([record]) };
    try {
      await appendWholeLine(this.file(), `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.deps.logger.error({ err: errorMessage(error) }, 'drill not written to the drill log');
    }
    this.deps.supervisor.refreshReport();
  }
}
