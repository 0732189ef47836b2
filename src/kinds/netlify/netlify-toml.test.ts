import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matchesPattern, parseNetlifyToml, patternWeight, readNetlifyToml, tomlScheduleFor, type NetlifyTomlSettings } from './netlify-toml.js';

const file = '/site/netlify.toml';

function settings(text: string): NetlifyTomlSettings {
  const read = parseNetlifyToml(text, file);
  if (!read.ok) throw new Error(read.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('; '));
  return read.settings;
}
function problems(text: string): string[] {
  const read = parseNetlifyToml(text, file);
  if (read.ok) throw new Error('expected problems');
  return read.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
}

describe('the functions directory', () => {
  it('[functions] directory, relative to the toml', () => {
    expect(settings('[functions]\ndirectory = "api"\n')).toMatchObject({ functionsDir: '/site/api', functionsDirFrom: 'functions.directory' });
  });
  it('legacy [build] functions when [functions] names none', () => {
    expect(settings('[build]\nfunctions = "lambda"\n')).toMatchObject({ functionsDir: '/site/lambda', functionsDirFrom: 'build.functions' });
    expect(settings('[build]\nfunctions = "lambda"\n[functions]\ndirectory = "api"\n').functionsDir).toBe('/site/api');
  });
  it('the default netlify/functions otherwise, under [build] base when set', () => {
    expect(settings('')).toMatchObject({ functionsDir: '/site/netlify/functions', functionsDirFrom: 'default' });
    expect(settings('[build]\nbase = "web"\n').functionsDir).toBe('/site/web/netlify/functions');
  });
  it('[dev] functions is not the functions directory (a note says so)', () => {
    const s = settings('[build]\npublish = "dist"\n\n[dev]\nfunctions = "src/fns"\n');
    expect(s.functionsDir).toBe('/site/netlify/functions');
    expect(s.notes).toEqual([`${file}:5: [dev] functions is Netlify Dev's setting, not the functions directory; reading /site/netlify/functions`]);
  });
  it('[functions."*"] directory counts too', () => {
    expect(settings('[functions."*"]\ndirectory = "fns"\n').functionsDir).toBe('/site/fns');
  });
});

describe('per-function and glob settings', () => {
  const text = [
    '[functions]', //                          1
    '  directory = "fns"', //                  2
    '  schedule = "@daily"', //                3
    '  node_bundler = "esbuild"', //           4
    '', //                                     5
    '[functions."report-*"]', //               6
    '  included_files = ["t/*.html"]', //      7
    '  schedule = "@weekly"', //               8
    '', //                                     9
    '[functions.report-sales]', //             10
    '  schedule = "0 6 * * 1"', //             11
    '', //                                     12
    '[functions."r*"]', //                     13
    '  external_node_modules = ["sharp"]', //  14
  ].join('\n');
  const s = settings(text);

  it('sub-tables by name or glob; the top-level props go to "*"', () => {
    expect([...s.functions.keys()].sort()).toEqual(['*', 'r*', 'report-*', 'report-sales']);
    expect(s.functions.get('*')).toEqual({ schedule: '@daily', nodeBundler: 'esbuild', line: 3 });
    expect(s.functions.get('report-*')).toEqual({ includedFiles: ['t/*.html'], schedule: '@weekly', line: 8 });
    expect(s.functions.get('r*')).toEqual({ externalNodeModules: ['sharp'], line: 13 });
  });
  it('an exact name beats a glob, which beats "*"; the longer glob wins', () => {
    expect(tomlScheduleFor(s, 'report-sales')).toEqual({ schedule: '0 6 * * 1', pattern: 'report-sales', line: 11 });
    expect(tomlScheduleFor(s, 'report-stock')).toEqual({ schedule: '@weekly', pattern: 'report-*', line: 8 });
    expect(tomlScheduleFor(s, 'ping')).toEqual({ schedule: '@daily', pattern: '*', line: 3 });
  });
  it('a config-property name holding only config props is a function of that name; otherwise the prop applies to "*"', () => {
    const t = settings('[functions.schedule]\nschedule = "@hourly"\n[functions.memory]\nfoo = 1\n');
    expect(t.functions.get('schedule')).toEqual({ schedule: '@hourly', line: 2 });
    expect(t.functions.has('memory')).toBe(false);
  });
  it('an explicit [functions."*"] wins over the top-level props', () => {
    const t = settings('[functions]\nschedule = "@daily"\n[functions."*"]\nschedule = "@hourly"\n');
    expect(tomlScheduleFor(t, 'x')).toMatchObject({ schedule: '@hourly' });
  });
  it('dotted keys and inline tables', () => {
    const t = settings('[functions]\n"nightly".schedule = "@daily"\nother = { schedule = "@weekly" }\n');
    expect(t.functions.get('nightly')).toEqual({ schedule: '@daily', line: 2 });
    expect(t.functions.get('other')).toEqual({ schedule: '@weekly', line: 3 });
  });
});

