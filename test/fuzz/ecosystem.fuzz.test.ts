import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { splitArgs } from '../../src/kinds/pm2/app-options.js';
import { loadEcosystem, normalizeEcosystem } from '../../src/kinds/pm2/ecosystem.js';
import { specFromPm2Entry, type Pm2Entry } from '../../src/kinds/pm2/pm2-entry.js';
import type { Pm2AppSpec } from '../../src/core/types.js';
import { anything, applyEdits, fuzzParams, junk, looseRecord, mostly, runs, textEdits, typedOrResult, typedOrResultAsync } from './fuzz-helpers.js';

/**
 * PM2 ecosystem files, fuzzed: the exported value (ecosystem-shaped with wrong leaves; and any
 * value, exotic ones included, as a JS file may export), files in every format on disk, the args
 * splitter, and the specs read back from PM2's own list. Every outcome is a sound list of app specs
 * or an ECOSYSTEM_INVALID / ECOSYSTEM_LOAD error on one line naming the file.
 */

const file = '/project/ecosystem.config.cjs';

const ms = fc.oneof({ weight: 4, arbitrary: fc.oneof(fc.nat({ max: 60_000 }), fc.constantFrom('1s', '500ms')) }, fc.constantFrom(-1, '1x', ''), junk);
const app = looseRecord({
  name: mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constantFrom('api', 'worker', 'all', '3', 'x.json', 'a b', ''))),
  script: mostly(fc.constantFrom('app.js', './server.cjs', 'npm', '/abs/x.js', 'bin/run.sh', 'x.py', '', '  ')),
  exec: mostly(fc.constantFrom('other.js', '')),
  args: mostly(fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean()), { maxLength: 4 }))),
  cwd: mostly(fc.constantFrom('.', 'sub', '/abs', '')),
  env: mostly(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean()), { maxKeys: 3 })),
  interpreter: mostly(fc.constantFrom('node', 'bash', '/usr/bin/python3', '')),
  max_restarts: mostly(fc.oneof(fc.integer({ min: -2, max: 30 }), fc.double())),
  min_uptime: ms,
  restart_delay: ms,
  exp_backoff_restart_delay: ms,
  autorestart: mostly(fc.boolean()),
  cron_restart: mostly(fc.constantFrom('0 * * * *', '*/5 * * * *', '', '0', 0)),
  cron: mostly(fc.constantFrom('0 3 * * *')),
  watch: mostly(fc.boolean()),
  instances: mostly(fc.constantFrom(1, 2, 'max')),
  exec_mode: mostly(fc.constantFrom('fork', 'cluster')),
  node_args: mostly(fc.constantFrom('--max-old-space-size=100', ['--inspect'])),
});
const ecosystemShaped: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.array(app, { maxLength: 4 }).map((apps) => ({ apps })) },
  { weight: 2, arbitrary: fc.array(app, { maxLength: 4 }) },
  { weight: 2, arbitrary: app },
  { weight: 1, arbitrary: fc.record({ apps: junk }) },
  { weight: 1, arbitrary: junk },
);

/** What every spec promises whatever the input. */
function expectSound(specs: Pm2AppSpec[]): void {
  const names = specs.map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
  for (const spec of specs) {
    expect(typeof spec.name === 'string' && spec.name.trim() !== '').toBe(true);
    expect(typeof spec.script === 'string' && spec.script.trim() !== '').toBe(true);
    // Array.from: `every` would skip the holes of a sparse list.
    expect(Array.from(spec.args).every((a) => typeof a === 'string')).toBe(true);
    expect(Object.values(spec.env).every((v) => typeof v === 'string')).toBe(true);
    expect(spec.cwd === undefined || isAbsolute(spec.cwd)).toBe(true);
    for (const key of ['minUptimeMs', 'restartDelayMs', 'expBackoffRestartDelayMs'] as const) {
      expect(spec[key] === undefined || (Number.isFinite(spec[key]) && spec[key]! >= 0)).toBe(true);
    }
    expect(spec.maxRestarts === undefined || (Number.isSafeInteger(spec.maxRestarts) && spec.maxRestarts >= 0)).toBe(true);
  }
}

