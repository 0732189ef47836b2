import { rm } from 'node:fs/promises';
import { loadConfig } from '../../dist/core/config-file.js';
import { inventoryGithub } from '../../dist/kinds/github/github-inventory.js';
import { planGithubTwins } from '../../dist/kinds/github/github-units.js';
import { seeded } from '../lib/crontab.js';
import { countsBetween, splitCounted, startFakeGitHub } from '../lib/fake-github.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { makeProject, managerReport, startManager } from '../lib/project.js';
import { round, summary } from '../lib/stats.js';
import { now, sleep, waitUntil } from '../lib/time.js';
import { variedWorkflows } from '../lib/workflows.js';

const workflows = 1000;
/** The manager lists workflow states this often (GithubRuntime's `statesEveryMs` default; not configurable). */
const statesEveryMs = 600_000;

/**
 * The real manager watching 1,000 healthy workflows on a fake GitHub (bench/lib/fake-github.js):
 * githubRequestsPerHour1000 (requests that cost rate limit, i.e. every answer but a 304, per hour)
 * and githubNotModifiedPerHour1000 (the free 304s), at steady state with the default `pollEvery`.
 *
 * Set-up: a project whose `.github/workflows` holds 1,000 varied workflows none of whose crons has
 * a slot within 2 h of now (so no slot is due or missed while measured, and no workflow's runs are
 * asked for) and their 1,000 generated twins; the fake lists all 2,000 workflows (active), one
 * recent successful run of every primary and one older skipped run of every twin. Then
 * `redundancy start --foreground` in an isolated PM2 home with GITHUB_TOKEN set to the fake's token
 * and `sources.github: { repo, apiUrl: <fake>, pollEvery: 60s }`.
 *
 * The default config throughout. A manager starting writes no variable for a workflow settled on
 * its primary (an earlier version wrote each one back to `primary`, 1,000 writes spaced 1 s apart by
 * Octokit's throttling before the first round); the start-up is also measured apart over a short
 * window (40 s; 20 with --quick) (`details.startupWithDefaults`): its writes must be none.
 *
 * Windows, after every unit is healthy and a settling time: `quiet` (3 min; 1 with --quick), the
 * repository unchanged, which gives the figures; then `withNewRuns` (2 min; 1 with --quick), the
 * fake adding a completed successful run of a random workflow every 20 s, so every poll sees a
 * changed page. Counts are per endpoint and status, extrapolated to an hour. The workflow states
 * are listed every 10 min, which no window of a few minutes holds: that listing (one request per
 * page of 100 workflows, each conditional on its ETag) is added to the hourly figures from the
 * pages counted at start-up, as 304s (no state changes while measured).
 */
