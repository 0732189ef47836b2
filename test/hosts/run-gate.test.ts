import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { monotonicClock } from '../../src/core/clock.js';
import { writeHeartbeat } from '../../src/hosts/heartbeat.js';
import { ledgerOf } from '../helpers/cron-user.js';
import { cliPath, makeProject, type TestProject } from '../helpers/project.js';

/** `redundancy run` on a host of a cluster: only the host whose manager holds the lease runs the job, and its ledger lines carry the epoch. */
describe('run gate on several hosts', () => {
  const projects: TestProject[] = [];
  afterAll(() => Promise.all(projects.map((p) => p.remove())));

  it('skips the job on a host without the lease, runs it with the epoch on the host that holds it', async () => {
    const project = await makeProject(process.env, {
      'automation/crontab': '# redundancy: name=job\n* * * * * sh job.sh\n',
      'job.sh': 'echo ran >> runs.log\n',
      'redundancy.config.yaml': 'sources: { pm2: { live: false } }\nhttp: false\nhost: { name: a, cluster: shop, lease: { etcd: [http://127.0.0.1:1] } }\n',
    });
    projects.push(project);
    const run = () => execa('node', [cliPath, '--cwd', project.dir, 'run', 'cron:job'], { reject: false, stdin: 'ignore' });
    const skipped = await run();
    expect(skipped.exitCode).toBe(0);
    const beat = join(project.dir, '.redundancy', 'host-heartbeat.json');
    writeHeartbeat(beat, { manager: process.pid, role: 'active', epoch: 41, deadline: monotonicClock.now() - 1, apps: [] });
    await run();
    writeHeartbeat(beat, { manager: process.pid, role: 'active', epoch: 42, deadline: monotonicClock.now() + 60_000, apps: [] });
    expect((await run()).exitCode).toBe(0);
    const events = await ledgerOf(project, 'cron:job');
    expect(events.map((e) => [e.event, e.epoch, e.reason?.replace(/ \(last epoch \d+\)/, '')])).toEqual([
      ['skipped', undefined, 'this host (a) does not hold the lease: the active host runs it'],
      ['skipped', 41, 'this host (a) does not hold the lease: the active host runs it'],
      // Past the lease gate, the state file's gate as on one host (no manager wrote one here).
      ['start', 42, 'no readable state file: failing open'],
      ['end', 42, undefined],
    ]);
  });
});