describe('glob matching', () => {
  it('* is any run of characters, ? one; the rest is literal', () => {
    expect(matchesPattern('report-*', 'report-sales')).toBe(true);
    expect(matchesPattern('report-*', 'reports')).toBe(false);
    expect(matchesPattern('*-background', 'sync-background')).toBe(true);
    expect(matchesPattern('a?c', 'abc')).toBe(true);
    expect(matchesPattern('a.c', 'abc')).toBe(false);
    expect(matchesPattern('*', 'anything')).toBe(true);
  });
  it('weights as zip-it-and-ship-it: netlify > netlify* > net*', () => {
    expect(patternWeight('netlify')).toBeGreaterThan(patternWeight('netlify*'));
    expect(patternWeight('netlify*')).toBeGreaterThan(patternWeight('net*'));
  });
});

describe('errors name file:line:column', () => {
  it('a syntax error, with the parser position', () => {
    expect(problems('[functions]\ndirectory = \n')).toEqual([`${file}:2:13: TOML syntax: invalid value`]);
    expect(problems('[functions."nightly"\nschedule = "@daily"\n')[0]).toMatch(/^\/site\/netlify\.toml:1:\d+: TOML syntax: /);
  });
  it('a wrong type names the key path and what was expected, at the key line', () => {
    expect(problems('[build]\ncommand = "x"\n\n[functions."x"]\n  schedule = 5\n')).toEqual([
      `${file}:5:3: functions."x".schedule: expected a string (a cron or @hourly, @daily, ...), got 5`,
    ]);
    expect(problems('[functions]\ndirectory = []\n')).toEqual([`${file}:2:1: functions.directory: expected a directory (a non-empty string), got a list`]);
    expect(problems('[build]\nfunctions = 3\n')).toEqual([`${file}:2:1: build.functions: expected a directory (a non-empty string), got 3`]);
    expect(problems('functions = "fns"\n')).toEqual([`${file}:1:1: functions: expected a table, got "fns"`]);
    expect(problems('[functions]\nnightly = "@daily"\n')).toEqual([`${file}:2:1: functions."nightly": expected a table of settings for the functions matching "nightly", got "@daily"`]);
    expect(problems('[functions."a*"]\nnode_bundler = "webpack"\nincluded_files = "x"\n')).toEqual([
      `${file}:2:1: functions."a*".node_bundler: expected one of esbuild, nft, zisi, none, got "webpack"`,
      `${file}:3:1: functions."a*".included_files: expected a list of strings, got "x"`,
    ]);
  });
  it('a key inside an inline table points at the line that holds it', () => {
    expect(problems('[functions]\n\nnightly = { schedule = 5 }\n')).toEqual([
      `${file}:3:1: functions."nightly".schedule: expected a string (a cron or @hourly, @daily, ...), got 5`,
    ]);
  });
});

describe('readNetlifyToml', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('a missing file gives the defaults, unless it was given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nftoml-'));
    dirs.push(dir);
    const missing = join(dir, 'netlify.toml');
    const read = await readNetlifyToml(missing, { projectDir: dir, given: false });
    expect(read).toMatchObject({ ok: true, settings: { functionsDir: join(dir, 'netlify/functions'), functionsDirFrom: 'default' } });
    expect(await readNetlifyToml(missing, { projectDir: dir, given: true })).toEqual({ ok: false, problems: [{ file: missing, line: 0, column: 0, message: 'no such file' }] });
  });
});
