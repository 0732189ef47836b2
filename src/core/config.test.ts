import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileConfig, defaultEcosystemFiles, parseSize } from './config.js';
import { unitConfig } from './config-types.js';
import { loadConfig } from './config-file.js';
import { isRedundancyError, type RedundancyError } from './errors.js';

const cwd = '/srv/app';
const file = 'redundancy.config.yaml';

function compileError(raw: unknown, opts: { file?: string; cwd: string } = { file, cwd }): RedundancyError {
  try {
    compileConfig(raw, opts);
  } catch (error) {
    if (isRedundancyError(error)) return error;
    throw error;
  }
  throw new Error('expected compileConfig to throw');
}

describe('compileConfig defaults', () => {
  it('fills every default when there is no file', () => {
    const pm2Policy = {
      errorRateThreshold: 0.8,
      window: 10,
      minSamples: 5,
      failbackAfter: 3,
      holdDownMs: 30_000,
      holdDownMaxMs: 600_000,
      healthyResetMs: 600_000,
      deadAfterMs: 20_000,
      startGraceMs: 5_000,
    };
    const schedulePolicy = { ...pm2Policy, window: 5, minSamples: 3, failbackAfter: 2, holdDownMs: 3_600_000, holdDownMaxMs: 86_400_000, healthyResetMs: 86_400_000 };
    expect(compileConfig(undefined, { cwd })).toEqual({
      cwd,
      checkIntervalMs: 5000,
      policy: pm2Policy,
      policyByKind: { pm2: pm2Policy, cron: schedulePolicy, script: schedulePolicy, github: schedulePolicy, netlify: schedulePolicy },
      sources: {
        pm2: {
          ecosystem: ['/srv/app/ecosystem.config.cjs', '/srv/app/ecosystem.config.js', '/srv/app/ecosystem.config.json'],
          live: true,
        },
        cron: { files: ['/srv/app/automation/crontab'], filesGiven: false, cronD: [], userCrontab: false, skipInvalid: false },
        scripts: { dirs: ['/srv/app/automation/scripts'] },
        github: {
          workflows: '/srv/app/.github/workflows',
          apiUrl: 'https://api.github.com',
          token: { env: 'GITHUB_TOKEN', given: false },
          pollEveryMs: 60_000,
          missedAfterMs: 3_600_000,
        },
        netlify: {
          toml: '/srv/app/netlify.toml',
          tomlGiven: false,
          apiUrl: 'https://api.netlify.com/api/v1',
          token: { env: 'NETLIFY_AUTH_TOKEN', given: false },
          listen: { host: '127.0.0.1', port: 8888 },
          pollEveryMs: 60_000,
          probeTimeoutMs: 10_000,
        },
      },
      http: { listen: { host: '127.0.0.1', port: 9797 } },
      notify: { groupWaitMs: 5_000, repeatIntervalMs: 14_400_000, backoff: { baseMs: 1_000, capMs: 300_000, maxAgeMs: 86_400_000 }, channels: [] },
      drills: { maxAgeMs: 2_592_000_000, timeoutMs: 60_000, pauseMs: 10_000 },
      watch: false,
      schedules: {
        graceMs: 120_000,
        maxRuntimeMs: 3_600_000,
        staleAfterMs: 300_000,
        throttle: { cron: 1_800_000, script: 1_800_000, github: 86_400_000, netlify: 1_800_000 },
      },
      twin: { mode: 'cold' },
      units: {},
      stateDir: '/srv/app/.redundancy',
      logsDir: '/srv/app/logs',
      twinsFile: '/srv/app/automation/redundancy/ecosystem.backup.config.cjs',
      history: { maxBytes: 1024 * 1024, keep: 3 },
    });
  });

  it('treats null sections (every child commented out) as empty', () => {
    const compiled = compileConfig({ policy: null, units: { 'pm2:api': null } }, { file, cwd });
    expect(compiled.policy.window).toBe(10);
    expect(compiled.units['pm2:api']).toEqual({ overlap: false, ignore: false, twinMode: 'cold', policy: compiled.policy, trialRun: false });
    expect(compiled.file).toBe('/srv/app/redundancy.config.yaml');
  });

  it('compiles the DESIGN.md example', () => {
    const compiled = compileConfig(
      {
        checkInterval: '5s',
        policy: { errorRateThreshold: 0.8, window: 10, minSamples: 5, failbackAfter: 3, holdDown: '30s' },
        sources: { pm2: { ecosystem: 'ecosystem.config.cjs', live: true } },
        units: {
          'pm2:api': { probe: { http: 'http://127.0.0.1:3000/health', expectStatus: 200, timeout: '2s' } },
          'pm2:sync': { probe: { command: 'node scripts/check-sync.js', timeout: '10s' }, overlap: false },
        },
      },
      { file, cwd },
    );
    expect(compiled.sources.pm2.ecosystem).toEqual(['/srv/app/ecosystem.config.cjs']);
    expect(compiled.units['pm2:api']!.probe).toEqual({
      kind: 'http', url: 'http://127.0.0.1:3000/health', expectStatus: 200, timeoutMs: 2000,
    });
    expect(compiled.units['pm2:sync']).toMatchObject({
      probe: { kind: 'command', command: 'node scripts/check-sync.js', timeoutMs: 10_000 }, overlap: false, ignore: false, twinMode: 'cold', trialRun: false,
    });
  });

  it('defaults probe timeouts by kind and accepts durations as numbers', () => {
    const compiled = compileConfig(
      { checkInterval: 250, units: { 'pm2:a': { probe: { http: 'https://x.test/' } }, 'pm2:b': { probe: { command: 'true' } } } },
      { file, cwd },
    );
    expect(compiled.checkIntervalMs).toBe(250);
    expect(compiled.units['pm2:a']!.probe).toMatchObject({ expectStatus: 200, timeoutMs: 2000 });
    expect(compiled.units['pm2:b']!.probe).toMatchObject({ timeoutMs: 10_000 });
  });

  it('derives dependent defaults from the values given', () => {
    const compiled = compileConfig({ policy: { window: 3, holdDown: '20m' } }, { file, cwd });
    expect(compiled.policy.minSamples).toBe(3);
    expect(compiled.policy.holdDownMaxMs).toBe(1_200_000);
  });

  it('layers policy: PM2 takes policy; every kind its defaults, then policy.byKind, then the unit', () => {
    const compiled = compileConfig(
      {
        policy: { holdDown: '10s', byKind: { cron: { window: 4 } } },
        units: { 'cron:backup': { policy: { failbackAfter: 1 }, trialRun: true }, 'pm2:api': { policy: { window: 2 } } },
      },
      { file, cwd },
    );
    expect(compiled.policy).toMatchObject({ window: 10, holdDownMs: 10_000, holdDownMaxMs: 600_000 });
    // The schedule kinds keep their own defaults where nothing was written.
    expect(compiled.policyByKind.pm2).toMatchObject({ window: 10, holdDownMs: 10_000 });
    // `policy` was written for apps sampled every few seconds: the schedule kinds keep their own defaults.
    expect(compiled.policyByKind.cron).toMatchObject({ window: 4, minSamples: 3, failbackAfter: 2, holdDownMs: 3_600_000, holdDownMaxMs: 86_400_000 });
    expect(compiled.policyByKind.script).toMatchObject({ window: 5, minSamples: 3, holdDownMs: 3_600_000 });
    expect(compiled.units['cron:backup']).toMatchObject({ trialRun: true, policy: { window: 4, failbackAfter: 1, holdDownMs: 3_600_000 } });
    expect(compiled.units['pm2:api']!.policy).toMatchObject({ window: 2, minSamples: 2 });
    expect(unitConfig(compiled, 'script:other').policy).toEqual(compiled.policyByKind.script);
  });

  it('names the layer a bad policy value was written in', () => {
    expect(compileError({ policy: { byKind: { cron: { window: 0 } } } }).message).toBe(
      'redundancy.config.yaml: policy.byKind.cron.window: expected an integer >= 1, got 0',
    );
    expect(compileError({ units: { 'cron:x': { policy: { minSamples: 9 } } } }).message).toBe(
      'redundancy.config.yaml: units.cron:x.policy.minSamples: expected an integer between 1 and policy.window (5), got 9',
    );
    expect(compileError({ policy: { byKind: { cronn: {} } } }).message).toContain('policy.byKind.cronn: expected a known key (unknown key; did you mean "cron"?)');
    expect(compileError({ schedules: { grace: 'soon' } }).message).toBe(
      'redundancy.config.yaml: schedules.grace: expected a duration > 0 and under 24d, like 500ms, 5s, 2m or 1h, got "soon"',
    );
    expect(compileError({ sources: { github: { token: 'ghp_secret' } } }).message).toBe(
      'redundancy.config.yaml: sources.github.token: expected a reference env:NAME to an environment variable (never the secret itself), got "(a literal, not shown)"',
    );
    expect(compileError({ sources: { github: { repo: 'nope' } } }).message).toBe('redundancy.config.yaml: sources.github.repo: expected owner/name, got "nope"');
    expect(compileError({ http: { listen: '0.0.0.0:9797' } }).message).toBe(
      'redundancy.config.yaml: http.listen: expected a loopback address (127.0.0.1, ::1), or http.token set to env:NAME for any other, got "0.0.0.0:9797"',
    );
    expect(compileConfig({ http: { listen: '0.0.0.0:9797', token: 'env:METRICS_TOKEN' } }, { cwd: '/' }).http).toEqual({
      listen: { host: '0.0.0.0', port: 9797 },
      token: { env: 'METRICS_TOKEN', given: true },
    });
    expect(compileConfig({ http: false }, { cwd: '/' }).http).toEqual({ listen: false });
    expect(compileError({ notify: { channels: [{ type: 'pager' }] } }).message).toBe(
      'redundancy.config.yaml: notify.channels[0].type: expected webhook, slack or email, got "pager"',
    );
    expect(compileError({ notify: { channels: [{ type: 'webhook', url: 'hooks.example' }] } }).message).toBe(
      'redundancy.config.yaml: notify.channels[0].url: expected an http:// or https:// URL, got "hooks.example"',
    );
    expect(compileError({ notify: { channels: [{ type: 'email', smtp: 'smtp://127.0.0.1:2525', from: 'a@b', to: ['ops'] }] } }).message).toBe(
      'redundancy.config.yaml: notify.channels[0].to[0]: expected an email address, got "ops"',
    );
    expect(compileConfig({ notify: { groupWait: 0, channels: [{ type: 'slack', url: 'env:SLACK_URL' }] } }, { cwd: '/' }).notify).toEqual({
      groupWaitMs: 0,
      repeatIntervalMs: 14_400_000,
      backoff: { baseMs: 1_000, capMs: 300_000, maxAgeMs: 86_400_000 },
      channels: [{ type: 'slack', name: 'slack-1', url: { env: 'SLACK_URL', given: true }, timeoutMs: 10_000 }],
    });
    expect(compileError({ sources: { netlify: { listen: '8888' } } }).message).toBe(
      'redundancy.config.yaml: sources.netlify.listen: expected host:port, like 127.0.0.1:8888, got "8888"',
    );
    expect(compileError({ sources: { netlify: { env: { API_KEY: 'abc' } } } }).message).toBe(
      'redundancy.config.yaml: sources.netlify.env.API_KEY: expected a reference env:NAME to an environment variable (never the secret itself), got "(a literal, not shown)"',
    );
    expect(compileError({ sources: { netlify: { siteUrl: 'example.netlify.app' } } }).message).toBe(
      'redundancy.config.yaml: sources.netlify.siteUrl: expected an http:// or https:// URL, got "example.netlify.app"',
    );
    expect(compileConfig({ sources: { netlify: { env: { API_KEY: 'env:SITE_API_KEY' }, listen: '[::1]:9999' } } }, { cwd: '/srv/app' }).sources.netlify).toMatchObject({
      env: { refs: { API_KEY: { env: 'SITE_API_KEY', given: true } } },
      listen: { host: '::1', port: 9999 },
    });
    expect(compileError({ sources: { cron: { userCrontab: 'yes' } } }).message).toBe(
      'redundancy.config.yaml: sources.cron.userCrontab: expected true or false, got "yes"',
    );
  });

  it('resolves paths against cwd and reads sizes', () => {
    const compiled = compileConfig(
      { sources: { pm2: { ecosystem: ['a.cjs', '/abs/b.js', 'a.cjs'] } }, stateDir: 'state', history: { maxBytes: '500KB' } },
      { file, cwd },
    );
    expect(compiled.sources.pm2.ecosystem).toEqual(['/srv/app/a.cjs', '/abs/b.js']);
    expect(compiled.stateDir).toBe('/srv/app/state');
    expect(compiled.history.maxBytes).toBe(500_000);
    expect(parseSize('1MiB')).toBe(1_048_576);
    expect(parseSize('2 kib')).toBe(2048);
    expect(parseSize('lots')).toBeUndefined();
    expect(defaultEcosystemFiles('/x')[0]).toBe('/x/ecosystem.config.cjs');
  });
});

