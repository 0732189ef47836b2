import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NetlifyFunctionInfo } from './netlify-function.js';
import { checkNetlifySchedule, inventoryNetlify, type NetlifyInventory } from './netlify-inventory.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/netlify/', import.meta.url));
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const inventory = (cwd: string, tomlGiven = false): Promise<NetlifyInventory> => inventoryNetlify({ cwd, toml: join(cwd, 'netlify.toml'), tomlGiven });
const byName = (inv: NetlifyInventory, name: string): NetlifyFunctionInfo => {
  const fn = inv.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`no function ${name} in ${inv.functions.map((f) => f.name).join(', ')}`);
  return fn;
};

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nfinv-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}
const v2 = (config = ''): string => `export default async () => new Response("ok");\n${config ? `export const config = ${config};\n` : ''}`;
const v1 = 'export const handler = async () => ({ statusCode: 200, body: "ok" });\n';
const manifest = (functions: object[]): string => JSON.stringify({ version: 1, timestamp: 0, functions }, null, 2);

describe('the fixture site ([functions] directory, per-function and glob schedules, a manifest)', async () => {
  const cwd = join(fixtures, 'site');
  const inv = await inventory(cwd);
  const fns = join(cwd, 'functions');

  it('lists every function, sorted, with type, schedule and where it came from', () => {
    const rows = inv.functions.map((f) => [f.name, f.type, f.schedule ?? null, f.scheduleFrom ?? null, f.apiVersion ?? null, f.whyNot ? 'whyNot' : 'ok']);
    expect(rows).toEqual([
      ['broken', 'scheduled', '0 3 * * *', 'manifest', 2, 'whyNot'],
      ['cleanup', 'scheduled', '*/15 * * * *', 'source', 1, 'ok'],
      ['digest', 'scheduled', '0 6 * * *', 'toml', 2, 'ok'],
      ['hello', 'sync', null, null, 2, 'ok'],
      ['hourly-report', 'scheduled', '@hourly', 'source', 2, 'ok'],
      ['legacy', 'sync', null, null, 1, 'ok'],
      ['nightly-export', 'scheduled', '30 2 * * *', 'manifest', 2, 'whyNot'],
      ['override', 'scheduled', '@daily', 'source', 2, 'ok'],
      ['ping', 'sync', null, null, 1, 'ok'],
      ['report-weekly', 'scheduled', '@weekly', 'toml', 2, 'ok'],
      ['resize', 'sync', null, null, null, 'whyNot'],
      ['ssr-handler', 'sync', null, null, 2, 'whyNot'],
      ['sync-background', 'background', null, null, 2, 'ok'],
    ]);
    expect(inv.notes).toEqual([]);
    expect(inv.broken).toBeUndefined();
  });
  it('entries, paths and source lines', () => {
    expect(byName(inv, 'hello')).toEqual({
      name: 'hello', entry: join(fns, 'hello.mts'), runtime: 'js', type: 'sync', paths: ['/api/hello'], apiVersion: 2, source: { file: join(fns, 'hello.mts'), line: 8 },
    });
    expect(byName(inv, 'digest')).toMatchObject({ entry: join(fns, 'digest/index.mjs'), paths: ['/.netlify/functions/digest'] });
    expect(byName(inv, 'report-weekly').entry).toBe(join(fns, 'report-weekly/report-weekly.ts'));
    expect(byName(inv, 'cleanup').source).toEqual({ file: join(fns, 'cleanup.js'), line: 7 });
    expect(byName(inv, 'legacy').source.line).toBe(5);
    expect(byName(inv, 'ssr-handler')).toMatchObject({ entry: '/build/site/.netlify/functions-internal/ssr-handler/ssr-handler.mjs', paths: ['/*'] });
  });
  it('why some cannot be twinned', () => {
    expect(byName(inv, 'broken').whyNot).toBe(`does not parse: ${join(fns, 'broken.mjs')}:2:30: Unexpected token, expected ","`);
    expect(byName(inv, 'resize')).toMatchObject({ runtime: 'go', whyNot: 'runtime go: the local runner runs JavaScript and TypeScript only' });
    expect(byName(inv, 'nightly-export').whyNot).toMatch(/^known only from .*manifest\.json, and its entry \/build\/site\/\.netlify\/functions-internal\/nightly-export\.mjs does not exist here$/);
  });
});

