import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunner } from '../../dist/kinds/netlify/local-runner/local-runner.js';
import { Ledger } from '../../dist/store/ledger.js';
import { freePort } from '../lib/http.js';
import { median, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';

const fn = [
  'import type { Config, Context } from "@netlify/functions";',
  'export default async (req: Request, context: Context) => new Response(JSON.stringify({ ok: true, role: process.env.REDUNDANCY_ROLE }), { headers: { "content-type": "application/json" } });',
  'export const config: Config = { path: "/api/status" };',
  '',
].join('\n');

/** Polls the local listener until the function answers 200. */
async function firstAnswer(url) {
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res) await res.arrayBuffer();
    if (res?.status === 200) return now();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * localRunnerColdMs: what start-twin does once the failover is decided for a sync Netlify function
 * (bundle the TypeScript entry with esbuild, start its process), to the first answer through the
 * local listener; no bundle cached. Against spawnFloorMs, a bare `node app` to its first answer.
 */
export default {
  name: 'local-runner-cold',
  figures: [
    { key: 'localRunnerColdMs', label: 'netlify failover → sync function answering via the local runner (cold bundle)', unit: 'ms', baseline: 'spawnFloorMs', goal: { ratioTo: 'spawnFloorMs', max: 1.5 } },
  ],
  async run(ctx) {
    const dir = await mkdtemp(join(tmpdir(), 'redundancy-bench-runner-'));
    await mkdir(join(dir, 'netlify/functions'), { recursive: true });
    const entry = join(dir, 'netlify/functions/status.mts');
    await writeFile(entry, fn);
    const info = { name: 'status', entry, runtime: 'js', type: 'sync', paths: ['/api/status'], apiVersion: 2, source: { file: entry, line: 3 } };
    const cold = [];
    const warm = [];
    try {
      for (let i = -1; i < ctx.trials(10, 4); i++) {
        const port = await freePort();
        const runner = new LocalRunner({ ledger: new Ledger({ dir: join(dir, 'ledger') }), bundleDir: join(dir, `bundles-${i}`), host: 'bench' });
        await runner.listen(`127.0.0.1:${port}`);
        const started = now();
        await runner.enable({ unitId: 'netlify:status', info, timeoutMs: 60_000 });
        const answered = await firstAnswer(`http://127.0.0.1:${port}/api/status`);
        if (i >= 0) cold.push(answered - started);
        // The same again with the bundle cached: a second failover of the unit.
        await runner.disable('netlify:status');
        const again = now();
        await runner.enable({ unitId: 'netlify:status', info, timeoutMs: 60_000 });
        const answeredAgain = await firstAnswer(`http://127.0.0.1:${port}/api/status`);
        if (i >= 0) warm.push(answeredAgain - again);
        await runner.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return { figures: { localRunnerColdMs: median(cold) }, details: { coldMs: summary(cold), bundleCachedMs: summary(warm) } };
  },
};
