import { stat } from 'node:fs/promises';
import type { Effect, UnitPolicy, UnitRecord } from '../core/failover.js';
import type { Observation, UnitDriver, UnitSides } from '../core/kind.js';
import { initialRecord, primaryWatched } from '../core/failover.js';
import type { CronSchedule } from '../core/schedule/cron-fields.js';
import { evaluateRuns, type LastRun, type RunCursor } from '../core/schedule/run-samples.js';
import { nextSlot, slotsBetween } from '../core/schedule/slots.js';
import type { RunsReport } from '../core/report-types.js';
import type { UnitBase } from '../core/types.js';
import type { Ledger, LedgerEvent } from '../store/ledger.js';
import type { DrillVerifier, SideVerdict } from '../core/drill.js';

/** A schedule in a zone; `tz` undefined is the zone the cron daemon runs in (this process's). */
export interface ZonedSchedule {
  parsed: CronSchedule;
  /** As written, for people. */
  expr: string;
  tz?: string;
}

/** How the manager itself runs a unit's work: a twin firing, a failback trial run. */
export interface JobCommand {
  command: string[];
  shell?: boolean;
  cwd: string;
  env: Record<string, string>;
  input?: string;
}

export interface ScheduledUnitSpec {
  unit: UnitBase;
  policy: UnitPolicy;
  /** The primary's schedule; undefined for a unit run on demand (a script). */
  primary?: ZonedSchedule;
  twin: { name: string; schedule?: ZonedSchedule; timeoutMs: number };
  job: JobCommand;
  trialRun: boolean;
}

export interface ScheduleTiming {
  graceMs: number;
  maxRuntimeMs: number;
}

/** How one run the manager started ended; `error` when it could not start. */
export interface RunOutcome {
  exitCode: number;
  durationMs: number;
  error?: string;
}

/** What the runtime does for a unit's twin: runs it, and knows whether one is under way. */
export interface TwinRunner {
  /** Undefined when it did not start: a run of the unit is under way, or a dry run. */
  runNow(spec: ScheduledUnitSpec, side: 'primary' | 'twin', reason: string): Promise<RunOutcome> | undefined;
  running(unitId: string): boolean;
  /** A twin schedule was turned on or off: the timer looks again. */
  rearm(): void;
  /** Whether the unit's ledger may have changed since the last look (false lets a quiet unit skip even the stat). */
  changed(unitId: string): boolean;
}

/**
 * One ledger-watched unit (a crontab line, a script). Its gate is the state file itself:
 * `redundancy run` reads which side is active there, so closing or opening a gate is saving the
 * state, which the supervisor does before any effect. What is left to do here is the twin's
 * schedule in the manager and waiting for a run under way on the side that is giving up.
 */
export class ScheduledUnitDriver implements UnitDriver {
  readonly unit: UnitBase;
  readonly policy: UnitPolicy;
  /** The twin's schedule runs (the unit is on its twin and the primary's last run is over). */
  twinOn = false;
  nextTwinAt: number | undefined;
  private events: LedgerEvent[] = [];
  private ledgerStamp = '';
  private primaryLastRun: LastRun | undefined;
  private twinLastRun: LastRun | undefined;
  /** A run of either side has started and not ended: it is timed every round (overrun). */
  private openRun = false;
  /** The ledger was read but not yet looked at (read at start-up, before the first round). */
  private unread = false;
  private nextDue: number | undefined;
  /** The failback trial (by its start) whose trial run was started: one run a trial. */
  private trialRunFor: number | undefined;
  private readonly warned = new Set<string>();
  private shownNext: { value: number | undefined } | undefined;
  /** The drill's twin run, by the drill step that asked for it: one run a drill. */
  private drillRun: { since: number; outcome?: RunOutcome & { endedAt: number } } | undefined;
  readonly drill: DrillVerifier = {
    // A run under way would overlap the drill's twin run: wait for it to end.
    twinNotReady: () => (this.runner.running(this.unit.id) || this.inFlight('primary') ? 'a run of the unit is under way' : undefined),
    verify: (side, since) => this.verifyDrill(side, since),
  };

  constructor(
    readonly spec: ScheduledUnitSpec,
    private readonly ledger: Ledger,
    private readonly timing: ScheduleTiming,
    private readonly runner: TwinRunner,
    private readonly host: string,
    private readonly clockNow: () => number,
    private readonly warn: (line: string) => void,
  ) {
    this.unit = spec.unit;
    this.policy = spec.policy;
  }

