import { join } from 'node:path';
import { freePort, waitForAnswer, whoAnswers } from '../lib/http.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { ecosystemText, fixtures, makeProject } from '../lib/project.js';
import { median, summary } from '../lib/stats.js';
import { now, sleep } from '../lib/time.js';

/**
 * pm2AutorestartMs: PM2's own restart of the fixture app after it dies (SIGKILL), from the kill to
 * the new process answering. PM2's default: no restart delay.
 */
export default {
  name: 'pm2-autorestart',
  figures: [{ key: 'pm2AutorestartMs', label: 'PM2 autorestart, exit → answering', unit: 'ms', baseline: 'spawnFloorMs' }],
  async run(ctx) {
    const pm2 = await isolatedPm2('autorestart');
    const port = await freePort();
    const project = await makeProject('autorestart', {
      'ecosystem.config.cjs': ecosystemText([{ name: 'bench-app', script: join(fixtures, 'service.cjs'), env: { PORT: String(port) } }]),
    });
    const started = await pm2.pm2(['start', project.path('ecosystem.config.cjs')]);
    if (started.code !== 0) throw new Error(`pm2 start failed: ${started.stderr || started.stdout}`);
    await waitForAnswer(port, { intervalMs: ctx.pollMs, timeoutMs: 15_000 });

    const samples = [];
    const trials = ctx.trials(15, 4);
    for (let i = -1; i < trials; i++) {
      // Past min_uptime (1 s): every restart is a stable one and PM2 never gives up on the app.
      await sleep(1_300);
      const { pid } = await whoAnswers(port);
      const killedAt = now();
      process.kill(pid, 'SIGKILL');
      const answered = await waitForAnswer(port, { intervalMs: ctx.pollMs, accept: (res) => JSON.parse(res.body).pid !== pid });
      if (i >= 0) samples.push(answered - killedAt); // the first restart is a warm-up
    }
    await pm2.kill();
    await project.remove();
    return { figures: { pm2AutorestartMs: median(samples) }, details: { ms: summary(samples) } };
  },
};
