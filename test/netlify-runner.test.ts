import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../src/kinds/netlify/local-runner/bundle.js';
import { FunctionProcess } from '../src/kinds/netlify/local-runner/function-process.js';
import { LocalRunner, type NetlifyTwin } from '../src/kinds/netlify/local-runner/local-runner.js';
import { defaultFunctionPath, type NetlifyFunctionInfo, type NetlifyFunctionType } from '../src/kinds/netlify/netlify-function.js';
import { Ledger, type LedgerEvent } from '../src/store/ledger.js';
import { isProcessAlive } from './helpers/pm2-home.js';
import { waitFor } from './helpers/wait-for.js';

const fixtures = fileURLToPath(new URL('./fixtures/netlify-runner/', import.meta.url));
let dir: string;
let ledger: Ledger;
let runner: LocalRunner;
let base: string;
/** Every worker pid seen (ledger lines, answers): none may be alive after close. */
const pids = new Set<number>();
const warnings: string[] = [];

function twin(file: string, over: Partial<NetlifyFunctionInfo> = {}, extra: Partial<NetlifyTwin> = {}): NetlifyTwin {
  const name = file.replace(/\.[^.]+$/, '');
  const type: NetlifyFunctionType = over.type ?? 'sync';
  const info: NetlifyFunctionInfo = {
    name, entry: join(fixtures, file), runtime: 'js', type, paths: [defaultFunctionPath(name)], source: { file: join(fixtures, file), line: 1 }, ...over,
  };
  return { unitId: `netlify:site/${name}`, info, ...extra };
}

async function runsOf(unitId: string): Promise<LedgerEvent[]> {
  const { events, warnings: bad } = await ledger.read(unitId);
  expect(bad).toEqual([]);
  for (const e of events) if (e.pid !== null) pids.add(e.pid);
  return events;
}

/** The unit's last run: its start and end lines, checked to be one run of the twin. */
async function lastRun(unitId: string): Promise<{ start: LedgerEvent; end: LedgerEvent }> {
  const events = await runsOf(unitId);
  const end = events.filter((e) => e.event === 'end').at(-1)!;
  const start = events.find((e) => e.event === 'start' && e.run === end.run)!;
  expect(start).toMatchObject({ unit: unitId, side: 'twin', slot: null, host: 'test-host', exitCode: null, durationMs: null });
  expect(end).toMatchObject({ unit: unitId, side: 'twin', host: 'test-host' });
  expect(end.durationMs).toBeGreaterThanOrEqual(0);
  expect(end.at).toBeGreaterThanOrEqual(start.at);
  return { start, end };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlify-runner-'));
  ledger = new Ledger({ dir: join(dir, 'ledger') });
  process.env['PARENT_ONLY_VAR'] = 'must not leak';
  runner = new LocalRunner({
    ledger, bundleDir: join(dir, 'bundles'), host: 'test-host', env: { SHARED_VAR: 'shared', OUT_FILE: join(dir, 'out.json') },
    logger: { info: () => undefined, warn: (_obj, msg) => void warnings.push(msg) },
  });
  await Promise.all([
    runner.enable(twin('hello-v2.mts', {}, { env: { OWN_VAR: 'own' } })),
    runner.enable(twin('greet.ts', { paths: ['/api/hello/:name'] })),
    runner.enable(twin('hello-v1.js', { apiVersion: 1 })),
    runner.enable(twin('scheduled-v1.js', { type: 'scheduled', schedule: '@hourly', apiVersion: 1 })),
    runner.enable(twin('scheduled-v2.mts', { type: 'scheduled', schedule: '@daily' })),
    runner.enable(twin('throws.mjs')),
    runner.enable(twin('hangs.mjs', {}, { timeoutMs: 300 })),
    runner.enable(twin('plain-object.mjs')),
    runner.enable(twin('answers-500.mjs')),
    runner.enable(twin('uses-helper.mts')),
    runner.enable(twin('load-error.mjs')),
    runner.enable(twin('crashes-later.mjs')),
    runner.enable(twin('no-status.js')),
    runner.enable(twin('spawns.mjs')),
    runner.enable(twin('work-background.mjs', { type: 'background' })),
  ]);
  const { port } = await runner.listen('127.0.0.1:0');
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await runner?.close();
  delete process.env['PARENT_ONLY_VAR'];
  await rm(dir, { recursive: true, force: true });
});

