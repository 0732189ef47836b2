import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetlifyApi, functionNamesFrom, NetlifyApiError, parseApiUrl, type NetlifyApiOptions } from '../src/kinds/netlify/netlify-api.js';
import { startFakeNetlify, type FakeNetlify } from './helpers/fake-netlify.js';
import { waitFor } from './helpers/wait-for.js';

// The real adapter and the real @netlify/api client against a 127.0.0.1 fake.
const TOKEN = `nfp_${randomBytes(18).toString('hex')}`;
const WRONG_TOKEN = `nfp_${randomBytes(18).toString('hex')}`;
const HOURLY = { name: 'nightly', cron: '@hourly' };

let fake: FakeNetlify;
let logLines: string[];

function make(overrides: Partial<NetlifyApiOptions> = {}) {
  const logger = { warn: (obj: object, msg: string) => { logLines.push(JSON.stringify({ ...obj, msg })); } };
  return createNetlifyApi({ siteId: fake.siteId, token: TOKEN, apiUrl: fake.apiUrl, logger, timeoutMs: 10_000, ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<NetlifyApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(NetlifyApiError);
  return error as NetlifyApiError;
}

const sitePath = () => `/api/v1/sites/${fake.siteId}`;
const paths = () => fake.requests.map((r) => r.path);
const count = (path: string) => fake.requests.filter((r) => r.path === path).length;
const nowS = () => Math.ceil(Date.now() / 1000);

/** Open timers and sockets of this process, to see that a failed check leaves none behind. */
function openHandles(): { timers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return { timers: info.filter((r) => r === 'Timeout').length, sockets: info.filter((r) => r === 'TCPSocketWrap').length };
}
async function expectNoneLeftSince(before: { timers: number; sockets: number }): Promise<void> {
  await waitFor(() => {
    const now = openHandles();
    return now.timers <= before.timers && now.sockets <= before.sockets;
  }, { timeoutMs: 1000, intervalMs: 20, what: 'no timer or socket left by the failed check' });
}

beforeEach(async () => {
  fake = await startFakeNetlify({ token: TOKEN, functions: ['hello', 'nightly'], schedules: [HOURLY] });
  logLines = [];
});

afterEach(async () => {
  await fake.close();
  const log = logLines.join('\n');
  expect(log).not.toContain(TOKEN);
  expect(log).not.toContain(WRONG_TOKEN);
});

describe('parseApiUrl', () => {
  it('splits the URL as the client takes it: scheme without colon, host with port, path prefix', () => {
    expect(parseApiUrl('https://api.netlify.com/api/v1')).toEqual({ scheme: 'https', host: 'api.netlify.com', pathPrefix: '/api/v1' });
    expect(parseApiUrl('http://127.0.0.1:8123/api/v1/')).toEqual({ scheme: 'http', host: '127.0.0.1:8123', pathPrefix: '/api/v1' });
    expect(parseApiUrl('https://api.netlify.com')).toEqual({ scheme: 'https', host: 'api.netlify.com', pathPrefix: '/api/v1' });
    expect(() => parseApiUrl('ftp://api.netlify.com/api/v1')).toThrow(/http: or https:/);
    expect(() => parseApiUrl('api.netlify.com')).toThrow(/not a URL/);
    expect(() => parseApiUrl('https://me:secret@api.netlify.com/api/v1')).toThrow(/no credentials/);
  });
});

describe('site health', () => {
  it('a healthy site: two requests, then two per poll while the published deploy is the same', async () => {
    const api = make();
    const pub = fake.published()!;
    const health = await api.siteHealth();
    expect(health).toEqual({
      latestProduction: { id: pub.id, state: 'ready', createdAt: Date.parse(pub.created_at) },
      published: { id: pub.id, state: 'ready', functionSchedules: [HOURLY], publishedAt: Date.parse(pub.published_at!) },
      functions: ['hello', 'nightly'],
      checkedAt: expect.any(Number) as number,
    });
    expect(fake.requests.map((r) => [r.path, r.query, r.auth, r.status]).sort()).toEqual([
      [sitePath(), {}, true, 200],
      [`${sitePath()}/deploys`, { production: 'true', per_page: '1' }, true, 200],
    ]);
    expect(api.budget()).toEqual({ limit: 500, remaining: 498, resetAt: expect.any(Number) as number, requests: 2 });
    expect(api.budget().resetAt! - Date.now()).toBeGreaterThan(50_000);

    expect((await api.siteHealth()).published).toEqual(health.published);
    expect(fake.requests).toHaveLength(4);
    expect(api.budget()).toMatchObject({ remaining: 496, requests: 4 });
  });

  it('calls at the same time share one poll', async () => {
    const api = make();
    const [a, b] = await Promise.all([api.siteHealth(), api.siteHealth()]);
    expect(a).toBe(b);
    expect(fake.requests).toHaveLength(2);
  });

  it('the newest production deploy failed: latestProduction is in error, the published deploy stays ready', async () => {
    const api = make();
    const live = fake.published()!;
    fake.addDeploy({ context: 'deploy-preview', branch: 'feature', state: 'ready' });
    const failed = fake.failLatest('Build script returned non-zero exit code: 2');
    const health = await api.siteHealth();
    expect(health.latestProduction).toEqual({ id: failed.id, state: 'error', errorMessage: 'Build script returned non-zero exit code: 2', createdAt: Date.parse(failed.created_at) });
    expect(health.published).toMatchObject({ id: live.id, state: 'ready', functionSchedules: [HOURLY] });
    expect(health.functions).toEqual(['hello', 'nightly']);
  });

  it('a new site with nothing deployed', async () => {
    await fake.close();
    fake = await startFakeNetlify({ token: TOKEN, empty: true });
    expect(await make().siteHealth()).toEqual({ checkedAt: expect.any(Number) as number });
  });

  it('a site id that does not exist is not-found', async () => {
    expect(await failure(make({ siteId: 'no-such-site' }).siteHealth())).toMatchObject({ code: 'not-found', status: 404 });
  });
});

describe('schedules', () => {
  it('registered, then missing on a new published deploy', async () => {
    const api = make();
    expect((await api.siteHealth()).published?.functionSchedules).toEqual([HOURLY]);
    fake.publish({ function_schedules: [] });
    expect((await api.siteHealth()).published?.functionSchedules).toEqual([]);
  });

  it('when the site does not embed them, they are read from the published deploy, once per deploy', async () => {
    const api = make();
    fake.embedSchedules = false;
    const pub = fake.published()!;
    expect((await api.siteHealth()).published?.functionSchedules).toEqual([HOURLY]);
    expect(count(`${sitePath()}/deploys/${pub.id}`)).toBe(1);
    await api.siteHealth();
    expect(count(`${sitePath()}/deploys/${pub.id}`)).toBe(1);

    // The deploy does not say either: unknown, not "none".
    const next = fake.publish({ function_schedules: undefined as never });
    const health = await api.siteHealth();
    expect(health.published).toMatchObject({ id: next.id });
    expect(health.published!.functionSchedules).toBeUndefined();
    expect(count(`${sitePath()}/deploys/${next.id}`)).toBe(1);
  });
});

describe('function names', () => {
  it.each(['openapi', 'cli'] as const)('from searchSiteFunctions in its %s shape when the deploy does not list them', async (shape) => {
    fake.functionsShape = shape;
    fake.embedAvailableFunctions = false;
    const api = make();
    expect((await api.siteHealth()).functions).toEqual(['hello', 'nightly']);
    expect(count(`${sitePath()}/functions`)).toBe(1);
    // Same published deploy: not asked again. A new one: asked again.
    await api.siteHealth();
    expect(count(`${sitePath()}/functions`)).toBe(1);
    fake.publish({ functions: ['hello', 'nightly', 'nightly-backup'] });
    expect((await api.siteHealth()).functions).toEqual(['hello', 'nightly', 'nightly-backup']);
    expect(count(`${sitePath()}/functions`)).toBe(2);
  });

  it('reads both entry forms, skips other branches, and gives undefined (with one warning) for a shape it does not know', async () => {
    expect(functionNamesFrom([{ id: 'd1', branch: 'main', functions: [{ name: 'b' }, { n: 'a' }] }, { id: 'd2', branch: 'feature', functions: [{ name: 'x' }] }], 'main')).toEqual(['a', 'b']);
    expect(functionNamesFrom({ functions: [{ n: 'b', oid: '1', a: 'acc', branch: 'main' }, { n: 'y', branch: 'feature' }, { name: 'a' }] }, 'main')).toEqual(['a', 'b']);
    expect(functionNamesFrom([{ n: 'solo' }])).toEqual(['solo']);
    expect(functionNamesFrom([])).toEqual([]);
    expect(functionNamesFrom({ items: [] })).toBeUndefined();
    expect(functionNamesFrom('text')).toBeUndefined();

    fake.embedAvailableFunctions = false;
    fake.failNext(2, 200, { path: /\/functions$/, text: 'not json' });
    const api = make();
    const health = await api.siteHealth();
    expect(health.functions).toBeUndefined();
    expect(health.published?.functionSchedules).toEqual([HOURLY]);
    expect(logLines.filter((l) => l.includes('searchSiteFunctions'))).toHaveLength(1);

    // A 404 from it leaves the names unknown too; the check itself stands.
    fake.clearFaults();
    fake.publish();
    fake.failNext(1, 404, { path: /\/functions$/ });
    const after404 = await api.siteHealth();
    expect(after404.published?.id).toBe(fake.published()!.id);
    expect(after404.functions).toBeUndefined();
    expect(logLines.filter((l) => l.includes('searchSiteFunctions'))).toHaveLength(2);
  });
});

describe('faults', () => {
  it('a 429 with a near reset: the client waits for the reset and retries, once', async () => {
    const api = make();
    fake.failNext(1, 429, { path: /\/deploys\?/, rateLimitReset: nowS() });
    const started = performance.now();
    const health = await api.siteHealth();
    expect(health.latestProduction?.state).toBe('ready');
    // The client waits at least 1 s (MIN_RETRY_DELAY in lib/methods/retry.js).
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.requests.filter((r) => r.path.endsWith('/deploys')).map((r) => r.status)).toEqual([429, 200]);
    expect(api.budget().requests).toBe(3);
    expect(logLines.filter((l) => l.includes('Netlify API rate limit'))).toHaveLength(1);
  });

  it('429 after the client has retried five times is rate-limited', async () => {
    const api = make();
    fake.failNext(6, 429, { path: /\/deploys\?/, rateLimitReset: nowS() });
    const error = await failure(api.siteHealth());
    expect(error).toMatchObject({ code: 'rate-limited', status: 429 });
    expect(error.message).toContain("after the client's own retries");
    expect(fake.requests.filter((r) => r.path.endsWith('/deploys'))).toHaveLength(6);
  });

  it('a 429 whose reset is past the deadline fails at once, leaving no sleeping retry behind', async () => {
    const api = make({ timeoutMs: 2000 });
    const before = openHandles();
    fake.failNext(1, 429, { path: /\/deploys\?/, rateLimitReset: nowS() + 600 });
    const started = performance.now();
    const error = await failure(api.siteHealth());
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429 });
    expect(error.retryAfterMs).toBeGreaterThan(590_000);
    expect(fake.requests.filter((r) => r.path.endsWith('/deploys'))).toHaveLength(1);
    await expectNoneLeftSince(before);
    // The window spent: the fake answers 429 to everything until it ends.
    await fake.close();
    fake = await startFakeNetlify({ token: TOKEN, rateLimit: 1 });
    const spent = await failure(make({ timeoutMs: 2000 }).siteHealth());
    expect(spent).toMatchObject({ code: 'rate-limited', status: 429 });
  });

  it('a 5xx is a server error and is not retried by the client', async () => {
    const api = make();
    fake.failNext(1, 502, { path: `/sites/${fake.siteId}` });
    const error = await failure(api.siteHealth());
    expect(error).toMatchObject({ code: 'server', status: 502 });
    expect(error.message).toBe(`Netlify site ${fake.siteId}: get site: 502 Bad Gateway`);
    expect(count(sitePath())).toBe(1);
  });

  it('a 5xx page in HTML gives a one-line message; the next poll works', async () => {
    const api = make();
    fake.failNext(1, 503, { path: /\/deploys\?/, text: '<html>\n<body>\n<h1>503 Service Unavailable</h1>\n</body>\n</html>\n' });
    const html = await failure(api.siteHealth());
    expect(html).toMatchObject({ code: 'server', status: 503 });
    expect(html.message).not.toContain('\n');
    expect(await api.siteHealth()).toMatchObject({ published: { state: 'ready' } });
  });

  it('the API down is unreachable, at once; back up, the next poll works', async () => {
    const api = make();
    await fake.down();
    const started = performance.now();
    const error = await failure(api.siteHealth());
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'unreachable', status: null });
    expect(error.message).toContain('ECONNREFUSED');
    await fake.up();
    expect((await api.siteHealth()).functions).toEqual(['hello', 'nightly']);
  });

  it('connections reset: unreachable at once when the client\'s 5 s retry would pass the deadline', async () => {
    const api = make({ timeoutMs: 3000 });
    const before = openHandles();
    await fake.down('reset');
    const started = performance.now();
    const error = await failure(api.siteHealth());
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'unreachable', status: null });
    expect(error.message).toContain('ECONNRESET');
    await expectNoneLeftSince(before);
    await fake.up();
    expect((await api.siteHealth()).published?.state).toBe('ready');
  });

  it('a wrong token is auth; the token is in no message and no log line', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }));
    const error = await failure(make({ token: WRONG_TOKEN }).siteHealth());
    expect(error).toMatchObject({ code: 'auth', status: 401 });
    expect(error.message).toContain('Access Denied');
    logger.error({ err: error }, 'check failed');
    await fake.down();
    logger.error({ err: await failure(make({ token: WRONG_TOKEN }).siteHealth()) }, 'check failed');
    const log = lines.join('');
    expect(log).toContain('Access Denied');
    expect(log).toContain('ECONNREFUSED');
    expect(log).not.toContain(WRONG_TOKEN);
    expect(fake.requests.every((r) => r.auth)).toBe(true);
  });

  it('a slow answer past timeoutMs rejects on time and leaves no timer or socket', async () => {
    const api = make({ timeoutMs: 300 });
    const before = openHandles();
    fake.delayNext(5000, { path: `/sites/${fake.siteId}` });
    const started = performance.now();
    const error = await failure(api.siteHealth());
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'unreachable', status: null });
    expect(error.message).toBe(`Netlify site ${fake.siteId}: no answer within 300 ms (get site)`);
    await expectNoneLeftSince(before);
    expect(fake.requests.find((r) => r.path === sitePath())?.status).toBe(0);
    // The next poll is not disturbed.
    expect((await api.siteHealth()).published?.state).toBe('ready');
  });

  it('a 200 that is not JSON is a bad response', async () => {
    fake.failNext(1, 200, { path: `/sites/${fake.siteId}`, text: 'maintenance' });
    expect(await failure(make().siteHealth())).toMatchObject({ code: 'bad-response' });
  });
});
