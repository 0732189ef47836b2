import { rssMb, spawnOwned } from '../lib/proc.js';
import { median, summary } from '../lib/stats.js';
import { sleep } from '../lib/time.js';

/** nodeIdleRssMb: a bare idle `node` process, the baseline for the manager's memory. */
export default {
  name: 'node-idle',
  figures: [{ key: 'nodeIdleRssMb', label: 'bare idle node, RSS', unit: 'MB' }],
  async run(ctx) {
    const samples = [];
    for (let i = 0; i < ctx.trials(5, 2); i++) {
      const { child, stop } = spawnOwned(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { label: 'idle node' });
      await sleep(1_000); // past start-up allocation
      samples.push(rssMb(child.pid));
      await stop();
    }
    return { figures: { nodeIdleRssMb: median(samples) }, details: { rssMb: summary(samples) } };
  },
};
