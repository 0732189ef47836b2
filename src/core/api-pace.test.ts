import { describe, expect, it } from 'vitest';
import { averagePollCost, pollWaitMs } from './api-pace.js';

const now = 1_000_000;

describe('pollWaitMs', () => {
  it('is the configured interval while the API has not said its budget, or the reset has passed', () => {
    expect(pollWaitMs({ limit: null, remaining: null, resetAt: null }, now, 200, 2)).toBe(200);
    expect(pollWaitMs({ limit: 500, remaining: 3, resetAt: now - 1 }, now, 200, 2)).toBe(200);
    expect(pollWaitMs({ limit: 500, remaining: 3, resetAt: now + 60_000 }, now, 200, 0)).toBe(200);
  });

  it('is the configured interval when the budget outlasts the window at that pace', () => {
    // 60 s at 60 s a poll: one poll of 2 requests, 450 spendable.
    expect(pollWaitMs({ limit: 500, remaining: 500, resetAt: now + 60_000 }, now, 60_000, 2)).toBe(60_000);
  });

  it('stretches the interval so the spendable budget lasts until the reset, keeping a tenth of the limit', () => {
    // 450 spendable of 500, 2 a poll: 225 polls over 60 s.
    expect(pollWaitMs({ limit: 500, remaining: 500, resetAt: now + 60_000 }, now, 200, 2)).toBe(Math.ceil(60_000 / 225));
    // 100 left, 50 spendable: 25 polls over 30 s.
    expect(pollWaitMs({ limit: 500, remaining: 100, resetAt: now + 30_000 }, now, 200, 2)).toBe(1200);
  });

  it('waits for the reset when nothing spendable is left', () => {
    expect(pollWaitMs({ limit: 500, remaining: 50, resetAt: now + 12_000 }, now, 200, 2)).toBe(12_000);
    expect(pollWaitMs({ limit: 500, remaining: 0, resetAt: now + 100 }, now, 200, 2)).toBe(200);
  });
});

describe('averagePollCost', () => {
  it('starts at the first cost and moves a fifth of the way to each new one', () => {
    expect(averagePollCost(undefined, 2)).toBe(2);
    expect(averagePollCost(1, 0)).toBeCloseTo(0.8);
    expect(averagePollCost(2, 2)).toBe(2);
  });
});
