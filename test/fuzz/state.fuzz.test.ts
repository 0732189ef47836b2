import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitRecord } from '../../src/core/failover.js';
import { decodeRecord } from '../../src/core/record-codec.js';
import { silentLogger } from '../../src/store/logger.js';
import { StateStore } from '../../src/store/state-store.js';
import { anything, applyEdits, fuzzParams, junk, looseRecord, mostly, textEdits } from './fuzz-helpers.js';

/**
 * The state file, the manager's own input on every start, fuzzed: any record value decodes to a
 * sound record or to nothing (the unit is rebuilt), and any file content loads without a throw;
 * an unreadable file is kept aside as it was.
 */

const kinds = ['primary', 'failing-over', 'backup', 'probing', 'failing-back'];
const sample = looseRecord({ ok: mostly(fc.boolean()), reason: mostly(fc.string({ maxLength: 10 })), at: mostly(fc.nat()), crash: mostly(fc.boolean()) });
const recordShaped: fc.Arbitrary<unknown> = looseRecord({
  id: mostly(fc.constantFrom('pm2:api', 'pm2:web')),
  state: fc.oneof(
    looseRecord({
      kind: mostly(fc.constantFrom(...kinds, 'sideways')),
      since: mostly(fc.oneof(fc.nat(), fc.double())),
      reason: mostly(fc.string({ maxLength: 8 })),
      manual: mostly(fc.boolean()),
      okCount: mostly(fc.nat({ max: 5 })),
      started: mostly(fc.boolean()),
    }),
    junk,
  ),
  window: mostly(fc.array(fc.oneof(sample, junk), { maxLength: 4 })),
  failovers: mostly(fc.oneof(fc.nat({ max: 9 }), fc.integer({ min: -3, max: 0 }), fc.double())),
  repeat: mostly(fc.oneof(fc.nat({ max: 9 }), fc.double())),
  lastTransitionAt: mostly(fc.oneof(fc.nat(), fc.constant(null))),
  lastCheckAt: mostly(fc.oneof(fc.nat(), fc.constant(null))),
  reason: mostly(fc.string({ maxLength: 8 })),
});

function expectSound(record: UnitRecord): void {
  expect(typeof record.id).toBe('string');
  expect(kinds).toContain(record.state.kind);
  expect(typeof record.state.since).toBe('number');
  if (record.state.kind === 'probing') expect(record.state).toMatchObject({ okCount: 0, started: false });
  expect(record.window.every((s) => typeof s.ok === 'boolean' && typeof s.reason === 'string' && typeof s.at === 'number')).toBe(true);
  for (const n of [record.failovers, record.repeat]) expect(Number.isInteger(n) && n >= 0).toBe(true);
  for (const t of [record.lastTransitionAt, record.lastCheckAt]) expect(t === null || Number.isFinite(t)).toBe(true);
  expect(typeof record.reason).toBe('string');
}

describe('state file fuzz', () => {
  it('record-shaped values: 1000 cases, a sound record or nothing', () => {
    let decoded = 0;
    fc.assert(
      fc.property(recordShaped, (raw) => {
        const record = decodeRecord(raw);
        if (record) {
          expectSound(record);
          decoded += 1;
        }
      }),
      fuzzParams(1_000),
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('any value: 1000 cases, a sound record or nothing', () => {
    fc.assert(
      fc.property(anything, (raw) => {
        const record = decodeRecord(raw);
        if (record) expectSound(record);
      }),
      fuzzParams(1_000),
    );
  });

  describe('files on disk', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'redundancy-fuzz-state-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('StateStore.load of any content: 400 cases, never a throw; a bad file kept aside byte for byte', async () => {
      const content = fc.oneof(
        fc.dictionary(fc.constantFrom('pm2:api', 'pm2:web', '__proto__', 'constructor'), fc.oneof(recordShaped, junk), { maxKeys: 3 })
          .map((units) => JSON.stringify({ version: 1, savedAt: 'x', units }, null, 2)),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.string({ unit: 'binary', maxLength: 60 }),
      );
      let n = 0;
      await fc.assert(
        fc.asyncProperty(content, fc.oneof(fc.constant([]), textEdits), async (text, edits) => {
          const sub = join(dir, String((n += 1)));
          const file = join(sub, 'state.json');
          const written = applyEdits(text, edits);
          await rm(sub, { recursive: true, force: true });
          await mkdir(sub, { recursive: true });
          await writeFile(file, written);
          const store = new StateStore<UnitRecord>({ file, validateUnit: decodeRecord, logger: silentLogger() });
          const loaded = await store.load(Date.UTC(2025, 0, 1));
          for (const record of Object.values(loaded.units)) expectSound(record);
          expect(Object.getPrototypeOf(loaded.units)).toBe(Object.prototype);
          const kept = (await readdir(sub)).filter((f) => f.startsWith('state.json.corrupt-'));
          if (kept.length > 0) {
            expect((await readFile(join(sub, kept[0]!))).equals(Buffer.from(written))).toBe(true);
            // `s`: the reason quotes JSON.parse, which quotes the bad bytes, newlines included.
            expect(loaded.warnings.join('\n')).toMatch(/was unreadable .*; kept as .*state\.json\.corrupt-/s);
          }
          await rm(sub, { recursive: true, force: true });
        }),
        fuzzParams(400),
      );
    });
  });
});
