import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../dist/core/config-file.js';
import { ledgerDir } from '../../dist/daemon/compose.js';
import { loadInventory } from '../../dist/daemon/inventory.js';
import { ledgerFileName } from '../../dist/store/ledger.js';
import { appendRecentRuns, finishedRun, quietCrontab, writePastRuns } from '../lib/crontab.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { cpuSeconds, rssMb, run } from '../lib/proc.js';
import { cliPath, makeProject, managerReport, startManager } from '../lib/project.js';
import { threadCpuSeconds, threadSplitPercent } from '../lib/threads.js';
import { median, round, summary } from '../lib/stats.js';
import { now, sleep, waitUntil } from '../lib/time.js';

const lines = 1000;

/**
 * The manager at steady state with 1,000 cron units: cronManagerCpuPercent, beside
 * cronIdleManagerCpuPercent (the same manager with no unit at all, in the same window).
 *
 * Set-up: a project whose `automation/crontab` holds 1,000 lines none of which has a slot within
 * 2 h of now (checked with the manager's own slot code), so no run is due or missed while it is
 * measured; each unit's ledger gets its last 3 runs (exit 0) in `redundancy run`'s shape. Then two
 * `redundancy start --foreground`, each in its own PM2 home: this project, and an empty one. Runs from
 * before a unit's primary became the active side are history, not samples, so once the manager is
 * up every unit gets one more finished run: the real `redundancy run <unit> -- true` for a few (whose
 * ledger lines must have the shape the others are written in), the same lines appended for the rest.
 * Once the report has 1,000 units all healthy, each with that last run: settle, then CPU of both from
 * /proc/<pid>/stat over the window (60 s; 15 s with --quick) at the default 5 s interval, RSS every
 * second (median). At steady state no ledger changes and no slot is due.
 */
