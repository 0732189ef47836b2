import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdGateway } from '../../src/hosts/etcd-gateway.js';
import { etcdInstalled, startEtcd, type EtcdCluster } from '../helpers/etcd.js';

/** The JSON-gateway adapter against a real etcd: the election paths, leases, and a member that is down. */
describe.skipIf(!etcdInstalled)('etcd JSON gateway', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd(3);
  }, 60_000);
  afterAll(() => etcd?.close());

  it('elects the first campaign, queues the second until the first resigns, and gives the creation revision', async () => {
    const gw = new EtcdGateway(etcd.endpoints, 1_000);
    const [a, b] = [await gw.grant(5), await gw.grant(5)];
    const first = await gw.campaign('/t/e1', a, 'host-a', new AbortController().signal);
    expect(first.lease).toBe(a);
    expect(await gw.leader('/t/e1')).toEqual({ key: first, value: 'host-a' });
    let secondDone = false;
    const second = gw.campaign('/t/e1', b, 'host-b', new AbortController().signal).then((k) => ((secondDone = true), k));
    await new Promise((r) => setTimeout(r, 300));
    expect(secondDone).toBe(false);
    expect((await gw.candidates('/t/e1')).map((c) => c.value)).toEqual(['host-a', 'host-b']);
    await gw.resign(first);
    const won = await second;
    expect(won.rev).toBeGreaterThan(first.rev);
    expect((await gw.leader('/t/e1'))?.value).toBe('host-b');
  });

  it('says a revoked lease is gone, and nobody leads once the leader lease goes', async () => {
    const gw = new EtcdGateway(etcd.endpoints, 1_000);
    const lease = await gw.grant(5);
    expect(await gw.keepAlive(lease)).toBe(true);
    await gw.campaign('/t/e2', lease, 'x', new AbortController().signal);
    await gw.revoke(lease);
    expect(await gw.keepAlive(lease)).toBe(false);
    expect(await gw.leader('/t/e2')).toBeUndefined();
  });

  it('an aborted campaign leaves no candidate behind', async () => {
    const gw = new EtcdGateway(etcd.endpoints, 1_000);
    const [a, b] = [await gw.grant(5), await gw.grant(5)];
    await gw.campaign('/t/e3', a, 'a', new AbortController().signal);
    const abort = new AbortController();
    const waiting = gw.campaign('/t/e3', b, 'b', abort.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    expect(await waiting).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 300));
    expect((await gw.candidates('/t/e3')).map((c) => c.value)).toEqual(['a']);
  });

  it('goes on with the next endpoint when one member is stopped', async () => {
    const gw = new EtcdGateway(etcd.endpoints, 500);
    etcd.signal(['m0'], 'SIGSTOP');
    try {
      const lease = await gw.grant(5);
      await gw.put('/t/hosts/a', 'hello', lease);
      expect(await gw.list('/t/hosts/')).toEqual([{ key: '/t/hosts/a', value: 'hello' }]);
    } finally {
      etcd.signal(['m0'], 'SIGCONT');
    }
  });

  it('ends a campaign waiting on a member that stops answering other calls, so it can be asked again elsewhere', async () => {
    const gw = new EtcdGateway(etcd.endpoints, 500);
    const [a, b] = [await gw.grant(10), await gw.grant(10)];
    await gw.campaign('/t/e4', a, 'a', new AbortController().signal);
    const waiting = gw.campaign('/t/e4', b, 'b', new AbortController().signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    etcd.signal(['m0'], 'SIGSTOP');
    try {
      expect(await gw.keepAlive(b)).toBe(true);
      expect(String(await waiting)).toContain('campaign ended: its etcd endpoint stopped answering');
    } finally {
      etcd.signal(['m0'], 'SIGCONT');
    }
  });
});

