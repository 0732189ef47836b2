import { hostname } from 'node:os';
import type { Checker } from './config-checker.js';
import type { HostConfig } from './config-types.js';

export type { HostConfig };

const clusterName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function compileHost(check: Checker, raw: unknown): HostConfig {
  const host = check.map(['host'], raw, ['name', 'cluster', 'lease', 'units', 'stepDownAfter', 'mirrorEvery']);
  const lease = check.map(['host', 'lease'], host.lease, ['etcd', 'ttl', 'renewEvery', 'margin', 'renewTimeout']);
  const name = host.name === undefined ? hostname() : typeof host.name === 'string' && clusterName.test(host.name) ? host.name : check.fail(['host', 'name'], host.name, 'a host name (letters, digits, . _ -)');
  if (typeof host.cluster !== 'string' || !clusterName.test(host.cluster)) {
    check.fail(['host', 'cluster'], host.cluster, 'a cluster name (letters, digits, . _ -), the same on every host of the cluster');
  }
  const etcd = Array.isArray(lease.etcd) ? lease.etcd : lease.etcd === undefined ? [] : [lease.etcd];
  if (etcd.length === 0) check.fail(['host', 'lease', 'etcd'], lease.etcd, 'a list of etcd client URLs, like [http://127.0.0.1:2379]');
  etcd.forEach((url, i) => {
    if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) check.fail(['host', 'lease', 'etcd', i], url, 'an http:// or https:// etcd client URL');
  });
  const ttlMs = check.duration(['host', 'lease', 'ttl'], lease.ttl, 10_000);
  // etcd keeps leases in whole seconds and refuses one under its minimum (2 s at its default timings).
  if (ttlMs < 2_000 || ttlMs % 1_000 !== 0) check.fail(['host', 'lease', 'ttl'], lease.ttl, 'whole seconds, at least 2s');
  const renewEveryMs = check.duration(['host', 'lease', 'renewEvery'], lease.renewEvery, Math.floor(ttlMs / 3));
  const marginMs = check.duration(['host', 'lease', 'margin'], lease.margin, 1_000);
  const renewTimeoutMs = check.duration(['host', 'lease', 'renewTimeout'], lease.renewTimeout, Math.max(1, Math.min(Math.floor(renewEveryMs / 2), Math.floor((ttlMs - renewEveryMs) / 2))));
  if (renewEveryMs + 2 * renewTimeoutMs > ttlMs) {
    check.fail(['host', 'lease', 'renewEvery'], lease.renewEvery ?? `${renewEveryMs}ms`, `renewEvery + 2 x renewTimeout (${renewTimeoutMs}ms) <= ttl (${ttlMs}ms)`);
  }
  if (marginMs >= ttlMs - renewEveryMs) check.fail(['host', 'lease', 'margin'], lease.margin, `a margin under ttl - renewEvery (${ttlMs - renewEveryMs}ms)`);
  let units: HostConfig['units'] = 'all';
  if (host.units !== undefined && host.units !== 'all') {
    if (!Array.isArray(host.units) || host.units.some((u) => typeof u !== 'string' || !u.includes(':'))) check.fail(['host', 'units'], host.units, 'all, or a list of unit ids like [pm2:api]');
    units = host.units as string[];
  }
  return {
    name: name as string,
    cluster: host.cluster as string,
    lease: { etcd: etcd as string[], ttlMs, renewEveryMs, marginMs, renewTimeoutMs },
    units,
    stepDownAfter: check.integer(['host', 'stepDownAfter'], host.stepDownAfter, 3, 0),
    ...(host.mirrorEvery !== undefined && { mirrorEveryMs: check.duration(['host', 'mirrorEvery'], host.mirrorEvery, 60_000) }),
  };
}