describe('the other fixtures', () => {
  it('legacy [build] functions', async () => {
    const inv = await inventory(join(fixtures, 'legacy'));
    expect(inv.functions).toEqual([expect.objectContaining({ name: 'hello', entry: join(fixtures, 'legacy/lambda/hello.js'), apiVersion: 1, type: 'sync' })]);
  });
  it('[dev] functions only: the default directory is read, a note says why', async () => {
    const inv = await inventory(join(fixtures, 'dev-only'));
    expect(inv.functions.map((f) => f.name)).toEqual(['real']);
    expect(inv.notes).toEqual([`${join(fixtures, 'dev-only/netlify.toml')}:3: [dev] functions is Netlify Dev's setting, not the functions directory; reading ${join(fixtures, 'dev-only/netlify/functions')}`]);
  });
  it('a broken netlify.toml: broken names file:line:col, its settings are ignored, the default directory is read', async () => {
    const cwd = join(fixtures, 'broken-toml');
    const inv = await inventory(cwd);
    expect(inv.broken).toMatch(new RegExp(`^${join(cwd, 'netlify.toml')}:5:\\d+: TOML syntax: `));
    expect(inv.notes).toEqual([`${inv.broken}; netlify.toml ignored, reading ${join(cwd, 'netlify/functions')}`]);
    expect(inv.functions.map((f) => [f.name, f.type])).toEqual([['ok', 'sync']]);
  });
  it('a manifest of another version is ignored with a note', async () => {
    const inv = await inventory(join(fixtures, 'manifest-v2'));
    expect(inv.functions.map((f) => f.name)).toEqual(['a']);
    expect(inv.notes).toEqual([`${join(fixtures, 'manifest-v2/.netlify/functions/manifest.json')}: manifest version 2 not understood; ignored`]);
  });
});

describe('netlify.toml: missing, wrong, pointing nowhere', () => {
  it('missing: defaults; missing but given: broken', async () => {
    const cwd = await project({ 'netlify/functions/a.mjs': v2() });
    expect((await inventory(cwd)).functions.map((f) => f.name)).toEqual(['a']);
    const given = await inventory(cwd, true);
    expect(given.broken).toBe(`${join(cwd, 'netlify.toml')}: no such file`);
    expect(given.functions.map((f) => f.name)).toEqual(['a']);
  });
  it('a wrong type is broken, naming file:line and the key path', async () => {
    const cwd = await project({ 'netlify.toml': '[functions]\ndirectory = "fns"\n\n[functions."x"]\nschedule = 5\n', 'netlify/functions/x.mjs': v2(), 'fns/y.mjs': v2() });
    const inv = await inventory(cwd);
    expect(inv.broken).toBe(`${join(cwd, 'netlify.toml')}:5:1: functions."x".schedule: expected a string (a cron or @hourly, @daily, ...), got 5`);
    expect(inv.functions.map((f) => [f.name, f.type])).toEqual([['x', 'sync']]);
  });
  it('a directory that does not exist, a pattern that matches nothing: notes', async () => {
    const cwd = await project({ 'netlify.toml': '[functions]\ndirectory = "nowhere"\n[functions."gone"]\nschedule = "@daily"\n' });
    const toml = join(cwd, 'netlify.toml');
    expect((await inventory(cwd)).notes).toEqual([
      `${toml}: functions directory ${join(cwd, 'nowhere')} (functions.directory) does not exist`,
      `${toml}:4: [functions."gone"] matches no function`,
    ]);
  });
});

