import { describe, expect, it } from 'vitest';
import type { Heartbeat } from './heartbeat.js';
import { WatchdogLook } from './watchdog.js';

function rig(beats: Array<Heartbeat | undefined>) {
  let t = 0;
  let i = 0;
  const stopped: string[][] = [];
  const alive = new Set([100]);
  const look = new WatchdogLook({
    read: () => beats[Math.min(i++, beats.length - 1)],
    clock: { now: () => t },
    stop: async (apps) => void stopped.push(apps),
    alive: (pid) => alive.has(pid),
    self: 7,
    say: () => undefined,
  });
  return { look, stopped, alive, at: (ms: number) => (t = ms) };
}

const beat = (over: Partial<Heartbeat>): Heartbeat => ({ manager: 100, watchdog: 7, role: 'active', epoch: 5, deadline: 1_000, apps: ['web', 'web-twin'], ...over });

describe('watchdog', () => {
  it('stops the apps once when an active heartbeat passes its deadline, and not before', async () => {
    const r = rig([beat({})]);
    r.at(1_000);
    expect(await r.look.look()).toBe('watch');
    expect(r.stopped).toEqual([]);
    r.at(1_001);
    await r.look.look();
    await r.look.look();
    expect(r.stopped).toEqual([['web', 'web-twin']]);
  });

  it('fences again for a later deadline, never for a standby heartbeat', async () => {
    const r = rig([beat({ role: 'standby', deadline: 0 }), beat({ deadline: 2_000 }), beat({ deadline: 3_000 })]);
    r.at(5_000);
    await r.look.look();
    expect(r.stopped).toEqual([]);
    await r.look.look();
    await r.look.look();
    expect(r.stopped).toHaveLength(2);
  });

  it('still fences a manager whose heartbeat became unreadable, then leaves once the manager is gone', async () => {
    const r = rig([beat({}), undefined]);
    await r.look.look();
    r.at(2_000);
    r.alive.delete(100);
    expect(await r.look.look()).toBe('leave');
    expect(r.stopped).toHaveLength(1);
  });

  it('leaves when the manager stopped cleanly or another watchdog took over', async () => {
    expect(await rig([beat({ role: 'stopped' })]).look.look()).toBe('leave');
    expect(await rig([beat({ watchdog: 8 })]).look.look()).toBe('leave');
  });

  it('keeps watching while a frozen manager is alive, and tries again when PM2 did not answer', async () => {
    let fail = true;
    const stopped: string[][] = [];
    const look = new WatchdogLook({ read: () => beat({}), clock: { now: () => 5_000 }, stop: async (apps) => { if (fail) throw new Error('pm2 down'); stopped.push(apps); }, alive: () => true, self: 7, say: () => undefined });
    await expect(look.look()).rejects.toThrow('pm2 down');
    fail = false;
    expect(await look.look()).toBe('watch');
    expect(stopped).toEqual([['web', 'web-twin']]);
  });
});