  async observe(record: UnitRecord, now: number): Promise<Observation> {
    // New lines since the last look, also ones read at start-up before any look.
    const reread = (this.runner.changed(this.unit.id) && (await this.readLedger())) || this.unread;
    this.unread = false;
    if (reread) this.twinLastRun = evaluateRuns({ side: 'twin', slots: [], events: this.events, now, ...this.timing, cursor: { judgedThrough: now, seen: [] } }).lastRun;
    const saved = isCursor(record.cursor) ? record.cursor : undefined;
    const start: RunCursor = saved ?? { judgedThrough: now, seen: [] };
    const watched = primaryWatched(record.state);
    // Not the active side: nothing of the primary is judged, and the cursor stays (no state write a round).
    if (!watched) return { events: [], cursor: saved ?? start };
    // Slots and runs from before the primary became the active side again are nobody's samples.
    const watchedSince = record.state.since;
    // After a long stop of the manager, slots older than the ledger it reads are not judged (their runs are not read).
    const after = Math.max(start.judgedThrough, watchedSince, now - this.historyMs());
    const due = this.spec.primary ? this.dueSlots(after, now) : [];
    // A quiet unit costs nothing: nothing new in the ledger, no slot due, no run to time.
    if (!reread && due.length === 0 && !this.openRun && saved) return { events: [] };
    const events = this.events.filter((e) => e.side === 'primary' && e.at >= watchedSince);
    const primary = evaluateRuns({ side: 'primary', slots: due, events, now, ...this.timing, cursor: { ...start, judgedThrough: after } });
    if (primary.lastRun) this.primaryLastRun = primary.lastRun;
    const samples = primary.samples.map((sample) => ({ type: 'sample' as const, sample }));
    return { events: samples, cursor: sameCursor(primary.cursor, record.cursor) ? record.cursor : primary.cursor };
  }

  needed(effect: Effect, record: UnitRecord): boolean {
    switch (effect.type) {
      case 'stop-primary':
        return this.inFlight('primary');
      case 'start-twin':
        return !this.twinOn;
      case 'stop-twin':
        return this.twinOn || this.runner.running(this.unit.id);
      case 'start-primary':
        return record.state.kind === 'probing' && this.spec.trialRun && this.trialRunFor !== record.lastTransitionAt;
      case 'restore-primary':
        return false;
    }
  }

  async run(effect: Effect, record: UnitRecord): Promise<void | 'pending'> {
    switch (effect.type) {
      case 'stop-primary':
        // The gate is closed already; a run that started before it finishes, or is stopped at its timeout.
        return this.inFlight('primary') ? 'pending' : undefined;
      case 'start-twin': {
        this.twinOn = true;
        const twin = this.spec.twin.schedule;
        this.nextTwinAt = twin && nextSlot(twin.parsed, twin.tz, this.clockNow());
        this.runner.rearm();
        // A line that runs at boot has no later slot: its twin runs once a failover, now (not again on resume).
        const since = record.state.since;
        const ranForThisFailover = this.events.some((e) => e.side === 'twin' && e.event === 'start' && e.at >= since);
        if (this.spec.primary?.parsed.kind === 'reboot' && !ranForThisFailover) this.runner.runNow(this.spec, 'twin', 'failover of an @reboot line');
        return;
      }
      case 'stop-twin':
        this.twinOn = false;
        this.nextTwinAt = undefined;
        this.runner.rearm();
        return this.runner.running(this.unit.id) ? 'pending' : undefined;
      case 'start-primary':
        if (record.state.kind !== 'probing') return;
        this.trialRunFor = record.lastTransitionAt ?? undefined;
        this.runner.runNow(this.spec, 'primary', 'failback trial run');
        return;
      case 'restore-primary':
        return;
    }
  }

  sides(record: UnitRecord, now: number): UnitSides {
    const onTwin = record.state.kind === 'backup' || record.state.kind === 'failing-over';
    const twinRunning = this.runner.running(this.unit.id);
    const twinStatus = twinRunning ? 'running' : this.twinOn ? (this.spec.twin.schedule ? 'scheduled' : 'on demand') : 'off';
    const next = this.nextSlotAfter(now);
    const latest = [this.primaryLastRun && { ...this.primaryLastRun, side: 'primary' as const }, this.twinLastRun && { ...this.twinLastRun, side: 'twin' as const }]
      .filter((r) => r !== undefined)
      .sort((a, b) => b.at - a.at)[0];
    const runs: RunsReport = {
      schedule: this.spec.primary?.expr ?? null,
      lastRun: latest ? { at: iso(latest.at)!, side: latest.side, exitCode: latest.exitCode, durationMs: latest.durationMs, ok: latest.ok } : null,
      nextSlot: iso(next),
      twinSchedule: this.spec.twin.schedule?.expr ?? null,
      nextTwinRun: onTwin && this.twinOn ? iso(this.nextTwinAt) : null,
    };
    return {
      // Open, the primary is the side that runs; how its runs go is its health (the window), not whether it is up.
      primary: { name: this.unit.name, status: onTwin ? 'gate closed' : 'gate open', ok: !onTwin },
      twin: { name: this.spec.twin.name, status: twinStatus, ok: this.twinOn && this.twinLastRun?.ok !== false },
      runs,
    };
  }

