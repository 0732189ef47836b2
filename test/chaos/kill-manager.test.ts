import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseFault } from '../../src/daemon/fault-injection.js';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ChaosUnit, ManagerProcess } from './helpers/chaos-project.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * The manager SIGKILLed at random points of failover and failback. A trial is one whole cycle of
 * one unit (primary fails, failover, primary heals, failback trial, failback) under a manager that
 * dies; a second manager must finish the cycle. Most trials kill around the n-th mutating PM2 call
 * (`REDUNDANCY_FAULT=kill-random:<seed>:<calls>`, seeds spread evenly over every call, before and
 * after); every fourth kills at a seeded random time after the failover began, wherever the
 * manager is (a save, a round, between calls). Per trial: the twin booted once and the primary
 * once, never both sides up, the state file always valid with the unit in it.
 *
 * Knobs: CHAOS_TRIALS (default 120), CHAOS_LANES (units side by side, default 4), CHAOS_SEED (base
 * of the trial seeds, random by default), CHAOS_SEEDS=a,b,t:c (replay exactly these; `t:` timed).
 */

const trials = Number(process.env.CHAOS_TRIALS ?? 120);
const lanes = Number(process.env.CHAOS_LANES ?? 4);
const baseSeed = Number(process.env.CHAOS_SEED ?? randomInt(1, 2 ** 31));
const replay = process.env.CHAOS_SEEDS?.split(',').map(toTrialSeed);
/** Timed kills land this long (at most) after the failover is saved: the cycle's length on an idle machine. */
const timedWindowMs = 2_500;

interface TrialSeed {
  seed: number;
  timed: boolean;
}

function toTrialSeed(text: string): TrialSeed {
  return text.startsWith('t:') ? { seed: Number(text.slice(2)), timed: true } : { seed: Number(text), timed: false };
}

function seedLabel(t: TrialSeed): string {
  return t.timed ? `t:${t.seed}` : String(t.seed);
}

/** Seeds spread evenly over the kill points (each point about as often), still one seed a trial. */
function trialSeeds(calls: number): TrialSeed[] {
  if (replay) return replay;
  const points = Array.from({ length: calls * 2 }, (_, i) => ({ call: 1 + (i >> 1), when: i % 2 === 0 ? 'before' : 'after' }));
  let callTrials = 0;
  return Array.from({ length: trials }, (_, t) => {
    if (t % 4 === 3) return { seed: baseSeed + t, timed: true };
    const want = points[callTrials++ % points.length]!;
    for (let seed = baseSeed + t * 1_000; ; seed += 1) {
      const point = parseFault(`kill-random:${seed}:${calls}`);
      if (point && 'call' in point && point.call === want.call && point.when === want.when) return { seed, timed: false };
    }
  });
}

function timedDelay(seed: number): number {
  return (Math.imul(seed, 2654435761) >>> 0) % timedWindowMs;
}

interface Lane {
  project: ChaosProject;
  unit: ChaosUnit;
  seed: string | undefined;
  state: StateWatcher;
}

interface TrialOutcome {
  seed: string;
  /** `before stop primary` (from the dying manager's last words) or `timed`; undefined if it lived. */
  killedAt?: string;
  /** The state kind the kill left behind. */
  leftIn?: string;
  ms: number;
}

const chaos = useChaosEnv();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openLane(i: number): Promise<Lane> {
  const project = await chaos.env.project({
    names: [`k${i}p${process.pid}`],
    // No doubling across trials: every trial fails over once from a fresh start.
    policy: { holdDown: '1s', holdDownMax: '1s' },
  });
  const unit = project.units[0]!;
  const lane: Lane = { project, unit, seed: undefined, state: new StateWatcher(project.stateFile, [unit.id], () => `lane ${i} seed ${lane.seed}`) };
  lane.state.start();
  const manager = project.startManager();
  await waitFor(() => settled(lane, 0), { timeoutMs: 30_000, what: `lane ${i} set up` });
  await project.stopManager(manager);
  return lane;
}

/** On the primary after `failovers` failovers: primary online and twin stopped in PM2, and the primary answering (so booted and logged). */
async function settled(lane: Lane, failovers: number): Promise<boolean> {
  const saved = (await lane.project.readState())?.units[lane.unit.id];
  if (saved?.state.kind !== 'primary' || saved.failovers !== failovers) return false;
  const views = new Map((await chaos.env.watcher.list()).map((v) => [v.name, v.status]));
  if (views.get(lane.unit.name) !== 'online' || views.get(lane.unit.twin) !== 'stopped') return false;
  return (await lane.project.answer(lane.unit))?.role === 'primary';
}

/**
 * Follows one cycle under `manager`: heals the primary once the unit is on its twin; with
 * `killAfterMs`, SIGKILLs the manager that long after the failover is saved. Ends when the
 * manager dies, or when the cycle is complete.
 */
