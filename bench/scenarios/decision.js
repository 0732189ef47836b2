import { join } from 'node:path';
import { failOver } from '../lib/decision-core.js';
import { freePorts } from '../lib/http.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { run } from '../lib/proc.js';
import { fixtures, makeProject } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';

/**
 * decisionMs, end to end inside a real Supervisor over a real PM2 (a child process with its own
 * PM2_HOME): from the bus `exit` event that is the tipping sample (the 5th crash, default policy)
 * reaching the supervisor, to the failover's first effect (`stop` of the primary), which runs only
 * once the failing-over state is durable (state.json written, fsync, rename). That is the moment
 * the decision exists for users: it survives a kill. The pure `transition()` call and the state
 * save are timed apart in the details.
 */
export default {
  name: 'decision',
  figures: [{ key: 'decisionMs', label: 'tipping sample → failover decided and durable', unit: 'ms', goal: { max: 10 } }],
  async run(ctx) {
    const trials = ctx.trials(10, 3);
    const pm2 = await isolatedPm2('decision');
    const project = await makeProject('decision');
    const ports = await freePorts(trials + 1);
    const input = { dir: project.dir, trials: trials + 1, ports, service: join(fixtures, 'service.cjs') };
    const result = await run(process.execPath, [join(import.meta.dirname, 'decision-worker.js')], {
      env: { ...pm2.env, RBENCH_INPUT: JSON.stringify(input) },
      timeoutMs: 180_000,
    });
    if (result.code !== 0) throw new Error(`decision worker failed (${result.code ?? result.signal}): ${result.stderr.slice(-2000)}`);
    const all = JSON.parse(result.stdout.trim().split('\n').at(-1));
    const measured = all.slice(1); // the first trial is a warm-up
    const samples = measured.map((t) => t.decisionMs);
    await pm2.kill();
    await project.remove();
    const core = await failOver();
    return {
      figures: { decisionMs: median(samples) },
      details: {
        ms: summary(samples, 2),
        exitsBeforeDecision: measured.map((t) => t.exitsBeforeDecision),
        killToDecisionMs: summary(measured.map((t) => t.killToDecisionMs)),
        transitionUs: round(core.transitionUs, 2),
        stateSaveMs: core.stateSaveMs,
      },
    };
  },
};
