import { describe, expect, it } from 'vitest';
import type { NetlifyFunctionInfo } from './netlify-function.js';
import { parseNetlifySchedule, planNetlifyTwin, renderNetlifyBackup } from './netlify-twin.js';

const fn = (over: Partial<NetlifyFunctionInfo>): NetlifyFunctionInfo => ({
  name: 'report',
  entry: '/srv/site/netlify/functions/report.mts',
  runtime: 'js',
  type: 'sync',
  paths: ['/.netlify/functions/report'],
  source: { file: '/srv/site/netlify/functions/report.mts', line: 3 },
  ...over,
});

describe('planNetlifyTwin', () => {
  it('thins a scheduled function to the throttle, in UTC, with the 30 s limit', () => {
    const plan = planNetlifyTwin('netlify:report', fn({ type: 'scheduled', schedule: '*/5 * * * *' }), 30 * 60_000);
    expect(plan.twin).toMatchObject({ name: 'report-backup', schedule: '*/30 * * * *', timeoutMs: 30_000, runner: 'schedule' });
    expect(plan.parsed).toMatchObject({ kind: 'cron', expr: '*/30 * * * *' });
  });

  it('keeps a nickname already slower than the throttle', () => {
    const plan = planNetlifyTwin('netlify:report', fn({ type: 'scheduled', schedule: '@hourly' }), 30 * 60_000);
    expect(plan.twin.schedule).toBe('0 * * * *');
    expect(plan.notes.join('; ')).toContain('kept');
  });

  it('serves sync and background functions over HTTP with their own limits', () => {
    expect(planNetlifyTwin('netlify:report', fn({}), 1).twin).toMatchObject({ schedule: null, runner: 'http', timeoutMs: 60_000 });
    const background = planNetlifyTwin('netlify:import-background', fn({ name: 'import-background', type: 'background' }), 1);
    expect(background.twin).toMatchObject({ name: 'import-background-backup', runner: 'http', timeoutMs: 900_000 });
  });

  it('names the file and line of a schedule Netlify would refuse', () => {
    expect(() => planNetlifyTwin('netlify:report', fn({ type: 'scheduled', schedule: '@reboot' }), 1)).toThrow(
      '/srv/site/netlify/functions/report.mts:3: schedule "@reboot": Netlify does not accept @reboot',
    );
    expect(parseNetlifySchedule('61 * * * *')).toMatchObject({ ok: false, reason: expect.stringContaining('column 1') });
  });
});

describe('renderNetlifyBackup', () => {
  it('records each twin with its entry relative to the project and how the runner starts it', () => {
    const plans = [planNetlifyTwin('netlify:report', fn({ paths: ['/api/report'] }), 1)];
    const text = renderNetlifyBackup(plans, { cwdRelative: (f) => f.replace('/srv/site/', ''), listen: '127.0.0.1:8888' });
    expect(JSON.parse(text)).toMatchObject({
      version: 1,
      functions: [{ unitId: 'netlify:report', twin: 'report-backup', entry: 'netlify/functions/report.mts', runner: { mode: 'http', urls: ['http://127.0.0.1:8888/api/report'] } }],
    });
  });
});