async function drive(lane: Lane, manager: ManagerProcess, failovers: number, killAfterMs?: number): Promise<'died' | 'settled'> {
  let died = false;
  void manager.finally(() => {
    died = true;
  });
  let killer: NodeJS.Timeout | undefined;
  let killed = false;
  const deadline = Date.now() + 45_000;
  try {
    for (;;) {
      const saved = (await lane.project.readState().catch(() => undefined))?.units[lane.unit.id];
      if (saved && saved.failovers >= failovers) {
        if (killAfterMs !== undefined) {
          killer ??= setTimeout(() => {
            killed = true;
            manager.kill('SIGKILL');
          }, killAfterMs);
        }
        if (saved.state.kind !== 'failing-over') await lane.project.setFailing(lane.unit.name, false);
      }
      if (died) return 'died';
      // A timed kill may land while the last look runs: the manager is dying, not done.
      if (await settled(lane, failovers)) return killed ? 'died' : 'settled';
      if (Date.now() > deadline) {
        const views = (await chaos.env.watcher.list()).filter((v) => v.name === lane.unit.name || v.name === lane.unit.twin);
        const seen = JSON.stringify({ saved, views: views.map((v) => [v.name, v.status, v.pid]), answer: await lane.project.answer(lane.unit) });
        throw new Error(`cycle not finished in 45s: ${seen}`);
      }
      await sleep(40);
    }
  } finally {
    clearTimeout(killer);
  }
}

/** The mutating PM2 calls of one clean cycle, as the manager makes them (`stop k0`, `start k0-backup`...). */
async function traceCycle(lane: Lane): Promise<string[]> {
  const failovers = ((await lane.project.readState())?.units[lane.unit.id]?.failovers ?? 0) + 1;
  await lane.project.setFailing(lane.unit.name, true);
  const manager = lane.project.startManager({ REDUNDANCY_FAULT: 'trace' });
  if ((await drive(lane, manager, failovers)) !== 'settled') throw new Error(`traced manager died: ${String((await manager).stderr)}`);
  await lane.project.stopManager(manager);
  const lines = String((await manager).stderr).matchAll(/redundancy fault: call \d+ \((\w+) (\S+)\)/g);
  return [...lines].map((m) => `${m[1]} ${m[2] === lane.unit.twin ? 'twin' : 'primary'}`);
}

async function trial(lane: Lane, t: TrialSeed, calls: number): Promise<TrialOutcome> {
  const started = Date.now();
  lane.seed = seedLabel(t);
  const { project, unit } = lane;
  const failovers = ((await project.readState())?.units[unit.id]?.failovers ?? 0) + 1;
  const bootsBefore = await project.boots(unit.name);
  const starts0 = { twin: chaos.env.watcher.onlines.get(unit.twin) ?? 0, primary: chaos.env.watcher.onlines.get(unit.name) ?? 0 };
  await project.setFailing(unit.name, true);
  const doomed = project.startManager(t.timed ? {} : { REDUNDANCY_FAULT: `kill-random:${t.seed}:${calls}` });
  const outcome: TrialOutcome = { seed: lane.seed, ms: 0 };
  if ((await drive(lane, doomed, failovers, t.timed ? timedDelay(t.seed) : undefined)) === 'settled') {
    await project.stopManager(doomed);
  } else {
    const result = await doomed;
    const words = /redundancy fault: SIGKILL (before|after) call \d+ \((\w+) (\S+)\)/.exec(String(result.stderr));
    if (result.signal !== 'SIGKILL' || (!t.timed && !words)) {
      throw new Error(`manager ended with ${result.exitCode ?? result.signal}: ${String(result.stderr).slice(-1500)}`);
    }
    outcome.killedAt = words ? `${words[1]} ${words[2]} ${words[3] === unit.twin ? 'twin' : 'primary'}` : 'timed';
    const problem = await lane.state.check();
    if (problem) throw new Error(`state after the kill: ${problem}`);
    outcome.leftIn = (await project.readState())?.units[unit.id]?.state.kind;
    const heir = project.startManager();
    if ((await drive(lane, heir, failovers)) !== 'settled') {
      const end = await heir;
      throw new Error(`the second manager ended with ${end.exitCode ?? end.signal}: ${String(end.stderr).slice(-1500)}`);
    }
    await project.stopManager(heir);
  }
  // PM2's `online` events (at fork) and the boot log (once the app runs) must both say: the twin
  // started once for the failover, the primary once for the failback.
  const bootsAfter = await project.boots(unit.name);
  const twinStarts = (chaos.env.watcher.onlines.get(unit.twin) ?? 0) - starts0.twin;
  const primaryStarts = (chaos.env.watcher.onlines.get(unit.name) ?? 0) - starts0.primary;
  const twinBoots = bootsAfter.backup - bootsBefore.backup;
  const primaryBoots = bootsAfter.primary - bootsBefore.primary;
  // A twin stopped by the failback trial while still booting (a slow machine, a 1 s hold-down)
  // never reaches the boot log: started once all the same.
  if (twinStarts !== 1 || primaryStarts !== 1 || twinBoots > 1 || primaryBoots !== 1) {
    throw new Error(
      `one failover and one failback should start the twin once and the primary once; ` +
        `started twin ${twinStarts}, primary ${primaryStarts} (PM2 online events); booted twin ${twinBoots}, primary ${primaryBoots} (boot log)`,
    );
  }
  outcome.ms = Date.now() - started;
  return outcome;
}