describe('ecosystem fuzz', () => {
  it('ecosystem-shaped values with wrong leaves: 2500 cases', () => {
    let accepted = 0;
    fc.assert(
      fc.property(ecosystemShaped, (value) => {
        const specs = typedOrResult(() => normalizeEcosystem(value, file), ['ECOSYSTEM_INVALID'], file);
        if (specs) {
          expectSound(specs);
          accepted += 1;
        }
      }),
      fuzzParams(2_500),
    );
    console.info(`ecosystem values accepted: ${accepted} of ${runs(2_500)}`);
    expect(accepted).toBeGreaterThan(runs(2_500) / 100);
    expect(accepted).toBeLessThan(runs(2_500));
  });

  it('any value, exotic ones included: 2500 cases', () => {
    fc.assert(
      fc.property(fc.oneof(anything, fc.array(anything, { maxLength: 3 }).map((apps) => ({ apps }))), (value) => {
        const specs = typedOrResult(() => normalizeEcosystem(value, file), ['ECOSYSTEM_INVALID'], file);
        if (specs) expectSound(specs);
      }),
      fuzzParams(2_500),
    );
  });

  it('found by the fuzz: a hole in the apps list (`[a, , b]` in a JS file) is a missing app, not a crash', () => {
    const apps = [{ name: 'a', script: 'a.js' }, , { name: 'b', script: 'b.js' }];
    expect(() => normalizeEcosystem({ apps }, file)).toThrow(`${file}: apps[1]: expected an app (a map with a script), got nothing`);
  });

  it('args strings: 500 cases, always a list of strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 40 }), (text) => {
        const args = splitArgs(text);
        expect(Array.isArray(args) && args.every((a) => typeof a === 'string')).toBe(true);
      }),
      fuzzParams(500),
    );
  });

  it("PM2's list entries read back as specs: 500 cases, never a throw", () => {
    const entry = fc.oneof(
      looseRecord({
        name: fc.string({ maxLength: 8 }),
        pm2_env: fc.oneof(
          looseRecord({
            name: fc.string({ maxLength: 8 }),
            pm_exec_path: junk,
            pm_cwd: junk,
            args: junk,
            // PM2 answers over JSON: its values are JSON values.
            env: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), junk),
            exec_interpreter: junk,
            node_args: junk,
            max_restarts: junk,
            min_uptime: junk,
            restart_delay: junk,
            exp_backoff_restart_delay: junk,
            autorestart: junk,
            cron_restart: junk,
          }),
          junk,
        ),
      }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    fc.assert(
      fc.property(entry, (raw) => {
        if (typeof raw !== 'object' || raw === null) return; // PM2's list holds objects
        const spec = specFromPm2Entry(raw as Pm2Entry);
        expect(typeof spec.name).toBe('string');
        expect(Object.values(spec.env).every((v) => typeof v === 'string')).toBe(true);
      }),
      fuzzParams(500),
    );
  });

  describe('files on disk', () => {
    let dir: string;
    let n = 0;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'redundancy-fuzz-ecosystem-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** The value as a file of the given kind, edited now and then like a hand would. */
    function render(kind: string, value: unknown, edits: Parameters<typeof applyEdits>[1]): string {
      const json = JSON.stringify(value ?? null) ?? 'null';
      const text = kind === 'json' ? json : kind === 'yaml' ? stringify(value ?? null) : `module.exports = ${json};\n`;
      return applyEdits(text, edits);
    }

    it('loadEcosystem of .json, .yaml and .cjs files: 700 cases', async () => {
      await fc.assert(
        fc.asyncProperty(ecosystemShaped, fc.constantFrom('json', 'yaml', 'yml', 'cjs'), fc.oneof(fc.constant([]), textEdits), async (value, kind, edits) => {
          // A new name each time: a .cjs file is required once and cached by path.
          const path = join(dir, `ecosystem-${(n += 1)}.config.${kind}`);
          await writeFile(path, render(kind, value, edits));
          const loaded = await typedOrResultAsync(() => loadEcosystem(path), ['ECOSYSTEM_INVALID', 'ECOSYSTEM_LOAD'], path);
          if (loaded) expectSound(loaded.apps.map((a) => a.spec));
          await rm(path);
        }),
        fuzzParams(700),
      );
    });
  });
});
