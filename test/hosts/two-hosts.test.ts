import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdInstalled, startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { hostCluster, removeHosts, type TestHost } from '../helpers/hosts.js';
import { waitFor } from '../helpers/wait-for.js';

/** Two hosts standing for two machines (own project copy, PM2 home and app port) and one real etcd. */
describe.skipIf(!etcdInstalled)('two hosts, one lease', () => {
  let etcd: EtcdCluster;
  let hosts: TestHost[] = [];
  let data: string | undefined;
  beforeAll(async () => {
    etcd = await startEtcd(1);
    // The active host's data, as a standby would reach it (a mount): what each standby mirrors.
    data = await mkdtemp(join(tmpdir(), 'redundancy-data-'));
    await writeFile(join(data, 'orders.db'), 'rows');
    hosts = await hostCluster({
      hosts: 2,
      etcd: etcd.endpoints,
      hostLines: ['mirrorEvery: 1s'],
      configLines: ['orchestrate:', '  stages:', '    - name: data', '      jobs:', `        - { name: orders, mirror: { from: ${data}, to: mirror, verify: false } }`],
    });
  }, 60_000);
  afterAll(async () => {
    await removeHosts(hosts);
    await etcd?.close();
    if (data) await rm(data, { recursive: true, force: true });
  }, 60_000);

  const active = async () => {
    const answering = await Promise.all(hosts.map((h) => h.answers()));
    return answering.filter(Boolean).length === 1 ? hosts[answering.indexOf(true)] : undefined;
  };

  it('runs the app on exactly one host; the other reports active: standby and counts healthy', async () => {
    hosts[0]!.start();
    const first = await waitFor(active, { timeoutMs: 20_000, what: 'one host answering' });
    expect(first.name).toBe('h1');
    hosts[1]!.start();
    const standbyReport = await waitFor(async () => {
      const r = await hosts[1]!.report();
      return r?.manager.host?.role === 'standby' && r.units[0]?.active === 'standby' ? r : undefined;
    }, { timeoutMs: 20_000, what: 'h2 standby' });
    expect(standbyReport.summary).toMatchObject({ units: 1, healthy: 1, critical: 0 });
    // Its primary, never run on this host, is registered stopped in its PM2 (ready, not running).
    await waitFor(async () => (await hosts[1]!.report())?.units[0]?.primary.status === 'stopped', { timeoutMs: 10_000, what: "h2's primary registered stopped" });
    expect((await hosts[1]!.project.cli('status')).exitCode).toBe(0);
    const activeReport = await hosts[0]!.report();
    expect(activeReport?.manager.host).toMatchObject({ name: 'h1', role: 'active', epoch: expect.any(Number) });
    expect(await hosts[1]!.answers()).toBe(false);
    const status = await waitFor(async () => {
      const r = await hosts[1]!.project.cli('host', 'status', '--json');
      const view = JSON.parse(r.stdout) as { leader: { host: string; epoch: number }; hosts: unknown[] };
      return view.hosts.length === 2 ? { r, view } : undefined;
    }, { timeoutMs: 10_000, what: 'both hosts published' });
    expect(status.r.exitCode).toBe(0);
    expect(status.view.leader).toEqual({ host: 'h1', epoch: activeReport?.manager.host?.epoch });
    const metrics = await Promise.all(hosts.map((h) => fetch(`http://127.0.0.1:${h.httpPort}/metrics`).then((r) => r.text())));
    expect(metrics[0]).toContain('redundancy_leader{host="h1"} 1');
    expect(metrics[0]).toMatch(new RegExp(`redundancy_lease_epoch ${activeReport?.manager.host?.epoch}\\b`));
    expect(metrics[1]).toContain('redundancy_leader{host="h2"} 0');
    expect((await fetch(`http://127.0.0.1:${hosts[1]!.httpPort}/health`)).status).toBe(200);
    const text = await hosts[0]!.project.cli('host', 'status');
    expect(text.stdout).toMatch(/^cluster c\d+: active h1 \(epoch \d+\); this host: h1/);
    expect(text.stdout).toMatch(/h2\s+standby/);
    // Only the standby mirrors, and `host status` shows the age of its last complete mirror.
    const mirrored = await waitFor(async () => {
      const view = JSON.parse((await hosts[0]!.project.cli('host', 'status', '--json')).stdout) as { hosts: Array<{ host: string; mirrorAgeMs: number | null }> };
      return view.hosts.find((h) => h.host === 'h2' && h.mirrorAgeMs !== null);
    }, { timeoutMs: 15_000, what: 'h2 publishing a complete mirror' });
    expect(mirrored.mirrorAgeMs).toBeLessThan(15_000);
    expect(await readFile(join(hosts[1]!.project.dir, 'mirror', 'latest', 'orders.db'), 'utf8')).toBe('rows');
    expect(existsSync(join(hosts[0]!.project.dir, 'mirror'))).toBe(false);
    expect((await hosts[0]!.project.cli('host', 'status')).stdout).toMatch(/h2\s+standby\s+\S+\s+1\s+1\s+0\s+\d/);
  });

  it('refuses a manual failover on the standby, switches by hand with demote and promote, each time with a higher epoch', async () => {
    const refused = await hosts[1]!.project.cli('failover', 'pm2:web');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('this host is a standby');
    const before = (await hosts[0]!.report())!.manager.host!.epoch!;
    const demoted = await hosts[0]!.project.cli('host', 'demote');
    expect(demoted).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('h1 stepped down') });
    const second = await waitFor(async () => ((await active())?.name === 'h2' ? true : undefined), { timeoutMs: 15_000, what: 'h2 answering alone' });
    expect(second).toBe(true);
    const epoch2 = (await hosts[1]!.report())!.manager.host!.epoch!;
    expect(epoch2).toBeGreaterThan(before);
    const promoted = await hosts[0]!.project.cli('host', 'promote');
    expect(promoted).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('h1 is now the active host') });
    await waitFor(async () => ((await active())?.name === 'h1' ? true : undefined), { timeoutMs: 15_000, what: 'h1 answering alone' });
    expect((await hosts[0]!.report())!.manager.host!.epoch!).toBeGreaterThan(epoch2);
  });

  it('a manager stopped cleanly stops its units and hands over at once', async () => {
    hosts[0]!.manager!.kill('SIGTERM');
    await hosts[0]!.manager;
    await waitFor(async () => ((await active())?.name === 'h2' ? true : undefined), { timeoutMs: 10_000, what: 'h2 answering alone' });
  });

  it('resigns the lease after stepDownAfter rounds with its units critical, so the healthy standby takes over', async () => {
    hosts[0]!.start();
    await waitFor(async () => {
      const view = JSON.parse((await hosts[1]!.project.cli('host', 'status', '--json')).stdout) as { candidates: string[] };
      return view.candidates.includes('h1') ? true : undefined;
    }, { timeoutMs: 15_000, what: 'h1 campaigning again' });
    await hosts[1]!.project.write('fail-all', '');
    await waitFor(async () => ((await active())?.name === 'h1' ? true : undefined), { timeoutMs: 30_000, what: 'h1 answering alone after h2 stepped down' });
    const log = await readFile(join(hosts[1]!.project.dir, 'logs', 'redundancy.log'), 'utf8');
    expect(log).toContain('units critical on this host: resigning the lease for a standby');
  });
});
