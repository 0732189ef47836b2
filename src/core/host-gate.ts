import type { HostReport } from './report-types.js';
import type { UnitId } from './types.js';

/** What the supervisor asks of the lease: a unit that follows it runs only while this host acts. */
export interface HostGate {
  follows(id: UnitId): boolean;
  /** Judged at the moment of asking, on the monotonic clock: a process that was frozen refuses at once. */
  acting(): boolean;
  /** The epoch this host acts under, or the last it held. */
  epoch(): number | undefined;
  /** The manager's `host` line of the report. */
  report?(): HostReport;
  /**
   * Whether a standby stops the unit here. A unit that runs elsewhere (a GitHub workflow, a Netlify
   * function) is the same one for every host: a standby leaves it alone, only the active host acts on it.
   */
  parks(id: UnitId): boolean;
}
