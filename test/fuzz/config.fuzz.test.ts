import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compileConfig, parseSize } from '../../src/core/config.js';
import { loadConfig, parseYaml } from '../../src/core/config-file.js';
import type { CompiledConfig } from '../../src/core/config-types.js';
import { parseDuration } from '../../src/core/duration.js';
import { anything, applyEdits, expectClearError, fuzzParams, junk, looseRecord, mostly, runs, textEdits, typedOrResult, typedOrResultAsync } from './fuzz-helpers.js';

/**
 * redundancy.config.yaml, fuzzed: YAML text (config-shaped, then edited by hand; and any text),
 * the parsed value (config-shaped with wrong leaves; and any value), files on disk. Every outcome
 * is a compiled config that keeps its promises, or a CONFIG_PARSE / CONFIG_INVALID error on one
 * line naming the file.
 */

const file = 'redundancy.config.yaml';
const codes = ['CONFIG_PARSE', 'CONFIG_INVALID'] as const;

const duration = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('5s', '500ms', '2m', '1h', '1.5s')) },
  fc.integer({ min: -10, max: 3_000_000_000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom('5s', '500ms', '2m', '1h', '1d', '0', '0s', '-1s', '1.5s', '5 s', '5S', '10x', '', ' 3s ', '25d', '1e3', 'Infinity'),
  fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd', '', 'w', 'MS')).map(([n, u]) => `${n}${u}`),
  junk,
);
const count = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) }, fc.integer({ min: -3, max: 40 }), fc.double(), fc.constantFrom('10', 'ten', '1e1'), junk);
const probe = fc.oneof(
  looseRecord({
    http: mostly(fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1:3000/health', 'ftp://x', 'localhost:3000', 'http://', ''))),
    expectStatus: count,
    timeout: duration,
  }),
  looseRecord({ command: mostly(fc.constantFrom('node check.js', '', '   ', 'true')), timeout: duration }),
  looseRecord({ http: fc.constant('http://x'), command: fc.constant('y') }),
  junk,
);
const unitId = fc.oneof(
  fc.constantFrom('pm2:api', 'pm2:sync', 'cron:nightly', 'github:ci.yml', 'netlify:fn', 'script:x', 'pm2:', 'pm2: ', 'api', 'ftp:x', 'pm2:a:b', ':x'),
  fc.string({ maxLength: 12 }),
);
const unit = fc.oneof(
  looseRecord({ probe, overlap: mostly(fc.boolean()), ignore: mostly(fc.boolean()), twinMode: mostly(fc.constantFrom('cold', 'warm', 'hot')) }),
  junk,
);
/** Configs that should all compile: the fuzz must reach the compiled side too. */
const validConfig = looseRecord({
  checkInterval: fc.constantFrom('250ms', '5s', 1000),
  policy: fc.record(
    {
      errorRateThreshold: fc.constantFrom(0.5, 0.8, 1),
      window: fc.constant(10),
      minSamples: fc.integer({ min: 1, max: 10 }),
      failbackAfter: fc.integer({ min: 1, max: 5 }),
      holdDown: fc.constantFrom('1s', '30s'),
      holdDownMax: fc.constant('1h'),
      healthyReset: fc.constantFrom('10m', 5000),
      deadAfter: fc.constant('20s'),
      startGrace: fc.constant('5s'),
    },
    { requiredKeys: [] },
  ),
  sources: fc.record({ pm2: fc.record({ ecosystem: fc.constantFrom('ecosystem.config.cjs', ['a.cjs', 'b.json']), live: fc.boolean() }, { requiredKeys: [] }) }),
  units: fc.dictionary(
    fc.constantFrom('pm2:api', 'pm2:web', 'cron:x'),
    fc.record({ overlap: fc.boolean(), ignore: fc.boolean(), probe: fc.constantFrom({ http: 'http://127.0.0.1:3000/health' }, { command: 'true', timeout: '2s' }) }, { requiredKeys: [] }),
    { maxKeys: 3 },
  ),
  history: fc.record({ maxBytes: fc.constantFrom('1MiB', 4096), keep: fc.nat({ max: 5 }) }, { requiredKeys: [] }),
});

const configShaped: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: validConfig },
  { weight: 6, arbitrary: looseRecord({
    checkInterval: duration,
    policy: fc.oneof(
      looseRecord({
        errorRateThreshold: fc.oneof(fc.double({ min: -1, max: 2 }), fc.constantFrom(0, 1, 0.8, '0.8'), junk),
        window: count,
        minSamples: count,
        failbackAfter: count,
        holdDown: duration,
        holdDownMax: duration,
        healthyReset: duration,
        deadAfter: duration,
        startGrace: duration,
      }),
      junk,
    ),
    sources: fc.oneof(
      looseRecord({
        pm2: fc.oneof(
          looseRecord({
            ecosystem: fc.oneof(fc.constantFrom('ecosystem.config.cjs', '', 'a\u0000b'), fc.array(fc.oneof(fc.string({ maxLength: 10 }), junk), { maxLength: 3 }), junk),
            live: mostly(fc.boolean()),
          }),
          junk,
        ),
      }),
      junk,
    ),
    units: fc.oneof(fc.dictionary(unitId, unit, { maxKeys: 4 }), junk),
    twin: fc.oneof(looseRecord({ mode: mostly(fc.constantFrom('cold', 'warm', 'tepid')) }), junk),
    stateDir: mostly(fc.constantFrom('.redundancy', 'state', '/var/lib/r', '')),
    logsDir: mostly(fc.constantFrom('logs', '/tmp/logs', ' ')),
    twinsFile: mostly(fc.constantFrom('twins.cjs', 'a/b/c.cjs')),
    history: fc.oneof(looseRecord({ maxBytes: fc.oneof(fc.nat(), fc.constantFrom('1MiB', '500KB', '1.5 mb', '0', '-1', 'lots')), keep: count }), junk) }) },
  { weight: 1, arbitrary: junk },
);

