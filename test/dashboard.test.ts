import { request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReport, UnitReport } from '../src/core/report-types.js';
import { startHttpListener, type HttpListener } from '../src/http/http-listener.js';
import { ManagerMetrics } from '../src/http/metrics.js';
import { ReportStream } from '../src/http/report-stream.js';
import { reportOf, unitLine } from './helpers/reports.js';
import { waitFor } from './helpers/wait-for.js';

/** The dashboard's routes over real HTTP on 127.0.0.1: the page, the SSE stream and the token cookie. */
const logger = { info() {}, warn() {} };
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const unit = unitLine;
function report(units: UnitReport[]): HealthReport {
  const base = reportOf(units);
  return { ...base, manager: { ...base.manager, pid: 42 } };
}

async function listen(opts: { token?: string; stream?: ReportStream } = {}): Promise<{ port: number; stream: ReportStream }> {
  const stream = opts.stream ?? new ReportStream({ startedAt: 1000, keepAliveMs: 60_000, retryMs: 1500 });
  const listener: HttpListener = await startHttpListener({ host: '127.0.0.1', port: 0, report: () => report([]), metrics: new ManagerMetrics(), stream, logger, ...(opts.token && { token: opts.token }) });
  open.push({ close: () => stream.close() }, listener);
  return { port: Number(listener.address.split(':').pop()), stream };
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject).end();
  });
}

interface SseEvent { event?: string; id?: string; data?: string; retry?: string; comment?: string }

/** An open `/events` stream, parsed into events as they arrive (blank line ends one). */
function sse(port: number, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; events: SseEvent[]; raw: () => string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/events', headers, agent: false }, (res) => {
      const events: SseEvent[] = [];
      let raw = '';
      let buffer = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            else {
              const at = line.indexOf(':');
              (event as Record<string, string>)[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, '');
            }
          }
          events.push(event);
        }
      });
      const conn = { res, events, raw: () => raw, close: () => req.destroy() };
      open.push(conn);
      resolve(conn);
    });
    req.on('error', (error) => (String(error).includes('socket hang up') ? undefined : reject(error))).end();
  });
}

const dataEvents = (events: SseEvent[]) => events.filter((e) => e.event !== undefined);

describe('GET / (the dashboard page)', () => {
  it('serves one self-contained HTML page that listens to /events, with a strict CSP and no caching', async () => {
    const { port } = await listen();
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.body).toMatch(/^<!doctype html>/);
    expect(page.body).toContain("new EventSource('events')");
    expect(page.body).toContain('id="filter"');
    // Nothing is loaded from elsewhere, and nothing on the page can change the manager.
    expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    expect(page.body).not.toMatch(/<form|<button|method:\s*'POST'/i);
    expect((await get(port, '/nope')).status).toBe(404);
  });
});

