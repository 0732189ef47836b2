import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { HealthReport } from '../../src/core/report-types.js';
import { isolatedPm2, type IsolatedPm2 } from './pm2-home.js';
import { cliPath, ecosystem, fixtures, freePorts, makeProject, type TestProject } from './project.js';

/** One host of a test cluster: its own project copy, PM2 home, app port and manager. */
export interface TestHost {
  name: string;
  project: TestProject;
  pm2: IsolatedPm2;
  /** The host's app listens here, so a split brain cannot hide behind a port clash. */
  port: number;
  /** The manager's read-only listener (`/health`, `/metrics`). */
  httpPort: number;
  manager: ResultPromise | undefined;
  start(): ResultPromise;
  /** The manager's status report, or undefined when it does not answer. */
  report(): Promise<HealthReport | undefined>;
  /** Whether the host's app answers now (any status: a failing app still splits the brain). */
  answers(timeoutMs?: number): Promise<boolean>;
}

export interface HostClusterOptions {
  hosts: number;
  etcd: string[];
  ttl?: string;
  cluster?: string;
  /** Extra `host:` lines, indented under it. */
  hostLines?: string[];
  checkInterval?: string;
  /** Top-level config lines added to every host's config (an `orchestrate:` section). */
  configLines?: string[];
  /** Host i's etcd endpoints, its own member first as on a real host. @default `etcd` */
  endpoints?: (i: number) => string[];
  /** Run host i's manager (and so its PM2 daemon and apps) in this network namespace. */
  netns?: (i: number) => string;
}

/** Separate project copies with the same app and config but each its own port and PM2 home. */
export async function hostCluster(opts: HostClusterOptions): Promise<TestHost[]> {
  const ports = await freePorts(opts.hosts);
  const httpPorts = await freePorts(opts.hosts);
  const cluster = opts.cluster ?? `c${process.pid}`;
  return Promise.all(ports.map(async (port, i) => {
    const name = `h${i + 1}`;
    const pm2 = await isolatedPm2();
    const project = await makeProject(pm2.env, {});
    const app = { name: 'web', script: join(fixtures, 'service.cjs'), env: { PORT: String(port), FAIL_FILE: join(project.dir, 'fail'), FAIL_ALL_FILE: join(project.dir, 'fail-all') }, max_restarts: 5, min_uptime: 1000, kill_timeout: 500 };
    await project.write('ecosystem.config.cjs', ecosystem([app]));
    await project.write('redundancy.config.yaml', [
      `checkInterval: ${opts.checkInterval ?? '250ms'}`,
      'policy: { window: 3, minSamples: 2, holdDown: 1h }',
      'sources: { pm2: { live: false } }',
      `http: { listen: "127.0.0.1:${httpPorts[i]}" }`,
      'units:',
      `  pm2:web: { probe: { http: "http://127.0.0.1:${port}/health", timeout: 1s } }`,
      'host:',
      `  name: ${name}`,
      `  cluster: ${cluster}`,
      `  lease: { etcd: [${(opts.endpoints?.(i) ?? opts.etcd).join(', ')}], ttl: ${opts.ttl ?? '3s'} }`,
      ...(opts.hostLines ?? []).map((l) => `  ${l}`),
      ...(opts.configLines ?? []),
      '',
    ].join('\n'));
    const host: TestHost = {
      name,
      project,
      pm2,
      port,
      httpPort: httpPorts[i]!,
      manager: undefined,
      start() {
        const ns = opts.netns?.(i);
        host.manager = ns
          ? execa('ip', ['netns', 'exec', ns, process.execPath, cliPath, '--cwd', project.dir, 'start', '--foreground'], { env: pm2.env, reject: false })
          : project.spawnManager();
        return host.manager;
      },
      async report() {
        const result = await project.cli('status', '--json');
        try {
          return JSON.parse(result.stdout) as HealthReport;
        } catch {
          return undefined;
        }
      },
      answers: (timeoutMs = 300) => fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(timeoutMs) }).then(() => true, () => false),
    };
    return host;
  }));
}

/** Managers killed, watchdogs gone with them (they leave once their manager is gone), PM2 daemons killed, copies removed. */
export async function removeHosts(hosts: readonly TestHost[]): Promise<void> {
  for (const h of hosts) {
    h.manager?.kill('SIGCONT');
    h.manager?.kill('SIGKILL');
  }
  await Promise.all(hosts.map((h) => h.manager?.catch(() => undefined)));
  await Promise.all(hosts.map((h) => killWatchdog(h)));
  await Promise.all(hosts.map((h) => h.pm2.kill()));
  await Promise.all(hosts.map((h) => h.project.remove()));
}

async function killWatchdog(host: TestHost): Promise<void> {
  const { readHeartbeat } = await import('../../src/hosts/heartbeat.js');
  const beat = readHeartbeat(join(host.project.dir, '.redundancy', 'host-heartbeat.json'));
  if (beat?.watchdog === undefined) return;
  try {
    process.kill(beat.watchdog, 'SIGKILL');
  } catch {
    // already gone
  }
}
