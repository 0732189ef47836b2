import type { DrillVerifier } from './drill.js';
import type { Effect, StateKind, UnitEvent, UnitPolicy, UnitRecord } from './failover.js';
import type { SideObservation } from './health.js';
import type { RunsReport } from './report-types.js';
import type { UnitBase, UnitId, UnitKind } from './types.js';

/**
 * One unit as its kind carries it out. The supervisor owns the record and the state machine;
 * the driver only looks at the world and changes it.
 */
export interface UnitDriver {
  readonly unit: UnitBase;
  readonly policy: UnitPolicy;
  /** One look at the unit in a round: what it tells the state machine. */
  observe(record: UnitRecord, now: number): Promise<Observation>;
  /** False when the world already satisfies the effect, so reconciling a settled unit costs nothing. */
  needed(effect: Effect, record: UnitRecord): boolean;
  /**
   * Carries one effect out; idempotent. `pending` means it cannot be done yet without it being a
   * failure (a primary run still under way): the transition waits, and the next round tries again.
   */
  run(effect: Effect, record: UnitRecord): Promise<void | 'pending'>;
  /** What the last look saw of each side, for the report. */
  sides(record: UnitRecord, now: number): UnitSides;
  /** The record of a unit with none saved, from what the world shows. */
  rebuild(now: number): UnitRecord;
  /** How a drill tells that each side serves; absent for kinds that cannot be drilled. */
  readonly drill?: DrillVerifier;
}

export interface Observation {
  events: UnitEvent[];
  /**
   * The kind's new read position (a ledger cursor), stored in the record before the events are
   * applied, so a save carries both or neither and nothing is counted twice.
   */
  cursor?: unknown;
}

export interface UnitSides {
  primary: SideObservation;
  twin: SideObservation;
  /** Scheduled kinds: the last run, the next slot, the twin's next firing. */
  runs?: RunsReport;
}

/** Every unit of one kind, and what the kind does once per round or between rounds. */
export interface KindRuntime {
  readonly kind: UnitKind;
  readonly drivers: readonly UnitDriver[];
  /** Before a round looks at the units; `force` at start-up and when the world was replaced. */
  refresh(force: boolean): Promise<void>;
  /** Observations pushed between rounds (a crash, a finished run). Returns the unsubscribe. */
  subscribe(emit: (id: UnitId, event: UnitEvent) => void): () => void;
  /** The world was replaced (a new PM2 daemon): forget what was counted in the old one. */
  forget(): void;
  /** After start-up brought every unit in line: what was counted before no longer counts. */
  settle?(): void;
  /** Stops timers and runs the kind owns; the active side of every unit keeps its work. */
  close(): Promise<void>;
  /** What the report says of the kind as a whole (an API's remaining budget). */
  summary?(): Record<string, unknown> | undefined;
}

export type { StateKind };
