import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdInstalled, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { HostObserver, now, summary, type Figures } from '../helpers/host-observer.js';
import { hostCluster, removeHosts, type TestHost } from '../helpers/hosts.js';
import { waitFor } from '../helpers/wait-for.js';
import { newScenario, recordFigures, repeat, settleStandby, sleep, ttlMs } from './shared.js';

/**
 * Two hosts and a three-member etcd, an observer asking both apps every 25 ms. Each scenario runs
 * HOSTS_REPEAT times; every run must show no moment with both apps answering, a takeover within
 * ttl + 2 s, and the unit still served at the end.
 */
describe.skipIf(!etcdInstalled)('hosts under faults', () => {
  let etcd: EtcdCluster;
  let hosts: TestHost[] = [];
  let observer: HostObserver;
  const figures: Figures[] = [];
  beforeAll(async () => {
    etcd = await startEtcd(3);
    hosts = await hostCluster({ hosts: 2, etcd: etcd.endpoints, ttl: `${ttlMs / 1000}s` });
    for (const h of hosts) h.start();
    observer = new HostObserver(hosts);
    observer.start();
  }, 120_000);
  afterAll(async () => {
    observer?.stop();
    await recordFigures(figures);
    await removeHosts(hosts);
    await etcd?.close();
  }, 120_000);

  const scenario = (name: string): Figures => newScenario(figures, name);

  it('SIGKILL of the active manager: its watchdog stops the app, the standby takes over', async () => {
    const f = scenario('SIGKILL active manager');
    for (let run = 0; run < repeat; run++) {
      const { active } = await settleStandby(hosts, observer);
      const t0 = now();
      active.manager!.kill('SIGKILL');
      const taken = await waitFor(() => observer.firstAnswer(t0, active.name), { timeoutMs: ttlMs + 15_000, what: 'the standby answering' });
      await sleep(1_000);
      f.runs++;
      f.takeoverMs.push(taken.at - t0);
      f.splitBrainMs.push(observer.splitBrainMs(t0));
      f.unitsLost.push(observer.since(now() - 300).every((l) => l.answered.length === 1) ? 0 : 1);
      await active.manager!.catch(() => undefined);
      active.start();
    }
    expect(f.splitBrainMs.every((ms) => ms === 0), summary(f)).toBe(true);
    expect(f.unitsLost.every((n) => n === 0), summary(f)).toBe(true);
    expect(Math.max(...f.takeoverMs), summary(f)).toBeLessThan(ttlMs + 2_000);
  });

  it('SIGSTOP of the active manager past the ttl, then SIGCONT: fenced by its watchdog, it rejoins as standby and its old epoch acts no more', async () => {
    const f = scenario('SIGSTOP active manager > ttl, SIGCONT');
    for (let run = 0; run < repeat; run++) {
      const { active, standby } = await settleStandby(hosts, observer);
      const oldEpoch = (await active.report())!.manager.host!.epoch!;
      const t0 = now();
      active.manager!.kill('SIGSTOP');
      const taken = await waitFor(() => observer.firstAnswer(t0, active.name), { timeoutMs: ttlMs + 15_000, what: 'the standby answering' });
      await sleep(Math.max(0, t0 + ttlMs + 2_000 - now()));
      active.manager!.kill('SIGCONT');
      const rejoined = await waitFor(async () => {
        const report = await active.report();
        return report?.manager.host?.role === 'standby' ? report : undefined;
      }, { timeoutMs: 10_000, what: 'the resumed host reporting standby' });
      await sleep(1_000);
      f.runs++;
      f.takeoverMs.push(taken.at - t0);
      f.splitBrainMs.push(observer.splitBrainMs(t0));
      f.unitsLost.push(observer.since(now() - 300).every((l) => l.answered.length === 1 && l.answered[0] === standby.name) ? 0 : 1);
      const newEpoch = (await standby.report())!.manager.host!.epoch!;
      expect(newEpoch).toBeGreaterThan(oldEpoch);
      expect(rejoined.manager.host!.epoch).toBeLessThan(newEpoch);
      const watchdogLog = await readFile(join(active.project.dir, 'logs', 'redundancy-watchdog.log'), 'utf8');
      expect(watchdogLog).toContain(`(epoch ${oldEpoch}): stopped web`);
    }
    expect(f.splitBrainMs.every((ms) => ms === 0), summary(f)).toBe(true);
    expect(f.unitsLost.every((n) => n === 0), summary(f)).toBe(true);
    expect(Math.max(...f.takeoverMs), summary(f)).toBeLessThan(ttlMs + 2_000);
  });

  it('SIGSTOP of etcd quorum: nobody promotes, the active host fences at its lease expiry, service returns with the quorum', async () => {
    const f = scenario('SIGSTOP etcd quorum (2 of 3)');
    const fenced = scenario('  (same runs) fence after quorum loss, ms');
    for (let run = 0; run < repeat; run++) {
      const { active } = await settleStandby(hosts, observer);
      const t0 = now();
      etcd.signal(['m0', 'm1'], 'SIGSTOP');
      await sleep(ttlMs + 2_000);
      const last = observer.lastAnswer(t0, active.name) ?? t0;
      const silent = observer.since(t0 + ttlMs).every((l) => l.answered.length === 0);
      const t1 = now();
      etcd.signal(['m0', 'm1'], 'SIGCONT');
      const back = await waitFor(() => observer.since(t1).find((l) => l.answered.length > 0), { timeoutMs: 3 * ttlMs + 15_000, what: 'a host answering once etcd is back' });
      await sleep(1_000);
      f.runs++;
      fenced.runs++;
      f.takeoverMs.push(back.at - t1);
      fenced.takeoverMs.push(last - t0);
      f.splitBrainMs.push(observer.splitBrainMs(t0));
      f.unitsLost.push(observer.since(now() - 300).every((l) => l.answered.length === 1) ? 0 : 1);
      expect(silent, 'no host answered from ttl after the quorum went until it came back').toBe(true);
      expect(last - t0).toBeLessThanOrEqual(ttlMs);
    }
    expect(f.splitBrainMs.every((ms) => ms === 0), summary(f)).toBe(true);
    expect(f.unitsLost.every((n) => n === 0), summary(f)).toBe(true);
  });
});
