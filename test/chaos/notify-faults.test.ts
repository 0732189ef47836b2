import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/daemon/fault-injection.js';
import { verifyWebhook } from '../../src/notify/index.js';
import { HttpReceiver } from '../helpers/receivers.js';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ManagerProcess } from './helpers/chaos-project.js';

/**
 * Notifications under faults, from the real manager to a real webhook receiver on 127.0.0.1:
 * a receiver down through a burst of failovers, a manager SIGKILLed again and again, a receiver
 * that hangs, drops connections, answers garbage or 500. What must hold: one notification per
 * edge. A webhook-id may arrive twice only in the documented crash-after-accept window (the
 * receiver took it, the manager died before removing the outbox file); an edge never gets two ids.
 */

const chaos = useChaosEnv();
const secret = `whsec_${Buffer.from('chaos-notify-secret-of-32-bytes!').toString('base64')}`;
const managerEnv = { CHAOS_WEBHOOK_SECRET: secret };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Body {
  type: string;
  unit: string | null;
  state: string | null;
  active: string | null;
  reason: string;
  at: string;
}

interface Delivery {
  id: string;
  body: Body;
  raw: string;
  /** When the receiver had the request (ms). */
  at: number;
}

/** Requests the receiver answered 2xx, in arrival order. */
function deliveries(receiver: HttpReceiver): Delivery[] {
  return receiver.accepted().map((r) => ({ id: String(r.headers['webhook-id']), body: JSON.parse(r.body) as Body, raw: r.body, at: r.at }));
}

/** One delivery per webhook-id (the first): what a de-duplicating receiver keeps. */
function distinct(list: Delivery[]): Delivery[] {
  const seen = new Set<string>();
  return list.filter((d) => !seen.has(d.id) && Boolean(seen.add(d.id)));
}

/**
 * The project's config: the chaos helper's, plus a signed webhook channel that sends at once
 * (groupWait 0), never repeats (so every delivery is an edge), and retries fast.
 */
async function configure(project: ChaosProject, receiver: HttpReceiver, policyKeys: Record<string, string | number> = {}): Promise<void> {
  const policy = { window: 5, minSamples: 3, failbackAfter: 2, holdDown: '1s', holdDownMax: '1s', startGrace: '3s', ...policyKeys };
  await project.project.write(
    'redundancy.config.yaml',
    [
      'checkInterval: 250ms',
      'http: false',
      'notify:',
      '  groupWait: 0s',
      '  repeatInterval: 0s',
      '  backoff: { base: 100ms, cap: 500ms }',
      `  channels: [{ type: webhook, name: hook, url: "${receiver.url()}", secret: "env:CHAOS_WEBHOOK_SECRET", timeout: 1500ms }]`,
      'policy:',
      ...Object.entries(policy).map(([k, v]) => `  ${k}: ${v}`),
      'sources: { pm2: { live: false } }',
      'units:',
      ...project.units.flatMap((u) => [`  ${u.id}:`, `    probe: { http: "http://127.0.0.1:${u.port}/health", timeout: 1s }`]),
      '',
    ].join('\n'),
  );
}

/** Outbox entries not yet delivered. */
async function pending(project: ChaosProject): Promise<Array<{ id: string; events: Body[]; attempts: number }>> {
  const dir = join(project.dir, '.redundancy/outbox');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^msg_.*\.json$/.test(f));
  const entries = await Promise.all(names.map((f) => readFile(join(dir, f), 'utf8').then((t) => JSON.parse(t) as { id: string; events: Body[]; attempts: number }).catch(() => undefined)));
  return entries.filter((e) => e !== undefined);
}

