import { join } from 'node:path';
import { loadConfig } from '../../dist/core/config-file.js';
import { inventoryGithub } from '../../dist/kinds/github/github-inventory.js';
import { planGithubTwins } from '../../dist/kinds/github/github-units.js';
import { run } from '../lib/proc.js';
import { cliPath, makeProject } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';
import { variedWorkflows } from '../lib/workflows.js';

const workflows = 1000;

/**
 * githubPlan1000Ms: in this process, `inventoryGithub` of a project whose `.github/workflows` holds
 * 1,000 varied workflow files (bench/lib/workflows.js: one to three crons, some with `timezone:`,
 * workflow_dispatch with typed inputs, push / pull_request / workflow_call beside them, jobs with
 * `if:` in every form, matrices, concurrency groups, steps comparing `github.event.schedule`,
 * anchors), read from disk, plus `planGithubTwins` (each twin workflow generated as text); median of
 * warm runs. The first (cold) run and the CLI `redundancy --json twins` (a fresh Node) are in the details.
 */
export default {
  name: 'github-plan-1000',
  figures: [{ key: 'githubPlan1000Ms', label: 'inventory + twin plan of 1,000 workflow files', unit: 'ms', goal: { max: 1000 } }],
  async run(ctx) {
    const generated = variedWorkflows(workflows);
    const project = await makeProject('ghplan', Object.fromEntries(generated.files.map((f) => [`.github/workflows/${f.fileName}`, f.text])));
    const loaded = await loadConfig({ cwd: project.dir });
    // No PM2 daemon is asked: files only (the github inventory never asks one).
    const config = { ...loaded, sources: { ...loaded.sources, pm2: { ...loaded.sources.pm2, live: false } } };
    const samples = [];
    const inventorySamples = [];
    const cpuSamples = [];
    let coldMs;
    let coldInventoryMs;
    let inventory;
    let plans = [];
    for (let i = -1; i < ctx.trials(10, 4); i++) {
      const started = now();
      const cpu = process.cpuUsage();
      inventory = await inventoryGithub(config);
      const inventoried = now();
      plans = planGithubTwins(config, inventory.units);
      const ms = now() - started;
      const used = process.cpuUsage(cpu);
      if (i === -1) {
        coldMs = ms;
        coldInventoryMs = inventoried - started;
      } else {
        samples.push(ms);
        cpuSamples.push((used.user + used.system) / 1000);
        inventorySamples.push(inventoried - started);
      }
    }
    const twinned = plans.filter((p) => p.twin.ok);
    if (inventory.units.length !== workflows) throw new Error(`inventory has ${inventory.units.length} github units, expected ${workflows} (notes: ${inventory.notes.slice(0, 3).join('; ')})`);
    if (twinned.length !== workflows) throw new Error(`planned ${twinned.length} twin workflows, expected ${workflows}: ${plans.find((p) => !p.twin.ok)?.twin.reason}`);

    // No daemon in this PM2_HOME: the CLI reads the files only.
    const env = { ...process.env, PM2_HOME: join(project.dir, 'no-pm2') };
    const cliSamples = [];
    let cliTwins;
    for (let i = 0; i < ctx.trials(3, 1); i++) {
      const cli = await run(process.execPath, [cliPath, '--cwd', project.dir, '--json', 'twins'], { env, timeoutMs: 120_000 });
      if (cli.code !== 0) throw new Error(`twins --json exited ${cli.code}: ${cli.stderr.slice(-2000)}`);
      cliTwins = JSON.parse(cli.stdout).filter((p) => p.kind === 'github' && p.twin !== null).length;
      cliSamples.push(cli.ms);
    }
    if (cliTwins !== workflows) throw new Error(`twins --json listed ${cliTwins} twin workflows, expected ${workflows}`);
    const bytes = generated.files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
    const twinBytes = twinned.reduce((n, p) => n + Buffer.byteLength(p.twin.text), 0);
    await project.remove();
    return {
      figures: { githubPlan1000Ms: median(samples) },
      details: {
        workflows: { ...generated.counts, bytes, meanBytes: round(bytes / workflows, 0) },
        units: inventory.units.length,
        inventoryNotes: inventory.notes.length,
        twins: twinned.length,
        twinBytes,
        twinWarnings: twinned.reduce((n, p) => n + p.twin.warnings.length, 0),
        ms: summary(samples),
        cpuMs: summary(cpuSamples),
        inventoryMs: summary(inventorySamples),
        planMs: round(median(samples) - median(inventorySamples), 2),
        perWorkflowMs: round(median(samples) / workflows, 3),
        coldMs: round(coldMs),
        coldInventoryMs: round(coldInventoryMs),
        cliTwinsMs: summary(cliSamples),
        cliTwins,
      },
    };
  },
};
