// npm run bench [-- --quick] [-- --only a,b] [-- --out FILE]
// Prints a table of figures against their baselines and goals, and writes bench/results.json.
import { join, resolve } from 'node:path';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.js';
import { homesMade, killHome, pidsWithHome, quietPm2Env } from './lib/pm2-home.js';
import { checkGoal, goalText, machine, table, writeJsonAtomic } from './lib/report.js';
import { round } from './lib/stats.js';
import { now } from './lib/time.js';
import { scenarios } from './scenarios/index.js';

function parseArgs(argv) {
  const opts = { quick: false, only: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--only') opts.only = argv[++i]?.split(',');
    else if (arg === '--out') opts.out = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node bench/run.js [--quick] [--only scenario,...] [--out results.json]\n');
      process.stdout.write(`scenarios: ${scenarios.map((s) => s.name).join(', ')}\n`);
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${arg}\n`);
      process.exit(64);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const selected = opts.only ? scenarios.filter((s) => opts.only.includes(s.name)) : scenarios;
if (opts.only && selected.length !== opts.only.length) {
  process.stderr.write(`bench: unknown scenario in --only (known: ${scenarios.map((s) => s.name).join(', ')})\n`);
  process.exit(64);
}
// A partial run does not overwrite the full results unless told where to write.
const out = opts.out ? resolve(opts.out) : opts.only ? undefined : join(import.meta.dirname, 'results.json');

installSignalHandlers();
const startedAt = new Date();
const loadAtStart = machine().loadAvg1m;
const runStarted = now();
const figures = {};
const details = {};
const errors = [];
for (const scenario of selected) {
  const log = (message) => process.stderr.write(`bench [${scenario.name}] ${message}\n`);
  const ctx = { quick: opts.quick, trials: (full, quick) => (opts.quick ? quick : full), pollMs: 2, log, figures };
  log('running');
  const t = now();
  try {
    const result = await scenario.run(ctx);
    Object.assign(figures, result.figures);
    details[scenario.name] = { seconds: round((now() - t) / 1000), ...result.details };
    log(`done in ${round((now() - t) / 1000)} s: ${Object.entries(result.figures).map(([k, v]) => `${k}=${round(v, 2)}`).join(' ')}`);
  } catch (error) {
    errors.push({ scenario: scenario.name, message: error?.message ?? String(error) });
    log(`FAILED: ${error?.stack ?? error}`);
  } finally {
    await cleanupAll();
  }
}

// Nothing may outlive the benchmark: any process still tied to one of its PM2 homes is killed and reported.
const leftovers = homesMade.flatMap((home) => pidsWithHome(home).map((pid) => ({ home, pid })));
for (const home of new Set(leftovers.map((l) => l.home))) await killHome(home, { ...process.env, ...quietPm2Env, PM2_HOME: home }, true);
if (leftovers.length > 0) process.stderr.write(`bench: WARNING: killed ${leftovers.length} leftover process(es): ${leftovers.map((l) => l.pid).join(' ')}\n`);

const defs = selected.flatMap((s) => s.figures);
const goals = {};
for (const def of defs.filter((d) => d.goal)) {
  const { pass, ratio, over } = checkGoal(def, figures);
  goals[def.key] = { goal: goalText(def), ...(ratio !== undefined && { ratio }), ...(over !== undefined && { over }), pass };
}
const results = {
  date: startedAt.toISOString(),
  // The 1-minute load average at the start and at the end: other work on the machine skews latencies.
  machine: { ...machine(), loadAvg1m: [loadAtStart, machine().loadAvg1m] },
  quick: opts.quick,
  durationS: round((now() - runStarted) / 1000),
  ...Object.fromEntries(defs.map((d) => [d.key, Number.isFinite(figures[d.key]) ? round(figures[d.key], 2) : null])),
  goals,
  errors,
  details,
};
const m = results.machine;
process.stdout.write(
  `\nredundancy benchmark, ${results.date.slice(0, 10)}, ${opts.quick ? 'quick' : 'full'} run in ${results.durationS} s\n` +
    `machine: ${m.cpus} x ${m.model}, ${m.memGb} GB, Node ${m.node}, ${m.os}; load average ${m.loadAvg1m.join(' → ')}\n\n` +
    `${table(defs, figures)}\n`,
);
if (Math.max(...m.loadAvg1m) > m.cpus) {
  process.stdout.write(`\nnote: the load average passed the ${m.cpus} CPUs during the run: other work skewed the latencies; run again on a quiet machine\n`);
}
if (errors.length > 0) process.stdout.write(`\nscenarios that failed: ${errors.map((e) => `${e.scenario} (${e.message})`).join('; ')}\n`);
if (out) {
  await writeJsonAtomic(out, results);
  process.stdout.write(`\nwrote ${out}\n`);
}
process.exit(errors.length > 0 ? 1 : 0);