describe('LocalRunner over HTTP', () => {
  it('serves a v2 function at its default URL and below it, in its own environment, as one twin run', async () => {
    const res = await fetch(`${base}/.netlify/functions/hello-v2?q=1`, { method: 'POST', body: 'ping' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-twin')).toBe('yes');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      method: 'POST', path: '/.netlify/functions/hello-v2', query: '1', body: 'ping', role: 'backup', primary: 'netlify:site/hello-v2',
      tz: 'UTC', hasPath: true, shared: 'shared', own: 'own', leaked: null,
    });
    expect(body['pid']).not.toBe(process.pid);
    const { start, end } = await lastRun('netlify:site/hello-v2');
    expect(start.pid).toBe(body['pid']);
    expect(end).toMatchObject({ run: start.run, event: 'end', exitCode: 0, signal: null, pid: body['pid'] });
    expect(end.reason).toBeUndefined();

    const below = await fetch(`${base}/.netlify/functions/hello-v2/deeper/path`);
    expect(((await below.json()) as { path: string }).path).toBe('/.netlify/functions/hello-v2/deeper/path');
  });

  it('keeps one warm process per function for concurrent requests', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => fetch(`${base}/.netlify/functions/hello-v2`).then((r) => r.json() as Promise<{ pid: number }>)));
    expect(new Set(answers.map((a) => a.pid)).size).toBe(1);
  });

  it('serves a TypeScript v2 function at its config.path with context.params', async () => {
    const res = await fetch(`${base}/api/hello/ada%20lovelace`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Hello, ada lovelace');
    expect((await lastRun('netlify:site/greet')).end.exitCode).toBe(0);
    expect((await fetch(`${base}/api/hello`)).status).toBe(404);
  });

  it('calls a v1 handler with a Lambda-style event and answers its statusCode, headers and body', async () => {
    const res = await fetch(`${base}/.netlify/functions/hello-v1?a=1&a=2&b=x`, { method: 'PUT', headers: { 'x-test': 'yes', 'content-type': 'text/plain' }, body: 'hi' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-fn')).toBe('hello-v1');
    const event = (await res.json()) as Record<string, unknown>;
    expect(event).toMatchObject({
      path: '/.netlify/functions/hello-v1', httpMethod: 'PUT', query: { a: '1, 2', b: 'x' }, multiQuery: { a: ['1', '2'], b: ['x'] },
      rawQuery: 'a=1&a=2&b=x', body: 'hi', isBase64Encoded: false, header: 'yes',
    });
    expect(event['rawUrl']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\.netlify\/functions\/hello-v1\?a=1&a=2&b=x$/);
    expect(event['remainingMs']).toBeGreaterThan(50_000);
    expect((await lastRun('netlify:site/hello-v1')).end.exitCode).toBe(0);
  });

  it('bundles a function that imports a sibling TypeScript module', async () => {
    const res = await fetch(`${base}/.netlify/functions/uses-helper`);
    expect(await res.text()).toBe('BUNDLED!');
  });

  it('answers 404 for an unknown path and for a scheduled function (not URL-invocable)', async () => {
    const unknown = await fetch(`${base}/.netlify/functions/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('no function at /.netlify/functions/nope');
    expect((await fetch(`${base}/.netlify/functions/scheduled-v2`)).status).toBe(404);
  });

  it('records a handler that throws as a failed run with its message', async () => {
    const res = await fetch(`${base}/.netlify/functions/throws`);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('the database is on fire');
    const { end } = await lastRun('netlify:site/throws');
    expect(end).toMatchObject({ exitCode: 1, reason: 'the database is on fire' });
  });

  it('fails a v2 handler that returns something other than a Response', async () => {
    expect((await fetch(`${base}/.netlify/functions/plain-object`)).status).toBe(500);
    expect((await lastRun('netlify:site/plain-object')).end).toMatchObject({ exitCode: 1, reason: 'handler returned object, not a Response' });
  });

  it('passes a 5xx answer through and counts it as a failed run', async () => {
    const res = await fetch(`${base}/.netlify/functions/answers-500`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('upstream broke');
    expect((await lastRun('netlify:site/answers-500')).end).toMatchObject({ exitCode: 1, reason: 'status 503' });
  });

  it('kills a function that runs past its limit and starts a new process for the next request', async () => {
    const res = await fetch(`${base}/.netlify/functions/hangs`);
    expect(res.status).toBe(504);
    const { end } = await lastRun('netlify:site/hangs');
    expect(end).toMatchObject({ exitCode: 124, signal: 'SIGKILL', reason: 'timed out after 0.3s' });
    const hungPid = end.pid!;
    const next = await fetch(`${base}/.netlify/functions/hangs?fast`);
    expect(next.status).toBe(200);
    const nextPid = Number(await next.text());
    pids.add(nextPid);
    expect(nextPid).not.toBe(hungPid);
    // SIGKILLed at the deadline; gone once the kernel and the runner have reaped it.
    await waitFor(() => !isProcessAlive(hungPid) || undefined, { timeoutMs: 10_000, what: 'the hung process gone' });
  });

  it('fails each invocation of a module that throws while loading', async () => {
    const res = await fetch(`${base}/.netlify/functions/load-error`);
    expect(res.status).toBe(500);
    expect((await lastRun('netlify:site/load-error')).end).toMatchObject({ exitCode: 1, reason: 'the function failed to load: missing API_KEY at load' });
  });

  it('fails a v1 handler that answers without a statusCode', async () => {
    expect((await fetch(`${base}/.netlify/functions/no-status`)).status).toBe(500);
    expect((await lastRun('netlify:site/no-status')).end).toMatchObject({ exitCode: 1, reason: 'handler returned no statusCode' });
  });

  it.each([
    ['crash', 'uncaught exception: late boom'],
    ['reject', 'unhandled rejection: lost promise'],
    ['exit', 'the function process exited with code 3: giving up'],
  ])('fails the invocation in flight when the process breaks (?%s), and the next runs in a fresh process', async (how, reason) => {
    const first = Number(await (await fetch(`${base}/.netlify/functions/crashes-later`)).text());
    pids.add(first);
    const res = await fetch(`${base}/.netlify/functions/crashes-later?${how}`);
    expect(res.status).toBe(500);
    expect((await lastRun('netlify:site/crashes-later')).end).toMatchObject({ exitCode: 1, reason, pid: first });
    const second = Number(await (await fetch(`${base}/.netlify/functions/crashes-later`)).text());
    pids.add(second);
    expect(second).not.toBe(first);
    expect(warnings).toContain('local function run failed');
  });

  it('answers a background function with 202 at once and records its run when it ends', async () => {
    const gate = join(dir, 'background.gate');
    const out = join(dir, 'background.out');
    const res = await fetch(`${base}/.netlify/functions/work-background`, { method: 'POST', body: JSON.stringify({ gate, out }) });
    expect(res.status).toBe(202);
    // The function waits for the gate, so it cannot have ended yet.
    const before = await runsOf('netlify:site/work-background');
    expect(before.filter((e) => e.event === 'end')).toEqual([]);
    await writeFile(gate, '');
    const end = await waitFor(async () => (await runsOf('netlify:site/work-background')).find((e) => e.event === 'end'), { timeoutMs: 10_000, what: 'background run end' });
    expect(end).toMatchObject({ exitCode: 0, side: 'twin' });
    expect(await readFile(out, 'utf8')).toBe('done');
  });

  it('refuses a port in use with one line naming the address', async () => {
    const other = new LocalRunner({ ledger, bundleDir: join(dir, 'bundles'), host: 'test-host' });
    const address = base.replace('http://', '');
    await expect(other.listen(address)).rejects.toThrow(`cannot listen on ${address}: the address is already in use`);
    await other.close();
  });
});

describe('LocalRunner.runScheduled', () => {
  it('runs a v1 scheduled function through the @netlify/functions shim with the next_run body', async () => {
    const nextRun = new Date('2031-05-06T07:00:00.000Z');
    const result = await runner.runScheduled('netlify:site/scheduled-v1', nextRun);
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(JSON.parse(await readFile(join(dir, 'out.json'), 'utf8'))).toEqual({ next_run: nextRun.toISOString(), method: 'POST', event: 'schedule', ua: 'Netlify Clockwork' });
    const { start, end } = await lastRun('netlify:site/scheduled-v1');
    expect(end).toMatchObject({ run: start.run, exitCode: 0, durationMs: result.durationMs });
  });

  it('accepts a v2 scheduled function that returns nothing', async () => {
    const nextRun = new Date('2031-05-07T00:00:00.000Z');
    expect(await runner.runScheduled('netlify:site/scheduled-v2', nextRun)).toMatchObject({ ok: true, status: 200 });
    expect(JSON.parse(await readFile(join(dir, 'out.json'), 'utf8'))).toEqual({ next_run: nextRun.toISOString(), event: 'schedule', ua: 'Netlify Clockwork' });
  });

  it('returns a failed run, never a throw, for a handler error; rejects an unknown unit', async () => {
    expect(await runner.runScheduled('netlify:site/throws', new Date())).toMatchObject({ ok: false, reason: 'the database is on fire' });
    await expect(runner.runScheduled('netlify:site/nope', new Date())).rejects.toThrow('netlify:site/nope is not enabled on the local runner');
  });
});

describe('enable and disable', () => {
  it('rejects a function that does not bundle with one line naming file:line:col', async () => {
    const broken = runner.enable(twin('broken.js'));
    await expect(broken).rejects.toThrow(new RegExp(`^${join(fixtures, 'broken.js').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: `));
    const message = await broken.catch((error: Error) => error.message);
    expect(message).not.toContain('\n');
    await expect(runner.enable(twin('missing-import.mjs'))).rejects.toThrow(/missing-import\.mjs:1:\d+: Could not resolve "\.\/no-such-module\.js"/);
    expect(runner.enabled('netlify:site/broken')).toBe(false);
  });

  it('refuses a function of another runtime', async () => {
    await expect(runner.enable(twin('hello-v2.mts', { name: 'go-fn', runtime: 'go' }, { unitId: 'netlify:site/go-fn' }))).rejects.toThrow('a go function cannot run locally');
  });

  it('stops serving a disabled function and its process', async () => {
    const unit = 'netlify:site/uses-helper';
    await runner.warm(unit);
    await fetch(`${base}/.netlify/functions/uses-helper`);
    const { end } = await lastRun(unit);
    await runner.disable(unit);
    expect(runner.enabled(unit)).toBe(false);
    expect(isProcessAlive(end.pid!)).toBe(false);
    expect((await fetch(`${base}/.netlify/functions/uses-helper`)).status).toBe(404);
  });
});

describe('bundleFunction', () => {
  it('reuses a bundle until an input changes; resolves packages from the function folder; prefers a real @netlify/functions', async () => {
    const site = join(dir, 'site');
    await mkdir(join(site, 'node_modules', 'pad-it'), { recursive: true });
    await cp(join(fixtures, 'lib'), join(site, 'lib'), { recursive: true });
    await writeFile(join(site, 'node_modules', 'pad-it', 'package.json'), JSON.stringify({ name: 'pad-it', main: 'index.js' }));
    await writeFile(join(site, 'node_modules', 'pad-it', 'index.js'), "module.exports = (s) => '[' + s + ']';\n");
    await mkdir(join(site, 'node_modules', '@netlify', 'functions'), { recursive: true });
    await writeFile(join(site, 'node_modules', '@netlify', 'functions', 'package.json'), JSON.stringify({ name: '@netlify/functions', main: 'index.js' }));
    await writeFile(join(site, 'node_modules', '@netlify', 'functions', 'index.js'), "exports.schedule = (cron, h) => Object.assign(h, { realPackage: cron });\n");
    const entry = join(site, 'fn.ts');
    await writeFile(entry, [
      "import pad from 'pad-it';",
      "import { schedule } from '@netlify/functions';",
      "import { shout } from './lib/shout.js';",
      "export const handler = schedule('@daily', async () => ({ statusCode: 200, body: pad(shout('x')) }));",
      '',
    ].join('\n'));

    const outDir = join(dir, 'bundles-cache');
    const first = await bundleFunction(entry, outDir);
    const text = await readFile(first, 'utf8');
    // esbuild names each bundled file in a comment.
    expect(text).toContain('// node_modules/pad-it/index.js');
    expect(text).toContain('// node_modules/@netlify/functions/index.js');
    expect(text).toContain('realPackage');
    const built = (await stat(first)).mtimeMs;
    expect(await bundleFunction(entry, outDir)).toBe(first);
    expect((await stat(first)).mtimeMs).toBe(built);

    // A changed helper (an input found through the metafile, not the entry) rebuilds.
    await writeFile(join(site, 'lib', 'shout.ts'), 'export function shout(text: string): string { return `${text}?`; }\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(join(site, 'lib', 'shout.ts'), later, later);
    await bundleFunction(entry, outDir);
    expect(await readFile(first, 'utf8')).toContain('`${text}?`');
    expect(existsSync(`${first}.inputs.json`)).toBe(true);
  });

  it('picks up a changed source on enable again: a new process', async () => {
    const site = join(dir, 'site2');
    await mkdir(site, { recursive: true });
    const entry = join(site, 'version.mjs');
    await writeFile(entry, 'export default () => new Response(`one ${process.pid}`);\n');
    const unit = twin('version.mjs', { entry }, { unitId: 'netlify:site/version' });
    await runner.enable(unit);
    const one = (await (await fetch(`${base}/.netlify/functions/version`)).text()).split(' ');
    await runner.enable(unit);
    expect(await (await fetch(`${base}/.netlify/functions/version`)).text()).toBe(one.join(' '));
    await writeFile(entry, 'export default () => new Response(`two ${process.pid}`);\n');
    const later = new Date(Date.now() + 5_000);
    await utimes(entry, later, later);
    await runner.enable(unit);
    const two = (await (await fetch(`${base}/.netlify/functions/version`)).text()).split(' ');
    expect(two[0]).toBe('two');
    await waitFor(() => !isProcessAlive(Number(one[1])) || undefined, { timeoutMs: 10_000, what: 'the old process gone' });
    pids.add(Number(one[1]));
    pids.add(Number(two[1]));
  });
});

describe('FunctionProcess', () => {
  it('on a timeout kills the process and fails every invocation it was serving', async () => {
    const bundle = await bundleFunction(join(fixtures, 'hangs.mjs'), join(dir, 'bundles'));
    const proc = new FunctionProcess({ bundle, unitId: 'netlify:site/hangs', functionName: 'hangs' });
    await proc.start();
    const pid = proc.pid!;
    pids.add(pid);
    const request = { method: 'GET', url: 'http://localhost/.netlify/functions/hangs', headers: {}, body: null };
    const [patient, hasty] = await Promise.all([proc.invoke('request', request, 30_000), proc.invoke('request', request, 200)]);
    expect(hasty).toMatchObject({ ok: false, timedOut: true, reason: 'timed out after 0.2s', pid });
    expect(patient).toMatchObject({ ok: false, timedOut: false, reason: 'killed: another invocation timed out after 0.2s', signal: 'SIGKILL' });
    await waitFor(() => !isProcessAlive(pid) || undefined, { timeoutMs: 10_000, what: 'the killed process gone' });
    const again = await proc.invoke('request', { ...request, url: `${request.url}?fast` }, 5_000);
    expect(again).toMatchObject({ ok: true, status: 200 });
    expect(proc.pid).not.toBe(pid);
    pids.add(proc.pid!);
    await proc.stop();
    expect(proc.pid).toBeUndefined();
  });
});

describe('close', () => {
  it('stops the server and leaves no function process behind', async () => {
    for (const unit of ['hello-v2', 'greet', 'hello-v1', 'scheduled-v1', 'scheduled-v2', 'throws', 'hangs', 'plain-object', 'answers-500', 'load-error', 'crashes-later', 'work-background', 'no-status', 'spawns']) {
      await runsOf(`netlify:site/${unit}`);
    }
    // What a function started goes with its process.
    const grandchild = Number(await (await fetch(`${base}/.netlify/functions/spawns`)).text());
    expect(isProcessAlive(grandchild)).toBe(true);
    pids.add(grandchild);
    expect(pids.size).toBeGreaterThan(5);
    await runner.close();
    for (const pid of pids) expect(isProcessAlive(pid), `pid ${pid}`).toBe(false);
    await expect(fetch(`${base}/.netlify/functions/hello-v2`)).rejects.toThrow();
  });
});
