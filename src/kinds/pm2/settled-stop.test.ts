import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Generations } from './generations.js';
import { type StoppedProcess, stopForGood } from './settled-stop.js';

/** A stop RPC answering these in turn. */
function stops(answers: Array<StoppedProcess | undefined | 'gone'>) {
  return vi.fn(async () => answers.shift()!);
}

describe('Generations', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('knows each forked process by restart count and start time, and wakes a waiter on a new count', async () => {
    const g = new Generations();
    g.learn(3, 2, 1_000);
    expect(g.forked(3, 2, 1_000)).toBe(true);
    expect(g.forked(3, 2, 900)).toBe(false); // the count of a restart beside an older process
    expect(g.forked(3, 3, 1_000)).toBe(false);
    expect(g.newest(3)).toBe(2);
    expect(g.newest(4)).toBe(-1);
    const waiting = g.waitFor(3, 3, 1_000);
    await vi.advanceTimersByTimeAsync(500);
    g.learn(3, 3, 1_600);
    await expect(waiting).resolves.toBe(true);
  });

  it('does not take an older process under the count of a restart not forked yet for a new generation', () => {
    const g = new Generations();
    g.learn(3, 2, 1_000);
    // A stop's exit sent after the restart timer fired: the count moved on, the start time did not.
    g.learn(3, 3, 1_000);
    expect(g.forked(3, 3, 1_000)).toBe(false);
    expect(g.newest(3)).toBe(2);
    g.learn(3, 3, 1_400);
    expect(g.forked(3, 3, 1_400)).toBe(true);
  });

  it('gives up waiting after the deadline; forget and clear drop what was known', async () => {
    const g = new Generations();
    g.learn(1, 4, 10);
    const waiting = g.waitFor(1, 5, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(waiting).resolves.toBe(false);
    g.forget(1);
    expect(g.newest(1)).toBe(-1);
    g.learn(2, 0, 10);
    g.clear();
    expect(g.forked(2, 0, 10)).toBe(false);
  });
});

describe('stopForGood', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('one stop when its answer describes a process that was forked', async () => {
    const g = new Generations();
    g.learn(7, 4, 100);
    const stop = stops([{ restarts: 4, startedAt: 100 }]);
    await expect(stopForGood({ name: 'api', pmId: 7, stop, generations: g })).resolves.toBe(true);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('an answer leaving the app other than stopped (the restart forked during the stop) is stopped again', async () => {
    const g = new Generations();
    g.learn(7, 4, 100);
    g.learn(7, 5, 300);
    const stop = stops([{ restarts: 5, startedAt: 300, notStopped: true }, { restarts: 5, startedAt: 300 }]);
    await expect(stopForGood({ name: 'api', pmId: 7, stop, generations: g })).resolves.toBe(true);
    expect(stop).toHaveBeenCalledTimes(2);
  });

  it('an answer describing no process (an app without a pid) stands; an unknown id is gone', async () => {
    const g = new Generations();
    await expect(stopForGood({ name: 'api', pmId: 7, stop: stops([undefined]), generations: g })).resolves.toBe(true);
    await expect(stopForGood({ name: 'api', pmId: 7, stop: stops(['gone']), generations: g })).resolves.toBe(false);
  });

  it('a restart under way at the stop: waits for it to fork, then stops the new process', async () => {
    const g = new Generations();
    g.learn(7, 4, 100);
    // PM2 counted restart 5 beside process 4 (started at 100); the new process starts at 300.
    const stop = stops([{ restarts: 5, startedAt: 100 }, { restarts: 5, startedAt: 300 }]);
    const done = stopForGood({ name: 'api', pmId: 7, stop, generations: g, forkWaitMs: 10_000 });
    await vi.advanceTimersByTimeAsync(300);
    expect(stop).toHaveBeenCalledTimes(1); // waiting for restart 5 to fork
    g.learn(7, 5, 300); // its `online`
    await expect(done).resolves.toBe(true);
    expect(stop).toHaveBeenCalledTimes(2);
  });

  it("the new process's online read before the stop's answer: the start time still tells, and it is stopped too", async () => {
    const g = new Generations();
    g.learn(7, 4, 100);
    const stop = vi.fn(async () => {
      if (stop.mock.calls.length > 1) return { restarts: 5, startedAt: 300 };
      g.learn(7, 5, 300); // the online came first, on the bus
      return { restarts: 5, startedAt: 100 };
    });
    await expect(stopForGood({ name: 'api', pmId: 7, stop, generations: g })).resolves.toBe(true);
    expect(stop).toHaveBeenCalledTimes(2);
  });

  it('a counted restart that never forks: after the wait, the same answer again stands', async () => {
    const g = new Generations();
    const stop = stops([
      { restarts: 5, startedAt: 100 },
      { restarts: 5, startedAt: 100 },
    ]);
    const done = stopForGood({ name: 'api', pmId: 7, stop, generations: g, forkWaitMs: 2_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe(true);
    expect(stop).toHaveBeenCalledTimes(2);
  });

  it('a restart under way at every stop: fails after the attempts, so the effect is tried again', async () => {
    const g = new Generations();
    let restarts = 0;
    const stop = vi.fn(async () => {
      restarts += 1;
      const forkedAt = restarts * 100;
      setTimeout(() => g.learn(7, restarts, forkedAt), 10); // it forks, crashes and is restarted again
      return { restarts, startedAt: forkedAt - 100 };
    });
    const done = stopForGood({ name: 'api', pmId: 7, stop, generations: g, attempts: 3 });
    const failed = expect(done).rejects.toThrow(/pm2 stop api: PM2 had another restart under way at each of 3 stops/);
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(stop).toHaveBeenCalledTimes(3);
  });
});
