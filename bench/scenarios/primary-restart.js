import { join } from 'node:path';
import { freePort, waitForAnswer, whoAnswers } from '../lib/http.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { ecosystemText, fixtures, makeProject, managerReport, startManager } from '../lib/project.js';
import { median, summary } from '../lib/stats.js';
import { now, sleep, waitUntil } from '../lib/time.js';

/**
 * primaryRestartMs: what the restart delay the manager gives the primaries it starts costs a primary
 * that crashes once and boots again by itself. The real manager (no error rate is above its threshold: no crash is a
 * failover) started the fixture service; SIGKILL to the new process answering. Against
 * pm2AutorestartMs, the same app started by `pm2 start`.
 */
export default {
  name: 'primary-restart',
  figures: [{ key: 'primaryRestartMs', label: 'primary started by the manager, crash → answering again (own restart)', unit: 'ms', baseline: 'pm2AutorestartMs' }],
  async run(ctx) {
    const pm2 = await isolatedPm2('primary-restart');
    const port = await freePort();
    const project = await makeProject('primary-restart', {
      'ecosystem.config.cjs': ecosystemText([{ name: 'app', script: join(fixtures, 'service.cjs'), env: { PORT: String(port) } }]),
      'redundancy.config.yaml': `policy: { errorRateThreshold: 1, holdDown: 1h }  # crashes alone never fail it over\nunits:\n  pm2:app: { probe: { http: "http://127.0.0.1:${port}/health", timeout: 1s } }\n`,
    });
    const manager = startManager(project, pm2.env);
    await waitUntil(async () => (await managerReport(project))?.summary.healthy === 1, { timeoutMs: 60_000, intervalMs: 100, what: 'the primary healthy' });
    const samples = [];
    for (let i = -1; i < ctx.trials(10, 3); i++) {
      await sleep(1_300); // past min_uptime
      const { pid } = await whoAnswers(port);
      const killedAt = now();
      process.kill(pid, 'SIGKILL');
      const answered = await waitForAnswer(port, { intervalMs: ctx.pollMs, accept: (res) => JSON.parse(res.body).pid !== pid });
      if (i >= 0) samples.push(answered - killedAt);
    }
    const report = await managerReport(project);
    await manager.stop();
    await pm2.kill();
    await project.remove();
    if (report?.units[0]?.state !== 'primary') throw new Error(`the unit failed over (${report?.units[0]?.reason}): the trial needs the primary's own restarts`);
    return { figures: { primaryRestartMs: median(samples) }, details: { ms: summary(samples) } };
  },
};
