import * as http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A 127.0.0.1 stand-in for the Netlify API endpoints the netlify kind reads, under `/api/v1`, answering
 * with the documented shapes (@netlify/open-api `site`, `deploy`, `siteFunction`): `X-RateLimit-*` on
 * every answer, 401 on a wrong bearer token, and faults programmed from the test (5xx, 429 with
 * `X-RateLimit-Reset`, slow answers, the API down). Only the API: the site's own URLs are another fake's.
 */

export interface FunctionSchedule { name: string; cron: string }
/** netlify-cli's name for the entries of `available_functions` and of `searchSiteFunctions`: `n` name, `oid` function id, `a` account id. */
export interface AvailableFunction { n: string; oid: string; a: string; branch: string | null }

export interface FakeDeploy {
  id: string;
  site_id: string;
  state: string;
  error_message: string | null;
  context: string;
  branch: string;
  commit_ref: string | null;
  published_at: string | null;
  created_at: string;
  updated_at: string;
  deploy_url: string;
  ssl_url: string;
  skipped: boolean | null;
  locked: boolean | null;
  framework: string | null;
  functions_region: string;
  required_functions: string[];
  function_schedules: FunctionSchedule[];
  available_functions: AvailableFunction[];
}

/** What `searchSiteFunctions` answers: `openapi` = `[{id, branch, provider, log_type, created_at, functions: [{id, name, sha}]}]`, `cli` = `{functions: [{n, oid, a, branch}]}`. */
export type FunctionsShape = 'openapi' | 'cli';

export interface FakeRequest {
  method: string;
  /** pathname, `/api/v1/...` */
  path: string;
  query: Record<string, string>;
  /** An `Authorization` header was sent (right or wrong). */
  auth: boolean;
  /** 0 until answered (or when the client went away first). */
  status: number;
}

export interface FaultOptions {
  /** `X-RateLimit-Reset` (epoch seconds) on the fault's answer; default the current window's end. */
  rateLimitReset?: number;
  /** Only requests whose path after `/api/v1` matches: a string is the path (any query), a RegExp is tested on path and query (`/sites/x/deploys?production=true&per_page=1`). Others pass untouched. */
  path?: string | RegExp;
  /** A text/plain body instead of `{code, message}`. */
  text?: string;
}

export interface FakeNetlifyOptions {
  siteId?: string;
  siteName?: string;
  token?: string;
  /** Functions of the first published deploy. @default ['hello'] */
  functions?: string[];
  schedules?: FunctionSchedule[];
  functionsShape?: FunctionsShape;
  /** Requests per 60 s window; past it every answer is a 429 until the window ends. @default 500 */
  rateLimit?: number;
  /** Start without any deploy (a new site). */
  empty?: boolean;
}

export interface FakeNetlify {
  /** `http://127.0.0.1:PORT/api/v1` */
  readonly apiUrl: string;
  readonly port: number;
  readonly siteId: string;
  readonly siteName: string;
  /** The token accepted; any other (or none) gets 401. */
  readonly token: string;
  /** Every request in arrival order. */
  readonly requests: FakeRequest[];
  functionsShape: FunctionsShape;
  /** Whether the Site's embedded `published_deploy` carries `function_schedules` / `available_functions` (the deploy endpoints always do). */
  embedSchedules: boolean;
  embedAvailableFunctions: boolean;
  /** `X-RateLimit-Remaining` of the current window. */
  rateRemaining: number;
  /** Newest first. */
  deploys(): FakeDeploy[];
  published(): FakeDeploy | undefined;
  /** A new ready production deploy that goes live; functions and schedules carry over from the published one unless given. */
  publish(deploy?: Partial<FakeDeploy> & { functions?: string[] }): FakeDeploy;
  /** A new production deploy in `error`; the published deploy stays the one served, as on Netlify. */
  failLatest(errorMessage: string): FakeDeploy;
  /** Any deploy (a branch deploy, one still building), not published. */
  addDeploy(deploy?: Partial<FakeDeploy> & { functions?: string[] }): FakeDeploy;
  /** Replaces the published deploy's `function_schedules`. */
  setSchedules(list: FunctionSchedule[]): void;
  /** Replaces the published deploy's functions (its `available_functions`, and what `searchSiteFunctions` lists). */
  setFunctions(names: string[]): void;
  /** The next `count` requests (matching `opts.path`) get `status` instead of their answer: 5xx, 429 (with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`), or a 200 with `opts.text`. */
  failNext(count: number, status: number, opts?: FaultOptions): void;
  /** The next `count` requests (matching `path`) are answered after `ms`, or not at all if the client leaves first. */
  delayNext(ms: number, opts?: { count?: number; path?: string | RegExp }): void;
  /** `refuse`: the port closes (ECONNREFUSED). `reset`: connections are accepted and reset (ECONNRESET). */
  down(mode?: 'refuse' | 'reset'): Promise<void>;
  /** Listens again, on the same port. */
  up(): Promise<void>;
  clearFaults(): void;
  clearLog(): void;
  close(): Promise<void>;
}