describe('merge rules', () => {
  it('schedule: in-source > toml (exact > glob > "*") > manifest, with scheduleFrom', async () => {
    const cwd = await project({
      'netlify.toml': ['[functions]', 'schedule = "0 1 * * *"', '[functions."job-*"]', 'schedule = "0 2 * * *"', '[functions."job-exact"]', 'schedule = "0 3 * * *"'].join('\n'),
      'netlify/functions/job-source.mts': v2('{ schedule: "0 4 * * *" }'),
      'netlify/functions/job-exact.mjs': v2(),
      'netlify/functions/job-glob.mjs': v2(),
      'netlify/functions/other.mjs': v2(),
      'netlify/functions/v1-source.js': 'const { schedule } = require("@netlify/functions");\nexports.handler = schedule("0 5 * * *", async () => ({ statusCode: 200 }));\n',
      '.netlify/functions/manifest.json': manifest([{ name: 'other', mainFile: '/x/other.mjs', schedule: '0 6 * * *' }]),
    });
    const inv = await inventory(cwd);
    expect(inv.functions.map((f) => [f.name, f.schedule, f.scheduleFrom])).toEqual([
      ['job-exact', '0 3 * * *', 'toml'],
      ['job-glob', '0 2 * * *', 'toml'],
      ['job-source', '0 4 * * *', 'source'],
      ['other', '0 1 * * *', 'toml'],
      ['v1-source', '0 5 * * *', 'source'],
    ]);
    const noToml = await project({
      'netlify/functions/other.mjs': v2(),
      '.netlify/functions/manifest.json': manifest([{ name: 'other', mainFile: '/x/other.mjs', schedule: '0 6 * * *' }]),
    });
    expect(byName(await inventory(noToml), 'other')).toMatchObject({ type: 'scheduled', schedule: '0 6 * * *', scheduleFrom: 'manifest' });
  });
  it('type: scheduled beats background; background by name, config.background or the manifest; else sync', async () => {
    const cwd = await project({
      'netlify/functions/a-background.mjs': v2(),
      'netlify/functions/b.mts': v2('{ background: true }'),
      'netlify/functions/c.mjs': v2(),
      'netlify/functions/d-background.mts': v2('{ schedule: "@daily" }'),
      'netlify/functions/e.mjs': v2(),
      '.netlify/functions/manifest.json': manifest([{ name: 'c', mainFile: '/x/c.mjs', invocationMode: 'background' }]),
    });
    expect((await inventory(cwd)).functions.map((f) => [f.name, f.type])).toEqual([
      ['a-background', 'background'], ['b', 'background'], ['c', 'background'], ['d-background', 'scheduled'], ['e', 'sync'],
    ]);
  });
  it('paths: config.path replaces /.netlify/functions/<name>', async () => {
    const cwd = await project({ 'netlify/functions/a.mts': v2('{ path: ["/a", "/b/:id"] }'), 'netlify/functions/b.mjs': v2() });
    const inv = await inventory(cwd);
    expect(inv.functions.map((f) => f.paths)).toEqual([['/a', '/b/:id'], ['/.netlify/functions/b']]);
  });
  it('the manifest adds functions only it knows and fills the API version the source does not show', async () => {
    const cwd = await project({
      'netlify/functions/wrapped.cjs': 'module.exports = require("./impl.cjs");\n',
      'built/extra.mjs': v2(),
      '.netlify/functions/manifest.json': '',
    });
    await writeFile(join(cwd, '.netlify/functions/manifest.json'), manifest([
      { name: 'wrapped', mainFile: join(cwd, 'netlify/functions/wrapped.cjs'), runtime: 'js', buildData: { runtimeAPIVersion: 1 } },
      { name: 'extra', mainFile: join(cwd, 'built/extra.mjs'), runtime: 'js', schedule: '@hourly', buildData: { runtimeAPIVersion: 2 } },
      { name: 'gofn', mainFile: join(cwd, 'built/gofn'), runtime: 'go' },
    ]));
    const inv = await inventory(cwd);
    expect(byName(inv, 'wrapped')).toMatchObject({ apiVersion: 1, entry: join(cwd, 'netlify/functions/wrapped.cjs') });
    expect(byName(inv, 'extra')).toEqual({
      name: 'extra', entry: join(cwd, 'built/extra.mjs'), runtime: 'js', type: 'scheduled', schedule: '@hourly', scheduleFrom: 'manifest',
      paths: ['/.netlify/functions/extra'], apiVersion: 2, source: { file: join(cwd, 'built/extra.mjs'), line: 1 },
    });
    expect(byName(inv, 'gofn').whyNot).toBe('runtime go: the local runner runs JavaScript and TypeScript only');
    expect(inv.notes).toEqual([`${join(cwd, 'netlify/functions/wrapped.cjs')}: no \`handler\` export and no default export seen; Netlify would find nothing to call`]);
  });
  it('in-source notes reach the inventory notes', async () => {
    const cwd = await project({ 'netlify/functions/a.mts': 'export default () => new Response("x");\nexport const config = { schedule: "@daily" } satisfies Config;\n' });
    const inv = await inventory(cwd);
    expect(byName(inv, 'a')).toMatchObject({ schedule: '@daily', scheduleFrom: 'source' });
    expect(inv.notes).toEqual([expect.stringContaining(`${join(cwd, 'netlify/functions/a.mts')}:2: \`config\` is wrapped`)]);
  });
});

