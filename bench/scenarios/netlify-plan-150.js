import { join } from 'node:path';
import { inventoryNetlify } from '../../dist/kinds/netlify/netlify-inventory.js';
import { planNetlifyTwin } from '../../dist/kinds/netlify/netlify-twin.js';
import { makeProject } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';

const functionCount = 150;

/**
 * 150 functions in every form the inventory reads, each with in-source config: v2 `.mts` with a
 * typed `config` (path, method), v2 `.ts` scheduled by `config.schedule`, v1 `.js` with
 * `exports.handler = schedule(...)` required from @netlify/functions, v2 folder functions
 * (`name/index.mjs`) in the background with `config.name`, v1 `.cjs` with `module.exports = { handler }`
 * and a `config` Netlify ignores; a netlify.toml with a glob schedule and a manifest beside them.
 */
function variedFunctions(count) {
  const files = {};
  const counts = { v2Path: 0, v2Scheduled: 0, v1Scheduled: 0, background: 0, v1: 0 };
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(3, '0');
    const body = `  // function ${n}: some work before answering\n  const started = Date.now();\n  const items = Array.from({ length: ${(i % 7) + 1} }, (_, k) => k * ${i});\n`;
    switch (i % 5) {
      case 0:
        counts.v2Path++;
        files[`netlify/functions/api-${n}.mts`] =
          `import type { Config, Context } from "@netlify/functions";\n\nexport default async (req: Request, context: Context) => {\n${body}  return new Response(JSON.stringify({ items, ms: Date.now() - started }), { headers: { "content-type": "application/json" } });\n};\n\nexport const config: Config = {\n  path: ["/api/${n}", "/api/${n}/:id"],\n  method: ["GET", "POST"],\n  excludedPath: "/api/${n}/private",\n};\n`;
        break;
      case 1:
        counts.v2Scheduled++;
        files[`netlify/functions/cron-${n}.ts`] =
          `import type { Config } from "@netlify/functions";\n\nexport default async (req: Request) => {\n  const { next_run } = await req.json();\n${body}  console.log("next run", next_run, items.length);\n  return new Response("done");\n};\n\nexport const config: Config = {\n  schedule: "${i % 60} ${i % 24} * * *",\n};\n`;
        break;
      case 2:
        counts.v1Scheduled++;
        files[`netlify/functions/legacy-${n}.js`] =
          `const { schedule } = require("@netlify/functions");\n\nconst handler = async (event, context) => {\n${body}  return { statusCode: 200, body: String(items.length) };\n};\n\nexports.handler = schedule("*/${(i % 4) + 2}0 * * * *", handler);\n`;
        break;
      case 3:
        counts.background++;
        files[`netlify/functions/job-${n}-background/index.mjs`] =
          `export default async (req) => {\n${body}  await new Promise((resolve) => setTimeout(resolve, 1));\n  return new Response(null, { status: 202 });\n};\n\nexport const config = {\n  name: "Job ${n}",\n  background: true,\n  rateLimit: { windowLimit: 60, windowSize: 60, aggregateBy: ["ip", "domain"] },\n};\n`;
        break;
      default:
        counts.v1++;
        files[`netlify/functions/report-${n}.cjs`] =
          `async function handler(event) {\n${body}  return { statusCode: 200, body: JSON.stringify(items) };\n}\n\nconst config = { path: "/ignored" };\n\nmodule.exports = { handler, config };\n`;
    }
  }
  files['netlify.toml'] = '[build]\n  publish = "public"\n\n[functions]\n  node_bundler = "esbuild"\n\n[functions."report-*"]\n  schedule = "@hourly"\n';
  return { files, counts };
}

/**
 * netlifyPlan150Ms: in this process, `inventoryNetlify` of a project whose `netlify/functions` holds
 * 150 functions with in-source config (read from disk, every entry parsed), then the twin plan of
 * each (schedules thinned to the default 30 min); median of warm runs.
 */
export default {
  name: 'netlify-plan-150',
  figures: [{ key: 'netlifyPlan150Ms', label: 'inventory + twin plan of 150 functions with in-source config', unit: 'ms', goal: { max: 500 } }],
  async run(ctx) {
    const generated = variedFunctions(functionCount);
    const project = await makeProject('nfplan', generated.files);
    const samples = [];
    const inventorySamples = [];
    const cpuSamples = [];
    let coldMs;
    let inventory;
    for (let i = -1; i < ctx.trials(10, 4); i++) {
      const started = now();
      const cpu = process.cpuUsage();
      inventory = await inventoryNetlify({ cwd: project.dir, toml: join(project.dir, 'netlify.toml'), tomlGiven: false });
      const inventoried = now();
      const plans = inventory.functions.filter((f) => f.whyNot === undefined).map((f) => planNetlifyTwin(`netlify:${f.name}`, f, 30 * 60_000));
      const ms = now() - started;
      if (plans.length !== functionCount) throw new Error(`${plans.length} twin plans, expected ${functionCount}`);
      const used = process.cpuUsage(cpu);
      if (i === -1) coldMs = ms;
      else {
        samples.push(ms);
        inventorySamples.push(inventoried - started);
        cpuSamples.push((used.user + used.system) / 1000);
      }
    }
    const usable = inventory.functions.filter((f) => f.whyNot === undefined);
    if (inventory.functions.length !== functionCount) throw new Error(`inventory has ${inventory.functions.length} functions, expected ${functionCount} (notes: ${inventory.notes.slice(0, 3).join('; ')})`);
    if (usable.length !== functionCount) throw new Error(`${functionCount - usable.length} functions not usable: ${inventory.functions.find((f) => f.whyNot)?.whyNot}`);
    const types = {};
    for (const f of inventory.functions) types[f.type] = (types[f.type] ?? 0) + 1;
    await project.remove();
    return {
      figures: { netlifyPlan150Ms: median(samples) },
      details: {
        functions: generated.counts,
        types,
        inventoryNotes: inventory.notes.length,
        ms: summary(samples),
        cpuMs: summary(cpuSamples),
        inventoryMs: summary(inventorySamples),
        perFunctionMs: round(median(samples) / functionCount, 3),
        coldMs: round(coldMs),
      },
    };
  },
};
