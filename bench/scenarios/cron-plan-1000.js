import { join } from 'node:path';
import { loadConfig } from '../../dist/core/config-file.js';
import { planCronTwins } from '../../dist/daemon/compose.js';
import { loadInventory } from '../../dist/daemon/inventory.js';
import { variedCrontab } from '../lib/crontab.js';
import { run } from '../lib/proc.js';
import { cliPath, makeProject } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';

const lines = 1000;

/**
 * cronPlan1000Ms: in this process, `loadInventory` of a project whose `automation/crontab` holds
 * 1,000 varied lines (env lines between them, nicknames, ranges, lists, steps, names, `%` stdin
 * parts, name hints, program names shared by many lines so most names get a hash suffix), read
 * from disk, plus `planCronTwins` (each line's schedule thinned to the throttle); median of warm
 * runs. The first (cold) run and the CLI `redundancy --json twins` (a fresh Node) are in the details.
 */
export default {
  name: 'cron-plan-1000',
  figures: [{ key: 'cronPlan1000Ms', label: 'inventory + twin plan of 1,000 crontab lines', unit: 'ms', goal: { max: 1000 } }],
  async run(ctx) {
    const crontab = variedCrontab(lines);
    const project = await makeProject('cronplan', { 'automation/crontab': crontab.text });
    const loaded = await loadConfig({ cwd: project.dir });
    // No PM2 daemon is asked (there is none for this project): files only.
    const config = { ...loaded, sources: { ...loaded.sources, pm2: { ...loaded.sources.pm2, live: false } } };
    const samples = [];
    const inventorySamples = [];
    // CPU time of this process over each sample: with other work on the machine, wall clock says less.
    const cpuSamples = [];
    let coldMs;
    let plans = [];
    let units = [];
    for (let i = -1; i < ctx.trials(15, 5); i++) {
      const started = now();
      const cpu = process.cpuUsage();
      units = await loadInventory(config);
      const inventoried = now();
      plans = planCronTwins(config, units);
      const ms = now() - started;
      const used = process.cpuUsage(cpu);
      if (i === -1) coldMs = ms;
      else {
        samples.push(ms);
        cpuSamples.push((used.user + used.system) / 1000);
        inventorySamples.push(inventoried - started);
      }
    }
    if (plans.length !== lines) throw new Error(`planned ${plans.length} cron twins, expected ${lines}`);
    const names = units.map((u) => u.name);
    if (new Set(names).size !== lines) throw new Error('unit names are not unique');

    // No daemon in this PM2_HOME: the CLI reads the files only (and never looks at ~/.pm2).
    const env = { ...process.env, PM2_HOME: join(project.dir, 'no-pm2') };
    const cliSamples = [];
    let cliTwins;
    for (let i = 0; i < ctx.trials(3, 1); i++) {
      const cli = await run(process.execPath, [cliPath, '--cwd', project.dir, '--json', 'twins'], { env, timeoutMs: 60_000 });
      if (cli.code !== 0) throw new Error(`twins --json exited ${cli.code}: ${cli.stderr.slice(-2000)}`);
      cliTwins = JSON.parse(cli.stdout).filter((p) => p.kind === 'cron').length;
      cliSamples.push(cli.ms);
    }
    if (cliTwins !== lines) throw new Error(`twins --json listed ${cliTwins} cron twins, expected ${lines}`);
    await project.remove();
    return {
      figures: { cronPlan1000Ms: median(samples) },
      details: {
        crontab: { ...crontab.counts, bytes: Buffer.byteLength(crontab.text) },
        units: units.length,
        hashSuffixed: names.filter((n) => /-[0-9a-f]{6}(-\d+)?$/.test(n)).length,
        // Identical lines (same schedule and command): the hashed name again, numbered.
        numbered: names.filter((n) => /-[0-9a-f]{6}-\d+$/.test(n)).length,
        ms: summary(samples),
        cpuMs: summary(cpuSamples),
        inventoryMs: summary(inventorySamples),
        planMs: round(median(samples) - median(inventorySamples), 2),
        coldMs: round(coldMs),
        cliTwinsMs: summary(cliSamples),
        cliTwins,
      },
    };
  },
};
