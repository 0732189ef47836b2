/** The key a candidate holds in etcd's election: `rev` (its creation revision) is the fencing token. */
export interface LeaderKey {
  name: string;
  key: string;
  rev: number;
  lease: string;
}

/** A candidate as the election shows it: the host it names, and its place in the queue. */
export interface Candidate {
  value: string;
  rev: number;
  lease: string;
}

/**
 * What the hosts need of etcd: leases and its election, nothing else. Every call but `campaign`
 * gives up at its timeout; `campaign` waits until this lease leads or `signal` aborts it (etcd then
 * removes the candidate's key).
 */
export interface ElectionPort {
  grant(ttlSeconds: number): Promise<string>;
  /** False when etcd no longer has the lease (it expired or was revoked). */
  keepAlive(lease: string): Promise<boolean>;
  campaign(name: string, lease: string, value: string, signal: AbortSignal): Promise<LeaderKey>;
  /** The leader's key and value, or undefined when nobody leads. */
  leader(name: string): Promise<{ key: LeaderKey; value: string } | undefined>;
  /** Every candidate in the order etcd would elect them. */
  candidates(name: string): Promise<Candidate[]>;
  resign(leader: LeaderKey): Promise<void>;
  revoke(lease: string): Promise<void>;
  /** A key that lives as long as the lease (a host's published status). */
  put(key: string, value: string, lease: string): Promise<void>;
  remove(key: string): Promise<void>;
  /** Every key under a prefix, with its value. */
  list(prefix: string): Promise<Array<{ key: string; value: string }>>;
}
