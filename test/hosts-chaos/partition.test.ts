import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdInstalled, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { HostObserver, now, summary, type Figures } from '../helpers/host-observer.js';
import { hostCluster, removeHosts, type TestHost } from '../helpers/hosts.js';
import { netLab, type NetLab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait-for.js';
import { hostLogs, newScenario, recordFigures, repeat, settleStandby, sleep, ttlMs } from './shared.js';

/**
 * A real network partition: each host (manager, PM2 daemon, app, etcd member) in its own network
 * namespace, plus a witness namespace with the third etcd member, all on one bridge. Unplugging
 * the active host's link leaves it without quorum: it must fence, and the other side must take over.
 */
const lab = etcdInstalled ? await netLab(3) : 'etcd-server is not installed';
if (typeof lab === 'string') console.log(`partition test skipped: ${lab}`);

describe.skipIf(typeof lab === 'string')('network partition of the active host', () => {
  const net = lab as NetLab;
  let etcd: EtcdCluster;
  let hosts: TestHost[] = [];
  let observer: HostObserver;
  const pollers: Array<{ stop(): void }> = [];
  const figures: Figures[] = [];
  beforeAll(async () => {
    etcd = await startEtcd(3, { host: (i) => net.address(i), wrap: (i, argv) => ['ip', 'netns', 'exec', net.namespaces[i]!, ...argv] });
    // Each host talks to its own member first, as a real host would.
    const endpoints = (i: number) => [etcd.endpoints[i]!, ...etcd.endpoints.filter((_, j) => j !== i)];
    hosts = await hostCluster({ hosts: 2, etcd: etcd.endpoints, endpoints, ttl: `${ttlMs / 1000}s`, netns: (i) => net.namespaces[i]! });
    hosts.forEach((h, i) => {
      const poller = net.poll(i, h.port, 20);
      pollers.push(poller);
      h.answers = async () => poller.answering();
      h.start();
    });
    observer = new HostObserver(hosts);
    observer.start();
  }, 120_000);
  afterAll(async () => {
    observer?.stop();
    await recordFigures(figures);
    for (const p of pollers) p.stop();
    await removeHosts(hosts);
    await etcd?.close();
    await net.close();
  }, 120_000);

  it('the cut host fences itself before the other side takes over; healed, it rejoins as standby', async () => {
    const f = newScenario(figures, 'partition of the active host (netns)');
    for (let run = 0; run < repeat; run++) {
      const { active } = await settleStandby(hosts, observer);
      const index = hosts.indexOf(active);
      const t0 = now();
      await net.cut(index);
      const taken = await waitFor(() => observer.firstAnswer(t0, active.name), { timeoutMs: ttlMs + 15_000, what: 'the other side answering' }).catch(async (error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await hostLogs(hosts)}`);
      });
      await sleep(Math.max(0, t0 + ttlMs + 2_000 - now()));
      const cutSilent = observer.since(t0 + ttlMs).every((l) => !l.answered.includes(active.name));
      await net.heal(index);
      await waitFor(async () => ((await active.report())?.manager.host?.role === 'standby' ? true : undefined), { timeoutMs: 15_000, what: 'the healed host reporting standby' });
      await sleep(1_000);
      f.runs++;
      f.takeoverMs.push(taken.at - t0);
      f.splitBrainMs.push(observer.splitBrainMs(t0));
      f.unitsLost.push(observer.since(now() - 300).every((l) => l.answered.length === 1) ? 0 : 1);
      expect(cutSilent, 'the cut host answered after its lease could have expired').toBe(true);
    }
    expect(f.splitBrainMs.every((ms) => ms === 0), summary(f)).toBe(true);
    expect(f.unitsLost.every((n) => n === 0), summary(f)).toBe(true);
    // When the cut host also carried etcd's raft leader, the new raft leader extends every lease by its election timeout (500 ms here) before any can expire.
    expect(Math.max(...f.takeoverMs), summary(f)).toBeLessThan(ttlMs + 2_500);
  });
});
