import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { ecosystemText, makeProject, managerReport, startManager } from '../lib/project.js';
import { round } from '../lib/stats.js';
import { now, waitUntil } from '../lib/time.js';

const sleepBin = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p)) ?? 'sleep';
const apps = Array.from({ length: 1000 }, (_, i) => ({ name: `idle${i}`, script: sleepBin, args: ['infinity'], interpreter: 'none' }));

/** PM2's own view of a home: status by app name (`pm2 jlist`). */
async function pm2Statuses(pm2) {
  const listed = await pm2.pm2(['jlist'], { timeoutMs: 120_000 });
  if (listed.code !== 0) throw new Error(`pm2 jlist failed: ${listed.stderr.slice(-500)}`);
  return new Map(JSON.parse(listed.stdout).map((p) => [p.name, p.pm2_env.status]));
}

/**
 * start1000Ms: `redundancy start --foreground` on an ecosystem file of 1,000 `sleep infinity` apps
 * (cold twins, every default but the hold-down), with nothing running and no PM2 daemon: from the
 * command to the manager's report showing every primary online and every twin registered stopped
 * (checked against `pm2 jlist` after, untimed). Baseline pm2Start1000Ms: `pm2 start` of the same
 * file on a fresh home, to the command's exit (the daemon's spawn included on both sides).
 */
export default {
  name: 'start-1000',
  figures: [
    { key: 'pm2Start1000Ms', label: '`pm2 start` of 1,000 apps (fresh daemon)', unit: 'ms' },
    { key: 'start1000Ms', label: '`redundancy start` of 1,000 units: primaries online, twins registered (fresh daemon)', unit: 'ms', baseline: 'pm2Start1000Ms', goal: { ratioTo: 'pm2Start1000Ms', max: 1.5 } },
  ],
  async run(ctx) {
    const project = await makeProject('start1000', {
      'ecosystem.config.cjs': ecosystemText(apps),
      'redundancy.config.yaml': 'policy:\n  holdDown: 1h\n',
    });

    const base = await isolatedPm2('start1000-pm2', { hardKill: true });
    const loadBefore = [round(loadavg()[0], 2)];
    const started = await base.pm2(['start', project.path('ecosystem.config.cjs')], { timeoutMs: 600_000 });
    if (started.code !== 0) throw new Error(`pm2 start failed: ${started.stderr.slice(-2000)}`);
    const pm2Start1000Ms = started.ms;
    const pm2Online = [...(await pm2Statuses(base)).values()].filter((s) => s === 'online').length;
    await base.kill();
    ctx.log(`pm2 start: ${round(pm2Start1000Ms)} ms, ${pm2Online} online`);

    const pm2 = await isolatedPm2('start1000', { hardKill: true });
    loadBefore.push(round(loadavg()[0], 2));
    const startedAt = now();
    const manager = startManager(project, pm2.env);
    const done = await waitUntil(
      async () => {
        const report = await managerReport(project, 30_000);
        if (report?.units.length !== apps.length) return undefined;
        return report.units.every((u) => u.primary.status === 'online' && u.twin.status === 'stopped') ? now() : undefined;
      },
      { timeoutMs: 900_000, intervalMs: 250, what: '1,000 primaries online and 1,000 twins registered in the manager' },
    );
    const start1000Ms = done - startedAt;
    const seen = await pm2Statuses(pm2);
    const primariesOnline = apps.filter((a) => seen.get(a.name) === 'online').length;
    const twinsStopped = apps.filter((a) => seen.get(`${a.name}-backup`) === 'stopped').length;
    await manager.stop();
    await pm2.kill();
    await project.remove();
    if (primariesOnline !== apps.length || twinsStopped !== apps.length) {
      throw new Error(`PM2 shows ${primariesOnline} primaries online and ${twinsStopped} twins stopped, not ${apps.length} of each`);
    }
    return {
      figures: { pm2Start1000Ms, start1000Ms },
      details: { apps: apps.length, pm2Online, primariesOnline, twinsStopped, load1mBefore: loadBefore },
    };
  },
};
