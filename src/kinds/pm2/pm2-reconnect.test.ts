import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../store/logger.js';
import { Pm2Reconnector } from './pm2-reconnect.js';

/** A PM2 handle whose daemon comes back after `failures` reconnect attempts. */
function fakePm(failures: number) {
  let lostListener: ((reason: string) => void) | undefined;
  const pm = {
    lost: false,
    attempts: 0,
    alive: true,
    onLost(listener: (reason: string) => void) {
      lostListener = listener;
      return () => {
        lostListener = undefined;
      };
    },
    async daemonAlive() {
      return pm.alive;
    },
    async reconnect() {
      pm.attempts += 1;
      if (pm.attempts <= failures) throw new Error('no daemon yet');
      pm.lost = false;
    },
    lose(reason = 'bus closed') {
      pm.lost = true;
      lostListener?.(reason);
    },
  };
  return pm;
}

describe('Pm2Reconnector', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reconnects with doubling delays, then restores once', async () => {
    const pm = fakePm(3);
    const restored = vi.fn(async () => undefined);
    const reconnector = new Pm2Reconnector({ pm, logger: silentLogger(), restored, firstDelayMs: 100, maxDelayMs: 300 });
    pm.lose();
    pm.lose(); // a second signal of the same loss starts nothing more
    expect(reconnector.down).toBe(true);
    await vi.advanceTimersByTimeAsync(99);
    expect(pm.attempts).toBe(0);
    await vi.advanceTimersByTimeAsync(1); // 100: attempt 1 fails
    await vi.advanceTimersByTimeAsync(200); // 300: attempt 2 fails
    await vi.advanceTimersByTimeAsync(300); // 600: attempt 3 fails (capped at 300)
    expect(pm.attempts).toBe(3);
    expect(restored).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(300); // 900: attempt 4 connects
    expect(pm.attempts).toBe(4);
    expect(restored).toHaveBeenCalledTimes(1);
    expect(reconnector.down).toBe(false);
    await reconnector.stop();
  });

  it('goes round again when the daemon is lost while units are being restored', async () => {
    const pm = fakePm(0);
    let restores = 0;
    const reconnector = new Pm2Reconnector({
      pm,
      logger: silentLogger(),
      firstDelayMs: 10,
      restored: async () => {
        restores += 1;
        if (restores === 1) pm.lose('lost again');
      },
    });
    pm.lose();
    await vi.advanceTimersByTimeAsync(50);
    expect(pm.attempts).toBe(2);
    expect(restores).toBe(2);
    expect(reconnector.down).toBe(false);
    await reconnector.stop();
  });

  it('check() after a failed call: a daemon that does not listen is lost, one that does is not', async () => {
    const pm = fakePm(0);
    const restored = vi.fn(async () => undefined);
    const reconnector = new Pm2Reconnector({ pm, logger: silentLogger(), restored, firstDelayMs: 10 });
    await reconnector.check();
    expect(reconnector.down).toBe(false);
    pm.alive = false;
    await reconnector.check();
    expect(reconnector.down).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(restored).toHaveBeenCalledTimes(1);
    await reconnector.stop();
  });

  it('stop() ends a recovery that never connects', async () => {
    const pm = fakePm(Number.POSITIVE_INFINITY);
    const reconnector = new Pm2Reconnector({ pm, logger: silentLogger(), restored: async () => undefined, firstDelayMs: 10 });
    pm.lose();
    await vi.advanceTimersByTimeAsync(1_000);
    const stopping = reconnector.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopping;
    const attempts = pm.attempts;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pm.attempts).toBe(attempts);
  });
});
