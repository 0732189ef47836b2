import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../core/schedule/ledger-event.js';
import { isProcessAlive } from '../store/process-alive.js';
import { runInProgress } from './in-progress.js';

const event = (run: string, kind: LedgerEvent['event'], over: Partial<LedgerEvent> = {}): LedgerEvent => ({
  run, unit: 'cron:backup', side: 'primary', event: kind, at: 1, slot: null, pid: 100, exitCode: null, signal: null, durationMs: null, host: 'here', ...over,
});
const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('runInProgress', () => {
  it('finds a start without an end, on this host, whose pid lives', () => {
    const events = [event('a', 'start'), event('a', 'end'), event('b', 'start', { pid: 200 })];
    expect(runInProgress(events, 'here', alive([100, 200]))?.run).toBe('b');
  });

  it('ignores ended, interrupted, dead, and other hosts\' runs', () => {
    expect(runInProgress([event('a', 'start'), event('a', 'interrupted')], 'here', alive([100]))).toBeUndefined();
    expect(runInProgress([event('a', 'start')], 'here', alive([]))).toBeUndefined();
    expect(runInProgress([event('a', 'start', { host: 'there' })], 'here', alive([100]))).toBeUndefined();
    expect(runInProgress([event('a', 'skipped')], 'here', alive([100]))).toBeUndefined();
  });

  it('knows its own pid lives and a reaped one does not', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});
