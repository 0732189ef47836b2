import { describe, expect, it } from 'vitest';
import type { ActiveSide, FailoverStateName, UnitReport } from '../core/report-types.js';
import { unitEdges, type EdgeMemory, type EdgeOptions } from './edges.js';

const hour = 3_600_000;
const opts: EdgeOptions = { repeatIntervalMs: 4 * hour, host: 'h1' };
const t0 = Date.parse('2026-01-01T00:00:00Z');

function report(state: FailoverStateName, active: ActiveSide, failovers: number, reason = 'r'): UnitReport {
  return {
    id: 'pm2:web', kind: 'pm2', name: 'web', state, active, health: state === 'primary' ? 'healthy' : 'unhealthy',
    errorRate: 0, samples: 0, twin: { name: 'web-backup', status: 'stopped' }, primary: { name: 'web', status: 'online' },
    lastCheckAt: null, lastTransitionAt: null, failovers, reason,
  };
}

/** Feeds reports in order, one per `step` ms, and returns the types sent at each step. */
function run(reports: UnitReport[], step = 1000, memory?: EdgeMemory, options = opts): { types: string[][]; memory: EdgeMemory | undefined } {
  let prev: UnitReport | undefined;
  const types: string[][] = [];
  reports.forEach((next, i) => {
    const out = unitEdges(prev, next, memory, t0 + i * step, options);
    types.push(out.events.map((e) => e.type));
    memory = out.memory;
    prev = next;
  });
  return { types, memory };
}

describe('unitEdges', () => {
  it('sends one failover with the webhook body fields when the unit leaves its primary', () => {
    const first = unitEdges(undefined, report('primary', 'primary', 0), undefined, t0, opts);
    expect(first.events).toEqual([]);
    const out = unitEdges(report('primary', 'primary', 0), report('failing-over', 'twin', 1, 'error rate 0.90 > 0.80'), first.memory, t0 + 5000, opts);
    expect(out.events).toEqual([{
      type: 'failover', unit: 'pm2:web', state: 'failing-over', active: 'twin', reason: 'error rate 0.90 > 0.80',
      at: '2026-01-01T00:00:05.000Z', host: 'h1',
    }]);
    expect(unitEdges(report('failing-over', 'twin', 1), report('backup', 'twin', 1), out.memory, t0 + 6000, opts).events).toEqual([]);
  });

  it('sends nothing again after a restart with the same memory or the same last report', () => {
    const { memory } = run([report('primary', 'primary', 0), report('failing-over', 'twin', 1), report('backup', 'twin', 1)]);
    const saved = JSON.parse(JSON.stringify(memory)) as EdgeMemory;
    expect(saved).toEqual(memory);
    expect(unitEdges(undefined, report('backup', 'twin', 1), saved, t0 + 10_000, opts).events).toEqual([]);
    expect(unitEdges(report('backup', 'twin', 1), report('backup', 'twin', 1), undefined, t0 + 10_000, opts).events).toEqual([]);
  });

  it('names an edge found again after a crash the same, whatever state it is seen in then', () => {
    const { memory } = run([report('primary', 'primary', 0)]);
    const before = unitEdges(report('primary', 'primary', 0), report('failing-over', 'twin', 1), memory, t0 + 5000, opts);
    // The memory of that edge was lost in the crash: the restarted manager sees the unit on its twin.
    const again = unitEdges(undefined, { ...report('backup', 'twin', 1), lastTransitionAt: '2026-01-01T00:00:09.000Z' }, memory, t0 + 9000, opts);
    expect(again.events.map((e) => e.type)).toEqual(['failover']);
    expect(again.keys).toEqual(before.keys);
    const next = unitEdges(report('backup', 'twin', 1), report('failing-over', 'twin', 2), again.memory, t0 + 99_000, opts);
    expect(next.keys).not.toEqual(before.keys);
  });

  it('sends failover once for a unit first seen on its twin', () => {
    expect(run([report('backup', 'twin', 3), report('backup', 'twin', 3)]).types).toEqual([['failover'], []]);
    expect(run([report('primary', 'primary', 3)]).types).toEqual([[]]);
  });

  it('sends failback on the return to the primary, and failback-failed when the trial fails', () => {
    const back = run([report('backup', 'twin', 1), report('probing', 'primary', 1), report('failing-back', 'primary', 1), report('primary', 'primary', 1)]);
    expect(back.types).toEqual([['failover'], [], [], ['failback']]);
    const failed = run([report('backup', 'twin', 1), report('probing', 'primary', 1), report('failing-over', 'twin', 2), report('backup', 'twin', 2)]);
    expect(failed.types).toEqual([['failover'], [], ['failback-failed'], []]);
    // The trial happened between two reports: only the counter shows it.
    expect(run([report('backup', 'twin', 1), report('backup', 'twin', 2)]).types).toEqual([['failover'], ['failback-failed']]);
  });

  it('repeats the last notice while on the twin only after repeatInterval, and never with repeats off', () => {
    const reports = [report('primary', 'primary', 0), report('backup', 'twin', 1), ...Array.from({ length: 9 }, () => report('backup', 'twin', 1))];
    // One report an hour: failover at 1h, repeats at 5h and 9h.
    expect(run(reports, hour).types.map((t) => t.join())).toEqual(['', 'failover', '', '', '', 'failover', '', '', '', 'failover', '']);
    expect(run(reports, hour, undefined, { ...opts, repeatIntervalMs: 0 }).types.flat()).toEqual(['failover']);
    // Not during a failback trial.
    const trial = [report('backup', 'twin', 1), ...Array.from({ length: 6 }, () => report('probing', 'none', 1))];
    expect(run(trial, hour, undefined, { ...opts, transitionGraceMs: 100 * hour }).types.flat()).toEqual(['failover']);
  });

  it('sends critical when neither side is up, repeats it, and recovered once a side is back', () => {
    const reports = [report('backup', 'twin', 1), report('backup', 'none', 1), report('backup', 'none', 1), report('backup', 'none', 1), report('backup', 'twin', 1), report('backup', 'twin', 1)];
    expect(run(reports, 3 * hour).types).toEqual([['failover'], ['critical'], [], ['critical'], ['recovered'], []]);
    expect(run([report('primary', 'none', 0), report('primary', 'primary', 0)]).types).toEqual([['critical'], ['recovered']]);
  });

  it('gives a transitional state its grace before critical', () => {
    const starting = [report('primary', 'primary', 0), report('failing-over', 'none', 1), report('backup', 'twin', 1)];
    expect(run(starting, 1000).types).toEqual([[], ['failover'], []]);
    const stuck = [report('primary', 'primary', 0), report('failing-over', 'none', 1), report('failing-over', 'none', 1), report('failing-over', 'none', 1), report('backup', 'twin', 1)];
    expect(run(stuck, 40_000).types).toEqual([[], ['failover'], [], ['critical'], ['recovered']]);
  });

  it('sends every edge of a flapping unit exactly once, and nothing in between', () => {
    const cycle = (n: number): UnitReport[] => [
      report('failing-over', 'twin', n), report('backup', 'twin', n), report('backup', 'twin', n),
      report('probing', 'primary', n), report('failing-back', 'primary', n), report('primary', 'primary', n), report('primary', 'primary', n),
    ];
    const { types } = run([report('primary', 'primary', 0), ...cycle(1), ...cycle(2), ...cycle(3)], 60_000);
    expect(types.flat()).toEqual(['failover', 'failback', 'failover', 'failback', 'failover', 'failback']);
  });
});