describe('the manager SIGKILLed at random points of failover and failback', () => {
  it(`${replay ? `replays ${replay.map(seedLabel).join(',')}` : `${trials} trials`}: each cycle completes, twin started once, no overlap, state always valid`, async () => {
    const started = Date.now();
    const laneCount = Math.max(1, Math.min(lanes, replay?.length ?? trials));
    const opened = await Promise.all(Array.from({ length: laneCount }, (_, i) => openLane(i)));
    for (const lane of opened) chaos.env.watcher.watch([{ unit: lane.unit.id, primary: lane.unit.name, twin: lane.unit.twin }], () => `seed ${lane.seed}`);
    // The kill points are the calls a clean cycle makes: counted, not assumed.
    const calls = await traceCycle(opened[0]!);
    expect(calls.length, `calls of a clean cycle: ${calls.join(', ')}`).toBeGreaterThanOrEqual(2);
    const seeds = trialSeeds(calls.length);
    const outcomes: TrialOutcome[] = [];
    const failures: Array<{ seed: string; error: string }> = [];
    let next = 0;
    await Promise.all(
      opened.map(async (lane) => {
        while (next < seeds.length) {
          const t = seeds[next++]!;
          try {
            outcomes.push(await trial(lane, t, calls.length));
          } catch (error) {
            failures.push({ seed: seedLabel(t), error: (error as Error).message });
            return; // this lane's unit is in an unknown state: leave it
          }
        }
      }),
    );
    await Promise.all(opened.map((lane) => lane.state.stop()));
    const killed = outcomes.filter((o) => o.killedAt !== undefined);
    const table = new Map<string, number>();
    for (const o of killed) {
      const key = `${o.killedAt} (left in ${o.leftIn})`;
      table.set(key, (table.get(key) ?? 0) + 1);
    }
    const stateViolations = opened.flatMap((lane) => lane.state.violations);
    const stateReads = opened.reduce((n, lane) => n + lane.state.reads, 0);
    const boots = (await Promise.all(opened.map((lane) => lane.project.bootLog()))).flat();
    const portTaken = boots.filter((b) => b.error);
    const replayHint = `replay: CHAOS_SEEDS=${failures.map((f) => f.seed).join(',')} npm run test:chaos -- kill-manager`;
    console.info(
      [
        `kill trials: ${outcomes.length} done (${killed.length} killed, ${outcomes.length - killed.length} lived), ${failures.length} failed; ` +
          `base seed ${baseSeed}; ${Math.round((Date.now() - started) / 1000)}s on ${laneCount} lanes`,
        `calls of a clean cycle: ${calls.join(', ')}`,
        `overlaps seen on the bus: ${chaos.env.watcher.overlaps.length}; port taken at boot: ${portTaken.length}; ` +
          `state file reads ${stateReads}, invalid ${stateViolations.length}; duplicate starts: ${failures.filter((f) => /booted/.test(f.error)).length}`,
        `lived (kill point not reached): ${outcomes.filter((o) => !o.killedAt).map((o) => o.seed).join(', ') || 'none'}`,
        ...[...table.entries()].sort().map(([point, n]) => `  ${String(n).padStart(3)}  ${point}`),
      ].join('\n'),
    );
    expect(failures, replayHint).toEqual([]);
    expect(chaos.env.watcher.overlaps, 'primary and twin online at once').toEqual([]);
    expect(portTaken, 'a side found the port taken: both were up').toEqual([]);
    expect(stateViolations).toEqual([]);
    if (!replay) {
      expect(killed.length).toBeGreaterThanOrEqual(Math.min(100, Math.floor(trials * 0.85)));
      // Every call of the cycle, on both sides of it.
      for (const call of new Set(calls)) {
        for (const when of ['before', 'after']) expect(killed.some((o) => o.killedAt === `${when} ${call}`), `${when} ${call}`).toBe(true);
      }
      const phases = new Set(killed.map((o) => o.leftIn));
      expect(phases).toContain('failing-over');
      expect(phases).toContain('probing');
    }
  });
});
