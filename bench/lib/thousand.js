import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from './http.js';
import { ecosystemText, fixtures, makeProject } from './project.js';

/** How the 1,000 units are made: `http` small Node HTTP apps with probes, the rest `sleep` processes. */
export const thousandShape = { units: 1000, http: 50 };

const sleepBin = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p)) ?? 'sleep';

/** The manager's config for the 1,000 units: every default (checkInterval 5s, policy) but the hold-down. */
export function thousandConfig(ports) {
  return [
    'policy:',
    '  holdDown: 1h    # no failback trial after the failover trials',
    'units:            # the 50 HTTP apps are probed',
    ...ports.map((port, i) => `  pm2:web${i}: { probe: { http: "http://127.0.0.1:${port}/health", timeout: 2s } }`),
    '',
  ].join('\n');
}

/**
 * A project with 1,000 PM2 apps. The first `http` are the fixture service (test/fixtures/service.cjs)
 * on their own ports, probed over HTTP; the rest run `sleep infinity` (interpreter none, about 1 MB
 * each), so all 1,000 primaries can run on a small machine. A stopped primary is a failed sample to
 * the manager: it would fail over and start its twin, so "registered but stopped" is not a steady state.
 */
export async function thousandProject(label) {
  const { units, http } = thousandShape;
  const ports = await freePorts(http);
  const project = await makeProject(label, { 'redundancy.config.yaml': thousandConfig(ports) });
  const apps = [];
  for (let i = 0; i < units; i++) {
    apps.push(
      i < http
        ? { name: `web${i}`, script: join(fixtures, 'service.cjs'), env: { PORT: String(ports[i]), DIE_AT_BOOT_FILE: project.path(`die-web${i}`) } }
        : { name: `idle${i}`, script: sleepBin, args: ['infinity'], interpreter: 'none' },
    );
  }
  await project.write('ecosystem.config.cjs', ecosystemText(apps));
  return { project, apps, ports };
}
