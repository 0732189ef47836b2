import { describe, expect, it } from 'vitest';
import { acting, elected, expire, granted, leaseLost, renewed, standby, stepDown, type Leadership, type LeaseTiming } from './leadership.js';

const t: LeaseTiming = { ttlMs: 3_000, renewEveryMs: 1_000, marginMs: 1_000, renewTimeoutMs: 500 };
const key = (lease: string, rev: number) => ({ name: '/redundancy/c/leader', key: `/redundancy/c/leader/${lease}`, rev, lease });

function leaderAt(okAt: number, rev = 7): Leadership {
  const held = granted(standby, 'L1', okAt);
  return elected(held, key('L1', rev), okAt, t).state;
}

describe('leadership', () => {
  it('leads with the key creation revision as the epoch, and only with the lease it holds', () => {
    const held = granted(standby, 'L1', 0);
    const step = elected(held, key('L1', 42), 100, t);
    expect(step).toMatchObject({ accepted: true, change: { type: 'lead', epoch: 42 }, state: { role: 'leader', epoch: 42 } });
    expect(elected(held, key('L2', 43), 100, t)).toMatchObject({ accepted: false, state: held });
  });

  it('refuses an election answered after the lease stopped being usable (a process frozen meanwhile)', () => {
    const held = granted(standby, 'L1', 0);
    expect(elected(held, key('L1', 5), 2_001, t).accepted).toBe(false);
    expect(elected(held, key('L1', 5), 2_000, t).accepted).toBe(true);
  });

  it('self-fences once now - lastRenewOk > ttl - margin, on its own clock', () => {
    const leader = leaderAt(0);
    expect(acting(leader, 2_000, t)).toBe(true);
    expect(expire(leader, 2_000, t)).toEqual({ state: leader });
    expect(acting(leader, 2_001, t)).toBe(false);
    const step = expire(leader, 2_001, t);
    expect(step.state).toEqual(standby);
    expect(step.change).toMatchObject({ type: 'fence', epoch: 7, reason: expect.stringContaining('lease not renewed for 2001ms') });
  });

  it('counts a renewal from when it was sent, never moves backwards, and ignores an answer for a dropped lease', () => {
    const leader = leaderAt(0);
    const later = renewed(leader, 'L1', 1_500);
    expect(acting(later, 3_400, t)).toBe(true);
    expect(acting(later, 3_501, t)).toBe(false);
    expect(renewed(later, 'L1', 1_000)).toEqual(later);
    expect(renewed(later, 'L0', 9_000)).toBe(later);
  });

  it('fences at once when etcd says the lease is gone; a standby just drops it', () => {
    expect(leaseLost(leaderAt(0), 'L1').change).toMatchObject({ type: 'fence', epoch: 7 });
    expect(leaseLost(granted(standby, 'L1', 0), 'L1')).toEqual({ state: standby });
    expect(leaseLost(leaderAt(0), 'other').change).toBeUndefined();
  });

  it('steps down keeping its lease, so it can queue again', () => {
    const step = stepDown(leaderAt(0), 'host demote');
    expect(step).toMatchObject({ state: { role: 'standby', lease: { id: 'L1' } }, change: { type: 'fence', epoch: 7, reason: 'host demote' } });
    expect(stepDown(standby, 'x')).toEqual({ state: standby });
  });

  it('a standby whose lease went stale drops it to ask for a new one', () => {
    const held = granted(standby, 'L1', 0);
    expect(expire(held, 5_000, t)).toEqual({ state: standby });
    expect(granted(held, 'L2', 10)).toBe(held);
  });
});