export default {
  name: 'github-requests-1000',
  figures: [
    { key: 'githubRequestsPerHour1000', label: 'GitHub requests costing rate limit per hour, 1,000 workflows', unit: 'req/h', goal: { max: 5000 } },
    { key: 'githubNotModifiedPerHour1000', label: 'GitHub 304 answers (free) per hour, 1,000 workflows', unit: 'req/h' },
  ],
  async run(ctx) {
    const settleMs = ctx.quick ? 10_000 : 30_000;
    const quietMs = ctx.quick ? 60_000 : 180_000;
    const activeMs = ctx.quick ? 60_000 : 120_000;
    const newRunEveryMs = 20_000;
    const startupWindowMs = ctx.quick ? 20_000 : 40_000;

    const setupStarted = now();
    const made = Date.now();
    const generated = variedWorkflows(workflows, { quiet: true, now: made, marginMs: 2 * 3_600_000, seed: 5000 });
    const project = await makeProject('ghreq', Object.fromEntries(generated.files.map((f) => [`.github/workflows/${f.fileName}`, f.text])));
    const loaded = await loadConfig({ cwd: project.dir });
    const inventory = await inventoryGithub(loaded);
    const plans = planGithubTwins(loaded, inventory.units);
    if (plans.filter((p) => p.twin.ok).length !== workflows) throw new Error(`${plans.filter((p) => !p.twin.ok).length} workflows have no twin`);
    // The twins as `twins --write` leaves them: committed beside the primaries (not units: marked).
    for (const { twin } of plans) await project.write(`.github/workflows/${twin.fileName}`, twin.text);

    const fake = await startFakeGitHub();
    const primaries = generated.files.map((f) => f.fileName);
    const twins = plans.map((p) => p.twin.fileName);
    fake.setWorkflows([...primaries, ...twins].sort().map((file) => ({ path: `.github/workflows/${file}` })));
    const r = seeded(5001);
    for (const file of primaries) fake.addRun(file, { createdAt: made - 3_600_000 - Math.floor(r() * 5 * 3_600_000), event: 'schedule', conclusion: 'success' });
    for (const file of twins) fake.addRun(file, { createdAt: made - 86_400_000 - Math.floor(r() * 86_400_000), event: 'schedule', conclusion: 'skipped' });

    const source = `sources:\n  github: { repo: ${fake.owner}/${fake.repo}, apiUrl: "${fake.url}", pollEvery: 60s }\n`;
    await project.write('redundancy.config.yaml', source);
    const setupMs = now() - setupStarted;

    const pm2 = await isolatedPm2('ghreq', { hardKill: true });
    const env = { ...pm2.env, GITHUB_TOKEN: fake.token };
    ctx.log(`${workflows} workflows and their twins on a fake GitHub at ${fake.url}; starting the manager`);
    const managerStarted = now();
    const manager = startManager(project, env);
    const first = await waitUntil(
      async () => {
        const report = await managerReport(project, 30_000);
        return report?.summary.units === workflows && report.summary.healthy === workflows ? report : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, what: `${workflows} healthy units in the manager's report` },
    );
    const managerSetupMs = now() - managerStarted;
    const atHealthy = fake.counts();
    const statesPages = Object.entries(atHealthy).filter(([k]) => k.startsWith('GET /actions/workflows ')).reduce((n, [, c]) => n + c, 0);

    ctx.log(`all healthy: settling ${settleMs / 1000} s, then ${quietMs / 1000} s quiet and ${activeMs / 1000} s with a new run every ${newRunEveryMs / 1000} s`);
    await sleep(settleMs);
    const c0 = fake.counts();
    const t0 = now();
    await sleep(quietMs);
    const c1 = fake.counts();
    const t1 = now();
    const added = [];
    while (now() - t1 < activeMs) {
      const file = primaries[Math.floor(r() * primaries.length)];
      added.push(fake.addRun(file, { event: 'schedule', conclusion: 'success' }).id);
      await sleep(Math.min(newRunEveryMs, activeMs - (now() - t1)));
    }
    const c2 = fake.counts();
    const t2 = now();
    const last = await managerReport(project, 30_000);
    await manager.stop();

    // The start-up from an empty state: no variable may be written before the first round.
    await project.write('redundancy.config.yaml', source);
    await rm(project.path('.redundancy'), { recursive: true, force: true });
    ctx.log(`start-up from an empty state for ${startupWindowMs / 1000} s`);
    const c3 = fake.counts();
    const writesBefore = fake.writeTimes().length;
    const variablesBefore = fake.variables.size;
    const s0 = now();
    const startedAtMs = Date.now();
    const defaults = startManager(project, env);
    await sleep(startupWindowMs);
    const c4 = fake.counts();
    const writeTimes = fake.writeTimes().slice(writesBefore);
    const s1 = now();
    const statusDuringStartup = await managerReport(project, 2_000);
    const variablesCreated = fake.variables.size - variablesBefore;
    // Still in its start-up writes: nothing to save, no reason to wait for it.
    defaults.child.kill('SIGKILL');
    await defaults.stop();
    await pm2.kill();
    await fake.close();
    await project.remove();

    if (last?.summary.healthy !== workflows) throw new Error(`${workflows - (last?.summary.healthy ?? 0)} units were not healthy at the end of the windows`);
    const quiet = window(countsBetween(c0, c1), (t1 - t0) / 1000);
    const active = window(countsBetween(c1, c2), (t2 - t1) / 1000);
    const statesPerHour = (3_600_000 / statesEveryMs) * statesPages;
    const startup = countsBetween(c3, c4);
    const startupS = (s1 - s0) / 1000;
    const writes = writeTimes.length;
    // From the first write to the last: the manager's own start (inventory, PM2, the first GETs) is before.
    const writesPerS = writes > 1 ? (writes - 1) / ((writeTimes.at(-1) - writeTimes[0]) / 1000) : NaN;
    const gaps = writeTimes.slice(1).map((t, i) => t - writeTimes[i]);
    return {
      figures: {
        githubRequestsPerHour1000: quiet.countedPerHour,
        githubNotModifiedPerHour1000: quiet.notModifiedPerHour + statesPerHour,
      },
      details: {
        shape: {
          primaries: workflows,
          twinsInRepository: twins.length,
          workflowsListed: primaries.length + twins.length,
          runsOnFake: primaries.length + twins.length + added.length,
          pollEveryMs: loaded.sources.github.pollEveryMs,
          missedAfterMs: loaded.sources.github.missedAfterMs,
          checkIntervalMs: loaded.checkIntervalMs,
          workflowFiles: generated.counts,
        },
        setupMs: { filesAndFake: round(setupMs), managerToAllHealthy: round(managerSetupMs) },
        // Everything the manager asked before all 1,000 were healthy: the first runs page and every states page.
        untilHealthy: { requests: atHealthy, ...splitCounted(atHealthy) },
        quiet,
        withNewRuns: { newRuns: added.length, everyMs: newRunEveryMs, ...active },
        // Not in any window: listed every 10 min, one conditional request per page.
        statesListing: { everyMs: statesEveryMs, pagesPerListing: statesPages, requestsPerHour: statesPerHour, addedTo: 'githubNotModifiedPerHour1000 (304: no state changed); each page whose state changed would cost 1' },
        endOfWindows: { ...last.summary, unitsWithSamples: last.units.filter((u) => u.samples > 0).length, fakeRateRemaining: fake.rateRemaining() },
        startupWithDefaults: {
          windowS: round(startupS),
          requests: startup,
          writes,
          firstWriteAfterS: writes > 0 ? round((writeTimes[0] - startedAtMs) / 1000) : null,
          writesPerS: round(writesPerS, 2),
          writeGapMs: gaps.length > 0 ? summary(gaps, 0) : null,
          variablesCreated,
          statusAnswered: statusDuringStartup !== undefined,
          // A first start: PATCH (404) per unit, all queued before the first POST; a later start: one PATCH per unit.
        },
      },
    };
  },
};

function window(counts, seconds) {
  const { counted, notModified } = splitCounted(counts);
  const perHour = (n) => round((n * 3600) / seconds, 1);
  return {
    seconds: round(seconds),
    requests: counts,
    counted,
    notModified,
    countedPerHour: perHour(counted),
    notModifiedPerHour: perHour(notModified),
    perHourByEndpoint: Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, perHour(n)])),
  };
}
