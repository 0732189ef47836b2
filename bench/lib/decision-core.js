import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileConfig } from '../../dist/core/config.js';
import { initialRecord, transition } from '../../dist/core/failover.js';
import { decodeRecord } from '../../dist/core/record-codec.js';
import { StateStore } from '../../dist/store/state-store.js';
import { defer } from './cleanup.js';
import { median, round } from './stats.js';
import { now } from './time.js';

/**
 * The two parts of a decision, apart: the pure `transition()` call on the tipping sample (µs), and
 * the durable state save it waits for (ms), with 1 unit and with 1,000 units in state.json.
 */
export async function failOver() {
  const policy = { ...compileConfig(undefined, { cwd: tmpdir() }).policy, overlap: false };
  const sample = (at) => ({ type: 'sample', sample: { ok: false, reason: 'exited (1)', at, crash: true } });
  let record = initialRecord('pm2:x', 0);
  for (let i = 1; i < policy.minSamples; i++) record = transition(record, sample(i), i, policy).record;
  const iterations = 20_000;
  let kind;
  const started = now();
  for (let i = 0; i < iterations; i++) kind = transition(record, sample(1e6), 1e6, policy).record.state.kind;
  const transitionUs = ((now() - started) * 1_000) / iterations;
  if (kind !== 'failing-over') throw new Error(`expected the tipping sample to fail over, got ${kind}`);

  const dir = await mkdtemp(join(tmpdir(), 'rbench-state-'));
  const removeDir = defer(`state dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const stateSaveMs = {};
  for (const units of [1, 1000]) {
    const store = new StateStore({ file: join(dir, `state-${units}.json`), validateUnit: decodeRecord });
    const records = {};
    for (let i = 0; i < units; i++) {
      let r = initialRecord(`pm2:u${i}`, 0);
      for (let s = 0; s < policy.window; s++) r = transition(r, { type: 'sample', sample: { ok: true, reason: 'online', at: s } }, s, policy).record;
      records[r.id] = r;
    }
    const times = [];
    for (let i = 0; i < 7; i++) {
      const t = now();
      await store.save(records);
      times.push(now() - t);
    }
    stateSaveMs[`units${units}`] = round(median(times), 2);
  }
  await removeDir();
  return { transitionUs, stateSaveMs };
}
