import * as http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A 127.0.0.1 stand-in for the GitHub REST endpoints the github kind uses, answering with the
 * documented shapes: `Link` pages with absolute URLs, ETag and 304, `x-ratelimit-*`, and faults
 * programmed from the test (rate limits with `retry-after`, 5xx, slow answers, a bad token).
 */

export interface FakeWorkflow { id: number; name: string; path: string; state: string }
export interface FakeRun { id: number; workflowId: number; event: string; status: string; conclusion: string | null; createdAt: number; updatedAt: number; runNumber: number; headBranch: string | null }
export interface RecordedRequest { method: string; /** pathname and query */ path: string; body: unknown; headers: http.IncomingHttpHeaders; /** 0 until answered */ status: number }
/** What the next requests get instead of their answer: `status` answers with that error; `delayMs` alone only delays. */
export interface Fault { status?: number; message?: string; retryAfter?: number; delayMs?: number; rateLimitRemainingZero?: boolean }

export interface FakeGitHub {
  readonly url: string;
  readonly owner: string;
  readonly repo: string;
  /** The token accepted; any other gets 401. */
  readonly token: string;
  /** Every request in arrival order. */
  readonly requests: RecordedRequest[];
  /** The requests other than GET. */
  readonly writes: RecordedRequest[];
  /** Repository variables by name; the server upper-cases names (GitHub's are case-insensitive), so use upper case here. */
  readonly variables: Map<string, string>;
  defaultBranch: string;
  /** `x-ratelimit-remaining` before the next counted answer (a 304 does not count). */
  rateRemaining: number;
  setWorkflows(list: Array<{ path: string; state?: string; name?: string; id?: number }>): FakeWorkflow[];
  workflow(idOrFile: string | number): FakeWorkflow | undefined;
  /** Adds a run of the workflow with that file name; it is the newest unless `createdAt` says otherwise. */
  addRun(file: string, run?: Partial<Omit<FakeRun, 'id' | 'workflowId' | 'runNumber'>>): FakeRun;
  updateRun(id: number, patch: Partial<Omit<FakeRun, 'id' | 'workflowId'>>): FakeRun;
  /** All runs, newest first. */
  runs(): FakeRun[];
  clearRuns(): void;
  failNext(count: number, fault: Fault): void;
  /** A secondary rate limit: `status` (429 or 403) with `retry-after` and GitHub's message. */
  rateLimitNext(count: number, opts?: { status?: 403 | 429; retryAfter?: number }): void;
  /** The primary limit spent: 403, `x-ratelimit-remaining: 0`, reset in an hour. */
  primaryLimitNext(count: number): void;
  serverErrorNext(count: number, status?: number): void;
  delayNext(count: number, ms: number): void;
  /** Drops the faults not yet served. */
  clearFaults(): void;
  clearLog(): void;
  close(): Promise<void>;
}

const RATE_LIMIT = 5000;
const SECONDARY_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
const DOCS = 'https://docs.github.com/rest';
const fileOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const iso = (ms: number): string => new Date(ms).toISOString();

interface Answer { status: number; body?: unknown; headers?: Record<string, string> }

