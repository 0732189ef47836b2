import type { ElectionPort } from './election-port.js';
import { clusterKeys, type PublishedHost } from './host-runtime.js';

/** The cluster as etcd shows it: who leads under which epoch, who queues, and what each host last published. */
export interface ClusterView {
  cluster: string;
  leader: { host: string; epoch: number } | null;
  /** Campaigning hosts in the order etcd would elect them. */
  candidates: string[];
  hosts: Array<PublishedHost & { ageMs: number; mirrorAgeMs: number | null }>;
}

export async function readCluster(port: ElectionPort, cluster: string, now: number): Promise<ClusterView> {
  const keys = clusterKeys(cluster);
  const [leader, candidates, published] = await Promise.all([port.leader(keys.election), port.candidates(keys.election), port.list(keys.hosts)]);
  const hosts = published.flatMap(({ value }) => {
    try {
      const host = JSON.parse(value) as PublishedHost;
      const last = host.mirror?.lastCompleteAt;
      return [{ ...host, ageMs: Math.max(0, now - Date.parse(host.at)), mirrorAgeMs: last ? Math.max(0, now - Date.parse(last)) : null }];
    } catch {
      return [];
    }
  });
  return {
    cluster,
    leader: leader ? { host: leader.value, epoch: leader.key.rev } : null,
    candidates: candidates.map((c) => c.value),
    hosts: hosts.sort((a, b) => a.host.localeCompare(b.host)),
  };
}
