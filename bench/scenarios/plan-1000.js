import { join } from 'node:path';
import { loadConfig } from '../../dist/core/config-file.js';
import { loadInventory } from '../../dist/daemon/inventory.js';
import { planFor } from '../lib/plan.js';
import { run } from '../lib/proc.js';
import { cliPath } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { thousandProject } from '../lib/thousand.js';
import { now } from '../lib/time.js';

/**
 * plan1000Ms: in this process, `loadInventory` of a 1,000-app ecosystem file read from disk (files
 * only, no daemon) plus the twin planning; median of warm runs. The first (cold) run and the CLI
 * `redundancy --json twins` (a fresh Node: start-up, config and output included) are in the details.
 */
export default {
  name: 'plan-1000',
  figures: [{ key: 'plan1000Ms', label: 'inventory + twin plan of 1,000 units', unit: 'ms', goal: { max: 1000 } }],
  async run(ctx) {
    const { project } = await thousandProject('plan');
    const loaded = await loadConfig({ cwd: project.dir });
    const config = { ...loaded, sources: { ...loaded.sources, pm2: { ...loaded.sources.pm2, live: false } } };
    const samples = [];
    let coldMs;
    let planned = 0;
    for (let i = -1; i < ctx.trials(15, 5); i++) {
      const started = now();
      const units = await loadInventory(config);
      planned = planFor(config, units).length;
      const ms = now() - started;
      if (i === -1) coldMs = ms;
      else samples.push(ms);
    }
    if (planned !== 1000) throw new Error(`planned ${planned} twins, expected 1000`);
    // No daemon in this PM2_HOME: the CLI reads the file only (and never looks at ~/.pm2).
    const env = { ...process.env, PM2_HOME: join(project.dir, 'no-pm2') };
    const cli = await run(process.execPath, [cliPath, '--cwd', project.dir, '--json', 'twins'], { env, timeoutMs: 60_000 });
    await project.remove();
    return {
      figures: { plan1000Ms: median(samples) },
      details: { ms: summary(samples), coldMs: round(coldMs), cliTwinsMs: round(cli.ms), cliTwinsExit: cli.code },
    };
  },
};
