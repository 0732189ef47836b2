import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReport, UnitReport } from '../src/core/report-types.js';
import { checkListenConfig, isLoopback, startHttpListener, type HttpListener } from '../src/http/http-listener.js';
import { failoverReason } from '../src/http/failover-reason.js';
import { ManagerMetrics } from '../src/http/metrics.js';
import { reportOf, unitLine } from './helpers/reports.js';
import { transpileSources } from './helpers/transpile.js';

const logger = { info() {}, warn() {} };
const open: HttpListener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

const unit = unitLine;
const report = reportOf;

async function listen(opts: { report?: () => HealthReport; metrics?: ManagerMetrics; token?: string; port?: number } = {}): Promise<{ listener: HttpListener; port: number }> {
  const listener = await startHttpListener({ host: '127.0.0.1', port: opts.port ?? 0, report: opts.report ?? (() => report([])), metrics: opts.metrics ?? new ManagerMetrics(), logger, ...(opts.token ? { token: opts.token } : {}) });
  open.push(listener);
  return { listener, port: Number(listener.address.split(':').pop()) };
}

function http(port: number, path: string, { method = 'GET', headers = {} as Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

interface Sample { name: string; labels: Record<string, string>; value: number }
/** The text format, strictly enough for these checks: HELP and TYPE before a family's samples, once each. */
function parseExposition(text: string): { types: Map<string, string>; help: Set<string>; samples: Sample[]; family: (s: Sample) => string } {
  const types = new Map<string, string>();
  const help = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) /.exec(line))) {
      expect(help.has(m[1]!), `HELP ${m[1]} twice`).toBe(false);
      help.add(m[1]!);
    } else if ((m = /^# TYPE (\S+) (\w+)$/.exec(line))) {
      expect(types.has(m[1]!), `TYPE ${m[1]} twice`).toBe(false);
      types.set(m[1]!, m[2]!);
    } else if (line !== '') {
      m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      expect(m, `sample line: ${line}`).not.toBeNull();
      const labels = Object.fromEntries([...(m![2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
      samples.push({ name: m![1]!, labels, value: Number(m![3]) });
    }
  }
  const family = (s: Sample) => (types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count)$/, ''));
  return { types, help, samples, family };
}

describe('GET /health', () => {
  it('answers the report with 200 while no unit is critical, 503 otherwise', async () => {
    let current = report([unit('pm2:api')]);
    const { port } = await listen({ report: () => current });
    const ok = await http(port, '/health');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(ok.body)).toEqual(current);
    current = report([unit('pm2:api', { state: 'backup', active: 'none', health: 'unhealthy' })], 1);
    const bad = await http(port, '/health');
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.body).summary.critical).toBe(1);
    expect((await http(port, '/health', { method: 'HEAD' })).body).toBe('');
  });
});