export async function startFakeGitHub(opts: { owner?: string; repo?: string; token?: string } = {}): Promise<FakeGitHub> {
  const owner = opts.owner ?? 'acme';
  const repo = opts.repo ?? 'app';
  const token = opts.token ?? 'ghp_fake_token_accepted';
  const workflows: FakeWorkflow[] = [];
  let runs: FakeRun[] = [];
  const variables = new Map<string, string>();
  const variableTimes = new Map<string, { createdAt: number; updatedAt: number }>();
  const times = (name: string) => variableTimes.get(name) ?? { createdAt: 0, updatedAt: 0 };
  const faults: Array<{ count: number; fault: Fault }> = [];
  const pendingDelays = new Set<() => void>();
  const resetAt = Math.floor(Date.now() / 1000) + 3600;
  let nextWorkflowId = 100;
  let nextRunId = 1000;
  let lastCreated = 0;
  let url = '';

  const notFound: Answer = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
  const findWorkflow = (idOrFile: string | number): FakeWorkflow | undefined =>
    workflows.find((w) => String(w.id) === String(idOrFile) || fileOf(w.path) === String(idOrFile));
  const sortedRuns = (): FakeRun[] => [...runs].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  const runJson = (r: FakeRun) => {
    const w = workflows.find((x) => x.id === r.workflowId);
    const api = `${url}/repos/${owner}/${repo}`;
    return {
      id: r.id, node_id: `WFR_${r.id}`, name: w?.name ?? null, display_title: w?.name ?? '', head_branch: r.headBranch, head_sha: 'a'.repeat(40),
      path: w?.path ?? '', run_number: r.runNumber, run_attempt: 1, event: r.event, status: r.status, conclusion: r.conclusion, workflow_id: r.workflowId,
      url: `${api}/actions/runs/${r.id}`, html_url: `https://github.com/${owner}/${repo}/actions/runs/${r.id}`, workflow_url: `${api}/actions/workflows/${r.workflowId}`,
      created_at: iso(r.createdAt), updated_at: iso(r.updatedAt), run_started_at: iso(r.createdAt), pull_requests: [],
    };
  };
  const workflowJson = (w: FakeWorkflow) => ({
    id: w.id, node_id: `W_${w.id}`, name: w.name, path: w.path, state: w.state, created_at: iso(0), updated_at: iso(0),
    url: `${url}/repos/${owner}/${repo}/actions/workflows/${w.id}`, html_url: `https://github.com/${owner}/${repo}/blob/main/${w.path}`,
    badge_url: `https://github.com/${owner}/${repo}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  });

  /** One page of `items` under `key`, with GitHub's `Link` header of absolute URLs. */
  const page = (reqUrl: URL, key: string, items: unknown[], maxPer: number, defaultPer: number): Answer => {
    const per = Math.min(maxPer, Math.max(1, Number(reqUrl.searchParams.get('per_page')) || defaultPer));
    const last = Math.max(1, Math.ceil(items.length / per));
    const n = Math.max(1, Number(reqUrl.searchParams.get('page')) || 1);
    const link = (p: number, rel: string) => {
      const u = new URL(reqUrl.pathname + reqUrl.search, url);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [...(n < last ? [link(n + 1, 'next'), link(last, 'last')] : []), ...(n > 1 ? [link(1, 'first'), link(n - 1, 'prev')] : [])];
    return { status: 200, body: { total_count: items.length, [key]: items.slice((n - 1) * per, n * per) }, headers: links.length > 0 ? { link: links.join(', ') } : {} };
  };

  const route = (method: string, reqUrl: URL, body: unknown): Answer => {
    const prefix = `/repos/${owner}/${repo}`;
    if (!reqUrl.pathname.startsWith(prefix)) return notFound;
    const path = reqUrl.pathname.slice(prefix.length);
    const input = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    if (path === '' && method === 'GET') {
      return { status: 200, body: { id: 1, name: repo, full_name: `${owner}/${repo}`, private: false, default_branch: fake.defaultBranch } };
    }
    if (path === '/actions/runs' && method === 'GET') return page(reqUrl, 'workflow_runs', sortedRuns().map(runJson), 100, 30);
    if (path === '/actions/workflows' && method === 'GET') return page(reqUrl, 'workflows', workflows.map(workflowJson), 100, 30);
    if ((m = /^\/actions\/workflows\/([^/]+)(\/runs|\/enable|\/disable|\/dispatches)?$/.exec(path))) {
      const w = findWorkflow(decodeURIComponent(m[1]!));
      if (w === undefined) return notFound;
      const action = `${method} ${m[2] ?? ''}`;
      if (action === 'GET ') return { status: 200, body: workflowJson(w) };
      if (action === 'GET /runs') return page(reqUrl, 'workflow_runs', sortedRuns().filter((r) => r.workflowId === w.id).map(runJson), 100, 30);
      if (action === 'PUT /enable' || action === 'PUT /disable') {
        w.state = action === 'PUT /enable' ? 'active' : 'disabled_manually';
        return { status: 204 };
      }
      if (action === 'POST /dispatches') {
        if (typeof input.ref !== 'string') return { status: 422, body: { message: 'Invalid request.\n\n"ref" wasn\'t supplied.', documentation_url: DOCS } };
        if (w.state !== 'active') return { status: 422, body: { message: "Cannot trigger a 'workflow_dispatch' on a disabled workflow", documentation_url: DOCS } };
        fake.addRun(fileOf(w.path), { event: 'workflow_dispatch', status: 'queued', conclusion: null, headBranch: input.ref });
        return { status: 204 };
      }
      return notFound;
    }
    if (path === '/actions/variables') {
      if (method === 'GET') {
        const list = [...variables].map(([name, value]) => ({ name, value, created_at: iso(times(name).createdAt), updated_at: iso(times(name).updatedAt) }));
        return page(reqUrl, 'variables', list, 30, 10);
      }
      if (method === 'POST') {
        const name = String(input.name ?? '').toUpperCase();
        if (name === '' || typeof input.value !== 'string') return { status: 422, body: { message: 'Invalid request.', documentation_url: DOCS } };
        if (variables.has(name)) return { status: 409, body: { message: 'Already exists - Variable already exists', documentation_url: DOCS } };
        variables.set(name, input.value);
        variableTimes.set(name, { createdAt: Date.now(), updatedAt: Date.now() });
        return { status: 201, body: {} };
      }
    }
    if ((m = /^\/actions\/variables\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!).toUpperCase();
      const value = variables.get(name);
      if (value === undefined) return notFound;
      if (method === 'GET') return { status: 200, body: { name, value, created_at: iso(times(name).createdAt), updated_at: iso(times(name).updatedAt) } };
      if (method === 'DELETE') {
        variables.delete(name);
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const renamed = typeof input.name === 'string' ? input.name.toUpperCase() : name;
        variables.delete(name);
        variables.set(renamed, typeof input.value === 'string' ? input.value : value);
        variableTimes.set(renamed, { createdAt: times(name).createdAt, updatedAt: Date.now() });
        return { status: 204 };
      }
    }
    return notFound;
  };

  const faultAnswer = async (): Promise<Answer | undefined> => {
    const entry = faults[0];
    if (entry === undefined) return undefined;
    if (--entry.count <= 0) faults.shift();
    const { fault } = entry;
    if (fault.delayMs !== undefined) await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); pendingDelays.delete(done); resolve(); };
      const timer = setTimeout(done, fault.delayMs);
      pendingDelays.add(done);
    });
    if (fault.status === undefined) return undefined;
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
    if (fault.rateLimitRemainingZero) headers['x-ratelimit-remaining'] = '0';
    return { status: fault.status, body: { message: fault.message ?? http.STATUS_CODES[fault.status] ?? 'Error', documentation_url: DOCS }, headers };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const reqUrl = new URL(req.url ?? '/', url);
    let body: unknown;
    let answer: Answer | undefined;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      answer = { status: 400, body: { message: 'Problems parsing JSON', documentation_url: DOCS } };
    }
    const record: RecordedRequest = { method, path: reqUrl.pathname + reqUrl.search, body, headers: req.headers, status: 0 };
    fake.requests.push(record);
    if (method !== 'GET') fake.writes.push(record);
    answer ??= await faultAnswer();
    const auth = req.headers.authorization ?? '';
    if (answer === undefined && auth !== `token ${token}` && auth !== `Bearer ${token}`) {
      answer = { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } };
    }
    answer ??= route(method, reqUrl, body);
    if (res.destroyed || req.socket.destroyed) return;
    const json = answer.body === undefined ? '' : JSON.stringify(answer.body);
    const headers: Record<string, string> = { 'x-github-request-id': `FAKE:${fake.requests.length}` };
    if (answer.status === 200 && method === 'GET') {
      headers.etag = `W/"${createHash('sha1').update(json).digest('hex')}"`;
      if (req.headers['if-none-match'] === headers.etag) answer = { status: 304 };
    }
    // GitHub counts every answer but a 304 to a conditional request against the primary limit.
    if (answer.status !== 304) fake.rateRemaining = Math.max(0, fake.rateRemaining - 1);
    Object.assign(headers, {
      'x-ratelimit-limit': String(RATE_LIMIT), 'x-ratelimit-remaining': String(fake.rateRemaining),
      'x-ratelimit-used': String(RATE_LIMIT - fake.rateRemaining), 'x-ratelimit-reset': String(resetAt), 'x-ratelimit-resource': 'core',
    }, answer.headers);
    if (answer.status !== 204 && answer.status !== 304 && answer.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    record.status = answer.status;
    res.writeHead(answer.status, headers);
    res.end(answer.status === 204 || answer.status === 304 ? undefined : json);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `fake-github: ${String(error)}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeGitHub = {
    url, owner, repo, token,
    requests: [], writes: [],
    variables,
    defaultBranch: 'main',
    rateRemaining: RATE_LIMIT,
    setWorkflows(list) {
      workflows.splice(0, workflows.length, ...list.map((w) => ({
        id: w.id ?? nextWorkflowId++, path: w.path, state: w.state ?? 'active', name: w.name ?? fileOf(w.path).replace(/\.ya?ml$/, ''),
      })));
      return workflows;
    },
    workflow: findWorkflow,
    addRun(file, run = {}) {
      const w = findWorkflow(file);
      if (w === undefined) throw new Error(`fake-github: no workflow ${file}`);
      // Default times strictly increase, so the newest added is the newest listed.
      const createdAt = run.createdAt ?? (lastCreated = Math.max(Date.now(), lastCreated + 1));
      const added: FakeRun = {
        id: nextRunId++, workflowId: w.id, runNumber: runs.filter((r) => r.workflowId === w.id).length + 1,
        event: 'schedule', status: 'completed', conclusion: 'success', headBranch: fake.defaultBranch, ...run, createdAt, updatedAt: run.updatedAt ?? createdAt,
      };
      runs.push(added);
      return added;
    },
    updateRun(id, patch) {
      const run = runs.find((r) => r.id === id);
      if (run === undefined) throw new Error(`fake-github: no run ${id}`);
      return Object.assign(run, { updatedAt: Date.now() }, patch);
    },
    runs: sortedRuns,
    clearRuns: () => { runs = []; },
    failNext: (count, fault) => { if (count > 0) faults.push({ count, fault }); },
    rateLimitNext: (count, o = {}) => fake.failNext(count, { status: o.status ?? 429, retryAfter: o.retryAfter ?? 1, message: SECONDARY_MESSAGE }),
    primaryLimitNext: (count) => fake.failNext(count, { status: 403, rateLimitRemainingZero: true, message: 'API rate limit exceeded for user ID 1.' }),
    serverErrorNext: (count, status = 502) => fake.failNext(count, { status, message: 'Server Error' }),
    delayNext: (count, ms) => fake.failNext(count, { delayMs: ms }),
    clearFaults: () => { faults.length = 0; },
    clearLog: () => { fake.requests.length = 0; fake.writes.length = 0; },
    close: () => new Promise<void>((resolve) => {
      for (const done of [...pendingDelays]) done();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return fake;
}