describe('invalid schedules: whyNot names file:line and the schedule', () => {
  it('from the source, the toml and the manifest', async () => {
    const cwd = await project({
      'netlify.toml': '[functions."b"]\nschedule = "@annually"\n',
      'netlify/functions/a.mts': v2('{\n  schedule: "@reboot",\n}'),
      'netlify/functions/b.mjs': v2(),
      'netlify/functions/c.mjs': v2(),
      '.netlify/functions/manifest.json': manifest([{ name: 'c', mainFile: '/x/c.mjs', schedule: '61 * * * *' }]),
    });
    const inv = await inventory(cwd);
    expect(byName(inv, 'a')).toMatchObject({ type: 'scheduled', whyNot: `${join(cwd, 'netlify/functions/a.mts')}:3: schedule "@reboot" is not valid: Netlify takes @yearly, @monthly, @weekly, @daily, @hourly or five cron fields` });
    expect(byName(inv, 'b').whyNot).toBe(`${join(cwd, 'netlify.toml')}:2: schedule "@annually" is not valid: Netlify takes @yearly, @monthly, @weekly, @daily, @hourly or five cron fields`);
    expect(byName(inv, 'c').whyNot).toMatch(new RegExp(`^${join(cwd, '.netlify/functions/manifest.json')}:6: schedule "61 \\* \\* \\* \\*" is not valid: expected .+ at column 1$`));
  });
  it('checkNetlifySchedule', () => {
    expect(checkNetlifySchedule('@hourly')).toBeUndefined();
    expect(checkNetlifySchedule('*/5 9-17 * * MON-FRI')).toBeUndefined();
    expect(checkNetlifySchedule('* * * *')).toBe('expected five cron fields (minute hour day-of-month month day-of-week), got 4');
    expect(checkNetlifySchedule('0 0 * * * *')).toMatch(/got 6$/);
    expect(checkNetlifySchedule('@midnight')).toMatch(/^Netlify takes/);
    expect(checkNetlifySchedule('')).toMatch(/got 0$/);
  });
});

describe('150 functions with in-source config', () => {
  it('are all found with their types and schedules', async () => {
    const files: Record<string, string> = {};
    const expected: Array<[string, string, string | null]> = [];
    for (let i = 0; i < 150; i++) {
      const n = String(i).padStart(3, '0');
      switch (i % 5) {
        case 0:
          files[`netlify/functions/api-${n}.mts`] = `import type { Config } from "@netlify/functions";\nexport default async (req: Request) => new Response("${n}");\nexport const config: Config = { path: "/api/${n}", method: ["GET"] };\n`;
          expected.push([`api-${n}`, 'sync', null]);
          break;
        case 1:
          files[`netlify/functions/cron-${n}.ts`] = v2(`{ schedule: "${i % 60} * * * *" }`);
          expected.push([`cron-${n}`, 'scheduled', `${i % 60} * * * *`]);
          break;
        case 2:
          files[`netlify/functions/legacy-${n}.js`] = `const { schedule } = require("@netlify/functions");\nexports.handler = schedule("@daily", async () => ({ statusCode: 200, body: "${n}" }));\n`;
          expected.push([`legacy-${n}`, 'scheduled', '@daily']);
          break;
        case 3:
          files[`netlify/functions/job-${n}-background/index.mjs`] = v2(`{ name: "job ${n}" }`);
          expected.push([`job-${n}-background`, 'background', null]);
          break;
        default:
          files[`netlify/functions/hook-${n}.cjs`] = `async function handler() { return { statusCode: 200, body: "${n}" }; }\nmodule.exports = { handler };\n`;
          expected.push([`hook-${n}`, 'sync', null]);
      }
    }
    const inv = await inventory(await project(files));
    expect(inv.notes).toEqual([]);
    expect(inv.functions.map((f) => [f.name, f.type, f.schedule ?? null])).toEqual(expected.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    expect(inv.functions.every((f) => f.whyNot === undefined && f.apiVersion !== undefined)).toBe(true);
  });
});
