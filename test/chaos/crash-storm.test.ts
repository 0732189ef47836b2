import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../helpers/pm2-home.js';
import { waitFor } from '../helpers/wait-for.js';
import { useChaosEnv } from './helpers/chaos-env.js';
import type { ChaosProject, ManagerProcess } from './helpers/chaos-project.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * A crash storm: every primary made unable to boot and SIGKILLed at once, so PM2 restarts all of
 * them as fast as it can, for as long as nothing stops it. Every unit must end on its twin (cold,
 * then warm), within a bound a user would accept, never with both sides up, the manager answering
 * `status` throughout, and nothing left restarting behind it.
 *
 * Knobs: STORM_UNITS (default 50), STORM_BOUND_MS (default 60 s, kill to the last twin answering).
 */

const count = Number(process.env.STORM_UNITS ?? 50);
const boundMs = Number(process.env.STORM_BOUND_MS ?? 60_000);
const chaos = useChaosEnv();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Units whose saved state is not yet `kind` or whose port does not answer as `role`. */
async function missing(project: ChaosProject, kind: string, role: string): Promise<string[]> {
  const saved = await project.readState();
  const answers = await Promise.all(project.units.map((u) => project.answer(u)));
  return project.units.filter((u, i) => saved?.units[u.id]?.state.kind !== kind || answers[i]?.role !== role).map((u) => u.name);
}

/** PM2's view of every app, by name, as the watcher's own client lists it. */
async function views(): Promise<Map<string, { status: string; pid: number; restarts: number }>> {
  return new Map((await chaos.env.watcher.list()).map((v) => [v.name, v]));
}

/** `status --json` over and over while `running`: how long each took, and whether the manager itself answered. */
function pollStatus(project: ChaosProject): { stop(): Promise<{ calls: number; maxMs: number; failures: string[] }> } {
  let running = true;
  let calls = 0;
  let maxMs = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const result = await project.cli('status', '--json');
      const ms = Date.now() - started;
      calls += 1;
      maxMs = Math.max(maxMs, ms);
      let up = false;
      try {
        up = (JSON.parse(result.stdout) as { manager?: { running?: boolean } }).manager?.running === true;
      } catch {
        // not JSON: counted below
      }
      if (!up) failures.push(`${new Date().toISOString()} exit ${result.exitCode} after ${ms}ms: ${result.stderr.slice(-300) || result.stdout.slice(0, 300)}`);
      await sleep(1_000); // a CLI start costs a core for a good part of a second: the storm is load enough
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { calls, maxMs, failures };
    },
  };
}

async function storm(mode: 'cold' | 'warm'): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `s${mode[0]}${i}p${process.pid}`);
  const project = await chaos.env.project({ names, checkInterval: '500ms', policy: { window: 1, minSamples: 1, holdDown: '1h' } });
  if (mode === 'warm') {
    const config = join(project.dir, 'redundancy.config.yaml');
    await writeFile(config, `twin: { mode: warm }\n${await readFile(config, 'utf8')}`);
  }
  const state = new StateWatcher(project.stateFile, project.units.map((u) => u.id)).start();
  // A parked warm twin is online in PM2 all along: the watcher's online-beside-online rule holds for cold twins only.
  if (mode === 'warm') chaos.env.watcher.watch(project.units.map((u) => ({ unit: u.id, primary: u.name, twin: u.twin, exclusive: false })));
  try {
    await failOverAll(project, mode, state);
  } catch (error) {
    // The project dir is kept after a failure: PM2's own log goes with it.
    await copyFile(join(chaos.env.pm2.home, 'pm2.log'), join(project.dir, 'pm2.log')).catch(() => undefined);
    throw error;
  } finally {
    await state.stop();
  }
}

