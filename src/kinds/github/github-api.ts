import { Octokit } from '@octokit/rest';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
import { RedundancyError } from '../../core/errors.js';
import type { Logger } from '../../store/logger.js';

/** The only module that talks to GitHub: a thin adapter over Octokit with the throttling and retry plugins. */

export interface WorkflowRun { id: number; workflowId: number; /** `.github/workflows/x.yml` */ path: string; event: string; status: string; conclusion: string | null; createdAt: number; updatedAt: number; runNumber: number; headBranch: string | null }
export interface WorkflowState { id: number; path: string; /** `active`, `disabled_manually`, `disabled_inactivity`, ... */ state: string }
export interface ApiBudget { limit: number | null; remaining: number | null; /** epoch ms */ resetAt: number | null; requests: number; notModified: number; errors: number }

export type GitHubApiErrorKind = 'auth' | 'rate-limit' | 'server' | 'network' | 'not-found' | 'other';

export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  readonly kind: GitHubApiErrorKind;
  /** HTTP status; null when no answer came (network, timeout). */
  readonly status: number | null;
  /** The fine-grained permission the call needs (auth errors). */
  readonly permission?: string;
  /** Rate limits: how long GitHub asked to wait, when it said. */
  readonly retryAfterMs?: number;
  constructor(message: string, details: { kind: GitHubApiErrorKind; status: number | null; permission?: string; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.kind = details.kind;
    this.status = details.status;
    if (details.permission !== undefined) this.permission = details.permission;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

export interface GitHubApi {
  /** One page (100) of the repo's newest runs, conditional on the last ETag; on a 304 (free) `notModified` is true and `runs` is the cached page. */
  listRepoRuns(): Promise<{ notModified: boolean; runs: WorkflowRun[] }>;
  /** Runs of one workflow (file name), newest first, following `Link` pages until a run created before `since` (epoch ms). */
  listWorkflowRuns(fileName: string, since: number): Promise<WorkflowRun[]>;
  /** undefined on 404: the workflow is not on the default branch (yet). */
  getWorkflow(fileName: string): Promise<WorkflowState | undefined>;
  /** Every page, each conditional on its last ETag. */
  listWorkflows(): Promise<WorkflowState[]>;
  disableWorkflow(fileName: string): Promise<void>;
  enableWorkflow(fileName: string): Promise<void>;
  dispatch(fileName: string, ref: string, inputs?: Record<string, string>): Promise<void>;
  /** Read once, then cached. */
  defaultBranch(): Promise<string>;
  /** Update, or create when missing. */
  setVariable(name: string, value: string): Promise<'updated' | 'created'>;
  /** false when it did not exist. */
  deleteVariable(name: string): Promise<boolean>;
  getVariable(name: string): Promise<string | undefined>;
  /** From the `x-ratelimit-*` headers of the last answers, and counts of HTTP requests made. */
  budget(): ApiBudget;
}

export interface GitHubApiOptions {
  /** `owner/name` */
  repo: string;
  token: string;
  /** e.g. `https://api.github.com` */
  baseUrl: string;
  logger: Logger;
  /** Longest rate-limit wait honoured before the one retry; longer waits fail at once. @default 10000 */
  retryAfterCapMs?: number;
  /** Server-error and network retries wait 1x then 4x this. @default 1000 */
  serverRetryBaseMs?: number;
  /** Per HTTP attempt; a timed-out attempt is not retried. @default 10000 */
  timeoutMs?: number;
}

const perm = {
  actionsRead: 'Actions: read',
  actionsWrite: 'Actions: read and write',
  variablesRead: 'Variables: read',
  variablesWrite: 'Variables: read and write',
  metadataRead: 'Metadata: read',
} as const;

interface HttpErrorLike { status: number; message: string; response?: { headers: Record<string, string | undefined> }; cause?: unknown }

function isHttpError(error: unknown): error is HttpErrorLike {
  return error instanceof Error && typeof (error as Partial<HttpErrorLike>).status === 'number';
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'));
}

/** A timed-out attempt already cost the whole timeout: tell plugin-retry (which sees network errors as 500) not to repeat it. */
function noRetryOnTimeout(octokit: Pick<Octokit, 'hook'>): void {
  octokit.hook.wrap('request', async (request, options) => {
    try {
      return await request(options);
    } catch (error) {
      if (isTimeout(error)) options.request = { ...options.request, retries: 0 };
      throw error;
    }
  });
}

const GitHubOctokit = Octokit.plugin(noRetryOnTimeout, retry, throttling);

/** Maps an Octokit failure to a GitHubApiError naming the call and, for auth, the permission it needs. */
function toGitHubApiError(error: unknown, what: string, permission: string, timeoutMs: number): GitHubApiError {
  if (error instanceof GitHubApiError) return error;
  if (!isHttpError(error) || error.response === undefined) {
    const detail = isTimeout(error) ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error);
    return new GitHubApiError(`${what}: ${detail}`, { kind: 'network', status: null, cause: error });
  }
  const { status } = error;
  const headers = error.response.headers;
  const retryAfterS = Number(headers['retry-after']);
  const remainingZero = headers['x-ratelimit-remaining'] === '0';
  if (status === 429 || (status === 403 && (Number.isFinite(retryAfterS) || remainingZero || /secondary rate limit/i.test(error.message)))) {
    const resetMs = Number(headers['x-ratelimit-reset']) * 1000;
    const retryAfterMs = Number.isFinite(retryAfterS) ? retryAfterS * 1000 : remainingZero && resetMs > 0 ? Math.max(0, resetMs - Date.now()) : undefined;
    const wait = retryAfterMs === undefined ? '' : ` (retry in ${Math.ceil(retryAfterMs / 1000)} s)`;
    return new GitHubApiError(`${what}: rate limited, ${status} ${error.message}${wait}`, { kind: 'rate-limit', status, retryAfterMs, cause: error });
  }
  if (status === 401 || status === 403) {
    const problem = status === 401 ? 'the token is not accepted (expired or revoked?); it must be valid and have' : 'the token lacks';
    const message = `${what}: ${status} ${error.message}: ${problem} the "${permission}" repository permission (fine-grained token) or the "repo" scope (classic)`;
    return new GitHubApiError(message, { kind: 'auth', status, permission, cause: error });
  }
  const kind: GitHubApiErrorKind = status === 404 ? 'not-found' : status >= 500 ? 'server' : 'other';
  return new GitHubApiError(`${what}: ${status} ${error.message}`, { kind, status, cause: error });
}

/** Octokit's log, into pino: request lines at debug, the token scrubbed from anything it prints. */
function octokitLog(logger: Logger, token: string) {
  const scrub = (args: unknown[]): string => {
    const text = args.map((arg) => {
      if (typeof arg === 'string') return arg;
      try {
        return JSON.stringify(arg);
      } catch {
        return String(arg);
      }
    }).join(' ');
    return token.length > 0 ? text.split(token).join('[Redacted]') : text;
  };
  return {
    debug: (...args: unknown[]) => { if (logger.isLevelEnabled('trace')) logger.trace(scrub(args)); },
    info: (...args: unknown[]) => { if (logger.isLevelEnabled('debug')) logger.debug(scrub(args)); },
    warn: (...args: unknown[]) => logger.warn(scrub(args)),
    // Octokit logs every failed request here, 304 and 404 included: the caller decides what is an error.
    error: (...args: unknown[]) => { if (logger.isLevelEnabled('debug')) logger.debug(scrub(args)); },
  };
}

interface RawRun { id: number; workflow_id: number; path: string; event: string; status: string | null; conclusion: string | null; created_at: string; updated_at: string; run_number: number; head_branch: string | null }
interface RawWorkflow { id: number; path: string; state: string }

const toRun = (r: RawRun): WorkflowRun => ({
  id: r.id, workflowId: r.workflow_id, path: r.path, event: r.event, status: r.status ?? 'unknown', conclusion: r.conclusion ?? null,
  createdAt: Date.parse(r.created_at), updatedAt: Date.parse(r.updated_at), runNumber: r.run_number, headBranch: r.head_branch ?? null,
});
const toWorkflow = (w: RawWorkflow): WorkflowState => ({ id: w.id, path: w.path, state: w.state });
const nextLink = (link: string | undefined): string | undefined => /<([^<>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];

export function createGitHubApi(opts: GitHubApiOptions): GitHubApi {
  const [owner, repo, ...rest] = opts.repo.split('/');
  if (owner === undefined || repo === undefined || owner === '' || repo === '' || rest.length > 0) {
    throw new RedundancyError('CONFIG_INVALID', `sources.github.repo: expected owner/name, got ${JSON.stringify(opts.repo)}`);
  }
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const capMs = opts.retryAfterCapMs ?? 10_000;
  const log = opts.logger.child({ github: opts.repo });
  const counts: ApiBudget = { limit: null, remaining: null, resetAt: null, requests: 0, notModified: 0, errors: 0 };

  // Innermost layer, once per HTTP attempt (retries included): the timeout, and the budget from the headers.
  const timedFetch: typeof fetch = async (input, init) => {
    counts.requests += 1;
    const timer = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timer]) : timer });
    } catch (error) {
      counts.errors += 1;
      throw error;
    }
    const header = (name: string): number | null => {
      const value = response.headers.get(name);
      return value === null || !Number.isFinite(Number(value)) ? null : Number(value);
    };
    counts.limit = header('x-ratelimit-limit') ?? counts.limit;
    counts.remaining = header('x-ratelimit-remaining') ?? counts.remaining;
    const reset = header('x-ratelimit-reset');
    if (reset !== null) counts.resetAt = reset * 1000;
    if (response.status === 304) counts.notModified += 1;
    else if (response.status >= 400) counts.errors += 1;
    return response;
  };

  const onLimit = (which: string) => (retryAfterS: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    // At most one retry, and only after a short wait: a poller must never spin on a limit.
    const retrying = retryCount === 0 && retryAfterS * 1000 <= capMs;
    log.warn({ method: options.method, url: options.url, retryAfterS, retrying }, `GitHub ${which} rate limit`);
    return retrying;
  };
  const octoLog = octokitLog(log, opts.token);
  const octokit = new GitHubOctokit({
    auth: opts.token,
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    userAgent: 'redundancy',
    log: octoLog,
    // `log` here too: @octokit/request prints deprecation notices through it, else through console.
    request: { fetch: timedFetch, log: octoLog },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    retry: {
      retries: 2,
      retryAfterBaseValue: opts.serverRetryBaseMs ?? 1000,
      // Never a 4xx: rate limits (403/429) are the throttling plugin's, the rest will not change on a retry.
      doNotRetry: Array.from({ length: 100 }, (_, i) => 400 + i),
    },
  });

  // Both plugins write their retry counts into `options.request`, which is the client-wide default
  // object unless the call brought its own: one call's retries would lengthen the next call's backoff.
  octokit.hook.before('request', (options) => {
    options.request = { ...options.request };
  });

  const call = async <T>(what: string, permission: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw toGitHubApiError(error, `GitHub ${opts.repo}: ${what}`, permission, timeoutMs);
    }
  };
  const orNotFound = async <T, F>(promise: Promise<T>, fallback: F): Promise<T | F> => {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof GitHubApiError && error.kind === 'not-found') return fallback;
      throw error;
    }
  };

  const pages = new Map<string, { etag: string; data: unknown; next: string | undefined }>();
  /** GET with If-None-Match on the ETag last seen for this URL; a 304 gives the cached body back. */
  const conditionalGet = async (url: string): Promise<{ notModified: boolean; data: unknown; next: string | undefined }> => {
    const cached = pages.get(url);
    try {
      const response = await octokit.request(`GET ${url}`, { headers: cached ? { 'if-none-match': cached.etag } : {} });
      const page = { etag: response.headers.etag ?? '', data: response.data as unknown, next: nextLink(response.headers.link) };
      if (page.etag === '') pages.delete(url);
      else pages.set(url, page);
      return { notModified: false, ...page };
    } catch (error) {
      if (cached && isHttpError(error) && error.status === 304) return { notModified: true, data: cached.data, next: cached.next };
      throw error;
    }
  };

  const base = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
  const wf = (fileName: string) => ({ owner, repo, workflow_id: fileName });
  let branch: string | undefined;

  return {
    listRepoRuns: () => call('list runs', perm.actionsRead, async () => {
      const page = await conditionalGet(`${base}/actions/runs?per_page=100`);
      return { notModified: page.notModified, runs: (page.data as { workflow_runs: RawRun[] }).workflow_runs.map(toRun) };
    }),
    listWorkflowRuns: (fileName, since) => call(`list runs of ${fileName}`, perm.actionsRead, async () => {
      const runs: WorkflowRun[] = [];
      const iterator = octokit.paginate.iterator(octokit.rest.actions.listWorkflowRuns, { ...wf(fileName), per_page: 100 });
      for await (const page of iterator) {
        const mapped = (page.data as unknown as RawRun[]).map(toRun);
        runs.push(...mapped.filter((run) => run.createdAt >= since));
        if (mapped.length === 0 || mapped.some((run) => run.createdAt < since)) break;
      }
      return runs;
    }),
    getWorkflow: (fileName) => orNotFound(call(`get workflow ${fileName}`, perm.actionsRead, async () =>
      toWorkflow((await octokit.rest.actions.getWorkflow(wf(fileName))).data)), undefined),
    listWorkflows: () => call('list workflows', perm.actionsRead, async () => {
      const workflows: WorkflowState[] = [];
      for (let url: string | undefined = `${base}/actions/workflows?per_page=100`; url !== undefined;) {
        const page = await conditionalGet(url);
        workflows.push(...(page.data as { workflows: RawWorkflow[] }).workflows.map(toWorkflow));
        url = page.next;
      }
      return workflows;
    }),
    disableWorkflow: (fileName) => call(`disable ${fileName}`, perm.actionsWrite, async () => {
      await octokit.rest.actions.disableWorkflow(wf(fileName));
    }),
    enableWorkflow: (fileName) => call(`enable ${fileName}`, perm.actionsWrite, async () => {
      await octokit.rest.actions.enableWorkflow(wf(fileName));
    }),
    dispatch: (fileName, ref, inputs) => call(`dispatch ${fileName} on ${ref}`, perm.actionsWrite, async () => {
      await octokit.rest.actions.createWorkflowDispatch({ ...wf(fileName), ref, inputs });
    }),
    defaultBranch: () => call('read the repository', perm.metadataRead, async () => {
      branch ??= (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
      return branch;
    }),
    setVariable: (name, value) => call(`set variable ${name}`, perm.variablesWrite, async () => {
      const update = async (): Promise<'updated'> => {
        await octokit.rest.actions.updateRepoVariable({ owner, repo, name, value });
        return 'updated';
      };
      try {
        return await update();
      } catch (error) {
        if (!isHttpError(error) || error.status !== 404) throw error;
      }
      try {
        await octokit.rest.actions.createRepoVariable({ owner, repo, name, value });
        return 'created';
      } catch (error) {
        // 409: created by someone else in between.
        if (isHttpError(error) && error.status === 409) return update();
        throw error;
      }
    }),
    deleteVariable: (name) => orNotFound(call(`delete variable ${name}`, perm.variablesWrite, async () => {
      await octokit.rest.actions.deleteRepoVariable({ owner, repo, name });
      return true;
    }), false),
    getVariable: (name) => orNotFound(call(`get variable ${name}`, perm.variablesRead, async () =>
      (await octokit.rest.actions.getRepoVariable({ owner, repo, name })).data.value), undefined),
    budget: () => ({ ...counts }),
  };
}
