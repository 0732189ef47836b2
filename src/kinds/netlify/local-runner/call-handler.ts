import { randomUUID } from 'node:crypto';
import type { Answer, AnswerHeaders, Invocation } from './ipc.js';

type Handler = (...args: unknown[]) => unknown;

/** The function's module as the bundle imports it: v2 `default`, v1 `handler` (ESM or CommonJS). */
export type FunctionModule = Record<string, unknown>;

/**
 * Calls the function's handler once, as Netlify does: v1 `handler(event, context)` when the
 * module exports one, else v2 `default(Request, context)`. Never rejects: a throw, a wrong
 * return value or a missing handler is `{ ok: false, reason }`.
 */
export async function callHandler(mod: FunctionModule, inv: Invocation, env: NodeJS.ProcessEnv = process.env): Promise<Answer> {
  try {
    const v1 = pickFunction(mod['handler']) ?? pickFunction(asRecord(mod['default'])?.['handler']);
    if (v1 !== undefined) return await callV1(v1, inv);
    const v2 = pickFunction(mod['default']);
    if (v2 !== undefined) return await callV2(v2, inv, env);
    return { ok: false, reason: 'the module exports neither a default function (v2) nor a handler (v1)' };
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  }
}

async function callV2(handler: Handler, inv: Invocation, env: NodeJS.ProcessEnv): Promise<Answer> {
  const { method, url, headers, body } = inv.request;
  const request = new Request(url, {
    method,
    headers,
    ...(body !== null && method !== 'GET' && method !== 'HEAD' && { body: Buffer.from(body, 'base64') }),
  });
  const setCookies: string[] = [];
  const result = await handler(request, v2Context(inv, env, setCookies));
  // Netlify ignores what a scheduled or background function returns.
  if (!isResponse(result)) {
    if (inv.kind !== 'request') return { ok: true, status: inv.kind === 'background' ? 202 : 200, headers: withCookies({}, setCookies), body: '' };
    return { ok: false, reason: `handler returned ${describe(result)}, not a Response` };
  }
  const answerHeaders: AnswerHeaders = {};
  result.headers.forEach((value, name) => {
    if (name !== 'set-cookie') answerHeaders[name] = value;
  });
  const own = typeof result.headers.getSetCookie === 'function' ? result.headers.getSetCookie() : [result.headers.get('set-cookie')].filter((v): v is string => v !== null);
  const cookies = [...own, ...setCookies];
  const bytes = Buffer.from(await result.arrayBuffer());
  return { ok: true, status: result.status, headers: withCookies(answerHeaders, cookies), body: bytes.toString('base64') };
}

async function callV1(handler: Handler, inv: Invocation): Promise<Answer> {
  const startedAt = Date.now();
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: inv.functionName ?? '',
    functionVersion: '$LATEST',
    awsRequestId: randomUUID(),
    memoryLimitInMB: '1024',
    clientContext: {},
    getRemainingTimeInMillis: () => Math.max(0, startedAt + (inv.timeoutMs ?? 0) - Date.now()),
  };
  // Old handlers answer through a callback instead of returning.
  const result = await new Promise<unknown>((resolve, reject) => {
    const callback = (error: unknown, value: unknown): void => (error ? reject(error) : resolve(value));
    const returned = handler(v1Event(inv), context, callback);
    if (isThenable(returned)) returned.then(resolve, reject);
    else if (handler.length < 3 || returned !== undefined) resolve(returned);
  });
  if (inv.kind === 'background') return { ok: true, status: 202, headers: {}, body: '' };
  const response = asRecord(result);
  const statusCode = response?.['statusCode'];
  if (response === undefined || typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return { ok: false, reason: response === undefined ? `handler returned ${describe(result)}, not { statusCode, body }` : statusCode === undefined ? 'handler returned no statusCode' : `handler returned statusCode ${JSON.stringify(statusCode)}, not an HTTP status` };
  }
  const body = response['body'] ?? '';
  if (typeof body !== 'string') return { ok: false, reason: `handler returned a body of type ${describe(body)}, not a string` };
  const headers: AnswerHeaders = {};
  for (const [name, value] of Object.entries(asRecord(response['multiValueHeaders']) ?? {})) {
    if (Array.isArray(value)) headers[name.toLowerCase()] = value.map(String);
  }
  for (const [name, value] of Object.entries(asRecord(response['headers']) ?? {})) headers[name.toLowerCase()] = String(value);
  const bytes = Buffer.from(body, response['isBase64Encoded'] === true ? 'base64' : 'utf8');
  return { ok: true, status: statusCode, headers, body: bytes.toString('base64') };
}

