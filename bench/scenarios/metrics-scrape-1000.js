import { startHttpListener } from '../../dist/http/http-listener.js';
import { ManagerMetrics } from '../../dist/http/metrics.js';
import { get } from '../lib/http.js';
import { median, round, summary } from '../lib/stats.js';
import { now } from '../lib/time.js';

const units = 1000;
const kinds = ['pm2', 'cron', 'script', 'github', 'netlify'];
const states = [['primary', 'primary'], ['primary', 'primary'], ['primary', 'primary'], ['backup', 'twin'], ['probing', 'none']];

/** A report of `n` units spread over the kinds and states; `round` varies the error rates. */
function reportOf(n, round = 0) {
  const at = new Date().toISOString();
  const list = Array.from({ length: n }, (_, i) => {
    const kind = kinds[i % kinds.length];
    const [state, active] = states[i % states.length];
    return {
      id: `${kind}:unit-${i}`, kind, name: `unit-${i}`, state, active, health: 'healthy', errorRate: ((i + round) % 11) / 10, samples: 10,
      twin: { name: `unit-${i}-backup`, status: 'stopped' }, primary: { name: `unit-${i}`, status: 'online' },
      lastCheckAt: at, lastTransitionAt: null, failovers: 0, reason: 'ok', paused: i % 100 === 0,
    };
  });
  return { generatedAt: at, manager: { pid: process.pid, version: '0.0.0', startedAt: at }, summary: { units: n, healthy: n, onTwin: 0, critical: 0 }, units: list };
}

/**
 * metricsScrapeMs: GET /metrics over a real listener on 127.0.0.1 (fresh socket each time), with the
 * per-unit series of a 1,000-unit report plus prom-client's process metrics; median of warm scrapes.
 * The details hold the in-process render time (warm, and cold: right after every unit changed) and
 * update() with every unit changed or none.
 */
export default {
  name: 'metrics-scrape-1000',
  figures: [{ key: 'metricsScrapeMs', label: '/metrics scrape with 1,000 units', unit: 'ms', goal: { max: 50 } }],
  async run(ctx) {
    const metrics = new ManagerMetrics();
    let report = reportOf(units);
    const changedSamples = [];
    const coldRenderSamples = [];
    for (let i = 1; i <= ctx.trials(20, 5); i++) {
      const next = reportOf(units, i);
      const t = now();
      metrics.update(next);
      const u = now();
      await metrics.metrics();
      coldRenderSamples.push(now() - u);
      changedSamples.push(u - t);
      report = next;
    }
    const t = now();
    metrics.update({ ...report });
    const unchangedMs = now() - t;
    for (let i = 0; i < 20; i += 1) metrics.countFailover(`pm2:unit-${i * 5}`, 'error rate 0.90 > 0.80');

    const logger = { info() {}, warn() {} };
    const listener = await startHttpListener({ host: '127.0.0.1', port: 0, report: () => report, metrics, logger });
    const port = Number(listener.address.split(':').pop());
    try {
      const renderSamples = [];
      const scrapeSamples = [];
      let body = '';
      for (let i = -5; i < ctx.trials(50, 10); i++) {
        const r = now();
        await metrics.metrics();
        const s = now();
        const res = await get(port, '/metrics', 10_000);
        const e = now();
        if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
        body = res.body;
        if (i >= 0) {
          renderSamples.push(s - r);
          scrapeSamples.push(e - s);
        }
      }
      const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      const stateOnes = body.split('\n').filter((l) => l.startsWith('redundancy_unit_state{') && l.endsWith(' 1')).length;
      if (stateOnes !== units) throw new Error(`unit_state has ${stateOnes} series at 1, expected ${units}`);
      return {
        figures: { metricsScrapeMs: median(scrapeSamples) },
        details: {
          units,
          series,
          bytes: Buffer.byteLength(body),
          scrapeMs: summary(scrapeSamples, 2),
          renderMs: summary(renderSamples, 2),
          renderColdMs: summary(coldRenderSamples, 2),
          updateAllChangedMs: summary(changedSamples, 2),
          updateUnchangedMs: round(unchangedMs, 3),
        },
      };
    } finally {
      await listener.close();
    }
  },
};
