import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config.js';
import { isRedundancyError } from '../../core/errors.js';
import { planTwins } from './twin-plan.js';
import { splitArgs, twinToEcosystemApp } from './app-options.js';
import { findNameLine, loadEcosystem, normalizeEcosystem } from './ecosystem.js';
import { inventoryFromFiles } from './file-inventory.js';
import { renderTwinsFile, writeTwinsFile } from './twin-file.js';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'redundancy-ecosystem-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory with the given files; `package.json` decides how `.js` loads. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = join(root, `p${++counter}`);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('loadEcosystem forms', () => {
  it('reads a .cjs { apps } object with lines, paths and PM2 option names', async () => {
    const dir = await project({
      'package.json': '{"type":"module"}',
      'ecosystem.config.cjs': [
        'module.exports = {',
        '  apps: [',
        "    { name: 'api', script: './server.js', args: '--port 3000 --label \"a b\"', max_restarts: 10,",
        "      env: { PORT: 3000, DEBUG: false }, min_uptime: '2s', cron_restart: '0 3 * * *', node_args: ['--inspect'] },",
        "    { script: 'worker.js', cwd: 'jobs', exec_interpreter: 'node', restart_delay: 500 },",
        "    { name: 'npm-task', script: 'npm', args: ['run', 'sync'], cron_restart: 0 },",
        '  ],',
        '};',
      ].join('\n'),
    });
    const { file, apps } = await loadEcosystem(join(dir, 'ecosystem.config.cjs'));
    expect(file).toBe(join(dir, 'ecosystem.config.cjs'));
    expect(apps.map((a) => [a.spec.name, a.line])).toEqual([['api', 3], ['worker', 5], ['npm-task', 6]]);
    expect(apps[0]!.spec).toEqual({
      name: 'api',
      script: join(dir, 'server.js'),
      args: ['--port', '3000', '--label', 'a b'],
      cwd: dir,
      env: { PORT: '3000', DEBUG: 'false' },
      options: { node_args: ['--inspect'] },
      maxRestarts: 10,
      minUptimeMs: 2000,
      cronRestart: '0 3 * * *',
    });
    expect(apps[1]!.spec).toMatchObject({
      script: join(dir, 'jobs', 'worker.js'), cwd: join(dir, 'jobs'), interpreter: 'node', restartDelayMs: 500, options: {},
    });
    expect(apps[2]!.spec.script).toBe('npm');
    expect(apps[2]!.spec.cronRestart).toBeUndefined();
  });

  it('reads a .cjs array and sees edits on re-read', async () => {
    const dir = await project({ 'apps.config.cjs': "module.exports = [{ name: 'a', script: 'a.js' }];" });
    const path = join(dir, 'apps.config.cjs');
    expect((await loadEcosystem(path)).apps.map((a) => a.spec.name)).toEqual(['a']);
    await writeFile(path, "module.exports = [{ name: 'b', script: 'b.js' }];");
    expect((await loadEcosystem(path)).apps.map((a) => a.spec.name)).toEqual(['b']);
  });

  it('reads .js as ESM in a "type": "module" package, and sees edits', async () => {
    const dir = await project({
      'package.json': '{"type":"module"}',
      'ecosystem.config.js': "export default { apps: [{ name: 'esm', script: 'index.js' }] };",
    });
    const path = join(dir, 'ecosystem.config.js');
    expect((await loadEcosystem(path)).apps[0]!.spec.name).toBe('esm');
    await writeFile(path, "export default { apps: [{ name: 'esm2', script: 'index.js' }] };");
    expect((await loadEcosystem(path)).apps[0]!.spec.name).toBe('esm2');
  });

  it('reads .js as CommonJS without "type": "module", a single app object, and .mjs', async () => {
    const dir = await project({
      'package.json': '{}',
      'ecosystem.config.js': "module.exports = { name: 'one', script: 'one.js' };",
      'ecosystem.config.mjs': "export default [{ name: 'm', script: 'm.mjs' }];",
    });
    expect((await loadEcosystem(join(dir, 'ecosystem.config.js'))).apps[0]!.spec.name).toBe('one');
    expect((await loadEcosystem(join(dir, 'ecosystem.config.mjs'))).apps[0]!.spec.name).toBe('m');
  });

  it('reads .json, including the JS-expression form PM2 evaluates', async () => {
    const dir = await project({
      'ecosystem.json': '{\n  "apps": [\n    { "name": "j", "script": "j.js", "autorestart": false }\n  ]\n}\n',
      'loose.json': "// PM2 allows this\n[{ name: 'loose', script: 'l.js', },]",
    });
    const json = await loadEcosystem(join(dir, 'ecosystem.json'));
    expect(json.apps[0]).toMatchObject({ line: 3, spec: { name: 'j', autorestart: false } });
    expect((await loadEcosystem(join(dir, 'loose.json'))).apps[0]!.spec.name).toBe('loose');
  });

  it('wraps a file that throws while loading', async () => {
    const dir = await project({ 'bad.config.cjs': "throw new Error('boom\\nsecond line');" });
    const error = await loadEcosystem(join(dir, 'bad.config.cjs')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECOSYSTEM_LOAD', message: `${join(dir, 'bad.config.cjs')}: failed to load: boom` });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('wraps a missing file and a syntax error', async () => {
    const dir = await project({ 'broken.json': '{ "apps": [' });
    await expect(loadEcosystem(join(dir, 'missing.config.cjs'))).rejects.toMatchObject({ code: 'ECOSYSTEM_LOAD' });
    await expect(loadEcosystem(join(dir, 'broken.json'))).rejects.toMatchObject({
      code: 'ECOSYSTEM_LOAD', message: expect.stringMatching(/broken\.json: failed to load: [^\n]+$/),
    });
  });
});