export default {
  name: 'cron-manager-1000',
  figures: [
    { key: 'cronIdleManagerCpuPercent', label: 'manager with no unit (% of one core)', unit: '%' },
    { key: 'cronManagerCpuPercent', label: 'manager CPU, 1,000 cron units (% of one core)', unit: '%', baseline: 'cronIdleManagerCpuPercent', goal: { max: 1 } },
  ],
  async run(ctx) {
    const settleMs = ctx.quick ? 3_000 : 15_000;
    const windowMs = ctx.quick ? 15_000 : 60_000;
    // 2 h either side of now: the set-up, the settling and the window are far inside it.
    const quietMarginMs = 2 * 3_600_000;

    const setupStarted = now();
    const made = Date.now();
    const crontab = quietCrontab(lines, { now: made, marginMs: quietMarginMs });
    const project = await makeProject('croncpu', { 'automation/crontab': crontab.text });
    const idleProject = await makeProject('cronidle', {});
    const loaded = await loadConfig({ cwd: project.dir });
    const units = await loadInventory({ ...loaded, sources: { ...loaded.sources, pm2: { ...loaded.sources.pm2, live: false } } });
    if (units.length !== lines || units.some((u) => u.kind !== 'cron')) throw new Error(`inventory has ${units.length} units, expected ${lines} cron units`);
    const ledger = await writePastRuns(ledgerDir(loaded), units, { now: made });
    const setupMs = now() - setupStarted;

    const pm2 = await isolatedPm2('croncpu', { hardKill: true });
    const idlePm2 = await isolatedPm2('cronidle', { hardKill: true });
    ctx.log(`${lines} cron units, ${ledger.events} ledger events; starting the managers`);
    const managerStarted = now();
    const idle = startManager(idleProject, idlePm2.env);
    const manager = startManager(project, pm2.env);
    const first = await waitUntil(
      async () => {
        const report = await managerReport(project, 30_000);
        return report?.summary.units === lines && report.summary.healthy === lines ? report : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, what: `${lines} healthy units in the manager's report` },
    );
    const managerSetupMs = now() - managerStarted;
    await waitUntil(async () => (await managerReport(idleProject, 10_000))?.summary.units === 0, { timeoutMs: 60_000, intervalMs: 500, what: "the idle manager's report" });

    // One run each since the manager started: the real wrapper for a few, the same lines for the rest.
    // (A run must start after the manager's start to be a sample: a second's margin.)
    await sleep(1_000);
    const realRuns = units.slice(0, 5);
    const realMs = [];
    for (const unit of realRuns) {
      const ran = await run(process.execPath, [cliPath, '--cwd', project.dir, 'run', unit.id, '--', 'true'], { env: pm2.env, timeoutMs: 60_000 });
      if (ran.code !== 0) throw new Error(`redundancy run ${unit.id} exited ${ran.code}: ${ran.stderr.slice(-1000)}`);
      realMs.push(ran.ms);
    }
    const written = (await readFile(join(ledgerDir(loaded), ledgerFileName(realRuns[0].id)), 'utf8')).trim().split('\n').slice(-2).map((l) => JSON.parse(l));
    const ours = finishedRun(realRuns[0].id, { startAt: 0, durationMs: 0, pid: 0 });
    const keys = (events) => events.map((e) => `${e.event}:${Object.keys(e).sort().join(',')}`).join(' ');
    if (keys(written) !== keys(ours)) throw new Error(`the ledger lines of \`redundancy run\` (${keys(written)}) differ from the generated ones (${keys(ours)})`);
    const appended = await appendRecentRuns(ledgerDir(loaded), units.slice(realRuns.length));
    const counted = await waitUntil(
      async () => {
        const report = await managerReport(project, 30_000);
        const ran = report?.units.filter((u) => u.runs?.lastRun && u.samples > 0).length;
        return ran === lines && report.summary.healthy === lines ? report : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000, what: `${lines} healthy units each with its last run in the report` },
    );

    ctx.log(`steady state: settling ${settleMs / 1000} s, then measuring ${windowMs / 1000} s`);
    await sleep(settleMs);
    const procs = {
      manager: manager.child.pid,
      idle: idle.child.pid,
      daemon: pm2.daemonPid(),
      idleDaemon: idlePm2.daemonPid(),
    };
    const reportFile = join(loaded.logsDir, 'redundancy-health.json');
    const rounds = new Set();
    const rss = { manager: [], idle: [] };
    const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const threads0 = threadCpuSeconds(procs.manager);
    const t0 = now();
    while (now() - t0 < windowMs) {
      await sleep(1_000);
      rss.manager.push(rssMb(procs.manager));
      rss.idle.push(rssMb(procs.idle));
      const text = await readFile(reportFile, 'utf8').catch(() => '');
      const generatedAt = /"generatedAt": ?"([^"]+)"/.exec(text)?.[1];
      if (generatedAt) rounds.add(generatedAt);
    }
    const elapsed = (now() - t0) / 1000;
    const cpuPercent = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, ((cpuSeconds(pid) - cpu0[k]) / elapsed) * 100]));
    // The JavaScript thread apart from V8's GC helpers and libuv's pool (threads alive at the end).
    const split = threadSplitPercent(procs.manager, threads0, threadCpuSeconds(procs.manager), elapsed);
    const stamps = [...rounds].map((s) => Date.parse(s)).sort((a, b) => a - b);
    const periods = stamps.slice(1).map((t, i) => t - stamps[i]);

    // Still steady at the end: every unit healthy, no run due, the runs read back from the ledgers.
    const last = await managerReport(project, 30_000);
    const withLastRun = last.units.filter((u) => u.runs?.lastRun).length;
    const samplesInWindow = last.units.reduce((n, u) => n + u.samples, 0);
    const reportBytes = (await stat(reportFile)).size;
    const stateBytes = (await stat(join(loaded.stateDir, 'state.json'))).size;
    const ledgerFiles = (await readdir(ledgerDir(loaded))).length;

    await Promise.all([manager.stop(), idle.stop()]);
    await Promise.all([pm2.kill(), idlePm2.kill()]);
    await Promise.all([project.remove(), idleProject.remove()]);
    if (last.summary.healthy !== lines) throw new Error(`${lines - last.summary.healthy} units were not healthy at the end of the window`);
    return {
      figures: {
        cronManagerCpuPercent: cpuPercent.manager,
        cronIdleManagerCpuPercent: cpuPercent.idle,
      },
      details: {
        shape: { units: lines, checkIntervalMs: loaded.checkIntervalMs, quietMarginH: quietMarginMs / 3_600_000, crontab: crontab.counts },
        ledger: {
          beforeStart: ledger,
          sinceStart: { realRedundancyRun: realRuns.length, realRunMs: summary(realMs, 0), appendedEvents: appended, countedBy: counted.generatedAt },
          files: ledgerFiles,
          unitsWithLastRunInReport: withLastRun,
          samplesInWindows: samplesInWindow,
        },
        setupMs: { crontabAndLedger: round(setupMs), managerToAllHealthy: round(managerSetupMs) },
        windowS: round(elapsed),
        roundsSeen: rounds.size,
        roundPeriodMs: periods.length > 0 ? summary(periods, 0) : null,
        cpuOverIdlePercent: round(cpuPercent.manager - cpuPercent.idle, 3),
        managerCpuByThreadPercent: { main: round(split.main, 3), otherThreads: round(split.otherThreads, 3) },
        managerCpuMsPerRound: round((cpuPercent.manager / 100) * (periods.length > 0 ? summary(periods, 0).median : loaded.checkIntervalMs), 1),
        managerRssMb: summary(rss.manager),
        idleManagerRssMb: summary(rss.idle),
        managerRssOverIdleMb: round(median(rss.manager) - median(rss.idle)),
        pm2DaemonCpuPercent: { manager: round(cpuPercent.daemon, 3), idle: round(cpuPercent.idleDaemon, 3) },
        reportBytes,
        stateBytes,
        firstReportUnits: first.summary.units,
        lastReport: last.summary,
      },
    };
  },
};
