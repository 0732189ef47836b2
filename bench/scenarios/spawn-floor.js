import { join } from 'node:path';
import { freePort, waitForAnswer } from '../lib/http.js';
import { spawnOwned } from '../lib/proc.js';
import { fixtures } from '../lib/project.js';
import { median, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';

/** spawnFloorMs: `node service.cjs` spawned by hand, to its first HTTP answer. The physical floor. */
export default {
  name: 'spawn-floor',
  figures: [{ key: 'spawnFloorMs', label: 'bare `node app`, spawn → answering', unit: 'ms' }],
  async run(ctx) {
    const samples = [];
    const trials = ctx.trials(15, 5);
    // One warm-up start (disk cache, code cache) that is not counted.
    for (let i = -1; i < trials; i++) {
      const port = await freePort();
      const started = now();
      const { stop } = spawnOwned(process.execPath, [join(fixtures, 'service.cjs')], {
        env: { ...process.env, PORT: String(port) },
        label: 'spawn-floor app',
      });
      const answered = await waitForAnswer(port, { intervalMs: ctx.pollMs });
      if (i >= 0) samples.push(answered - started);
      await stop();
    }
    return { figures: { spawnFloorMs: median(samples) }, details: { ms: summary(samples) } };
  },
};