/** What a compiled config promises whatever the input. */
function expectSound(config: CompiledConfig): void {
  const timer = (ms: number) => Number.isFinite(ms) && ms > 0 && ms <= 2_147_483_647;
  const p = config.policy;
  expect(timer(config.checkIntervalMs)).toBe(true);
  for (const ms of [p.holdDownMs, p.holdDownMaxMs, p.healthyResetMs, p.deadAfterMs, p.startGraceMs]) expect(timer(ms)).toBe(true);
  expect(p.holdDownMaxMs).toBeGreaterThanOrEqual(p.holdDownMs);
  expect(p.errorRateThreshold > 0 && p.errorRateThreshold <= 1).toBe(true);
  expect(Number.isSafeInteger(p.window) && p.window >= 1).toBe(true);
  expect(Number.isSafeInteger(p.minSamples) && p.minSamples >= 1 && p.minSamples <= p.window).toBe(true);
  expect(Number.isSafeInteger(p.failbackAfter) && p.failbackAfter >= 1).toBe(true);
  for (const path of [config.cwd, config.stateDir, config.logsDir, config.twinsFile, ...config.sources.pm2.ecosystem]) expect(isAbsolute(path)).toBe(true);
  expect(typeof config.sources.pm2.live).toBe('boolean');
  expect(config.history.maxBytes >= 1 && config.history.keep >= 0).toBe(true);
  for (const [id, u] of Object.entries(config.units)) {
    expect(id).toMatch(/^(pm2|cron|script|github|netlify):./s);
    expect(typeof u.overlap === 'boolean' && typeof u.ignore === 'boolean').toBe(true);
    if (u.probe) expect(timer(u.probe.timeoutMs)).toBe(true);
  }
}

const compile = (raw: unknown) => compileConfig(raw, { file, cwd: '/project' });

describe('config fuzz', () => {
  it('YAML text of config-shaped values, edited: 3000 cases', () => {
    const seen = { ok: 0, parse: 0, invalid: 0 };
    fc.assert(
      fc.property(configShaped, fc.oneof(fc.constant([]), textEdits), (value, edits) => {
        const text = applyEdits(stringify(value ?? null), edits);
        let parsed: unknown;
        try {
          parsed = parseYaml(text, file);
        } catch (error) {
          seen.parse += 1;
          expectClearError(error, ['CONFIG_PARSE'], file);
          return;
        }
        const config = typedOrResult(() => compile(parsed), ['CONFIG_INVALID'], file);
        if (config) expectSound(config);
        seen[config ? 'ok' : 'invalid'] += 1;
      }),
      fuzzParams(3_000),
    );
    console.info(`config text outcomes: ${JSON.stringify(seen)}`);
    // Not a degenerate run: every outcome came up often.
    for (const [outcome, n] of Object.entries(seen)) expect(n, `${outcome}: ${JSON.stringify(seen)}`).toBeGreaterThan(runs(3_000) / 100);
  });

  it('any text: 1500 cases', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme-ascii', maxLength: 200 })), (text) => {
        const config = typedOrResult(() => compile(parseYaml(text, file)), codes, file);
        if (config) expectSound(config);
      }),
      fuzzParams(1_500),
    );
  });

  it('config-shaped values with wrong leaves: 2000 cases', () => {
    let accepted = 0;
    fc.assert(
      fc.property(configShaped, (value) => {
        const config = typedOrResult(() => compile(value), ['CONFIG_INVALID'], file);
        if (config) expectSound(config);
        if (config) accepted += 1;
      }),
      fuzzParams(2_000),
    );
    expect(accepted).toBeGreaterThan(runs(2_000) / 100);
    expect(accepted).toBeLessThan(runs(2_000));
  });

  it('any value: 2000 cases', () => {
    fc.assert(
      fc.property(anything, (value) => {
        const config = typedOrResult(() => compile(value), ['CONFIG_INVALID'], file);
        if (config) expectSound(config);
      }),
      fuzzParams(2_000),
    );
  });

  it('durations and sizes: 1000 cases, never a throw, never a negative or non-finite amount', () => {
    fc.assert(
      fc.property(fc.oneof(duration, anything), (value) => {
        const ms = parseDuration(value);
        const bytes = parseSize(value);
        expect(ms === undefined || (Number.isFinite(ms) && ms >= 0)).toBe(true);
        expect(bytes === undefined || (Number.isSafeInteger(bytes) || Number.isFinite(bytes))).toBe(true);
      }),
      fuzzParams(1_000),
    );
  });

  describe('files on disk', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'redundancy-fuzz-config-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('loadConfig of a written file: 300 cases', async () => {
      await fc.assert(
        fc.asyncProperty(configShaped, textEdits, fc.constantFrom('redundancy.config.yaml', 'redundancy.config.yml'), async (value, edits, name) => {
          await rm(join(dir, 'redundancy.config.yaml'), { force: true });
          await rm(join(dir, 'redundancy.config.yml'), { force: true });
          await writeFile(join(dir, name), applyEdits(stringify(value ?? null), edits));
          const config = await typedOrResultAsync(() => loadConfig({ cwd: dir }), codes, name);
          if (config) expectSound(config);
        }),
        fuzzParams(300),
      );
    });
  });
});