async function failOverAll(project: ChaosProject, mode: 'cold' | 'warm', state: StateWatcher): Promise<void> {
  const manager: ManagerProcess = project.startManager();
  const twinReady = mode === 'warm' ? 'online' : 'stopped'; // a parked warm twin is online in PM2
  await waitFor(
    async () => {
      const seen = await views();
      const left = await missing(project, 'primary', 'primary');
      return left.length === 0 && project.units.every((u) => seen.get(u.twin)?.status === twinReady);
    },
    { timeoutMs: 90_000, intervalMs: 250, what: `${count} primaries up and their ${mode} twins ready` },
  ).catch(async (error: Error) => {
    const seen = await views();
    const saved = await project.readState();
    const u = project.units[0]!;
    throw new Error(`${error.message}: e.g. ${JSON.stringify(saved?.units[u.id]?.state)} ${JSON.stringify(seen.get(u.name))} ${JSON.stringify(seen.get(u.twin))} ${JSON.stringify(await project.answer(u))}`);
  });
  await project.ready(manager);

  // The storm: no primary can boot any more, and every one is killed at once.
  await Promise.all(project.units.map((u) => writeFile(join(project.dir, 'switches', `die-${u.name}`), '')));
  const before = await views();
  const pids = project.units.map((u) => before.get(u.name)!.pid);
  expect(pids.every((pid) => pid > 0)).toBe(true);
  const status = pollStatus(project);
  const killedAt = Date.now();
  for (const pid of pids) process.kill(pid, 'SIGKILL');

  const onTwinAt = new Map<string, number>();
  let maxLoad = 0;
  try {
    await waitFor(
      async () => {
        maxLoad = Math.max(maxLoad, loadavg()[0]!);
        const saved = await project.readState();
        const answers = await Promise.all(project.units.map((u) => (onTwinAt.has(u.name) ? undefined : project.answer(u))));
        project.units.forEach((u, i) => {
          if (!onTwinAt.has(u.name) && answers[i]?.role === 'backup' && saved?.units[u.id]?.state.kind === 'backup') onTwinAt.set(u.name, Date.now());
        });
        return onTwinAt.size === count;
      },
      { timeoutMs: boundMs, intervalMs: 200, what: `${count} units on their answering ${mode} twins within ${boundMs}ms of the kill` },
    );
  } catch (error) {
    const saved = await project.readState();
    const seen = await views().catch(() => new Map<string, never>()); // a daemon still in the storm may not answer
    const stuck = project.units.filter((u) => !onTwinAt.has(u.name)).slice(0, 5);
    const detail = stuck.map((u) => `${u.name}: ${JSON.stringify(saved?.units[u.id]?.state)} primary ${JSON.stringify(seen.get(u.name))} twin ${JSON.stringify(seen.get(u.twin))}`);
    throw new Error(`${(error as Error).message}; ${count - onTwinAt.size} not there, load ${loadavg()[0]!.toFixed(1)}; e.g. ${detail.join('; ')}`);
  }
  const lastMs = Math.max(...onTwinAt.values()) - killedAt;
  const polled = await status.stop();

  // Nothing left behind: every primary stopped for good (no restart under way or to come).
  const settled = await views();
  await sleep(2_000);
  const later = await views();
  const restarting = project.units
    .filter((u) => later.get(u.name)?.status !== 'stopped' || later.get(u.name)?.restarts !== settled.get(u.name)?.restarts)
    .map((u) => `${u.name} ${JSON.stringify(later.get(u.name))}`);
  expect(restarting, 'primaries still restarting after the failover').toEqual([]);
  const primaryBoots = (await project.bootLog()).filter((b) => b.role === 'primary');
  const lastPrimaryBoot = Math.max(...primaryBoots.map((b) => b.at));
  await sleep(500);
  expect((await project.bootLog()).filter((b) => b.role === 'primary' && b.at > lastPrimaryBoot)).toEqual([]);

  console.info(
    `crash storm, ${count} units, ${mode} twins: kill to the last twin answering ${lastMs}ms ` +
      `(first ${Math.min(...onTwinAt.values()) - killedAt}ms, median ${median([...onTwinAt.values()].map((t) => t - killedAt))}ms); ` +
      `${primaryBoots.length} primary boots in all; load average up to ${maxLoad.toFixed(1)}; ` +
      `status answered ${polled.calls} times, slowest ${polled.maxMs}ms, ${polled.failures.length} without the manager`,
  );
  expect(lastMs).toBeLessThan(boundMs);
  expect(polled.failures, 'status answered by the manager throughout').toEqual([]);

  await project.stopManager(manager);
  await state.stop();
  expect(state.violations).toEqual([]);
  expect(await primariesBesideTwins(project, mode, killedAt), 'a primary booted while its twin served').toEqual([]);
  const ids = new Set(project.units.map((u) => u.id));
  expect(chaos.env.watcher.overlaps.filter((o) => ids.has(o.unit))).toEqual([]);
  expect((await project.bootLog()).filter((b) => b.error)).toEqual([]);
  const saved = await project.readState();
  expect(project.units.filter((u) => saved?.units[u.id]?.state.kind !== 'backup' || saved.units[u.id]?.failovers !== 1).map((u) => u.name)).toEqual([]);

  // This storm's apps go, and with them every process: the next storm starts on a quiet daemon.
  const processes = [...(await views()).values()].map((v) => v.pid).filter((pid) => pid > 0);
  await chaos.env.pm2Cli('delete', 'all');
  await waitFor(() => processes.every((pid) => !isProcessAlive(pid)), { timeoutMs: 15_000, what: 'every app process of the storm gone' });
  expect(await Promise.all(project.units.map((u) => project.answer(u)))).toEqual(project.units.map(() => undefined));
}

/**
 * Primaries that booted after their twin took over: each process writes its boot to the boot log
 * as it starts (so a primary dying at boot is there too), and a twin takes over when it boots
 * (cold) or when its launcher loads the app (warm, its status file). One clock, no event lag.
 */
async function primariesBesideTwins(project: ChaosProject, mode: 'cold' | 'warm', since: number): Promise<string[]> {
  const boots = (await project.bootLog()).filter((b) => b.at >= since && !b.error);
  const found: string[] = [];
  for (const u of project.units) {
    const twinAt =
      mode === 'cold'
        ? boots.find((b) => b.unit === u.name && b.role === 'backup')?.at
        : (JSON.parse(await readFile(join(project.dir, '.redundancy', 'warm', `${u.twin}.json`), 'utf8')) as { at: number }).at;
    const late = boots.filter((b) => b.unit === u.name && b.role === 'primary' && twinAt !== undefined && b.at >= twinAt);
    if (late.length > 0) found.push(`${u.name}: twin from ${twinAt}, primary booted at ${late.map((b) => b.at).join(', ')}`);
  }
  return found;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe(`a crash storm of ${count} units`, () => {
  it('cold twins: every unit ends on its twin, never both sides up, nothing left restarting', () => storm('cold'), 180_000);
  it('warm twins: every unit ends on its twin, never both sides up, nothing left restarting', () => storm('warm'), 180_000);
});
