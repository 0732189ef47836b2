import { createServer } from 'node:http';
import { systemClock } from '../../dist/core/clock.js';
import { loadConfig } from '../../dist/core/config-file.js';
import { Alerts, resolveChannels } from '../../dist/daemon/alerts.js';
import { openSupervisor } from '../../dist/daemon/compose.js';
import { loadInventory } from '../../dist/daemon/inventory.js';
import { Observability } from '../../dist/daemon/observability.js';
import { silentLogger } from '../../dist/store/logger.js';
import { version } from '../../dist/version.js';
import { defer } from '../lib/cleanup.js';
import { makeProject } from '../lib/project.js';
import { median, summary } from '../lib/stats.js';
import { now, sleep, waitUntil } from '../lib/time.js';

const secret = `whsec_${Buffer.from('notify-latency-bench-secret-32b!').toString('base64')}`;

/** A 127.0.0.1 webhook receiver that stamps each request's arrival and the moment its 204 is sent. */
async function receiver() {
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { arrivedAt: now(), id: req.headers['webhook-id'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
      res.on('finish', () => {
        entry.answeredAt = now();
        seen.push(entry);
      });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = defer('notify receiver', () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { seen, port: server.address().port, close };
}

/**
 * notifyLatencyMs: from a failover decided to the webhook receiver's answer, on 127.0.0.1 with
 * `groupWait: 0` and a signed webhook channel. In process, wired as run-manager wires it: a real
 * Supervisor (openSupervisor, the real state store and report writer) whose observer feeds the
 * metrics and the real Alerts (edge memory, durable outbox, Notifier, webhook channel), so the
 * path is the manager's own: transition → state.json saved (fsync) → effects → report → edges →
 * outbox entry written (fsync, rename, directory fsync) → POST → 204. The units are script units
 * (no PM2): their failover effects are in memory, so the figure is the notification's cost, not a
 * twin's start (twinFailoverMs is that); on a PM2 unit the report, and so the notification, comes
 * once the twin is started. Each trial fails one unit over by hand (the transition an automatic
 * failover takes) and times observer.transition (the decision) to the receiver's `finish` of its
 * answer to that unit's `failover`; one warm-up, then the median. Same process, one clock.
 * Measured on 2 cores shared with other work (load 8-16): medians 6-11 ms, of which ~2-7 ms to the
 * report (state.json fsync) and ~4 ms to the request (outbox fsyncs); at load 30, 45-90 ms. The
 * goal, 100 ms, is what a user would not notice beside a pager's own seconds, with the fsyncs'
 * room on a busy disk; a grouping wait or a polling delay slipped into the path would break it.
 */
export default {
  name: 'notify-latency',
  figures: [{ key: 'notifyLatencyMs', label: 'failover decided → webhook receiver answered (127.0.0.1)', unit: 'ms', goal: { max: 100 } }],
  async run(ctx) {
    const trials = ctx.trials(15, 5) + 1; // one warm-up
    const hook = await receiver();
    const scripts = Object.fromEntries(Array.from({ length: trials }, (_, i) => [`automation/scripts/s${i}.mjs`, "console.log('s');\n"]));
    const project = await makeProject('notify', {
      ...scripts,
      'redundancy.config.yaml': [
        // No rounds while it is measured: the manual failovers are the only transitions.
        'checkInterval: 1h',
        'http: false',
        'sources: { pm2: { live: false } }',
        'notify:',
        '  groupWait: 0s',
        `  channels: [{ type: webhook, url: "http://127.0.0.1:${hook.port}/hook", secret: "env:RBENCH_WEBHOOK_SECRET" }]`,
        '',
      ].join('\n'),
    });
    process.env.RBENCH_WEBHOOK_SECRET = secret;
    const config = await loadConfig({ cwd: project.dir });
    const units = await loadInventory(config);
    if (units.length !== trials || units.some((u) => u.kind !== 'script')) throw new Error(`expected ${trials} script units, got ${units.map((u) => u.id).join(', ')}`);
    const logger = silentLogger();
    const startedAt = Date.now();
    const manager = { pid: process.pid, version, startedAt: new Date(startedAt).toISOString() };
    const observability = new Observability(config, manager, logger);
    const alerts = new Alerts(config, resolveChannels(config), { clock: systemClock, logger, metrics: observability.metrics, manager });
    const decided = new Map();
    const reported = new Map();
    const supervisor = openSupervisor({
      manager,
      config,
      units,
      logger,
      clock: systemClock,
      startedAt,
      observer: observability.observer({
        transition: (id, _from, to) => {
          if (to.state.kind === 'failing-over' && !decided.has(id)) decided.set(id, now());
        },
        report: (report) => {
          for (const u of report.units) if (u.state !== 'primary' && !reported.has(u.id)) reported.set(u.id, now());
          alerts.report(report);
        },
      }),
    });
    const stop = defer('notify supervisor', async () => {
      await supervisor.drain();
      await alerts.close();
    });
    await supervisor.init();
    await alerts.start();
    await waitUntil(() => hook.seen.some((r) => r.body.type === 'manager-start'), { timeoutMs: 10_000, intervalMs: 5, what: 'manager-start delivered' });

    const results = [];
    for (let i = 0; i < trials; i++) {
      const id = `script:s${i}`;
      await sleep(100); // the previous trial's edge memory write and report settle
      await supervisor.manual(id, 'failover');
      const answer = await waitUntil(() => hook.seen.find((r) => r.body.type === 'failover' && r.body.unit === id), { timeoutMs: 10_000, intervalMs: 1, what: `the failover of ${id} answered` });
      const at = decided.get(id);
      results.push({ ms: answer.answeredAt - at, reportMs: reported.get(id) - at, arrivedMs: answer.arrivedAt - at });
    }
    await stop();
    await hook.close();
    await project.remove();
    delete process.env.RBENCH_WEBHOOK_SECRET;
    const measured = results.slice(1);
    const failovers = hook.seen.filter((r) => r.body.type === 'failover');
    if (new Set(failovers.map((r) => r.id)).size !== trials) throw new Error(`expected ${trials} failover deliveries, got ${failovers.length}`);
    return {
      figures: { notifyLatencyMs: median(measured.map((t) => t.ms)) },
      details: {
        ms: summary(measured.map((t) => t.ms), 2),
        // Decision → the report that carries it reaches Alerts (state.json saved, effects run).
        decisionToReportMs: summary(measured.map((t) => t.reportMs), 2),
        // Decision → the request's body at the receiver (outbox write, POST).
        decisionToRequestMs: summary(measured.map((t) => t.arrivedMs), 2),
        deliveries: hook.seen.length,
      },
    };
  },
};