describe('normalizeEcosystem', () => {
  const file = '/srv/app/ecosystem.config.cjs';
  const message = (exported: unknown) => {
    try {
      normalizeEcosystem(exported, file);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ECOSYSTEM_INVALID' });
      return (error as Error).message;
    }
    return 'no error';
  };

  it('names file, path, value and expectation on one line', () => {
    expect(message({ apps: [{ name: 'a', script: 'a.js', max_restarts: -1 }] })).toBe(
      '/srv/app/ecosystem.config.cjs: apps[0].max_restarts: expected a non-negative integer, got -1',
    );
    expect(message({ apps: { name: 'a' } })).toBe('/srv/app/ecosystem.config.cjs: apps: expected a list of apps, got a map');
    expect(message([{ name: 7, script: 'a.js' }])).toBe('/srv/app/ecosystem.config.cjs: [0].name: expected a non-empty string, got 7');
    expect(message({ apps: [{ script: 'a.js', env: ['A=1'] }] })).toBe(
      '/srv/app/ecosystem.config.cjs: apps[0].env: expected a map of variable names to values, got a list',
    );
    expect(message({ apps: [{ script: 'a.js', env: { A: { b: 1 } } }] })).toBe(
      '/srv/app/ecosystem.config.cjs: apps[0].env.A: expected a string, number or boolean, got a map',
    );
    expect(message({ apps: [{ name: 'a' }] })).toBe('/srv/app/ecosystem.config.cjs: apps[0].script: expected a script path or command, got nothing');
    expect(message({ deploy: {} })).toBe('/srv/app/ecosystem.config.cjs: expected { apps: [...] }, a list of apps, or one app, got a map');
  });

  it('refuses duplicate names, naming both indexes', () => {
    expect(message({ apps: [{ name: 'a', script: 'a.js' }, { name: 'b', script: 'b.js' }, { script: 'lib/a.js' }] })).toBe(
      '/srv/app/ecosystem.config.cjs: apps[2].name: expected a name not already used by apps[0], got "a"',
    );
  });

  it('never throws anything but a one-line RedundancyError on arbitrary input', () => {
    const scalar = fc.oneof(fc.jsonValue(), fc.constantFrom('a.js', 'npm', '1s', -1, 3, '0', true));
    const app = fc.record(
      {
        name: scalar, script: scalar, args: scalar, cwd: scalar, env: fc.oneof(scalar, fc.dictionary(fc.string(), scalar)),
        max_restarts: scalar, min_uptime: scalar, restart_delay: scalar, cron_restart: scalar, interpreter: scalar, watch: scalar,
      },
      { requiredKeys: [] },
    );
    const exported = fc.oneof(fc.anything(), fc.array(app), fc.record({ apps: fc.oneof(scalar, fc.array(app)) }), app);
    fc.assert(
      fc.property(exported, (value) => {
        try {
          normalizeEcosystem(value, file);
        } catch (error) {
          expect(isRedundancyError(error)).toBe(true);
          expect((error as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('args and lines', () => {
  it('splits args like a shell in simple cases', () => {
    expect(splitArgs('  a  "b c" \'d "e"\' f\\ g "h\\"i" \'\' ')).toEqual(['a', 'b c', 'd "e"', 'f g', 'h"i', '']);
    expect(splitArgs('')).toEqual([]);
  });

  it('finds the line of a name in JS, JSON and YAML text', () => {
    expect(findNameLine("x\n{ name: 'api' }", 'api')).toBe(2);
    expect(findNameLine('x\n\n"name": "a.b"', 'a.b')).toBe(3);
    expect(findNameLine('apps:\n  - name: api\n', 'api')).toBe(2);
    expect(findNameLine("a\n script: './lib/worker.js'", 'worker')).toBe(2);
    expect(findNameLine('nothing', 'api')).toBeUndefined();
  });
});

describe('inventoryFromFiles', () => {
  it('uses the first default file, skips our apps and ignored units', async () => {
    const dir = await project({
      'ecosystem.config.js': "module.exports = { apps: [{ name: 'never', script: 'x.js' }] };",
      'ecosystem.config.cjs': [
        'module.exports = { apps: [',
        "  { name: 'api', script: 'api.js', cron_restart: '*/5 * * * *' },",
        "  { name: 'api-backup', script: 'api.js' },",
        "  { name: 'redundancy-manager', script: 'm.js' },",
        "  { name: 'quiet', script: 'q.js' },",
        '] };',
      ].join('\n'),
    });
    const config = compileConfig({ units: { 'pm2:quiet': { ignore: true } } }, { cwd: dir });
    const units = await inventoryFromFiles(config);
    expect(units).toEqual([
      expect.objectContaining({
        id: 'pm2:api', kind: 'pm2', name: 'api', schedule: '*/5 * * * *', source: { file: join(dir, 'ecosystem.config.cjs'), line: 2 },
      }),
    ]);
  });

  it('refuses an app defined in two configured files', async () => {
    const dir = await project({
      'a.cjs': "module.exports = [{ name: 'api', script: 'a.js' }];",
      'b.json': '[{ "name": "api", "script": "b.js" }]',
    });
    const config = compileConfig({ sources: { pm2: { ecosystem: ['a.cjs', 'b.json'] } } }, { cwd: dir, file: 'r.yaml' });
    await expect(inventoryFromFiles(config)).rejects.toMatchObject({
      code: 'ECOSYSTEM_INVALID', message: `${join(dir, 'b.json')}: app "api" is also defined in ${join(dir, 'a.cjs')}`,
    });
  });

  it('returns nothing when no default file exists', async () => {
    const dir = await project({});
    expect(await inventoryFromFiles(compileConfig(undefined, { cwd: dir }))).toEqual([]);
  });

  it('refuses a configured file that is missing', async () => {
    const dir = await project({});
    const config = compileConfig({ sources: { pm2: { ecosystem: 'apps.cjs' } } }, { cwd: dir, file: 'redundancy.config.yaml' });
    await expect(inventoryFromFiles(config)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `redundancy.config.yaml: sources.pm2.ecosystem: file not found: ${join(dir, 'apps.cjs')}`,
    });
  });
});

describe('twins file', () => {
  it('renders a loadable .cjs that round-trips the twin specs, written atomically', async () => {
    const dir = await project({
      'ecosystem.config.cjs': "module.exports = { apps: [{ name: 'api', script: 'api.js', max_restarts: 10, env: { A: 1 }, watch: true }] };",
    });
    const config = compileConfig(undefined, { cwd: dir });
    const plans = planTwins(await inventoryFromFiles(config));
    const text = renderTwinsFile(plans, { generatedFrom: ['ecosystem.config.cjs\nprocess.exit(1)'] });
    expect(text.split('\n')[0]).toBe('// generated by redundancy twins --write; edits are overwritten');
    expect(text).toContain('// from ecosystem.config.cjs process.exit(1)');
    const target = join(dir, 'automation', 'redundancy', 'ecosystem.backup.config.cjs');
    await writeTwinsFile(target, text);
    expect(await readFile(target, 'utf8')).toBe(text);
    expect((await readdir(join(dir, 'automation', 'redundancy'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const reread = await loadEcosystem(target);
    expect(reread.apps.map((a) => a.spec)).toEqual(plans.map((p) => p.twin));
    expect(twinToEcosystemApp(plans[0]!.twin)).toMatchObject({
      name: 'api-backup', max_restarts: 15, exp_backoff_restart_delay: 100, autorestart: true, watch: false,
      env: { A: '1', REDUNDANCY_ROLE: 'backup', REDUNDANCY_PRIMARY: 'api' },
    });
  });
});
