import { describe, expect, it } from 'vitest';
import { planTwin, planTwins, twinName } from './twin-plan.js';
import type { Pm2AppSpec, Pm2Unit } from '../../core/types.js';

function unit(app: Partial<Pm2AppSpec> & { name: string }): Pm2Unit {
  const spec: Pm2AppSpec = { script: '/srv/app/api.js', args: [], env: {}, options: {}, ...app };
  return { id: `pm2:${app.name}`, kind: 'pm2', name: app.name, source: { file: '/srv/app/ecosystem.config.cjs' }, app: spec };
}

describe('planTwin', () => {
  it('copies the work and strengthens the restart policy', () => {
    const plan = planTwin(
      unit({
        name: 'api',
        args: ['--port', '3000'],
        cwd: '/srv/app',
        interpreter: 'node',
        env: { PORT: '3000', REDUNDANCY_ROLE: 'primary' },
        options: { node_args: ['--max-old-space-size=256'], instances: 1 },
        maxRestarts: 10,
        minUptimeMs: 2000,
      }),
    );
    expect(plan.unitId).toBe('pm2:api');
    expect(plan.primary).toBe('api');
    expect(plan.twin).toEqual({
      name: 'api-backup',
      script: '/srv/app/api.js',
      args: ['--port', '3000'],
      cwd: '/srv/app',
      interpreter: 'node',
      env: { PORT: '3000', REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: 'api' },
      options: { node_args: ['--max-old-space-size=256'], instances: 1 },
      maxRestarts: 15,
      minUptimeMs: 2000,
      expBackoffRestartDelayMs: 100,
      autorestart: true,
    });
    expect(plan.notes).toContain('max_restarts 10 -> 15 (1.5x the primary\'s)');
  });

  it("uses PM2's default of 16 restarts when the primary sets none", () => {
    const plan = planTwin(unit({ name: 'api' }));
    expect(plan.twin.maxRestarts).toBe(24);
    expect(plan.notes[0]).toBe("max_restarts 16 -> 24 (1.5x the primary's, PM2 default)");
  });

  it("keeps the primary's backoff base and never goes below one restart", () => {
    const plan = planTwin(unit({ name: 'api', maxRestarts: 0, expBackoffRestartDelayMs: 250 }));
    expect(plan.twin.maxRestarts).toBe(1);
    expect(plan.twin.expBackoffRestartDelayMs).toBe(250);
    expect(plan.notes.some((n) => n.startsWith('exp_backoff_restart_delay'))).toBe(false);
  });

  it('drops cron_restart and restart_delay, turns watch off and autorestart on, with notes', () => {
    const plan = planTwin(
      unit({ name: 'sync', cronRestart: '*/5 * * * *', restartDelayMs: 2000, autorestart: false, options: { watch: ['src'] } }),
    );
    expect(plan.twin.cronRestart).toBeUndefined();
    expect(plan.twin.restartDelayMs).toBeUndefined();
    expect(plan.twin.autorestart).toBe(true);
    expect(plan.twin.options.watch).toBe(false);
    expect(plan.notes).toEqual(
      expect.arrayContaining([
        'restart_delay 2s dropped: PM2 ignores the exponential backoff when it is set',
        'cron_restart "*/5 * * * *" dropped: PM2 would start the stopped twin on that schedule',
        'watch turned off: file changes must not start the stopped twin',
        'autorestart turned on: the twin is the last line and must come back',
        'env REDUNDANCY_ROLE=backup, REDUNDANCY_PRIMARY=sync',
      ]),
    );
  });

  it('does not share arrays or maps with the primary', () => {
    const primary = unit({ name: 'api', args: ['a'], env: { A: '1' }, options: { x: 1 } });
    const plan = planTwin(primary);
    plan.twin.args.push('b');
    plan.twin.env.B = '2';
    plan.twin.options.y = 2;
    expect(primary.app).toMatchObject({ args: ['a'], env: { A: '1' }, options: { x: 1 } });
  });

  it('maps a list of units', () => {
    expect(planTwins([unit({ name: 'a' }), unit({ name: 'b' })]).map((p) => p.twin.name)).toEqual(['a-backup', 'b-backup']);
    expect(twinName('x')).toBe('x-backup');
  });
});
