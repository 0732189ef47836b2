import { describe, expect, it } from 'vitest';
import { useChaosEnv } from './helpers/chaos-env.js';
import { StateWatcher } from './helpers/state-watcher.js';

/**
 * A flapping primary, healthy and failing in turns: every failover doubles the hold-down before
 * the next failback trial, so failovers come ever further apart, far fewer than the flaps.
 */

const chaos = useChaosEnv();

const flapMs = 1_500;
const holdDownMs = 500;
const runMs = 25_000;

describe('a flapping primary', () => {
  it(`failovers bounded by the doubling hold-down (${flapMs}ms flaps for ${runMs / 1000}s)`, async () => {
    const project = await chaos.env.project({
      names: [`f${process.pid}`],
      checkInterval: '200ms',
      appEnv: { FLAP_MS: String(flapMs) },
      policy: { window: 3, minSamples: 3, failbackAfter: 2, holdDown: `${holdDownMs}ms`, holdDownMax: '1h', healthyReset: '1h', startGrace: '1s' },
    });
    const unit = project.units[0]!;
    const state = new StateWatcher(project.stateFile, [unit.id]).start();
    const manager = project.startManager();
    await project.ready(manager);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, runMs));
    await project.stopManager(manager);
    const elapsed = Date.now() - started;

    const transitions = (await project.readLog()).filter((l) => l.msg === 'transition' && l.unit === unit.id);
    const failovers = transitions.filter((l) => l.to === 'failing-over').map((l) => l.time as number);
    const trials = transitions.filter((l) => l.to === 'probing').length;
    const gaps = failovers.slice(1).map((at, i) => at - failovers[i]!);
    const flaps = Math.floor(elapsed / (2 * flapMs));
    // Failover k+1 comes at least holdDown * 2^(k-1) after failover k: n failovers need sum_{k<n} H 2^(k-1) = H (2^(n-1) - 1) ms.
    const bound = 1 + Math.floor(Math.log2(elapsed / holdDownMs + 1));
    console.info(`flapping: ${failovers.length} failovers (bound ${bound}) and ${trials} failback trials for ${flaps} failing stretches; gaps ${gaps.join(', ')} ms`);

    expect(failovers.length, 'the flapping made it fail over repeatedly').toBeGreaterThanOrEqual(3);
    expect(failovers.length).toBeLessThanOrEqual(bound);
    expect(failovers.length).toBeLessThan(flaps);
    gaps.forEach((gap, k) => expect(gap, `gap after failover ${k + 1}`).toBeGreaterThanOrEqual(holdDownMs * 2 ** k));
    const saved = await project.readState();
    expect(saved?.units[unit.id]?.failovers).toBe(failovers.length);
    expect(saved?.units[unit.id]?.repeat).toBe(failovers.length);

    // The twin started once per failover, the primary once per trial (plus its first start):
    // PM2's `online` events, which come at fork (a boot log misses a process stopped before it ran).
    expect(chaos.env.watcher.onlines.get(unit.twin) ?? 0, 'twin starts').toBe(failovers.length);
    expect(chaos.env.watcher.onlines.get(unit.name) ?? 0, 'primary starts').toBe(1 + trials);
    const boots = await project.boots(unit.name);
    expect(boots.backup).toBeLessThanOrEqual(failovers.length);
    expect(boots.primary).toBeLessThanOrEqual(1 + trials);
    await state.stop();
    expect(state.violations).toEqual([]);
    expect(chaos.env.watcher.overlaps).toEqual([]);
    expect((await project.bootLog()).filter((b) => b.error)).toEqual([]);
  });
});