describe('GET /metrics', () => {
  it('exposes every family with HELP and TYPE, one state per unit, _total counters', async () => {
    const metrics = new ManagerMetrics({ version: '9.9.9' });
    metrics.update(report([unit('pm2:api'), unit('cron:backup', { state: 'backup', active: 'twin', errorRate: 0.9 }), unit('github:nightly.yml', { state: 'probing', active: 'none' })]));
    metrics.countFailover('cron:backup', 'error rate 0.90 > 0.80 (exit 1)');
    metrics.countFailback('cron:backup', 'failed');
    metrics.countDrill('pm2:api', 'ok');
    metrics.setNotificationStats({ webhook: { sent: 2, failed: 1, dead: 0 } });
    metrics.setNotificationsPending(1);
    const { port } = await listen({ metrics });
    const res = await http(port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(metrics.contentType);
    const { types, help, samples, family } = parseExposition(res.body);
    for (const s of samples) {
      expect(types.has(family(s)), `TYPE of ${s.name}`).toBe(true);
      expect(help.has(family(s)), `HELP of ${s.name}`).toBe(true);
    }
    for (const [name, type] of types) if (name.startsWith('redundancy_') && type === 'counter') expect(name).toMatch(/_total$/);
    expect(types.get('process_cpu_seconds_total')).toBe('counter');

    const of = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(of('redundancy_build_info')).toEqual([{ name: 'redundancy_build_info', labels: { version: '9.9.9' }, value: 1 }]);
    for (const [id, state, side] of [['pm2:api', 'primary', 'primary'], ['cron:backup', 'backup', 'twin'], ['github:nightly.yml', 'probing', 'none']] as const) {
      const states = of('redundancy_unit_state', { unit: id });
      expect(states).toHaveLength(5);
      expect(states.filter((s) => s.value === 1).map((s) => s.labels.state)).toEqual([state]);
      expect(states.every((s) => s.labels.kind === id.split(':')[0])).toBe(true);
      const sides = of('redundancy_unit_active', { unit: id });
      expect(sides.map((s) => s.labels.side).sort()).toEqual(['none', 'primary', 'twin']);
      expect(sides.filter((s) => s.value === 1).map((s) => s.labels.side)).toEqual([side]);
    }
    expect(of('redundancy_unit_error_ratio', { unit: 'cron:backup' })[0]?.value).toBe(0.9);
    expect(of('redundancy_unit_paused', { unit: 'pm2:api' })[0]?.value).toBe(0);
    expect(of('redundancy_failovers_total', { unit: 'cron:backup', reason: 'error-rate' })[0]?.value).toBe(1);
    expect(of('redundancy_failovers_total', { unit: 'pm2:api' }).map((s) => [s.labels.reason, s.value])).toEqual([['error-rate', 0], ['dead', 0], ['manual', 0], ['other', 0]]);
    expect(of('redundancy_failbacks_total', { unit: 'cron:backup', result: 'failed' })[0]?.value).toBe(1);
    expect(of('redundancy_drills_total').map((s) => [s.labels.unit, s.labels.result, s.value])).toEqual([['pm2:api', 'ok', 1]]);
    expect(of('redundancy_notifications_total', { channel: 'webhook', result: 'sent' })[0]?.value).toBe(2);
    expect(of('redundancy_notifications_pending')[0]?.value).toBe(1);
    expect(of('redundancy_config_last_reload_successful')[0]?.value).toBe(1);
    expect(of('redundancy_leader')).toEqual([]);
  });

  it('drops the series of units gone from the report and follows changes', async () => {
    const metrics = new ManagerMetrics();
    const api = unit('pm2:api');
    metrics.update(report([api, unit('pm2:old')]));
    metrics.countFailover('pm2:old', 'manual failover');
    const standby = { ...unit('pm2:web'), active: 'standby', paused: true } as unknown as UnitReport;
    metrics.update(report([api, standby]));
    const text = await metrics.metrics();
    expect(text).not.toContain('pm2:old');
    expect(text).toContain('redundancy_unit_active{unit="pm2:web",side="standby"} 1');
    expect(text).toContain('redundancy_unit_paused{unit="pm2:web"} 1');
    expect(text).not.toContain('unit="pm2:api",side="standby"');
    // A new object for a unit is a change, even when the old one was reused for rounds.
    metrics.update(report([{ ...api, state: 'failing-over', active: 'none' }]));
    const after = await metrics.metrics();
    expect(after).toContain('redundancy_unit_state{unit="pm2:api",kind="pm2",state="failing-over"} 1');
    expect(after).toContain('redundancy_unit_state{unit="pm2:api",kind="pm2",state="primary"} 0');
    expect(after).not.toContain('pm2:web');
  });

  it('counts notifications by the difference of the running tallies, and sets the leader and reload gauges', async () => {
    let now = 1_000_000;
    const metrics = new ManagerMetrics({ now: () => now });
    metrics.setNotificationStats({ slack: { sent: 3, failed: 0, dead: 1 } });
    metrics.setNotificationStats({ slack: { sent: 5, failed: 2, dead: 1 } });
    metrics.setNotificationStats({ slack: { sent: 1, failed: 0, dead: 0 } }); // the source restarted
    now = 2_000_000;
    metrics.configReloaded(false);
    metrics.setLeader('host-a', true);
    const text = await metrics.metrics();
    expect(text).toContain('redundancy_notifications_total{channel="slack",result="sent"} 6');
    expect(text).toContain('redundancy_notifications_total{channel="slack",result="failed"} 2');
    expect(text).toContain('redundancy_notifications_total{channel="slack",result="dead"} 1');
    expect(text).toContain('redundancy_config_last_reload_successful 0');
    expect(text).toContain('redundancy_config_last_reload_success_timestamp_seconds 1000\n');
    expect(text).toContain('redundancy_leader{host="host-a"} 1');
  });

  it('maps failover reasons to a fixed set', () => {
    expect(failoverReason('error rate 0.90 > 0.80 (HTTP 500)')).toBe('error-rate');
    expect(failoverReason('errored in PM2 after 16 restarts')).toBe('dead');
    expect(failoverReason('PM2 gave up restarting (restart overlimit)')).toBe('dead');
    expect(failoverReason('manual failover')).toBe('manual');
    expect(failoverReason('failback trial failed: exit code 1')).toBe('other');
    expect(failoverReason('dead')).toBe('dead');
    expect(failoverReason('something new')).toBe('other');
  });
});

describe('the listener', () => {
  it('requires the bearer token when one is set', async () => {
    const { port } = await listen({ token: 's3cret-token' });
    const none = await http(port, '/health');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await http(port, '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await http(port, '/metrics', { headers: { authorization: 's3cret-token' } })).status).toBe(401);
    expect((await http(port, '/metrics', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await http(port, '/health', { headers: { authorization: 'bearer s3cret-token' } })).status).toBe(200);
  });

  it('is read-only (405) and answers 404 elsewhere', async () => {
    const { port } = await listen();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await http(port, '/health', { method });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect((await http(port, '/nope')).status).toBe(404);
  });

  it('rejects with EADDRINUSE naming the address when the port is taken', async () => {
    const { port } = await listen();
    const second = listen({ port });
    await expect(second).rejects.toThrow(`http.listen 127.0.0.1:${port}: the address is in use (EADDRINUSE)`);
  });

  it('checks the listen address: a token is needed off loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '']) expect(isLoopback(host)).toBe(false);
    expect(checkListenConfig({ host: '0.0.0.0', port: 9797 })).toBe('http.listen 0.0.0.0:9797 is not on loopback: set http.token (env:NAME)');
    expect(checkListenConfig({ host: '0.0.0.0', port: 9797, token: 't' })).toBeUndefined();
    expect(checkListenConfig({ host: '127.0.0.1', port: 9797 })).toBeUndefined();
  });

  it('leaves no handle after close(): a process that used it exits by itself', async () => {
    const build = await transpileSources(['http/http-listener.ts', 'http/listen-check.ts', 'http/metrics.ts', 'http/unit-series.ts', 'http/failover-reason.ts', 'http/dashboard-page.ts', 'core/errors.ts'], 'http');
    // src/version.ts reads ../package.json, which the temp build has not: a stand-in.
    await writeFile(join(build, 'version.js'), "export const version = '0.0.0-test';\n");
    const script = `
      import { request, Agent } from 'node:http';
      const { startHttpListener } = await import(process.argv[1] + '/http/http-listener.js');
      const { ManagerMetrics } = await import(process.argv[1] + '/http/metrics.js');
      const report = { summary: { critical: 0 }, units: [] };
      const l = await startHttpListener({ host: '127.0.0.1', port: 0, report: () => report, metrics: new ManagerMetrics(), logger: { info() {}, warn() {} } });
      const agent = new Agent({ keepAlive: true });
      const get = (path) => new Promise((ok, fail) => request('http://' + l.address + path, { agent }, (res) => { res.resume(); res.on('end', ok); }).on('error', fail).end());
      await get('/metrics');
      await get('/health');
      await l.close();
      console.log('closed ' + Date.now());`;
    const started = Date.now();
    const child = await execa(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(build).href], { timeout: 20_000, reject: false });
    expect(child.exitCode, child.stderr).toBe(0);
    const closedAt = Number(/closed (\d+)/.exec(child.stdout)?.[1]);
    expect(closedAt).toBeGreaterThan(started);
    // Well below the 5 s keep-alive timeout: nothing waited for the idle socket.
    expect(Date.now() - closedAt).toBeLessThan(2_500);
  });
});