describe('compileConfig errors', () => {
  const cases: Array<[string, unknown, string]> = [
    ['integer', { policy: { window: 'ten' } }, 'redundancy.config.yaml: policy.window: expected an integer >= 1, got "ten"'],
    [
      'unknown key with a suggestion',
      { policy: { windw: 10 } },
      'redundancy.config.yaml: policy.windw: expected a known key (unknown key; did you mean "window"?), got 10',
    ],
    [
      'unknown key in another case style',
      { check_interval: '5s' },
      'redundancy.config.yaml: check_interval: expected a known key (unknown key; did you mean "checkInterval"?), got "5s"',
    ],
    [
      'unknown key without a close match',
      { history: { zzz: 1 } },
      'redundancy.config.yaml: history.zzz: expected a known key (unknown key; known keys: maxBytes, keep), got 1',
    ],
    [
      'duration',
      { units: { 'pm2:api': { probe: { http: 'http://x.test', timeout: 'soon' } } } },
      'redundancy.config.yaml: units.pm2:api.probe.timeout: expected a duration > 0 and under 24d, like 500ms, 5s, 2m or 1h, got "soon"',
    ],
    [
      'minSamples above window',
      { policy: { window: 4, minSamples: 6 } },
      'redundancy.config.yaml: policy.minSamples: expected an integer between 1 and policy.window (4), got 6',
    ],
    [
      'holdDownMax below holdDown',
      { policy: { holdDown: '1m', holdDownMax: '30s' } },
      'redundancy.config.yaml: policy.holdDownMax: expected a duration >= policy.holdDown (1m), got "30s"',
    ],
    ['threshold', { policy: { errorRateThreshold: 1.5 } }, 'redundancy.config.yaml: policy.errorRateThreshold: expected a number > 0 and <= 1, got 1.5'],
    ['root', [1, 2], 'redundancy.config.yaml: expected a map of settings, got a list'],
    ['unit id', { units: { api: {} } }, 'redundancy.config.yaml: units: expected unit ids like pm2:api (kinds: pm2, cron, script, github, netlify), got "api"'],
    [
      'probe url',
      { units: { 'pm2:api': { probe: { http: 'ftp://x' } } } },
      'redundancy.config.yaml: units.pm2:api.probe.http: expected an http:// or https:// URL, got "ftp://x"',
    ],
    [
      'probe with both kinds',
      { units: { 'pm2:api': { probe: { http: 'http://x', command: 'true' } } } },
      'redundancy.config.yaml: units.pm2:api.probe: expected either http or command, not both, got a map',
    ],
    ['boolean', { sources: { pm2: { live: 'yes' } } }, 'redundancy.config.yaml: sources.pm2.live: expected true or false, got "yes"'],
    [
      'ecosystem list item',
      { sources: { pm2: { ecosystem: ['a.cjs', 3] } } },
      'redundancy.config.yaml: sources.pm2.ecosystem[1]: expected a file path or a list of file paths, got 3',
    ],
    ['size', { history: { maxBytes: 'lots' } }, 'redundancy.config.yaml: history.maxBytes: expected a size in bytes > 0, like 1048576, 500KB or 1MiB, got "lots"'],
    ['timer overflow', { checkInterval: '30d' }, 'redundancy.config.yaml: checkInterval: expected a duration > 0 and under 24d, like 500ms, 5s, 2m or 1h, got "30d"'],
  ];
  it.each(cases)('%s', (_name, raw, message) => {
    const error = compileError(raw);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(message);
  });

  it('keeps a key with control characters on one line', () => {
    expect(compileError({ 'a\nb': 1 }).message.split('\n')).toHaveLength(1);
  });

  it('names the defaults when no file was read', () => {
    expect(compileError({ checkInterval: 0 }, { cwd }).message).toBe(
      'redundancy.config.yaml (defaults): checkInterval: expected a duration > 0 and under 24d, like 500ms, 5s, 2m or 1h, got 0',
    );
  });

  it('never throws anything but a one-line RedundancyError on arbitrary input', () => {
    const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom('5s', '1MiB', 'http://x.test', -1, 0, 1, 0.5, 2 ** 40));
    const section = (keys: string[]) => fc.oneof(anyValue, fc.dictionary(fc.constantFrom(...keys, 'x'), anyValue));
    const raw = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.string({ unit: 'binary' }), anyValue),
      fc.record(
        {
          checkInterval: anyValue,
          policy: section(['window', 'minSamples', 'errorRateThreshold', 'holdDown', 'holdDownMax', 'failbackAfter']),
          sources: fc.oneof(anyValue, fc.record({ pm2: section(['ecosystem', 'live']) })),
          units: fc.oneof(
            anyValue,
            fc.dictionary(
              fc.constantFrom('pm2:api', 'api', 'cron:x', 'pm2:'),
              fc.oneof(anyValue, fc.record({ probe: section(['http', 'command', 'timeout', 'expectStatus']), overlap: anyValue })),
            ),
          ),
          history: section(['maxBytes', 'keep']),
          stateDir: anyValue,
          http: fc.oneof(anyValue, section(['listen', 'token'])),
          notify: fc.oneof(anyValue, fc.record({ groupWait: anyValue, channels: fc.oneof(anyValue, fc.array(section(['type', 'url', 'secret', 'smtp', 'from', 'to']))) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(raw, (value) => {
        try {
          compileConfig(value, { file, cwd });
        } catch (error) {
          expect(isRedundancyError(error)).toBe(true);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redundancy-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses every default when there is no file', async () => {
    const config = await loadConfig({ cwd: dir });
    expect(config.file).toBeUndefined();
    expect(config.stateDir).toBe(join(dir, '.redundancy'));
  });

  it('finds redundancy.config.yml and reads YAML 1.2', async () => {
    await writeFile(join(dir, 'redundancy.config.yml'), 'checkInterval: 2s\nunits:\n  pm2:api:\n    overlap: true\n');
    const config = await loadConfig({ cwd: dir });
    expect(config.file).toBe(join(dir, 'redundancy.config.yml'));
    expect(config.checkIntervalMs).toBe(2000);
    expect(config.units['pm2:api']!.overlap).toBe(true);
  });

  it('treats an empty file as defaults', async () => {
    await writeFile(join(dir, 'redundancy.config.yaml'), '# nothing yet\n');
    const config = await loadConfig({ cwd: dir });
    expect(config.file).toBe(join(dir, 'redundancy.config.yaml'));
    expect(config.policy.window).toBe(10);
  });

  it('refuses a missing explicit file', async () => {
    await expect(loadConfig({ cwd: dir, configPath: 'nope.yaml' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'nope.yaml: file not found',
    });
  });

  it('reports broken YAML as file:line:col on one line', async () => {
    await writeFile(join(dir, 'redundancy.config.yaml'), 'checkInterval: 5s\npolicy:\n  window: [1, 2\nunits: {}\n');
    await expect(loadConfig({ cwd: dir })).rejects.toMatchObject({
      code: 'CONFIG_PARSE',
      message: expect.stringMatching(/^redundancy\.config\.yaml:4:1: invalid YAML: [^\n]+$/),
    });
  });

  it('reports duplicate keys as a parse error', async () => {
    await writeFile(join(dir, 'custom.yaml'), 'checkInterval: 5s\ncheckInterval: 6s\n');
    await expect(loadConfig({ cwd: dir, configPath: 'custom.yaml' })).rejects.toMatchObject({
      code: 'CONFIG_PARSE',
      message: 'custom.yaml:2:1: invalid YAML: Map keys must be unique',
    });
  });

  it('reports validation errors against the file name', async () => {
    await writeFile(join(dir, 'redundancy.config.yaml'), 'policy:\n  window: ten\n');
    await expect(loadConfig({ cwd: dir })).rejects.toThrow(
      'redundancy.config.yaml: policy.window: expected an integer >= 1, got "ten"',
    );
  });
});
