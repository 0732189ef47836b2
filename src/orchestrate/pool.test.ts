import { describe, expect, it } from 'vitest';
import { runLimited } from './pool.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runLimited', () => {
  it('never runs more than the limit at once, and runs every item in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await runLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      started.push(item);
      running += 1;
      peak = Math.max(peak, running);
      for (let i = 0; i < item % 3 + 1; i++) await tick();
      running -= 1;
    });
    expect(peak).toBe(3);
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts nothing more once told to stop; the running ones finish', async () => {
    const done: number[] = [];
    let stop = false;
    await runLimited([1, 2, 3, 4, 5], 2, async (item) => {
      await tick();
      if (item === 1) stop = true;
      done.push(item);
    }, () => !stop);
    expect(done.sort()).toEqual([1, 2]);
  });
});
