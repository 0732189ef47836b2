import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { defer } from './cleanup.js';

/**
 * A 127.0.0.1 stand-in for the GitHub REST endpoints the github kind uses, in plain JS for the
 * benchmark (test/helpers/fake-github.ts is TypeScript): the same shapes as that helper (runs and
 * workflows pages with GitHub's absolute `Link` header, ETag and 304 on every GET answered 200,
 * `x-ratelimit-*` with 304 not counted, variables, enable/disable/dispatch, the repository), and a
 * count of every request by endpoint template and status. Closed at cleanup.
 */

const RATE_LIMIT = 5000;
const DOCS = 'https://docs.github.com/rest';
const fileOf = (path) => path.slice(path.lastIndexOf('/') + 1);
const iso = (ms) => new Date(ms).toISOString();

export async function startFakeGitHub({ owner = 'acme', repo = 'app', token = 'ghp_bench_fake_token' } = {}) {
  const workflows = [];
  const byFile = new Map();
  const byId = new Map();
  /** Newest first once `sortedRuns()` has run (sorted only when a run was added since). */
  const runs = [];
  let unsorted = false;
  const sortedRuns = () => {
    if (unsorted) runs.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
    unsorted = false;
    return runs;
  };
  const variables = new Map();
  const resetAt = Math.floor(Date.now() / 1000) + 3600;
  let nextWorkflowId = 100;
  let nextRunId = 1000;
  let lastCreated = 0;
  let url = '';
  /** `METHOD /template status` → count. */
  const counts = new Map();
  let rateRemaining = RATE_LIMIT;
  /** Arrival time (epoch ms) of every request but a GET. */
  const writeTimes = [];

  const notFound = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
  const findWorkflow = (idOrFile) => byFile.get(String(idOrFile)) ?? byId.get(String(idOrFile));
  const runJson = (r) => {
    const w = byId.get(String(r.workflowId));
    const api = `${url}/repos/${owner}/${repo}`;
    return {
      id: r.id, node_id: `WFR_${r.id}`, name: w?.name ?? null, display_title: w?.name ?? '', head_branch: r.headBranch, head_sha: 'a'.repeat(40),
      path: w?.path ?? '', run_number: r.runNumber, run_attempt: 1, event: r.event, status: r.status, conclusion: r.conclusion, workflow_id: r.workflowId,
      url: `${api}/actions/runs/${r.id}`, html_url: `https://github.com/${owner}/${repo}/actions/runs/${r.id}`, workflow_url: `${api}/actions/workflows/${r.workflowId}`,
      created_at: iso(r.createdAt), updated_at: iso(r.updatedAt), run_started_at: iso(r.createdAt), pull_requests: [],
    };
  };
  const workflowJson = (w) => ({
    id: w.id, node_id: `W_${w.id}`, name: w.name, path: w.path, state: w.state, created_at: iso(0), updated_at: iso(0),
    url: `${url}/repos/${owner}/${repo}/actions/workflows/${w.id}`, html_url: `https://github.com/${owner}/${repo}/blob/main/${w.path}`,
    badge_url: `https://github.com/${owner}/${repo}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
  });

  /** One page of `items` (mapped by `toJson` only for the page) under `key`, with GitHub's `Link` header. */
  const page = (reqUrl, key, items, toJson, maxPer, defaultPer) => {
    const per = Math.min(maxPer, Math.max(1, Number(reqUrl.searchParams.get('per_page')) || defaultPer));
    const last = Math.max(1, Math.ceil(items.length / per));
    const n = Math.max(1, Number(reqUrl.searchParams.get('page')) || 1);
    const link = (p, rel) => {
      const u = new URL(reqUrl.pathname + reqUrl.search, url);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [...(n < last ? [link(n + 1, 'next'), link(last, 'last')] : []), ...(n > 1 ? [link(1, 'first'), link(n - 1, 'prev')] : [])];
    return { status: 200, body: { total_count: items.length, [key]: items.slice((n - 1) * per, n * per).map(toJson) }, headers: links.length > 0 ? { link: links.join(', ') } : {} };
  };

  /** Answer and endpoint template of one request. */
  const route = (method, reqUrl, input) => {
    const prefix = `/repos/${owner}/${repo}`;
    if (!reqUrl.pathname.startsWith(prefix)) return { endpoint: reqUrl.pathname, answer: notFound };
    const path = reqUrl.pathname.slice(prefix.length);
    let m;
    if (path === '' && method === 'GET') {
      return { endpoint: '/repos/{o}/{r}', answer: { status: 200, body: { id: 1, name: repo, full_name: `${owner}/${repo}`, private: false, default_branch: 'main' } } };
    }
    if (path === '/actions/runs' && method === 'GET') return { endpoint: '/actions/runs', answer: page(reqUrl, 'workflow_runs', sortedRuns(), runJson, 100, 30) };
    if (path === '/actions/workflows' && method === 'GET') return { endpoint: '/actions/workflows', answer: page(reqUrl, 'workflows', workflows, workflowJson, 100, 30) };
    if ((m = /^\/actions\/workflows\/([^/]+)(\/runs|\/enable|\/disable|\/dispatches)?$/.exec(path))) {
      const endpoint = `/actions/workflows/{id}${m[2] ?? ''}`;
      const w = findWorkflow(decodeURIComponent(m[1]));
      if (w === undefined) return { endpoint, answer: notFound };
      const action = `${method} ${m[2] ?? ''}`;
      if (action === 'GET ') return { endpoint, answer: { status: 200, body: workflowJson(w) } };
      if (action === 'GET /runs') return { endpoint, answer: page(reqUrl, 'workflow_runs', sortedRuns().filter((r) => r.workflowId === w.id), runJson, 100, 30) };
      if (action === 'PUT /enable' || action === 'PUT /disable') {
        w.state = action === 'PUT /enable' ? 'active' : 'disabled_manually';
        return { endpoint, answer: { status: 204 } };
      }
      if (action === 'POST /dispatches') {
        if (typeof input.ref !== 'string') return { endpoint, answer: { status: 422, body: { message: 'Invalid request.', documentation_url: DOCS } } };
        fake.addRun(fileOf(w.path), { event: 'workflow_dispatch', status: 'queued', conclusion: null });
        return { endpoint, answer: { status: 204 } };
      }
      return { endpoint, answer: notFound };
    }
    if (path === '/actions/variables') {
      const endpoint = '/actions/variables';
      if (method === 'GET') {
        const list = [...variables].map(([name, v]) => ({ name, value: v.value, created_at: iso(v.createdAt), updated_at: iso(v.updatedAt) }));
        return { endpoint, answer: page(reqUrl, 'variables', list, (x) => x, 30, 10) };
      }
      if (method === 'POST') {
        const name = String(input.name ?? '').toUpperCase();
        if (name === '' || typeof input.value !== 'string') return { endpoint, answer: { status: 422, body: { message: 'Invalid request.', documentation_url: DOCS } } };
        if (variables.has(name)) return { endpoint, answer: { status: 409, body: { message: 'Already exists - Variable already exists', documentation_url: DOCS } } };
        variables.set(name, { value: input.value, createdAt: Date.now(), updatedAt: Date.now() });
        return { endpoint, answer: { status: 201, body: {} } };
      }
    }
    if ((m = /^\/actions\/variables\/([^/]+)$/.exec(path))) {
      const endpoint = '/actions/variables/{name}';
      const name = decodeURIComponent(m[1]).toUpperCase();
      const v = variables.get(name);
      if (v === undefined) return { endpoint, answer: notFound };
      if (method === 'GET') return { endpoint, answer: { status: 200, body: { name, value: v.value, created_at: iso(v.createdAt), updated_at: iso(v.updatedAt) } } };
      if (method === 'DELETE') {
        variables.delete(name);
        return { endpoint, answer: { status: 204 } };
      }
      if (method === 'PATCH') {
        variables.set(name, { ...v, value: typeof input.value === 'string' ? input.value : v.value, updatedAt: Date.now() });
        return { endpoint, answer: { status: 204 } };
      }
    }
    return { endpoint: path, answer: notFound };
  };

  const handle = async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const reqUrl = new URL(req.url ?? '/', url);
    let input = {};
    try {
      input = text === '' ? {} : JSON.parse(text);
    } catch {
      input = {};
    }
    const auth = req.headers.authorization ?? '';
    let { endpoint, answer } = route(method, reqUrl, input);
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) answer = { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } };
    const json = answer.body === undefined ? '' : JSON.stringify(answer.body);
    const headers = { 'x-github-request-id': `FAKE:${Date.now()}` };
    if (answer.status === 200 && method === 'GET') {
      headers.etag = `W/"${createHash('sha1').update(json).digest('hex')}"`;
      if (req.headers['if-none-match'] === headers.etag) answer = { status: 304 };
    }
    // GitHub counts every answer but a 304 to a conditional request against the primary limit.
    if (answer.status !== 304) rateRemaining = Math.max(0, rateRemaining - 1);
    Object.assign(headers, {
      'x-ratelimit-limit': String(RATE_LIMIT), 'x-ratelimit-remaining': String(rateRemaining),
      'x-ratelimit-used': String(RATE_LIMIT - rateRemaining), 'x-ratelimit-reset': String(resetAt), 'x-ratelimit-resource': 'core',
    }, answer.headers);
    if (answer.status !== 204 && answer.status !== 304 && answer.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const key = `${method} ${endpoint} ${answer.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (method !== 'GET') writeTimes.push(Date.now());
    res.writeHead(answer.status, headers);
    res.end(answer.status === 204 || answer.status === 304 ? undefined : json);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `fake-github: ${String(error)}` }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  const close = defer(`fake GitHub ${url}`, () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));

  const fake = {
    url, owner, repo, token, variables,
    setWorkflows(list) {
      workflows.splice(0, workflows.length);
      byFile.clear();
      byId.clear();
      for (const w of list) {
        const made = { id: nextWorkflowId++, path: w.path, state: w.state ?? 'active', name: w.name ?? fileOf(w.path).replace(/\.ya?ml$/, '') };
        workflows.push(made);
        byFile.set(fileOf(made.path), made);
        byId.set(String(made.id), made);
      }
    },
    /** A run of the workflow with that file name; the newest unless `createdAt` says otherwise. */
    addRun(file, run = {}) {
      const w = findWorkflow(file);
      if (w === undefined) throw new Error(`fake-github: no workflow ${file}`);
      w.runs = (w.runs ?? 0) + 1;
      const createdAt = run.createdAt ?? (lastCreated = Math.max(Date.now(), lastCreated + 1));
      const added = { id: nextRunId++, workflowId: w.id, runNumber: w.runs, event: 'schedule', status: 'completed', conclusion: 'success', headBranch: 'main', ...run, createdAt, updatedAt: run.updatedAt ?? createdAt };
      runs.push(added);
      unsorted = true;
      return added;
    },
    /** Requests so far by `METHOD /endpoint status`, as a plain object (a copy). */
    counts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    rateRemaining: () => rateRemaining,
    /** Arrival times (epoch ms) of the requests other than GET, oldest first (a copy). */
    writeTimes: () => [...writeTimes],
    close,
  };
  return fake;
}

/** Counts between two `fake.counts()` readings (the keys of the later one). */
export function countsBetween(before, after) {
  const out = {};
  for (const [key, n] of Object.entries(after)) if (n - (before[key] ?? 0) > 0) out[key] = n - (before[key] ?? 0);
  return out;
}

/** Requests that cost rate limit (every status but 304) and 304s, from counts by `METHOD /endpoint status`. */
export function splitCounted(counts) {
  let counted = 0;
  let notModified = 0;
  for (const [key, n] of Object.entries(counts)) {
    if (key.endsWith(' 304')) notModified += n;
    else counted += n;
  }
  return { counted, notModified };
}
