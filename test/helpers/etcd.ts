import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './project.js';

export const etcdInstalled = existsSync('/usr/bin/etcd');

export interface EtcdMember {
  name: string;
  clientUrl: string;
  process: ChildProcess;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** SIGSTOP / SIGCONT of members, as a quorum outage. */
  signal(names: string[], signal: NodeJS.Signals): void;
  close(): Promise<void>;
}

/**
 * Real etcd members on 127.0.0.1 (fast raft timings so a 2-3 s lease ttl is allowed), data in a temp
 * dir. Pre-vote on (3.4's default is off): a member cut off and back must not depose the leader.
 */
export async function startEtcd(count: 1 | 3, opts: { host?: (i: number) => string; wrap?: (i: number, argv: string[]) => string[] } = {}): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redundancy-etcd-'));
  const ports = await freePorts(count * 2);
  const host = opts.host ?? (() => '127.0.0.1');
  const names = Array.from({ length: count }, (_, i) => `m${i}`);
  const peer = (i: number) => `http://${host(i)}:${ports[i * 2 + 1]}`;
  const client = (i: number) => `http://${host(i)}:${ports[i * 2]}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const members = names.map((name, i) => {
    const argv = ['etcd', '--name', name, '--data-dir', join(dir, name), '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i), '--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--initial-cluster-token', `t${process.pid}`, '--heartbeat-interval', '50', '--election-timeout', '500', '--pre-vote=true', '--log-level', 'error'];
    const full = opts.wrap ? opts.wrap(i, argv) : argv;
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.resume();
    return { name, clientUrl: client(i), process: child };
  });
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    signal(which, signal) {
      for (const m of members) if (which.includes(m.name)) m.process.kill(signal);
    },
    async close() {
      for (const m of members) {
        m.process.kill('SIGCONT');
        m.process.kill('SIGKILL');
      }
      await Promise.all(members.map((m) => (m.process.exitCode !== null || m.process.signalCode !== null ? undefined : new Promise((r) => m.process.once('exit', r)))));
      await rm(dir, { recursive: true, force: true });
    },
  };
  await waitHealthy(cluster.endpoints).catch(async (error: unknown) => {
    await cluster.close();
    throw error;
  });
  return cluster;
}

async function waitHealthy(endpoints: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const url of endpoints) {
    for (;;) {
      const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`etcd member ${url} not healthy in 20s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
