import dc from 'node:diagnostics_channel';
import * as http from 'node:http';
import * as https from 'node:https';
import { NetlifyAPI } from '@netlify/api';
import { RedundancyError } from '../../core/errors.js';

/**
 * The only module that talks to the Netlify API: a thin adapter over `@netlify/api` 14 (ESM, node-fetch 3).
 *
 * What the client does on its own (node_modules/@netlify/api/lib/methods/): it retries a 429 up to 5 times,
 * sleeping until `X-RateLimit-Reset` (at least 1 s, 5 s without the header), and ETIMEDOUT/ECONNRESET after
 * 5 s; it never retries a 5xx; its sleeps cannot be cancelled; it exposes no response headers. So every
 * request goes through an agent of ours, and two documented `node:diagnostics_channel` channels tell us
 * about each request and response of that agent: the budget headers, and a 429 or a reset whose retry
 * would outlive the poll's deadline, which aborts the poll at once instead of leaving the client asleep.
 */

export type NetlifyApiErrorCode = 'unreachable' | 'auth' | 'rate-limited' | 'server' | 'not-found' | 'bad-response';

export class NetlifyApiError extends Error {
  override readonly name = 'NetlifyApiError';
  readonly code: NetlifyApiErrorCode;
  /** HTTP status; null when no answer came (refused, reset, timeout). */
  readonly status: number | null;
  /** Rate limits: how long until the limit resets, when Netlify said. */
  readonly retryAfterMs?: number;
  constructor(message: string, details: { code: NetlifyApiErrorCode; status: number | null; retryAfterMs?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

export interface FunctionSchedule { name: string; cron: string }

export interface SiteHealth {
  /** The newest production deploy in any state (`building`, `error`, `ready`, ...): an `error` here with `published` still `ready` is a deploy that failed and did not go live. */
  latestProduction?: { id: string; state: string; errorMessage?: string; /** epoch ms */ createdAt: number };
  /** The deploy the site serves. `functionSchedules`: the schedules Netlify registered for it; undefined when the API did not say. */
  published?: { id: string; state: string; functionSchedules: FunctionSchedule[] | undefined; /** epoch ms */ publishedAt?: number };
  /** Names of the functions deployed with the published deploy, sorted; undefined when the API did not say (or nothing is published). */
  functions?: string[];
  /** epoch ms */
  checkedAt: number;
}

export interface NetlifyApiBudget {
  /** From the `X-RateLimit-*` headers of the last answer that carried them. */
  limit: number | null;
  remaining: number | null;
  /** epoch ms */
  resetAt: number | null;
  /** HTTP requests sent, the client's own retries included. */
  requests: number;
}

export interface NetlifyApi {
  /** At most one poll at a time: a call while one runs gets the same promise. Rejects with a NetlifyApiError. */
  siteHealth(): Promise<SiteHealth>;
  budget(): NetlifyApiBudget;
}

export interface NetlifyApiOptions {
  /** The site's API id (or its `<name>.netlify.app` domain, which the API also takes). */
  siteId: string;
  token: string;
  /** e.g. `https://api.netlify.com/api/v1`, or `http://127.0.0.1:PORT/api/v1` for a fake. */
  apiUrl: string;
  logger: { warn(obj: object, msg: string): void };
  /** The whole of one `siteHealth()`, the client's retries included. @default 10000 */
  timeoutMs?: number;
}

/** The client's retry rules (lib/methods/retry.js), mirrored to know whether it will sleep past our deadline. */
const CLIENT_RETRIED_CODES = new Set(['ETIMEDOUT', 'ECONNRESET']);
const CLIENT_NETWORK_RETRY_MS = 5000;
function clientRateLimitWaitMs(resetHeader: string | undefined, now: number): number {
  if (resetHeader === undefined || resetHeader === '') return 5000;
  return Math.max(Number(resetHeader) * 1000 - now, 1000);
}

/**
 * `scheme` without the colon, `host` with the port, `pathPrefix` without a trailing slash, as the client's
 * constructor takes them (it builds `${scheme}://${host}${pathPrefix}` once, in the constructor).
 * An empty path is `/api/v1`: the client would read `''` as "use the default" anyway (`options.pathPrefix || ...`).
 */
export function parseApiUrl(apiUrl: string): { scheme: 'http' | 'https'; host: string; pathPrefix: string } {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new RedundancyError('CONFIG_INVALID', `netlify apiUrl: not a URL: ${JSON.stringify(apiUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RedundancyError('CONFIG_INVALID', `netlify apiUrl: expected http: or https:, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new RedundancyError('CONFIG_INVALID', 'netlify apiUrl: no credentials, query or fragment (the token is sent as a header)');
  }
  return { scheme: url.protocol === 'https:' ? 'https' : 'http', host: url.host, pathPrefix: url.pathname.replace(/\/+$/, '') || '/api/v1' };
}

// --- what the agent's requests and responses tell us (diagnostics_channel, subscribed once per process) ---

interface AgentWatcher {
  request(request: http.ClientRequest): void;
  response(response: http.IncomingMessage, request: http.ClientRequest): void;
}
const watchers = new WeakMap<object, AgentWatcher>();
let subscribed = false;

function watcherOf(request: unknown): AgentWatcher | undefined {
  const agent = (request as { agent?: unknown } | undefined)?.agent;
  return typeof agent === 'object' && agent !== null ? watchers.get(agent) : undefined;
}

function watchAgent(agent: http.Agent, watcher: AgentWatcher): void {
  watchers.set(agent, watcher);
  if (subscribed) return;
  subscribed = true;
  // A subscriber that throws would surface as an uncaught exception: never throw from here.
  dc.subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: http.ClientRequest };
    try {
      watcherOf(request)?.request(request);
    } catch { /* observation only */ }
  });
  // Published before the request's `response` event, so before node-fetch (and the client) see the answer.
  dc.subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: http.ClientRequest; response: http.IncomingMessage };
    try {
      watcherOf(request)?.response(response, request);
    } catch { /* observation only */ }
  });
}

