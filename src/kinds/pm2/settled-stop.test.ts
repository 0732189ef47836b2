import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Generations } from './generations.js';
import { stopForGood } from './settled-stop.js';

/** A stop RPC answering these restart counts in turn. */
function stops(answers: Array<number | undefined | 'gone'>) {
  return { stop: vi.fn(async () => answers.shift()!) };
}

describe('Generations', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps the highest generation per pm_id and wakes a waiter when it is reached', async () => {
    const g = new Generations();
    g.learn(3, 2);
    g.learn(3, 1); // an older packet changes nothing
    expect(g.has(3, 2)).toBe(true);
    expect(g.has(3, 3)).toBe(false);
    expect(g.has(4, 0)).toBe(false);
    const waiting = g.waitFor(3, 3, 1_000);
    await vi.advanceTimersByTimeAsync(500);
    g.learn(3, 3);
    await expect(waiting).resolves.toBe(true);
  });

  it('gives up waiting after the deadline; forget and clear drop what was known', async () => {
    const g = new Generations();
    g.learn(1, 4);
    const waiting = g.waitFor(1, 5, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(waiting).resolves.toBe(false);
    g.forget(1);
    expect(g.has(1, 0)).toBe(false);
    g.learn(2, 0);
    g.clear();
    expect(g.has(2, 0)).toBe(false);
  });
});

describe('stopForGood', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('one stop when its answer counts no restart beyond the newest forked process', async () => {
    const g = new Generations();
    g.learn(7, 4);
    const s = stops([4]);
    await expect(stopForGood({ name: 'api', pmId: 7, stop: s.stop, generations: g })).resolves.toBe(true);
    expect(s.stop).toHaveBeenCalledTimes(1);
  });

  it('an answer without a restart count (an app with no pid) stands; an unknown id is gone', async () => {
    const g = new Generations();
    await expect(stopForGood({ name: 'api', pmId: 7, stop: stops([undefined]).stop, generations: g })).resolves.toBe(true);
    await expect(stopForGood({ name: 'api', pmId: 7, stop: stops(['gone']).stop, generations: g })).resolves.toBe(false);
  });

  it('a restart under way at the stop: waits for it to fork, then stops the new process', async () => {
    const g = new Generations();
    g.learn(7, 4);
    const s = stops([5, 5]);
    const done = stopForGood({ name: 'api', pmId: 7, stop: s.stop, generations: g, forkWaitMs: 10_000 });
    await vi.advanceTimersByTimeAsync(300);
    expect(s.stop).toHaveBeenCalledTimes(1); // waiting for generation 5 to fork
    g.learn(7, 5); // its `online`
    await expect(done).resolves.toBe(true);
    expect(s.stop).toHaveBeenCalledTimes(2);
  });

  it('a counted restart that never forks: after the wait, a stop counting nothing new stands', async () => {
    const g = new Generations();
    const s = stops([5, 5]);
    const done = stopForGood({ name: 'api', pmId: 7, stop: s.stop, generations: g, forkWaitMs: 2_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(s.stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe(true);
    expect(s.stop).toHaveBeenCalledTimes(2);
  });

  it('a restart under way at every stop: fails after the attempts, so the effect is tried again', async () => {
    const g = new Generations();
    let generation = 0;
    const stop = vi.fn(async () => {
      generation += 1;
      setTimeout(() => g.learn(7, generation), 10); // it forks, crashes and is restarted again
      return generation;
    });
    const done = stopForGood({ name: 'api', pmId: 7, stop, generations: g, attempts: 3 });
    const failed = expect(done).rejects.toThrow(/pm2 stop api: PM2 had another restart under way at each of 3 stops/);
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(stop).toHaveBeenCalledTimes(3);
  });
});
