import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HealthReport } from '../src/core/report-types.js';
import { ManagerMetrics } from '../src/http/metrics.js';

// promtool comes from Debian's `prometheus` package (.ci/run installs it): a missing one fails here.
const dir = resolve(import.meta.dirname, '../automation/monitoring');

async function promtool(...args: string[]): Promise<void> {
  const result = await execa('promtool', args, { cwd: dir, reject: false, all: true });
  expect(result.exitCode, `promtool ${args.join(' ')}:\n${result.all}`).toBe(0);
}

async function alertExprs(): Promise<string[]> {
  const rules = parse(await readFile(join(dir, 'alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** Every `expr` of the dashboard's panels, and the variables' queries. */
async function dashboardExprs(): Promise<string[]> {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'expr' || key === 'definition') && typeof value === 'string') found.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(await readFile(join(dir, 'grafana-dashboard.json'), 'utf8')));
  return found;
}

/** What the manager exposes, with every family holding at least one series. */
async function exposed(): Promise<{ names: Set<string>; labels: Map<string, Map<string, Set<string>>> }> {
  const metrics = new ManagerMetrics();
  const at = new Date(0).toISOString();
  const unit = { id: 'pm2:api', kind: 'pm2', name: 'api', state: 'backup', active: 'twin', health: 'unhealthy', errorRate: 0.9, samples: 10,
    twin: { name: 'api-backup', status: 'online' }, primary: { name: 'api', status: 'errored' }, lastCheckAt: at, lastTransitionAt: at, failovers: 1, reason: 'error rate 0.90 > 0.80' } as const;
  metrics.update({ generatedAt: at, manager: { pid: 1, version: '0.0.0', startedAt: at }, summary: { units: 1, healthy: 0, onTwin: 1, critical: 0 }, units: [unit] } satisfies HealthReport);
  metrics.countFailover('pm2:api', unit.reason);
  metrics.countFailback('pm2:api', 'failed');
  metrics.countDrill('pm2:api', 'ok');
  metrics.setNotificationStats({ webhook: { sent: 1, failed: 1, dead: 1 } });
  metrics.setLeader('host-a', true);
  const names = new Set<string>();
  const labels = new Map<string, Map<string, Set<string>>>();
  for (const line of (await metrics.metrics()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    const byLabel = labels.get(m[1]!) ?? new Map<string, Set<string>>();
    labels.set(m[1]!, byLabel);
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) byLabel.set(k!, (byLabel.get(k!) ?? new Set()).add(v!));
  }
  return { names, labels };
}

const metricName = /^(redundancy_|process_|nodejs_)\w+$|^up$/;
/** Labels Prometheus adds to every scraped series. */
const targetLabels = new Set(['job', 'instance']);

async function checkNamesExist(exprs: string[], where: string): Promise<void> {
  const { names, labels } = await exposed();
  let checked = 0;
  for (const expr of exprs) {
    const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const word of code.match(/[a-zA-Z_:][\w:]*/g) ?? []) {
      if (!metricName.test(word)) continue;
      checked++;
      if (word !== 'up') expect(names.has(word), `${where}: ${word} (in ${expr}) is not exposed`).toBe(true);
    }
    for (const [, name, matchers] of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
      if (name === 'up' || !metricName.test(name!)) continue;
      for (const [, label, op, value] of matchers!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
        if (targetLabels.has(label!)) continue;
        const values = labels.get(name!)?.get(label!);
        expect(values, `${where}: ${name} has no label ${label} (in ${expr})`).toBeDefined();
        if (op === '=' && !value!.includes('$')) expect(values!.has(value!), `${where}: ${name}{${label}="${value}"} never occurs`).toBe(true);
      }
    }
  }
  expect(checked).toBeGreaterThan(exprs.length / 2);
}

describe('automation/monitoring', () => {
  it('alerts.yml is valid and its unit tests pass', async () => {
    await promtool('check', 'rules', 'alerts.yml');
    await promtool('test', 'rules', 'alerts.test.yml');
  });

  it('the alerts use only metrics the manager exposes', async () => {
    await checkNamesExist(await alertExprs(), 'alerts.yml');
  });

  it('the dashboard uses only metrics the manager exposes, in valid PromQL', async () => {
    const exprs = await dashboardExprs();
    await checkNamesExist(exprs, 'grafana-dashboard.json');
    // promtool parses PromQL in rule files: each panel query, Grafana's variables filled in, as a recording rule.
    const queries = exprs.filter((e) => !e.startsWith('label_values('));
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: expr.replace(/\$__rate_interval/g, '5m').replace(/\$\w+/g, '.*') })) }] };
    const tmp = await mkdtemp(join(tmpdir(), 'redundancy-dashboard-'));
    try {
      await writeFile(join(tmp, 'dashboard-rules.json'), JSON.stringify(rules));
      await promtool('check', 'rules', join(tmp, 'dashboard-rules.json'));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
