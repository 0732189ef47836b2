import { describe, expect, it } from 'vitest';
import { silentLogger } from '../store/logger.js';
import type { ElectionPort, LeaderKey } from './election-port.js';
import type { RoleChange } from './leadership.js';
import { LeaseKeeper } from './lease-keeper.js';

const timing = { ttlMs: 3_000, renewEveryMs: 1_000, marginMs: 1_000, renewTimeoutMs: 500 };

/** An election in memory: one lease, campaigns answered by the test, renewals that can hang. */
function fakePort() {
  let leases = 0;
  const calls: string[] = [];
  let elect: ((key: LeaderKey) => void) | undefined;
  let renewal: 'ok' | 'gone' | 'hang' = 'ok';
  const port: ElectionPort = {
    grant: async () => `L${++leases}`,
    keepAlive: (lease) => (calls.push(`keepalive ${lease}`), renewal === 'hang' ? new Promise(() => undefined) : Promise.resolve(renewal === 'ok')),
    campaign: (_name, lease, _value, signal) => new Promise((resolve, reject) => {
      calls.push(`campaign ${lease}`);
      elect = resolve;
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    }),
    leader: async () => undefined,
    candidates: async () => [],
    resign: async (key) => void calls.push(`resign ${key.rev}`),
    revoke: async (lease) => void calls.push(`revoke ${lease}`),
    put: async () => undefined,
    remove: async () => undefined,
    list: async () => [],
  };
  return { port, calls, elect: (rev: number, lease = 'L1') => elect?.({ name: 'e', key: `e/${lease}`, rev, lease }), renew: (r: typeof renewal) => (renewal = r) };
}

const flush = () => new Promise((r) => setImmediate(r));

function rig() {
  let t = 0;
  const fake = fakePort();
  const changes: RoleChange[] = [];
  const keeper = new LeaseKeeper({ port: fake.port, election: 'e', host: 'h1', timing, clock: { now: () => t }, logger: silentLogger(), onChange: async (c) => void changes.push(c) });
  return { keeper, fake, changes, at: (ms: number) => (t = ms), tick: async () => ((keeper as unknown as { tick(): void }).tick(), await flush()) };
}

describe('lease keeper', () => {
  it('grants, campaigns, leads with the revision as epoch, and renews every renewEvery', async () => {
    const r = rig();
    await r.tick();
    await r.tick();
    expect(r.fake.calls).toEqual(['campaign L1']);
    r.fake.elect(9);
    await flush();
    expect(r.keeper.acting()).toBe(true);
    expect(r.keeper.epoch()).toBe(9);
    await r.keeper.settled();
    expect(r.changes).toEqual([{ type: 'lead', epoch: 9 }]);
    r.at(1_000);
    await r.tick();
    expect(r.fake.calls).toContain('keepalive L1');
    r.at(2_900);
    expect(r.keeper.acting()).toBe(true);
  });

  it('fences itself on its own clock when renewals hang, and queues again with a new lease', async () => {
    const r = rig();
    await r.tick();
    await r.tick();
    r.fake.elect(9);
    await flush();
    r.fake.renew('hang');
    r.at(1_000);
    await r.tick();
    r.at(2_000);
    expect(r.keeper.acting()).toBe(true);
    r.at(2_001);
    expect(r.keeper.acting()).toBe(false);
    await r.keeper.settled();
    expect(r.changes.at(-1)).toMatchObject({ type: 'fence', epoch: 9 });
    await r.tick();
    await r.tick();
    expect(r.fake.calls.at(-1)).toBe('campaign L2');
  });

  it('resigns an election answered too late instead of leading with it', async () => {
    const r = rig();
    await r.tick();
    await r.tick();
    r.at(2_500);
    r.fake.elect(9);
    await flush();
    expect(r.keeper.acting()).toBe(false);
    expect(r.fake.calls).toContain('resign 9');
    expect(r.changes).toEqual([]);
  });

  it('stopping stops the units first, then resigns and revokes', async () => {
    const r = rig();
    await r.tick();
    await r.tick();
    r.fake.elect(4);
    await flush();
    await r.keeper.stop();
    expect(r.changes.map((c) => c.type)).toEqual(['lead', 'fence']);
    expect(r.fake.calls.slice(-2)).toEqual(['resign 4', 'revoke L1']);
  });
});