describe('GET /events (Server-Sent Events)', () => {
  it('sends a retry hint, the whole report on connect, then one delta per report with only the units that changed', async () => {
    const { port, stream } = await listen();
    const api = unit('pm2:api');
    const web = unit('pm2:web');
    const first = report([api, web]);
    stream.publish(first);
    const conn = await sse(port);
    expect(conn.res.statusCode).toBe(200);
    expect(conn.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(conn.res.headers['cache-control']).toBe('no-store');
    await waitFor(() => (dataEvents(conn.events).length >= 1 ? true : undefined), { timeoutMs: 5_000, what: 'the first event' });
    expect(conn.events[0]).toEqual({ retry: '1500' });
    const [snapshot] = dataEvents(conn.events);
    expect(snapshot).toMatchObject({ event: 'report', id: '1000-1' });
    expect(JSON.parse(snapshot!.data!)).toEqual(first);

    // The supervisor's next report keeps api's object and makes web's anew.
    const failed = unit('pm2:web', { state: 'backup', active: 'twin', failovers: 1 });
    stream.publish({ ...report([api, failed]), generatedAt: new Date(5000).toISOString() });
    await waitFor(() => (dataEvents(conn.events).length >= 2 ? true : undefined), { timeoutMs: 5_000, what: 'the delta' });
    const delta = dataEvents(conn.events)[1]!;
    expect(delta).toMatchObject({ event: 'delta', id: '1000-2' });
    const body = JSON.parse(delta.data!) as { report: Record<string, unknown>; changed: UnitReport[]; removed: string[] };
    expect(body.changed).toEqual([failed]);
    expect(body.removed).toEqual([]);
    expect(body.report).toMatchObject({ generatedAt: new Date(5000).toISOString(), manager: { pid: 42 } });
    expect(body.report).not.toHaveProperty('units');

    stream.publish(report([failed]));
    await waitFor(() => (dataEvents(conn.events).length >= 3 ? true : undefined), { timeoutMs: 5_000, what: 'a removal' });
    expect(JSON.parse(dataEvents(conn.events)[2]!.data!)).toMatchObject({ changed: [], removed: ['pm2:api'] });
    // Every data line is one line: the frames parse back exactly.
    expect(conn.raw()).toMatch(/^retry: 1500\n\nevent: report\nid: 1000-1\ndata: \{.*\}\n\nevent: delta\n/);
  });

  it('answers Last-Event-ID: nothing for the current id, the whole report for any other (an older one, another manager)', async () => {
    const { port, stream } = await listen();
    stream.publish(report([unit('pm2:api')]));
    stream.publish(report([unit('pm2:api', { errorRate: 0.5 })]));
    const current = await sse(port, { 'Last-Event-ID': '1000-2' });
    const older = await sse(port, { 'Last-Event-ID': '1000-1' });
    const otherManager = await sse(port, { 'Last-Event-ID': '999-2' });
    await waitFor(() => (dataEvents(older.events).length && dataEvents(otherManager.events).length ? true : undefined), { timeoutMs: 5_000, what: 'the snapshots' });
    expect(dataEvents(older.events)[0]).toMatchObject({ event: 'report', id: '1000-2' });
    expect(dataEvents(otherManager.events)[0]).toMatchObject({ event: 'report', id: '1000-2' });
    // The resumed stream goes on with the next report only.
    stream.publish(report([unit('pm2:api', { errorRate: 1 })]));
    await waitFor(() => (dataEvents(current.events).length ? true : undefined), { timeoutMs: 5_000, what: 'the next delta' });
    expect(dataEvents(current.events).map((e) => [e.event, e.id])).toEqual([['delta', '1000-3']]);
  });

  it('sends keep-alive comments on an idle stream, and ends every stream when closed (the browser reconnects)', async () => {
    const stream = new ReportStream({ startedAt: 7, keepAliveMs: 50 });
    const { port } = await listen({ stream });
    const conn = await sse(port);
    await waitFor(() => (conn.events.filter((e) => e.comment === 'keep-alive').length >= 2 ? true : undefined), { timeoutMs: 5_000, what: 'keep-alive comments' });
    expect(conn.events[0]).toEqual({ retry: '2000' });
    expect(stream.size).toBe(1);
    const ended = new Promise((resolve) => conn.res.on('end', resolve));
    stream.close();
    await ended;
    expect(stream.size).toBe(0);
  });
});

describe('the token: bearer header, or once ?token= which sets a cookie', () => {
  it('refuses the page and the stream without it; ?token= sets an HttpOnly SameSite=Strict cookie that opens both', async () => {
    const { port } = await listen({ token: 's3cret-token' });
    expect((await get(port, '/')).status).toBe(401);
    expect((await get(port, '/')).body).toContain('/?token=');
    expect((await get(port, '/events')).status).toBe(401);
    expect((await get(port, '/?token=wrong')).status).toBe(401);
    const once = await get(port, '/?token=s3cret-token');
    expect(once.status).toBe(303);
    expect(once.headers.location).toBe('/');
    const setCookie = once.headers['set-cookie']![0]!;
    expect(setCookie).toMatch(/^redundancy_token=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(setCookie).not.toContain('s3cret-token');
    const cookie = setCookie.split(';')[0]!;
    expect((await get(port, '/', { cookie })).status).toBe(200);
    expect((await get(port, '/metrics', { cookie: `other=1; ${cookie}` })).status).toBe(200);
    const conn = await sse(port, { cookie });
    expect(conn.res.statusCode).toBe(200);
    expect((await get(port, '/events', { cookie: 'redundancy_token=00' })).status).toBe(401);
    expect((await get(port, '/', { authorization: 'Bearer s3cret-token' })).status).toBe(200);
  });
});
