import { join } from 'node:path';
import { failoverBreakdown, failoverTrial } from '../lib/failover-trial.js';
import { freePorts } from '../lib/http.js';
import { readManagerLog } from '../lib/manager-log.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { ecosystemText, fixtures, makeProject, managerReport, startManager } from '../lib/project.js';
import { median, summary } from '../lib/stats.js';
import { sleep, waitUntil } from '../lib/time.js';

/** What the manager runs with; the README quotes it. */
/** Until the manager reports `count` healthy primaries, each with its twin registered stopped (cold) or parked (warm). */
export function waitForUnitsReady(project, count, mode, timeoutMs) {
  const cold = mode === 'cold';
  return waitUntil(
    async () => {
      const report = await managerReport(project);
      return report?.summary.healthy === count && report.units.every((u) => u.twin.status === (cold ? 'stopped' : 'warm'));
    },
    { timeoutMs, intervalMs: 250, what: `${count} healthy primaries with their twins ${cold ? 'registered stopped' : 'parked'}` },
  );
}

export const failoverConfig = (units, mode = 'cold') =>
  [
    `twin: { mode: ${mode} }`,
    'policy:',
    '  window: 1       # the first crash is the exit that triggers failover, whatever came before; with the',
    '  minSamples: 1   # defaults (10 / 5) the trigger is a later crash of the loop, which is policy, not cost',
    '  holdDown: 1h    # no failback trial while the benchmark looks',
    'sources: { pm2: { live: false } }',
    'units:',
    ...units.map((u) => `  pm2:${u.name}: { probe: { http: "http://127.0.0.1:${u.port}/health", timeout: 1s } }`),
    '',
  ].join('\n');

/**
 * twinFailoverMs: the real manager (`start --foreground`) with one unit per trial, each primary a
 * fixture service on its own port. A trial makes the primary unable to boot (DIE_AT_BOOT_FILE),
 * SIGKILLs it, and times the kill to the twin (REDUNDANCY_ROLE=backup) answering on the shared
 * port. In between: the bus exit event, the decision saved to disk, the primary stopped (PM2 is
 * already restarting it), the cold twin started through PM2 and booted.
 */
/** The same trial for a cold twin (started through PM2) or a warm one (parked, activated by a signal). */
export function failoverScenario(mode) {
  const cold = mode === 'cold';
  return {
  name: cold ? 'twin-failover' : 'warm-twin-failover',
  figures: [
    cold
      ? {
          key: 'twinFailoverMs',
          label: 'cold twin failover, primary exit → twin answering',
          unit: 'ms',
          baseline: 'pm2AutorestartMs',
          goal: { ratioTo: 'pm2AutorestartMs', max: 1.1 },
        }
      : {
          key: 'warmTwinFailoverMs',
          label: 'warm twin failover, primary exit → twin answering',
          unit: 'ms',
          baseline: 'spawnFloorMs',
          goal: { ratioTo: 'spawnFloorMs', max: 0.2 },
        },
  ],
  async run(ctx) {
    const count = ctx.trials(10, 3) + 1; // one warm-up
    const pm2 = await isolatedPm2('failover');
    const ports = await freePorts(count);
    const units = ports.map((port, i) => ({ name: `fo${i}`, port }));
    const project = await makeProject('failover');
    await project.write(
      'ecosystem.config.cjs',
      ecosystemText(
        units.map((u) => ({
          name: u.name,
          script: join(fixtures, 'service.cjs'),
          env: { PORT: String(u.port), DIE_AT_BOOT_FILE: project.path(`die-${u.name}`) },
        })),
      ),
    );
    await project.write('redundancy.config.yaml', failoverConfig(units, mode));

    const manager = startManager(project, pm2.env);
    await waitForUnitsReady(project, count, mode, 60_000);

    const trials = [];
    for (let i = 0; i < count; i++) {
      await sleep(500); // let the previous failover's follow-up (PM2 list, report) finish
      trials.push(await failoverTrial(project, units[i], ctx.pollMs));
    }
    const measured = trials.slice(1); // the first one is a warm-up
    const samples = measured.map((t) => t.ms);

    const report = await managerReport(project);
    const onTwin = report?.units.filter((u) => u.active === 'twin').length;
    await manager.stop(); // SIGTERM: the manager flushes its log
    const log = await readManagerLog(project.path('logs/redundancy.log'));
    await pm2.kill();
    await project.remove();
    return {
      figures: { [cold ? 'twinFailoverMs' : 'warmTwinFailoverMs']: median(samples) },
      details: {
        ms: summary(samples),
        unitsOnTwinAfter: onTwin,
        // From the manager's log (1 ms clock), ms after the kill: decision logged, primary stopped, twin started.
        ...failoverBreakdown(log, measured),
        config: failoverConfig([{ name: '<unit>', port: '<port>' }], mode),
      },
    };
  },
  };
}

export default failoverScenario('cold');
