import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../dist/core/config-file.js';
import { failoverBreakdown, failoverTrial } from '../lib/failover-trial.js';
import { readManagerLog } from '../lib/manager-log.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { cpuSeconds, rssMb, run, spawnOwned } from '../lib/proc.js';
import { cliPath, ecosystemText, managerReport, startManager } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { thousandProject, thousandShape } from '../lib/thousand.js';
import { now, sleep, waitUntil } from '../lib/time.js';

/**
 * The manager at steady state with 1,000 units: managerRssMb, managerCpuPercent, statusMs.
 *
 * Set-up as a user would: `redundancy start --foreground` on the ecosystem file with no PM2 daemon
 * running; the manager starts the daemon, the 1,000 primaries, and registers the 1,000 twins
 * (timed: details.setupMs.managerToAllHealthy).
 * Then, at the default 5 s interval with the 50 HTTP probes: CPU from /proc/<pid>/stat over the
 * window (60 s; 15 s with --quick), RSS sampled every second (median). statusMs: wall clock of
 * `redundancy status --json` runs (Node start-up included; a bare `node -e ''` is timed beside it
 * as nodeStartMs). Last, a few failovers as in twin-failover, for the cost of scale on that path.
 */
const probeFloorScript = fileURLToPath(new URL('../lib/probe-floor.cjs', import.meta.url));

export default {
  name: 'manager-1000',
  figures: [
    { key: 'managerRssMb', label: 'manager RSS, 1,000 units', unit: 'MB', baseline: 'nodeIdleRssMb', goal: { overBy: 'nodeIdleRssMb', max: 25 } },
    { key: 'probeFloorCpuPercent', label: 'bare Node doing only the 50 HTTP probes (% of one core)', unit: '%' },
    { key: 'managerCpuPercent', label: 'manager CPU, 1,000 units (% of one core)', unit: '%', baseline: 'probeFloorCpuPercent', goal: { max: 1 } },
    { key: 'statusMs', label: '`status --json`, 1,000 units', unit: 'ms', baseline: 'nodeStartMs', goal: { max: 200 } },
    { key: 'nodeStartMs', label: 'bare `node -e ""` start-up', unit: 'ms' },
  ],
  async run(ctx) {
    const settleMs = ctx.quick ? 3_000 : 15_000;
    const windowMs = ctx.quick ? 15_000 : 60_000;
    const pm2 = await isolatedPm2('m1000', { hardKill: true });
    const { project, apps, ports } = await thousandProject('m1000');

    const config = await loadConfig({ cwd: project.dir });
    ctx.log('starting the manager');
    const managerStarted = now();
    const manager = startManager(project, pm2.env);
    const units = thousandShape.units;
    const first = await waitUntil(
      async () => {
        const report = await managerReport(project, 30_000);
        const ready = report?.summary.units === units && report.summary.healthy === units && report.units.every((u) => u.twin.status === 'stopped');
        return ready ? report : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, what: `${units} healthy units in the manager's report` },
    );
    const managerSetupMs = now() - managerStarted;

    ctx.log(`steady state: settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`);
    await sleep(settleMs);
    const pid = manager.child.pid;
    const daemon = pm2.daemonPid();
    const reportFile = project.path('logs/redundancy-health.json');
    const rounds = new Set();
    const rss = [];
    const daemonRss = [];
    // Beside it, in the same window: the same 50 probes from a bare Node process, the floor of the probing alone.
    const floor = spawnOwned(process.execPath, [probeFloorScript, String(config.checkIntervalMs), ...ports.map((port) => `http://127.0.0.1:${port}/health`)], {
      label: 'probe floor',
    });
    await sleep(500);
    const cpu0 = { manager: cpuSeconds(pid), daemon: cpuSeconds(daemon), floor: cpuSeconds(floor.child.pid), at: now() };
    while (now() - cpu0.at < windowMs) {
      await sleep(1_000);
      rss.push(rssMb(pid));
      daemonRss.push(rssMb(daemon));
      const text = await readFile(reportFile, 'utf8').catch(() => '');
      const generatedAt = /"generatedAt": "([^"]+)"/.exec(text)?.[1];
      if (generatedAt) rounds.add(generatedAt);
    }
    const elapsed = (now() - cpu0.at) / 1000;
    const managerCpuPercent = ((cpuSeconds(pid) - cpu0.manager) / elapsed) * 100;
    const probeFloorCpuPercent = ((cpuSeconds(floor.child.pid) - cpu0.floor) / elapsed) * 100;
    await floor.stop();
    const daemonCpuPercent = ((cpuSeconds(daemon) - cpu0.daemon) / elapsed) * 100;
    const stamps = [...rounds].map((s) => Date.parse(s)).sort((a, b) => a - b);
    const periods = stamps.slice(1).map((t, i) => t - stamps[i]);

    ctx.log('timing status --json');
    const statusSamples = [];
    const nodeSamples = [];
    let statusUnits;
    for (let i = -1; i < ctx.trials(10, 4); i++) {
      const bare = await run(process.execPath, ['-e', ''], { timeoutMs: 30_000 });
      const status = await run(process.execPath, [cliPath, '--cwd', project.dir, 'status', '--json'], { env: pm2.env, timeoutMs: 60_000 });
      if (status.code !== 0 && status.code !== 1) throw new Error(`status --json exited ${status.code}: ${status.stderr}`);
      statusUnits = JSON.parse(status.stdout).units.length;
      if (i >= 0) {
        nodeSamples.push(bare.ms);
        statusSamples.push(status.ms);
      }
    }
    const reportBytes = (await stat(reportFile)).size;
    const stateBytes = (await stat(project.path('.redundancy/state.json'))).size;

    // Skipped by --quick: each takes seconds at this scale, and it is a detail, not a figure.
    const failovers = [];
    if (!ctx.quick) ctx.log('failover trials at 1,000 units');
    for (let i = 0; i < ctx.trials(3, 0); i++) {
      await sleep(1_000);
      failovers.push(await failoverTrial(project, { name: `web${i}`, port: ports[i] }, ctx.pollMs));
    }

    await manager.stop();
    const log = await readManagerLog(project.path('logs/redundancy.log'));
    await pm2.kill();
    await project.remove();
    return {
      figures: {
        managerRssMb: median(rss),
        managerCpuPercent,
        probeFloorCpuPercent,
        statusMs: median(statusSamples),
        nodeStartMs: median(nodeSamples),
      },
      details: {
        shape: { ...thousandShape, pm2Apps: apps.length * 2, checkIntervalMs: config.checkIntervalMs },
        setupMs: { managerToAllHealthy: round(managerSetupMs) },
        windowS: round(elapsed),
        roundsSeen: rounds.size,
        roundPeriodMs: periods.length > 0 ? summary(periods, 0) : null,
        managerRssMb: summary(rss),
        pm2DaemonCpuPercent: round(daemonCpuPercent, 2),
        pm2DaemonRssMb: round(median(daemonRss)),
        statusMs: summary(statusSamples),
        statusUnits,
        nodeStartMs: summary(nodeSamples),
        reportBytes,
        stateBytes,
        firstReportUnits: first.summary.units,
        // Failovers as in twin-failover but with 2,000 apps in PM2 and the default policy (the crash loop
        // decides after several exits): compare breakdown.decidedToAnswered with twin-failover's.
        twinFailover1000Ms: failovers.length > 0 ? summary(failovers.map((t) => t.ms)) : null,
        twinFailover1000: failovers.length > 0 ? failoverBreakdown(log, failovers).breakdownMs : null,
      },
    };
  },
};