  /** The primary's next slot, computed again only once it has passed: the report asks every round. */
  private nextSlotAfter(now: number): number | undefined {
    const primary = this.spec.primary;
    if (!primary) return undefined;
    // A line with no next slot (@reboot, never fires) has none later either.
    if (!this.shownNext || (this.shownNext.value !== undefined && this.shownNext.value <= now)) {
      this.shownNext = { value: nextSlot(primary.parsed, primary.tz, now) };
    }
    return this.shownNext.value;
  }

  rebuild(now: number): UnitRecord {
    return initialRecord(this.unit.id, now);
  }

  /**
   * The twin of a scheduled unit serves when one run of it, started now outside its schedule,
   * exits 0. The primary serves once its gate is open again: its next slot runs it.
   */
  private async verifyDrill(side: 'primary' | 'twin', since: number): Promise<SideVerdict> {
    if (side === 'primary') return { state: 'ok', reason: 'gate open: the primary runs at its next slot' };
    if (this.drillRun?.since !== since) {
      const run = this.runner.runNow(this.spec, 'twin', 'drill');
      if (!run) return { state: 'waiting', reason: 'a run of the unit is under way' };
      const started = { since } as NonNullable<typeof this.drillRun>;
      this.drillRun = started;
      void run.then((outcome) => (started.outcome = { ...outcome, endedAt: this.clockNow() }));
    }
    const outcome = this.drillRun.outcome;
    if (!outcome) return { state: 'waiting', reason: `${this.spec.twin.name} running` };
    if (outcome.error !== undefined) return { state: 'failed', reason: `${this.spec.twin.name} did not start: ${outcome.error}` };
    if (outcome.exitCode !== 0) return { state: 'failed', reason: `${this.spec.twin.name} run exited ${outcome.exitCode} after ${outcome.durationMs}ms` };
    return { state: 'ok', reason: `${this.spec.twin.name} ran once and exited 0 in ${outcome.durationMs}ms`, at: outcome.endedAt };
  }

  /** Slots due for judging: computed only once the next one has passed its grace, so a quiet unit costs nothing. */
  private dueSlots(after: number, now: number): number[] {
    const primary = this.spec.primary!;
    if (this.nextDue !== undefined && this.nextDue > after && now < this.nextDue + this.timing.graceMs) return [];
    const slots = slotsBetween(primary.parsed, primary.tz, after, now);
    this.nextDue = nextSlot(primary.parsed, primary.tz, slots.at(-1) ?? after);
    return slots;
  }

  /** A run of `side` that started and has not ended: alive on this host, or within its runtime on another. */
  private inFlight(side: 'primary' | 'twin'): boolean {
    const ended = new Set(this.events.filter((e) => e.side === side && e.event !== 'start').map((e) => e.run));
    return this.events.some((e) => e.side === side && e.event === 'start' && !ended.has(e.run) && this.alive(e));
  }

  private alive(start: LedgerEvent): boolean {
    if (start.host !== this.host || start.pid === null) return this.clockNow() - start.at < this.timing.maxRuntimeMs;
    try {
      process.kill(start.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** How far back the ledger is read: two days, or two of the longest runs. */
  private historyMs(): number {
    return Math.max(this.timing.maxRuntimeMs, 86_400_000) * 2;
  }

  /** Re-reads the unit's ledger only when the file changed (its stamp), and only when asked to look. */
  async readLedger(): Promise<boolean> {
    const info = await stat(this.ledger.fileFor(this.unit.id)).catch(() => undefined);
    const stamp = info ? `${info.ino}:${info.size}:${info.mtimeMs}` : 'none';
    if (stamp === this.ledgerStamp) return false;
    const read = await this.ledger.read(this.unit.id, { sinceMs: this.clockNow() - this.historyMs() });
    this.events = read.events;
    this.ledgerStamp = stamp;
    this.unread = true;
    const ended = new Set(read.events.filter((e) => e.event === 'end' || e.event === 'interrupted').map((e) => e.run));
    this.openRun = read.events.some((e) => e.event === 'start' && !ended.has(e.run));
    // Said once per damaged line, however often the file is read again.
    for (const warning of read.warnings) {
      if (this.warned.has(warning)) continue;
      this.warned.add(warning);
      this.warn(warning);
    }
    return true;
  }
}

function isCursor(value: unknown): value is RunCursor {
  const c = value as RunCursor | undefined;
  return typeof c === 'object' && c !== null && typeof c.judgedThrough === 'number' && Array.isArray(c.seen);
}

function sameCursor(a: RunCursor, b: unknown): boolean {
  return isCursor(b) && a.judgedThrough === b.judgedThrough && a.seen.length === b.seen.length && a.seen.at(-1) === b.seen.at(-1);
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