async function deadLines(project: ChaosProject): Promise<string[]> {
  return (await readFile(join(project.dir, '.redundancy/outbox/dead.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** Every unit saved in `kind` with `role` answering on its port. */
async function allIn(project: ChaosProject, kind: string, role: string, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const saved = await project.readState().catch(() => undefined);
      const answers = await Promise.all(project.units.map((u) => project.answer(u)));
      return project.units.every((u, i) => saved?.units[u.id]?.state.kind === kind && answers[i]?.role === role);
    },
    { timeoutMs, intervalMs: 100, what },
  );
}

const edgeLetter: Record<string, string> = { failover: 'F', 'failback-failed': 'X', failback: 'B', critical: 'C', recovered: 'R' };

/**
 * What one notification per edge means for a unit that started on its primary with 0 failovers
 * and ended settled with `failovers` (the saved counter), repeats off: its deliveries, one per
 * webhook-id, in creation order, read F (failover), X (failback-failed), B (failback) as (F X* B)*
 * (then F X* when it ended on its twin) with F + X = the counter; critical and recovered come in
 * pairs, ending recovered (a side is up). A second id for an edge shows as FF, BB or CC, a lost
 * one as a short count.
 */
function edgeProblems(list: Delivery[], units: Array<{ id: string; failovers: number; state: string }>): string[] {
  const problems: string[] = [];
  for (const unit of units) {
    const mine = distinct(list)
      .filter((d) => d.body.unit === unit.id && d.body.type in edgeLetter)
      .sort((a, b) => a.body.at.localeCompare(b.body.at) || a.id.localeCompare(b.id));
    const word = mine.map((d) => edgeLetter[d.body.type]).join('');
    const sides = word.replace(/[CR]/g, '');
    const twinEdges = (sides.match(/[FX]/g) ?? []).length;
    if (unit.state !== 'primary' && unit.state !== 'backup') problems.push(`${unit.id}: ended in ${unit.state}, not settled`);
    const shape = unit.state === 'primary' ? /^(FX*B)*$/ : /^(FX*B)*FX*$/;
    if (!shape.test(sides) || twinEdges !== unit.failovers) {
      const trail = mine.map((d) => `${d.body.type}@${d.body.at.slice(11, 23)}(${d.body.state},${d.id.slice(-6)})`).join(' ');
      problems.push(`${unit.id}: ${unit.failovers} failovers saved, delivered ${sides || 'nothing'}: ${trail}`);
    }
    if (!/^(CR)*$/.test(word.replace(/[FXB]/g, ''))) problems.push(`${unit.id}: critical/recovered out of pairs: ${word}`);
  }
  return problems;
}

/**
 * A webhook-id accepted more than once is the crash-after-accept window only if a manager died
 * between the two acceptances (the one that sent it first never removed the entry), with the same body.
 */
function idProblems(list: Delivery[], deaths: number[]): string[] {
  const byId = new Map<string, Delivery[]>();
  for (const d of list) byId.set(d.id, [...(byId.get(d.id) ?? []), d]);
  const problems: string[] = [];
  for (const [id, copies] of byId) {
    for (let i = 1; i < copies.length; i++) {
      const [a, b] = [copies[i - 1]!, copies[i]!];
      // A re-found edge carries what the manager saw then (state, time): the same notification all the same.
      if (a.body.type !== b.body.type || a.body.unit !== b.body.unit) problems.push(`${id}: two different notifications under one id`);
      // 50 ms: the receiver stamps the request before it answers; the kill is stamped before the signal.
      if (!deaths.some((t) => t >= a.at - 50 && t <= b.at)) problems.push(`${id} (${a.body.type} ${a.body.unit ?? ''}) accepted twice with no manager death in between`);
    }
  }
  return problems;
}

/** The body of the ten-kills test (see there). */
async function killedAgainAndAgain(seed: number, receiver: HttpReceiver): Promise<void> {
  // Two streams: the kills replay from the seed whatever the units' driver drew meanwhile.
  const random = mulberry32(seed);
  const unitRandom = mulberry32(seed ^ 0x5bd1e995);
  const names = Array.from({ length: 5 }, (_, i) => `nk${i}p${process.pid}`);
  const project = await chaos.env.project({ names });
  await configure(project, receiver);
  const failing = new Map(project.units.map((u) => [u.name, false]));
  let driving = true;
  // The units' side of the story: a primary fails a moment after it is back, and heals once its unit is off it.
  const driver = (async () => {
    while (driving) {
      const saved = await project.readState().catch(() => undefined);
      for (const u of project.units) {
        const kind = saved?.units[u.id]?.state.kind;
        if (kind === 'primary' && !failing.get(u.name) && unitRandom() < 0.15) {
          failing.set(u.name, true);
          await project.setFailing(u.name, true);
        } else if ((kind === 'failing-over' || kind === 'backup') && failing.get(u.name)) {
          failing.set(u.name, false);
          await project.setFailing(u.name, false);
        }
      }
      await sleep(100);
    }
  })();
  const deaths: number[] = [];
  const kills: string[] = [];
  try {
    for (let kill = 0; kill < 10; kill++) {
      const fault = random() < 0.3 ? `kill-random:${Math.floor(random() * 2 ** 31)}:6` : undefined;
      const downFor = random() < 0.35;
      if (downFor) await receiver.down();
      else await receiver.up();
      const manager: ManagerProcess = project.startManager({ ...managerEnv, ...(fault && { REDUNDANCY_FAULT: fault }) });
      const lifeMs = 1_000 + Math.floor(random() * 4_500);
      let killedAt: number | undefined;
      const timer = setTimeout(() => {
        killedAt = Date.now();
        manager.kill('SIGKILL');
      }, lifeMs);
      const result = await manager;
      clearTimeout(timer);
      deaths.push(killedAt ?? Date.now());
      expect(result.signal, String(result.stderr).slice(-1500)).toBe('SIGKILL');
      const left = (await project.readState())?.units ?? {};
      const caught = Object.values(left).filter((u) => !['primary', 'backup'].includes(u.state.kind)).map((u) => `${u.id.slice(4, 7)}:${u.state.kind}`);
      kills.push(`${killedAt === undefined ? 'fault' : `${lifeMs}ms`}${downFor ? ' (receiver down)' : ''}${caught.length > 0 ? ` mid ${caught.join(',')}` : ''}`);
    }
  } finally {
    driving = false;
    await driver;
  }
  // The last manager lives: the receiver is up, every primary heals and every unit comes home.
  await receiver.up();
  await project.setFailing('all', false);
  for (const u of project.units) await project.setFailing(u.name, false);
  const last = project.startManager(managerEnv);
  await allIn(project, 'primary', 'primary', 'every unit back on its primary', 90_000);
  await waitFor(async () => (await pending(project)).length === 0, { timeoutMs: 30_000, what: 'the outbox emptied' });
  await sleep(1_000);
  await project.stopManager(last);

  const saved = (await project.readState())!;
  const units = project.units.map((u) => ({ id: u.id, failovers: saved.units[u.id]!.failovers, state: saved.units[u.id]!.state.kind }));
  const all = deliveries(receiver);
  const twice = all.length - distinct(all).length;
  console.info(
    [
      `notify kills (seed ${seed}, replay: CHAOS_SEED=${seed}): ${kills.join('; ')}`,
      `failovers saved: ${units.map((u) => `${u.id.slice(4, 7)}=${u.failovers}`).join(' ')}; ${all.length} deliveries accepted, ${twice} of them a webhook-id again`,
    ].join('\n'),
  );
  expect(units.reduce((n, u) => n + u.failovers, 0), 'the units failed over at all').toBeGreaterThanOrEqual(5);
  expect(idProblems(all, deaths), `seed ${seed}`).toEqual([]);
  expect(edgeProblems(all, units), `seed ${seed}`).toEqual([]);
  expect(await deadLines(project)).toEqual([]);
}

describe('notifications under faults', () => {
  it('a receiver down through a burst of failovers gets each unit\'s failover once when it is back', async () => {
    const receiver = await HttpReceiver.start({ up: false });
    try {
      const names = Array.from({ length: 5 }, (_, i) => `na${i}p${process.pid}`);
      const project = await chaos.env.project({ names });
      await configure(project, receiver, { holdDown: '1h', holdDownMax: '1h' });
      const manager = project.startManager(managerEnv);
      await allIn(project, 'primary', 'primary', '5 primaries up');
      await project.setFailing('all', true);
      await allIn(project, 'backup', 'backup', '5 failovers');
      await waitFor(async () => (await pending(project)).filter((e) => e.events[0]?.type === 'failover').length === 5, { timeoutMs: 10_000, what: '5 failovers in the outbox' });
      // Down a while longer: the head of the outbox is retried against a closed port.
      await sleep(1_500);
      expect(receiver.requests).toEqual([]);
      await receiver.up();
      await waitFor(() => new Set(deliveries(receiver).filter((d) => d.body.type === 'failover').map((d) => d.body.unit)).size === 5, { timeoutMs: 20_000, what: 'the 5 failovers delivered' });
      // Time for a duplicate to show, if there were one.
      await sleep(1_500);
      const all = deliveries(receiver);
      const failovers = all.filter((d) => d.body.type === 'failover');
      expect(failovers.map((d) => d.body.unit).sort()).toEqual(project.units.map((u) => u.id).sort());
      expect(new Set(failovers.map((d) => d.id)).size).toBe(5);
      // No manager died: no webhook-id twice, whatever else the burst said (critical, recovered).
      expect(all.length).toBe(distinct(all).length);
      expect(edgeProblems(all, project.units.map((u) => ({ id: u.id, failovers: 1, state: 'backup' })))).toEqual([]);
      for (const r of receiver.accepted()) expect(verifyWebhook(secret, r.headers as Record<string, string>, r.body)).toBe(true);
      expect(await pending(project)).toEqual([]);
      await project.stopManager(manager);
      expect(await deadLines(project)).toEqual([]);
    } finally {
      await receiver.down();
    }
  });

  /**
   * Ten managers, each SIGKILLed at a random moment of its life (a third of them by a seeded
   * kill-random fault around a PM2 call instead), the receiver down for some; five units fail
   * over and back all along. Then one manager lives until every unit is home and the outbox is
   * empty, and the deliveries are judged against the saved failover counters (edgeProblems,
   * idProblems): a manager killed with a unit mid-transition must not make the next one say again
   * what was said (FF, CC in the trail).
   */
  it('a manager SIGKILLed 10 times while units fail over and back: every edge delivered, none under two ids', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? randomInt(1, 2 ** 31));
    const receiver = await HttpReceiver.start({ up: true });
    try {
      await killedAgainAndAgain(seed, receiver);
    } finally {
      await receiver.down();
    }
  });

  /**
   * Was a bug (src/daemon/run-manager.ts supervise(): `supervisor.init()` runs before `alerts.start()`;
   * src/daemon/alerts.ts Alerts.report()/start()): init() finishes a transition left half done
   * (here B's failover, killed after stop-primary) and writes a report, which Alerts.report()
   * judges at once, before start() has read .redundancy/notify-edges.json: every unit is judged
   * with no memory, so A, on its twin and long notified, gets a second failover under a new
   * webhook-id (a unit finishing its failback there loses the failback; a failing primary gets a
   * second critical). Then start() replaces the memory with the file, which that judgement may not
   * have rewritten yet: B's failover can come twice too.; now the edge memory is read before init().
   */
  it('a manager restarted with a unit mid-failover does not say the failover again', async () => {
    const receiver = await HttpReceiver.start();
    try {
      const names = [`nia${process.pid}`, `nib${process.pid}`];
      const project = await chaos.env.project({ names });
      await configure(project, receiver, { holdDown: '1h', holdDownMax: '1h' });
      const [a, b] = project.units as [ChaosProject['units'][number], ChaosProject['units'][number]];
      const doomed = project.startManager({ ...managerEnv, REDUNDANCY_FAULT: `kill-after:stop-primary:${b.id}` });
      await allIn(project, 'primary', 'primary', 'both primaries up');
      await project.setFailing(a.name, true);
      await waitFor(async () => (await project.readState())?.units[a.id]?.state.kind === 'backup' && deliveries(receiver).some((d) => d.body.type === 'failover'), { timeoutMs: 30_000, what: "A on its twin, its failover delivered" });
      await waitFor(async () => (await pending(project)).length === 0, { timeoutMs: 10_000, what: 'the outbox emptied' });
      await project.setFailing(b.name, true);
      expect((await doomed).signal).toBe('SIGKILL');
      expect((await project.readState())?.units[b.id]?.state.kind).toBe('failing-over');
      const heir = project.startManager(managerEnv);
      await allIn(project, 'backup', 'backup', 'both units on their twins');
      await waitFor(async () => deliveries(receiver).some((d) => d.body.type === 'failover' && d.body.unit === b.id) && (await pending(project)).length === 0, { timeoutMs: 20_000, what: "B's failover delivered" });
      await sleep(1_000);
      await project.stopManager(heir);
      const failoversOf = (id: string) => deliveries(receiver).filter((d) => d.body.type === 'failover' && d.body.unit === id).map((d) => d.id);
      // Each failed over once: one webhook-id each.
      expect({ a: failoversOf(a.id).length, b: failoversOf(b.id).length }).toEqual({ a: 1, b: 1 });
    } finally {
      await receiver.down();
    }
  });

  /**
   * Was a bug (src/daemon/alerts.ts, Alerts.report: notifier.notify() then writeFileAtomic(edgeFile)):
   * a manager killed after the outbox entry is durable and before notify-edges.json is written
   * finds the edge again at its restart and queues it under a second webhook-id, beside the entry
   * it left: the receiver cannot tell them apart. The kill is staged: the edge memory is put back
   * as it was before the edge, which is what a kill between the two writes leaves. Now the
   * webhook-id of an edge is derived from the edge, so a re-found edge is the same delivery.
   */
  it('a kill between the outbox write and the edge memory write sends the failover under the same id', async () => {
    const receiver = await HttpReceiver.start({ up: false });
    try {
      const project = await chaos.env.project({ names: [`nw${process.pid}`] });
      await configure(project, receiver, { holdDown: '1h', holdDownMax: '1h' });
      const [a] = project.units as [ChaosProject['units'][number]];
      const edgeFile = join(project.dir, '.redundancy/notify-edges.json');
      const manager = project.startManager(managerEnv);
      await allIn(project, 'primary', 'primary', 'the primary up');
      // The edge memory as it last was with the unit on its primary: what a kill in the window leaves.
      let before: string | undefined;
      const keep = async () => {
        const text = await readFile(edgeFile, 'utf8').catch(() => undefined);
        if (text && (JSON.parse(text) as { units: Record<string, { state: string }> }).units[a.id]?.state === 'primary') before = text;
      };
      await keep();
      await project.setFailing(a.name, true);
      await waitFor(async () => {
        await keep();
        return (await pending(project)).some((e) => e.events[0]?.type === 'failover') && (await project.readState())?.units[a.id]?.state.kind === 'backup';
      }, { timeoutMs: 30_000, intervalMs: 10, what: 'the failover in the outbox' });
      manager.kill('SIGKILL');
      await manager;
      expect(before).toBeDefined();
      await project.project.write('.redundancy/notify-edges.json', before!);
      await receiver.up();
      const heir = project.startManager(managerEnv);
      await waitFor(async () => deliveries(receiver).filter((d) => d.body.type === 'manager-start').length === 2 && (await pending(project)).length === 0, { timeoutMs: 20_000, what: 'both starts delivered, the outbox emptied' });
      await sleep(1_000);
      await project.stopManager(heir);
      const failovers = deliveries(receiver).filter((d) => d.body.type === 'failover');
      expect(failovers.map((d) => d.body.unit)).toEqual([a.id]);
      expect(new Set(failovers.map((d) => d.id)).size).toBe(1);
    } finally {
      await receiver.down();
    }
  });

  it('a receiver that hangs, drops the connection, answers garbage or 500 holds up no failover, and gets everything later', async () => {
    const receiver = await HttpReceiver.start();
    try {
      const names = [`nca${process.pid}`, `ncb${process.pid}`];
      const project = await chaos.env.project({ names });
      await configure(project, receiver, { holdDown: '1h', holdDownMax: '1h' });
      const [a, b] = project.units as [ChaosProject['units'][number], ChaosProject['units'][number]];
      const manager = project.startManager(managerEnv);
      await allIn(project, 'primary', 'primary', 'both primaries up');
      await waitFor(() => deliveries(receiver).some((d) => d.body.type === 'manager-start'), { timeoutMs: 10_000, what: 'manager-start delivered' });
      // The startGrace of a primary just started: a failure then is start-up, not counted.
      await sleep(3_000);
      /** From the primary made to fail to the unit saved on its twin. */
      const failover = async (unit: typeof a): Promise<{ ms: number; at: number }> => {
        const started = Date.now();
        await project.setFailing(unit.name, true);
        await waitFor(async () => (await project.readState())?.units[unit.id]?.state.kind === 'backup', { timeoutMs: 30_000, intervalMs: 25, what: `${unit.name} on its twin` });
        return { ms: Date.now() - started, at: Date.now() };
      };
      // The next seven requests: two hang past the 1.5 s timeout, then a dropped connection, bytes
      // that are not HTTP, 500s and a 503 with retry-after. A's failover notification meets them all.
      receiver.answer('hang', 'hang', 'close', 'garbage', { status: 500 }, { status: 500, body: 'busy' }, { status: 503, headers: { 'retry-after': '1' } });
      const usual = await failover(a);
      await waitFor(() => receiver.requests.length >= 2, { timeoutMs: 10_000, what: "the first attempt at A's failover" });
      const during = await failover(b);
      await waitFor(() => new Set(deliveries(receiver).filter((d) => d.body.type === 'failover').map((d) => d.body.unit)).size === 2, { timeoutMs: 30_000, what: 'both failovers delivered' });
      await sleep(1_000);
      const failovers = deliveries(receiver).filter((d) => d.body.type === 'failover');
      const refused = receiver.requests.filter((r) => typeof r.answer === 'string' || r.answer.status >= 300);
      // The head of the outbox (A's first notification) met every fault, under one webhook-id, and was then taken once.
      const headId = String(refused[0]!.headers['webhook-id']);
      const head = deliveries(receiver).filter((d) => d.id === headId);
      console.info(`failover with a healthy receiver ${usual.ms}ms, during its faults ${during.ms}ms; A's ${head[0]?.body.type} accepted ${head[0]!.at - during.at}ms after B was on its twin`);
      expect(during.ms, `B failed over in ${during.ms}ms, A in ${usual.ms}ms`).toBeLessThanOrEqual(usual.ms * 1.5 + 2_000);
      expect(refused.map((r) => (typeof r.answer === 'string' ? r.answer : r.answer.status))).toEqual(['hang', 'hang', 'close', 'garbage', 500, 500, 503]);
      expect(new Set(refused.map((r) => r.headers['webhook-id']))).toEqual(new Set([headId]));
      expect(head).toHaveLength(1);
      expect(head[0]!.body.unit).toBe(a.id);
      // B failed over while A's notification was still refused.
      expect(head[0]!.at).toBeGreaterThan(during.at);
      // retry-after was honoured: a second at least before the next attempt.
      const after503 = receiver.requests.indexOf(refused[6]!);
      expect(receiver.requests[after503 + 1]!.at - refused[6]!.at).toBeGreaterThanOrEqual(950);
      expect(failovers.map((d) => d.body.unit).sort()).toEqual([a.id, b.id].sort());
      expect(new Set(failovers.map((d) => d.id)).size).toBe(2);
      const all = deliveries(receiver);
      expect(all.length).toBe(distinct(all).length);
      await project.stopManager(manager);
      expect(await pending(project)).toEqual([]);
      expect(await deadLines(project)).toEqual([]);
    } finally {
      await receiver.down();
    }
  });
});