// --- errors ---

const oneLine = (text: string, max = 200): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

interface ClientHttpError { name: string; status: number; message: string; json?: unknown; data?: unknown }

/** `JSONHTTPError` / `TextHTTPError` (lib/methods/response.js): not exported by the package, named after their class. */
function isClientHttpError(error: unknown): error is ClientHttpError {
  return error instanceof Error && (error.name === 'JSONHTTPError' || error.name === 'TextHTTPError')
    && typeof (error as Partial<ClientHttpError>).status === 'number';
}

function httpDetail(error: ClientHttpError): string {
  const json = error.json as { message?: unknown; error?: unknown } | undefined;
  const fromJson = typeof json?.message === 'string' ? json.message : typeof json?.error === 'string' ? json.error : '';
  const fromText = typeof error.data === 'string' && !/^\s*</.test(error.data) ? error.data : '';
  return oneLine(fromJson || error.message || fromText || http.STATUS_CODES[error.status] || 'error');
}

// --- response shapes (validated: the API's answers are data, not trusted types) ---

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const epochMs = (value: unknown): number | undefined => {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/** `function_schedules`: `[{name, cron}]`; null read as none; undefined when the field is absent or not a list. */
function schedulesOf(deploy: Json): FunctionSchedule[] | undefined {
  const raw = deploy.function_schedules;
  if (raw === null) return [];
  if (!Array.isArray(raw)) return undefined;
  return raw.flatMap((entry) => {
    if (!isObject(entry)) return [];
    const name = text(entry.name);
    const cron = text(entry.cron);
    return name !== undefined && cron !== undefined ? [{ name, cron }] : [];
  });
}

const itemName = (item: unknown): string | undefined => (isObject(item) ? text(item.n) ?? text(item.name) : undefined);
/** An entry of another branch than the production one is not the published deploy's. */
const onBranch = (value: unknown, branch: string | undefined): boolean =>
  branch === undefined || !isObject(value) || typeof value.branch !== 'string' || value.branch === '' || value.branch === branch;
const sortedNames = (items: unknown[], branch: string | undefined): string[] =>
  [...new Set(items.filter((item) => onBranch(item, branch)).map(itemName).filter((name): name is string => name !== undefined))].sort();

/**
 * Function names from `searchSiteFunctions`, either shape: the OpenAPI one, an array of
 * `{id, branch, provider, log_type, created_at, functions: [...]}`, or the one netlify-cli reads,
 * `{functions: [{n, oid, a, branch}]}`; entries `{n}` or `{name}`. Undefined for any other shape.
 */
export function functionNamesFrom(found: unknown, productionBranch?: string): string[] | undefined {
  if (isObject(found)) return Array.isArray(found.functions) ? sortedNames(found.functions, productionBranch) : undefined;
  if (!Array.isArray(found)) return undefined;
  if (found.every((entry) => isObject(entry) && Array.isArray(entry.functions))) {
    return sortedNames(found.filter((entry) => onBranch(entry, productionBranch)).flatMap((entry) => (entry as { functions: unknown[] }).functions), productionBranch);
  }
  // A bare list of functions.
  return found.every((item) => itemName(item) !== undefined) ? sortedNames(found, productionBranch) : undefined;
}

interface PublishedDetails { id: string; functionSchedules: FunctionSchedule[] | undefined; functions: string[] | undefined }

interface Poll {
  deadlineAt: number;
  failure: NetlifyApiError | undefined;
  fail(error: NetlifyApiError): void;
}

export function createNetlifyApi(opts: NetlifyApiOptions): NetlifyApi {
  if (opts.siteId.trim() === '') throw new RedundancyError('CONFIG_INVALID', 'netlify siteId: empty');
  const { scheme, host, pathPrefix } = parseApiUrl(opts.apiUrl);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const siteLabel = `Netlify site ${opts.siteId}`;
  // The client puts path values into the URL as they are (String.replace, no encoding): encode them here.
  const siteParam = encodeURIComponent(opts.siteId);
  const scrub = (message: string): string => (opts.token.length >= 4 ? message.split(opts.token).join('[Redacted]') : message);
  const counts: NetlifyApiBudget = { limit: null, remaining: null, resetAt: null, requests: 0 };

  // One connection per request: no idle keep-alive socket for the client to find reset and sleep 5 s over.
  const agent = scheme === 'https' ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
  const client = new NetlifyAPI(opts.token, { scheme, host, pathPrefix, userAgent: 'redundancy' });

  let current: Poll | undefined;
  const pollOf = new WeakMap<http.ClientRequest, Poll>();
  let inflight: Promise<SiteHealth> | undefined;
  let published: PublishedDetails | undefined;
  let warnedShapeFor: string | undefined;

  watchAgent(agent, {
    request(request) {
      counts.requests += 1;
      // The poll that sent it: an aborted request's late events must not touch the next poll.
      const poll = current;
      if (poll === undefined) return;
      pollOf.set(request, poll);
      request.prependListener('error', (error: NodeJS.ErrnoException) => {
        if (poll.failure !== undefined || poll.failure !== undefined || !CLIENT_RETRIED_CODES.has(error.code ?? '')) return;
        // The client would sleep 5 s and retry: not if that runs past the deadline.
        if (Date.now() + CLIENT_NETWORK_RETRY_MS >= poll.deadlineAt) {
          poll.fail(new NetlifyApiError(`${siteLabel}: connection failed (${error.code}) with no time left for a retry within ${timeoutMs} ms`, { code: 'unreachable', status: null }));
        }
      });
    },
    response(response, request) {
      const header = (name: string): string | undefined => {
        const value = response.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const number = (name: string): number | null => {
        const value = header(name);
        return value === undefined || value === '' || !Number.isFinite(Number(value)) ? null : Number(value);
      };
      counts.limit = number('x-ratelimit-limit') ?? counts.limit;
      counts.remaining = number('x-ratelimit-remaining') ?? counts.remaining;
      const reset = number('x-ratelimit-reset');
      if (reset !== null) counts.resetAt = reset * 1000;
      if (response.statusCode !== 429) return;
      const now = Date.now();
      const waitMs = clientRateLimitWaitMs(header('x-ratelimit-reset'), now);
      const poll = pollOf.get(request);
      const inBudget = poll !== undefined && now + waitMs < poll.deadlineAt;
      opts.logger.warn({ netlifySite: opts.siteId, status: 429, waitMs, inBudget }, 'Netlify API rate limit');
      if (poll !== undefined && poll.failure === undefined && !inBudget) {
        // Aborting here, before the client reads the answer, spares its uncancellable sleep.
        poll.fail(new NetlifyApiError(`${siteLabel}: rate limited (429); the limit resets in ${Math.ceil(waitMs / 1000)} s, past this check's ${timeoutMs} ms`,
          { code: 'rate-limited', status: 429, retryAfterMs: waitMs }));
      }
    },
  });

  const toNetlifyApiError = (error: unknown, what: string): NetlifyApiError => {
    if (error instanceof NetlifyApiError) return error;
    const prefix = `${siteLabel}: ${what}`;
    if (isClientHttpError(error)) {
      const { status } = error;
      const detail = httpDetail(error);
      const made = (code: NetlifyApiErrorCode, message: string, retryAfterMs?: number) =>
        new NetlifyApiError(scrub(`${prefix}: ${message}`), { code, status, cause: error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
      if (status === 401) return made('auth', `401 ${detail}: the token is not accepted (expired, revoked or empty?)`);
      if (status === 403) return made('auth', `403 ${detail}: the token may not read this site`);
      if (status === 404) return made('not-found', `404 ${detail}${what === 'get site' || what === 'list production deploys' ? " (wrong site id, or the token's account cannot see the site)" : ''}`);
      if (status === 429) {
        const retryAfterMs = counts.resetAt === null ? undefined : Math.max(0, counts.resetAt - Date.now());
        return made('rate-limited', `429 ${detail} after the client's own retries`, retryAfterMs);
      }
      if (status >= 500) return made('server', `${status} ${detail}`);
      // A 2xx with a body that is not the JSON its content-type says is a TextHTTPError too.
      return made('bad-response', status < 400 ? `${status} with a body that does not parse` : `${status} ${detail}`);
    }
    if (error instanceof Error && (error.name === 'FetchError' || error.name === 'AbortError')) {
      // node-fetch's message is "request to <url> failed, reason: <reason>"; the URL carries no secret but adds nothing.
      const code = (error as NodeJS.ErrnoException).code;
      const reason = /reason: (.*)$/s.exec(error.message)?.[1] ?? error.message;
      // No `cause`: node-fetch's error carries the request options, Authorization header included (`data`).
      return new NetlifyApiError(scrub(`${prefix}: ${oneLine(reason)}${code !== undefined && !reason.includes(code) ? ` (${code})` : ''}`), { code: 'unreachable', status: null });
    }
    return new NetlifyApiError(scrub(`${prefix}: ${oneLine(error instanceof Error ? error.message : String(error))}`), { code: 'bad-response', status: null });
  };

  const badResponse = (what: string, problem: string) => new NetlifyApiError(`${siteLabel}: ${what}: ${problem}`, { code: 'bad-response', status: null });

  const poll = async (): Promise<SiteHealth> => {
    const controller = new AbortController();
    const pending = new Set<string>();
    let reject!: (error: NetlifyApiError) => void;
    const failed = new Promise<never>((_resolve, rejectFailed) => { reject = rejectFailed; });
    const state: Poll = {
      deadlineAt: Date.now() + timeoutMs,
      failure: undefined,
      fail(error) {
        if (state.failure !== undefined) return;
        state.failure = error;
        controller.abort();
        reject(error);
      },
    };
    // The client's sleeps (429, reset) cannot be interrupted, so the deadline races them rather than waiting for them.
    const timer = setTimeout(() => {
      state.fail(new NetlifyApiError(`${siteLabel}: no answer within ${timeoutMs} ms (${[...pending].join(', ') || 'pending'})`, { code: 'unreachable', status: null }));
    }, timeoutMs);
    current = state;
    const requestOpts = { signal: controller.signal, agent };

    const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
      pending.add(what);
      try {
        return await run();
      } catch (error) {
        throw state.failure ?? toNetlifyApiError(error, what);
      } finally {
        pending.delete(what);
      }
    };

    const work = async (): Promise<SiteHealth> => {
      const [site, deploys] = await Promise.all([
        call('get site', () => client.getSite({ site_id: siteParam }, requestOpts)),
        // `production: true` is sent as `production=true`; `false` would be dropped (lib/methods/params.js reads params with `||`).
        call('list production deploys', () => client.listSiteDeploys({ site_id: siteParam, production: true, per_page: 1 }, requestOpts)),
      ]) as [unknown, unknown];
      if (!isObject(site)) throw badResponse('get site', `expected a site object, got ${typeof site === 'string' ? 'text' : JSON.stringify(site)?.slice(0, 40)}`);
      if (!Array.isArray(deploys)) throw badResponse('list production deploys', 'expected a list of deploys');

      const health: SiteHealth = { checkedAt: Date.now() };
      const latest: unknown = deploys[0];
      if (latest !== undefined) {
        const id = isObject(latest) ? text(latest.id) : undefined;
        const createdAt = isObject(latest) ? epochMs(latest.created_at) : undefined;
        if (!isObject(latest) || id === undefined || typeof latest.state !== 'string' || createdAt === undefined) {
          throw badResponse('list production deploys', 'a deploy without id, state or created_at');
        }
        const errorMessage = text(latest.error_message);
        health.latestProduction = { id, state: latest.state, ...(errorMessage === undefined ? {} : { errorMessage }), createdAt };
      }

      const pub = site.published_deploy;
      if (pub === undefined || pub === null) return health;
      const pubId = isObject(pub) ? text(pub.id) : undefined;
      if (!isObject(pub) || pubId === undefined || typeof pub.state !== 'string') throw badResponse('get site', 'a published_deploy without id or state');
      const branch = text(pub.branch);
      // A deploy's schedules and functions do not change once it is ready: read them once per published deploy.
      let details = published?.id === pubId ? published : undefined;
      if (details === undefined) {
        let functionSchedules = schedulesOf(pub);
        let functions = Array.isArray(pub.available_functions) ? sortedNames(pub.available_functions, undefined) : undefined;
        if (functionSchedules === undefined) {
          const deploy: unknown = await call('get published deploy', () => client.getSiteDeploy({ site_id: siteParam, deploy_id: encodeURIComponent(pubId) }, requestOpts));
          if (!isObject(deploy)) throw badResponse('get published deploy', 'expected a deploy object');
          functionSchedules = schedulesOf(deploy);
          if (functions === undefined && Array.isArray(deploy.available_functions)) functions = sortedNames(deploy.available_functions, undefined);
        }
        if (functions === undefined) {
          // Its answer is not the documented one (see functionNamesFrom): an answer not understood, or a 404,
          // leaves the names unknown rather than failing the check. Faults of the API itself still fail it.
          let found: unknown;
          let problem: string | undefined;
          try {
            found = await call('search functions', () => client.searchSiteFunctions({ site_id: siteParam }, requestOpts));
          } catch (error) {
            if (!(error instanceof NetlifyApiError) || (error.code !== 'not-found' && error.code !== 'bad-response') || state.failure !== undefined) throw error;
            problem = error.message;
          }
          functions = problem === undefined ? functionNamesFrom(found, branch) : undefined;
          if (functions === undefined && warnedShapeFor !== pubId) {
            warnedShapeFor = pubId;
            problem ??= `an answer not understood (${Array.isArray(found) ? 'array' : typeof found})`;
            opts.logger.warn({ netlifySite: opts.siteId, problem }, 'Netlify searchSiteFunctions: deployed function names unknown');
          }
        }
        details = { id: pubId, functionSchedules, functions };
        if (pub.state === 'ready') published = details;
      }
      const publishedAt = epochMs(pub.published_at);
      health.published = { id: pubId, state: pub.state, functionSchedules: details.functionSchedules, ...(publishedAt === undefined ? {} : { publishedAt }) };
      if (details.functions !== undefined) health.functions = details.functions;
      return health;
    };

    try {
      return await Promise.race([work(), failed]);
    } catch (error) {
      const failure = state.failure ?? toNetlifyApiError(error, 'check');
      // Aborts whatever else is still in flight.
      state.fail(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      if (current === state) current = undefined;
    }
  };

  return {
    siteHealth() {
      inflight ??= poll().finally(() => { inflight = undefined; });
      return inflight;
    },
    budget: () => ({ ...counts }),
  };
}