const PREFIX = '/api/v1';
const WINDOW_S = 60;
const iso = (ms: number): string => new Date(ms).toISOString();
const hexId = (): string => randomBytes(12).toString('hex');
const matches = (pattern: string | RegExp | undefined, path: string): boolean =>
  pattern === undefined || (typeof pattern === 'string' ? path === pattern || path.startsWith(`${pattern}?`) : pattern.test(path));

interface Answer { status: number; body?: unknown; text?: string; headers?: Record<string, string> }
interface Fault { count: number; path?: string | RegExp; status?: number; rateLimitReset?: number; text?: string; delayMs?: number }

export async function startFakeNetlify(opts: FakeNetlifyOptions = {}): Promise<FakeNetlify> {
  const siteId = opts.siteId ?? randomUUID();
  const siteName = opts.siteName ?? 'acme-fns';
  const token = opts.token ?? 'nfp_fake_token_accepted';
  const accountId = hexId();
  const rateLimit = opts.rateLimit ?? 500;
  const siteUrl = `https://${siteName}.netlify.app`;
  const deploys: FakeDeploy[] = [];
  const functionIds = new Map<string, string>();
  const faults: Fault[] = [];
  const pending = new Set<() => void>();
  const sockets = new Set<Socket>();
  let publishedId: string | undefined;
  let lastCreated = 0;
  let windowEnd = 0;
  let mode: 'up' | 'refuse' | 'reset' = 'up';

  const available = (names: string[], branch: string): AvailableFunction[] => names.map((n) => {
    if (!functionIds.has(n)) functionIds.set(n, hexId());
    return { n, oid: functionIds.get(n)!, a: accountId, branch };
  });
  const findDeploy = (id: string): FakeDeploy | undefined => deploys.find((d) => d.id === id);
  const newest = (): FakeDeploy[] => [...deploys].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || deploys.indexOf(b) - deploys.indexOf(a));

  const makeDeploy = (partial: Partial<FakeDeploy> & { functions?: string[] }, defaults: Partial<FakeDeploy>): FakeDeploy => {
    const { functions, ...fields } = partial;
    const createdAt = fields.created_at !== undefined ? Date.parse(fields.created_at) : (lastCreated = Math.max(Date.now(), lastCreated + 1));
    const id = fields.id ?? hexId();
    const base = fake.published();
    const branch = fields.branch ?? defaults.branch ?? 'main';
    const names = functions ?? base?.available_functions.map((f) => f.n) ?? opts.functions ?? ['hello'];
    const deploy: FakeDeploy = {
      id, site_id: siteId, state: 'ready', error_message: null, context: 'production', branch,
      commit_ref: randomBytes(20).toString('hex'), published_at: null, created_at: iso(createdAt), updated_at: iso(createdAt),
      deploy_url: `http://${id}--${siteName}.netlify.app`, ssl_url: `https://${id}--${siteName}.netlify.app`,
      skipped: null, locked: null, framework: 'unknown', functions_region: 'us-east-2', required_functions: [],
      function_schedules: base?.function_schedules.map((s) => ({ ...s })) ?? opts.schedules ?? [],
      available_functions: available(names, branch),
      ...defaults, ...fields,
    };
    deploys.push(deploy);
    return deploy;
  };

  const siteJson = () => {
    const pub = fake.published();
    let embedded: Record<string, unknown> | null = null;
    if (pub !== undefined) {
      embedded = { ...pub };
      if (!fake.embedSchedules) delete embedded.function_schedules;
      if (!fake.embedAvailableFunctions) delete embedded.available_functions;
    }
    return {
      id: siteId, site_id: siteId, name: siteName, state: 'current', plan: 'nf_team_dev', custom_domain: null, url: siteUrl, ssl_url: siteUrl,
      admin_url: `https://app.netlify.com/projects/${siteName}`, deploy_url: pub?.deploy_url ?? null, account_id: accountId,
      created_at: iso(0), updated_at: iso(Date.now()), published_deploy: embedded,
      build_settings: { repo_branch: 'main', functions_dir: 'netlify/functions' },
    };
  };

  const functionsJson = (): unknown => {
    const pub = fake.published();
    const fns = pub?.available_functions ?? [];
    if (fake.functionsShape === 'cli') return { functions: fns };
    if (pub === undefined) return [];
    return [{
      id: pub.id, branch: pub.branch, provider: 'aws_lambda', log_type: 'aws_cloudwatch', created_at: pub.created_at,
      functions: fns.map((f) => ({ id: f.oid, name: f.n, sha: randomBytes(32).toString('hex'), region: pub.functions_region })),
    }];
  };

  const notFound: Answer = { status: 404, body: { code: 404, message: 'Not Found' } };
  const isSite = (id: string): boolean => id === siteId || id === siteName || id === `${siteName}.netlify.app`;

  const route = (method: string, path: string, query: URLSearchParams): Answer => {
    if (method !== 'GET') return { status: 405, body: { code: 405, message: 'Method Not Allowed' } };
    let m: RegExpExecArray | null;
    if ((m = /^\/deploys\/([^/]+)$/.exec(path))) {
      const deploy = findDeploy(decodeURIComponent(m[1]!));
      return deploy === undefined ? notFound : { status: 200, body: deploy };
    }
    if (!(m = /^\/sites\/([^/]+)(\/.*)?$/.exec(path)) || !isSite(decodeURIComponent(m[1]!))) return notFound;
    const rest = m[2] ?? '';
    if (rest === '') return { status: 200, body: siteJson() };
    if (rest === '/functions') return { status: 200, body: functionsJson() };
    if (rest === '/deploys') {
      let list = newest();
      const production = query.get('production');
      if (production === 'true') list = list.filter((d) => d.context === 'production');
      if (production === 'false') list = list.filter((d) => d.context !== 'production');
      const state = query.get('state');
      if (state !== null) list = list.filter((d) => d.state === state);
      const branch = query.get('branch');
      if (branch !== null) list = list.filter((d) => d.branch === branch);
      const per = Math.min(100, Math.max(1, Number(query.get('per_page')) || 100));
      const page = Math.max(1, Number(query.get('page')) || 1);
      return { status: 200, body: list.slice((page - 1) * per, page * per) };
    }
    if ((m = /^\/deploys\/([^/]+)$/.exec(rest))) {
      const deploy = findDeploy(decodeURIComponent(m[1]!));
      return deploy === undefined || deploy.site_id !== siteId ? notFound : { status: 200, body: deploy };
    }
    return notFound;
  };

  /** Takes the first fault for this path, if any. */
  const takeFault = (path: string): Fault | undefined => {
    const index = faults.findIndex((f) => matches(f.path, path));
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if (--fault.count <= 0) faults.splice(index, 1);
    return fault;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    for await (const _chunk of req) { /* GETs only: drain */ }
    const reqUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: FakeRequest = {
      method: req.method ?? 'GET', path: reqUrl.pathname, query: Object.fromEntries(reqUrl.searchParams), auth: req.headers.authorization !== undefined, status: 0,
    };
    fake.requests.push(record);
    const now = Date.now();
    if (now >= windowEnd * 1000) {
      windowEnd = Math.ceil(now / 1000) + WINDOW_S;
      fake.rateRemaining = rateLimit;
    }
    const path = reqUrl.pathname.startsWith(PREFIX) ? reqUrl.pathname.slice(PREFIX.length) : '';
    const pathWithQuery = path + reqUrl.search;
    let fault = takeFault(pathWithQuery);
    if (fault?.delayMs !== undefined) {
      const ms = fault.delayMs;
      const left = await new Promise<boolean>((resolve) => {
        const done = (gone: boolean) => { clearTimeout(timer); res.off('close', onClose); pending.delete(abandon); resolve(gone); };
        const onClose = () => done(true);
        const abandon = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        res.on('close', onClose);
        pending.add(abandon);
      });
      if (left) return;
      fault = undefined;
    }
    if (res.destroyed) return;

    let answer: Answer;
    let reset = windowEnd;
    if (fault?.status !== undefined) {
      reset = fault.rateLimitReset ?? windowEnd;
      answer = fault.text !== undefined
        ? { status: fault.status, text: fault.text }
        : { status: fault.status, body: { code: fault.status, message: fault.status === 429 ? 'Rate limit exceeded' : http.STATUS_CODES[fault.status] ?? 'Error' } };
    } else if (fake.rateRemaining <= 0) {
      answer = { status: 429, body: { code: 429, message: 'Rate limit exceeded' } };
    } else if (req.headers.authorization !== `Bearer ${token}`) {
      answer = { status: 401, body: { code: 401, message: 'Access Denied' } };
    } else if (path === '') {
      answer = notFound;
    } else {
      answer = route(record.method, path, reqUrl.searchParams);
    }
    if (answer.status !== 429 && fake.rateRemaining > 0) fake.rateRemaining -= 1;
    const remaining = answer.status === 429 ? 0 : fake.rateRemaining;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(rateLimit), 'X-RateLimit-Remaining': String(remaining), 'X-RateLimit-Reset': String(reset),
      'X-Nf-Request-Id': hexId(), ...answer.headers,
    };
    let payload: string;
    if (answer.text !== undefined) {
      headers['Content-Type'] = 'text/plain; charset=utf-8';
      payload = answer.text;
    } else {
      headers['Content-Type'] = 'application/json; charset=utf-8';
      payload = JSON.stringify(answer.body ?? null);
    }
    record.status = answer.status;
    res.writeHead(answer.status, headers);
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    if (mode === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 500, message: `fake-netlify: ${String(error)}` }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    for (const abandon of [...pending]) abandon();
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;

  const fake: FakeNetlify = {
    apiUrl: `http://127.0.0.1:${port}${PREFIX}`,
    port, siteId, siteName, token,
    requests: [],
    functionsShape: opts.functionsShape ?? 'openapi',
    embedSchedules: true,
    embedAvailableFunctions: true,
    rateRemaining: rateLimit,
    deploys: newest,
    published: () => (publishedId === undefined ? undefined : findDeploy(publishedId)),
    publish(partial = {}) {
      const deploy = makeDeploy(partial, { state: 'ready', context: 'production' });
      deploy.published_at ??= deploy.updated_at;
      publishedId = deploy.id;
      return deploy;
    },
    failLatest(errorMessage) {
      return makeDeploy({}, { state: 'error', error_message: errorMessage, context: 'production' });
    },
    addDeploy: (partial = {}) => makeDeploy(partial, {}),
    setSchedules(list) {
      const pub = fake.published();
      if (pub === undefined) throw new Error('fake-netlify: nothing published');
      pub.function_schedules = list.map((s) => ({ ...s }));
    },
    setFunctions(names) {
      const pub = fake.published();
      if (pub === undefined) throw new Error('fake-netlify: nothing published');
      pub.available_functions = available(names, pub.branch);
    },
    failNext(count, status, o = {}) {
      if (count <= 0) return;
      faults.push({ count, status, ...(o.path === undefined ? {} : { path: o.path }), ...(o.rateLimitReset === undefined ? {} : { rateLimitReset: o.rateLimitReset }), ...(o.text === undefined ? {} : { text: o.text }) });
    },
    delayNext(ms, o = {}) {
      faults.push({ count: o.count ?? 1, delayMs: ms, ...(o.path === undefined ? {} : { path: o.path }) });
    },
    async down(how = 'refuse') {
      if (how === 'reset') {
        mode = 'reset';
        return;
      }
      mode = 'refuse';
      await stop();
    },
    async up() {
      if (mode === 'refuse') await listen(port);
      mode = 'up';
    },
    clearFaults: () => { faults.length = 0; },
    clearLog: () => { fake.requests.length = 0; },
    close: async () => {
      mode = 'refuse';
      await stop();
    },
  };
  if (!opts.empty) fake.publish({ functions: opts.functions ?? ['hello'], function_schedules: opts.schedules ?? [] });
  return fake;
}
