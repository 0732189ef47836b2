import type { FailoverStateName, UnitReport } from '../core/report-types.js';
import { failoverReasons } from './failover-reason.js';

export const unitStates: readonly FailoverStateName[] = ['primary', 'failing-over', 'backup', 'probing', 'failing-back'];
/** `standby` (a standby host) is emitted only for a unit whose report says so. */
const sides = ['primary', 'twin', 'none'] as const;
export type FailbackResult = 'ok' | 'failed';
const failbackResults: readonly FailbackResult[] = ['ok', 'failed'];
/** A drill: `ok` done, `refused` nothing changed, `failed` the twin could not be verified (DESIGN.md, `drill`). */
export type DrillResult = 'ok' | 'refused' | 'failed';
const drillResults: readonly DrillResult[] = ['ok', 'refused', 'failed'];

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  lines: (id: string, e: Entry) => string;
}

interface Entry {
  report?: UnitReport;
  /** Counters by label value; failovers and failbacks start at 0 so increase() sees the first one. */
  failovers: Map<string, number>;
  failbacks: Map<string, number>;
  drills: Map<string, number>;
  /** Rendered lines of each family, dropped when the report object or a counter changes. */
  text: (string | undefined)[];
}

const families: Family[] = [
  gaugeFamily('redundancy_unit_state', 'Failover state of a unit: 1 for the state it is in, 0 for the others (a state-set).', (id, r) =>
    unitStates.map((s) => line('redundancy_unit_state', `unit="${esc(id)}",kind="${esc(r.kind)}",state="${s}"`, r.state === s ? 1 : 0)).join('')),
  gaugeFamily('redundancy_unit_active', 'Side of a unit that is active: 1 for it, 0 for the others.', (id, r) => {
    const active: string = r.active;
    const shown: readonly string[] = active === 'standby' ? [...sides, 'standby'] : sides;
    return shown.map((side) => line('redundancy_unit_active', `unit="${esc(id)}",side="${side}"`, active === side ? 1 : 0)).join('');
  }),
  gaugeFamily('redundancy_unit_error_ratio', 'Failed samples over samples in the window of a unit (0-1).', (id, r) =>
    line('redundancy_unit_error_ratio', `unit="${esc(id)}"`, r.errorRate)),
  gaugeFamily('redundancy_unit_paused', '1 while a unit is paused for maintenance.', (id, r) =>
    line('redundancy_unit_paused', `unit="${esc(id)}"`, (r as { paused?: boolean }).paused === true ? 1 : 0)),
  counterFamily('redundancy_failovers_total', 'Failovers of a unit, by reason (error-rate, dead, manual, other).', 'reason', failoverReasons, (e) => e.failovers),
  counterFamily('redundancy_failbacks_total', 'Failback trials of a unit, by result (ok, failed).', 'result', failbackResults, (e) => e.failbacks),
  counterFamily('redundancy_drills_total', 'Drills of a unit, by result (ok, refused, failed).', 'result', drillResults, (e) => e.drills),
];

/**
 * The per-unit families, rendered as Prometheus text without prom-client: at 1,000 units they are
 * some 16,000 series, which prom-client formats in tens of milliseconds on every scrape. Here each
 * unit's lines are rendered once and kept until its report object (the supervisor reuses it while
 * the unit is unchanged) or one of its counters changes.
 */
export class UnitSeries {
  private entries = new Map<string, Entry>();

  /** Takes a round's units; units no longer in it lose every series, counters included. */
  update(units: readonly UnitReport[]): void {
    const next = new Map<string, Entry>();
    for (const unit of units) {
      const entry = this.entries.get(unit.id) ?? newEntry();
      if (entry.report !== unit) {
        entry.report = unit;
        entry.text = [];
      }
      next.set(unit.id, entry);
    }
    // Units counted but not yet reported stay until a report leaves them out.
    for (const [id, entry] of this.entries) if (!next.has(id) && !entry.report) next.set(id, entry);
    this.entries = next;
  }

  count(unit: string, counter: 'failovers' | 'failbacks' | 'drills', label: string): void {
    let entry = this.entries.get(unit);
    if (!entry) this.entries.set(unit, (entry = newEntry()));
    entry[counter].set(label, (entry[counter].get(label) ?? 0) + 1);
    entry.text = [];
  }

  render(): string {
    let out = '';
    families.forEach((family, i) => {
      out += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`;
      for (const [id, entry] of this.entries) out += entry.text[i] ??= family.lines(id, entry);
    });
    return out;
  }
}

function newEntry(): Entry {
  return {
    failovers: new Map(failoverReasons.map((r) => [r, 0])),
    failbacks: new Map(failbackResults.map((r) => [r, 0])),
    drills: new Map(),
    text: [],
  };
}

function gaugeFamily(name: string, help: string, lines: (id: string, report: UnitReport) => string): Family {
  return { name, type: 'gauge', help, lines: (id, e) => (e.report ? lines(id, e.report) : '') };
}

function counterFamily(name: string, help: string, label: string, order: readonly string[], values: (e: Entry) => Map<string, number>): Family {
  const lines = (id: string, e: Entry): string => {
    const counts = values(e);
    let out = '';
    for (const v of order) {
      const n = counts.get(v);
      if (n !== undefined) out += line(name, `unit="${esc(id)}",${label}="${v}"`, n);
    }
    return out;
  };
  return { name, type: 'counter', help, lines };
}

function line(name: string, labels: string, value: number): string {
  return `${name}{${labels}} ${num(value)}\n`;
}

/** As prom-client writes values. */
function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Label value escaping of the text format: backslash, double quote, newline. */
function esc(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}
