import { describe, expect, it } from 'vitest';
import { lockIsStale, lockText, parseLock } from './mirror-lock.js';

describe('mirror lock', () => {
  it('round-trips its holder', () => {
    const holder = { pid: 42, host: 'box', since: '2026-01-01T00:00:00.000Z' };
    expect(parseLock(`${lockText(holder)}\n`)).toEqual(holder);
    expect(parseLock('garbage')).toBeUndefined();
  });

  it('is stale when its holder on this host is gone, or it cannot be read', () => {
    const alive = (pids: number[]) => (pid: number) => pids.includes(pid);
    expect(lockIsStale({ pid: 42, host: 'box', since: 'x' }, 'box', alive([]))).toBe(true);
    expect(lockIsStale({ pid: 42, host: 'box', since: 'x' }, 'box', alive([42]))).toBe(false);
    expect(lockIsStale({ pid: 42, host: 'other', since: 'x' }, 'box', alive([]))).toBe(false);
    expect(lockIsStale(undefined, 'box', alive([]))).toBe(true);
  });
});