/** The Lambda-style event of a v1 handler, as `netlify dev` builds it. */
function v1Event(inv: Invocation): Record<string, unknown> {
  const { method, url, headers, body } = inv.request;
  const parsed = new URL(url);
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of parsed.searchParams) (multiQuery[key] ??= []).push(value);
  const raw = body === null ? Buffer.alloc(0) : Buffer.from(body, 'base64');
  const binary = raw.length > 0 && !isTextual(headers['content-type']);
  return {
    path: parsed.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.split(', ')])),
    queryStringParameters: Object.fromEntries(Object.entries(multiQuery).map(([key, values]) => [key, values.join(', ')])),
    multiValueQueryStringParameters: multiQuery,
    body: binary ? raw.toString('base64') : raw.toString('utf8'),
    isBase64Encoded: binary,
    rawUrl: url,
    rawQuery: parsed.search.slice(1),
  };
}

/** The v2 context, kept small: what functions commonly read, nothing that throws. */
function v2Context(inv: Invocation, env: NodeJS.ProcessEnv, setCookies: string[]): Record<string, unknown> {
  const cookieHeader = inv.request.headers['cookie'] ?? '';
  return {
    requestId: randomUUID(),
    account: { id: '' },
    site: { id: env['SITE_ID'] ?? '', name: env['SITE_NAME'] ?? '', url: env['URL'] ?? new URL(inv.request.url).origin },
    deploy: { id: env['DEPLOY_ID'] ?? '', context: 'production', published: true },
    server: { region: 'local' },
    params: { ...inv.params },
    geo: {},
    ip: '127.0.0.1',
    url: new URL(inv.request.url),
    json: (value: unknown) => Response.json(value),
    // The answer is not held back for these; a rejection is written to stderr, never fatal.
    waitUntil: (promise: unknown) => {
      Promise.resolve(promise).catch((error: unknown) => process.stderr.write(`waitUntil promise rejected: ${messageOf(error)}\n`));
    },
    cookies: {
      get: (name: string) => parseCookies(cookieHeader)[name],
      set: (input: string | { name: string; value: string; path?: string; maxAge?: number; httpOnly?: boolean; secure?: boolean; sameSite?: string }, value?: string) => {
        const c = typeof input === 'string' ? { name: input, value: value ?? '' } : input;
        const attrs = [`${c.name}=${encodeURIComponent(c.value)}`, `Path=${'path' in c && c.path ? c.path : '/'}`];
        if ('maxAge' in c && c.maxAge !== undefined) attrs.push(`Max-Age=${c.maxAge}`);
        if ('httpOnly' in c && c.httpOnly) attrs.push('HttpOnly');
        if ('secure' in c && c.secure) attrs.push('Secure');
        if ('sameSite' in c && c.sameSite) attrs.push(`SameSite=${c.sameSite}`);
        setCookies.push(attrs.join('; '));
      },
      delete: (input: string | { name: string; path?: string }) => {
        const c = typeof input === 'string' ? { name: input } : input;
        setCookies.push(`${c.name}=; Path=${'path' in c && c.path ? c.path : '/'}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
      },
    },
  };
}

function parseCookies(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const raw = part.slice(at + 1).trim();
    try {
      out[part.slice(0, at).trim()] = decodeURIComponent(raw);
    } catch {
      out[part.slice(0, at).trim()] = raw;
    }
  }
  return out;
}

function withCookies(headers: AnswerHeaders, cookies: string[]): AnswerHeaders {
  return cookies.length > 0 ? { ...headers, 'set-cookie': cookies } : headers;
}

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^text\/|json|xml|javascript|x-www-form-urlencoded|graphql/i.test(contentType);
}

function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const r = asRecord(value);
  // A Response from another fetch implementation (node-fetch, undici's own) answers the same calls.
  return r !== undefined && typeof r['status'] === 'number' && typeof r['arrayBuffer'] === 'function' && typeof asRecord(r['headers'])?.['forEach'] === 'function';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof asRecord(value)?.['then'] === 'function';
}

function pickFunction(value: unknown): Handler | undefined {
  return typeof value === 'function' ? (value as Handler) : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return (typeof value === 'object' || typeof value === 'function') && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** `undefined`, `null`, `string`, `array`, `object`, or a class name (`Map`). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value !== 'object') return typeof value;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? name : 'object';
}

export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : typeof error === 'string' ? error : describe(error);
  return text.replace(/\s+/g, ' ').trim() || 'unknown error';
}
