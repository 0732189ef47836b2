import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthReport } from '../core/report-types.js';
import { RedundancyError, errorMessage } from '../core/errors.js';
import { formatAddress } from './listen-check.js';
import type { ManagerMetrics } from './metrics.js';
import { dashboardPage } from './dashboard-page.js';
import type { ReportStream } from './report-stream.js';

export { checkListenConfig, isLoopback } from './listen-check.js';

/** What the listener logs through; a pino logger fits. */
export interface HttpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface HttpListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * When set, every request needs `Authorization: Bearer <token>` or the dashboard's cookie, which
   * `GET /?token=<token>` sets once (a browser's EventSource cannot send headers). The caller
   * requires a token off loopback.
   */
  token?: string;
  report: () => HealthReport;
  metrics: ManagerMetrics;
  /** `GET /events`; without it the route is 404. */
  stream?: ReportStream;
  logger: HttpLogger;
}

export interface HttpListener {
  /** `host:port` actually bound. */
  address: string;
  close(): Promise<void>;
}

/**
 * The read-only HTTP listener: `GET /` (the dashboard), `GET /events` (its live reports),
 * `GET /health` (200, or 503 when a unit is critical) and `GET /metrics`.
 * Nothing that changes state is reachable: other methods get 405. Rejects when the port is in use;
 * the caller logs that and goes on without the listener.
 */
export function startHttpListener(opts: HttpListenerOptions): Promise<HttpListener> {
  const tokenDigest = opts.token ? digest(opts.token) : undefined;
  const server = createServer((req, res) => {
    handle(req, res, opts, tokenDigest).catch((error: unknown) => {
      opts.logger.warn({ err: errorMessage(error), path: req.url }, 'http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Short keep-alive: scrapers reconnect cheaply, and idle sockets do not pile up.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const wanted = formatAddress(opts.host, opts.port);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(wanted, error)));
    server.listen({ host: opts.host, port: opts.port }, () => {
      const bound = server.address() as AddressInfo;
      const address = formatAddress(bound.address, bound.port);
      server.on('error', (error) => opts.logger.warn({ err: errorMessage(error), address }, 'http listener error'));
      opts.logger.info({ address }, 'http listener started');
      resolve({
        address,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // close() alone waits for keep-alive sockets; the manager is stopping, so drop them.
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpListenerOptions, tokenDigest: Buffer | undefined): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const given = url.searchParams.get('token');
  if (tokenDigest && path === '/' && given !== null && req.method === 'GET') {
    if (!timingSafeEqual(digest(given), tokenDigest)) return send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: wrong token\n');
    // Once: the cookie carries it from now on, and the token leaves the address bar and the history.
    res.setHeader('Set-Cookie', `${cookieName}=${cookieValue(opts.token!)}; HttpOnly; SameSite=Strict; Path=/`);
    res.setHeader('Location', '/');
    return send(res, 303, 'text/plain; charset=utf-8', 'see /\n');
  }
  if (tokenDigest && !authorized(req, tokenDigest, opts.token!)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="redundancy"');
    return send(res, 401, 'text/plain; charset=utf-8', path === '/' ? 'unauthorized: open /?token=<http.token> once in this browser, or send Authorization: Bearer <token>\n' : 'unauthorized\n');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: this listener is read-only\n');
  }
  if (path === '/') return send(res, 200, 'text/html; charset=utf-8', dashboardPage, { 'Content-Security-Policy': pageCsp, 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' });
  if (path === '/events' && opts.stream) {
    if (req.method === 'HEAD') return send(res, 200, 'text/event-stream; charset=utf-8', '');
    const last = req.headers['last-event-id'];
    return opts.stream.attach(res, typeof last === 'string' ? last : undefined);
  }
  if (path === '/health') {
    const report = opts.report();
    return send(res, report.summary.critical === 0 ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(report)}\n`);
  }
  if (path === '/metrics') return send(res, 200, opts.metrics.contentType, await opts.metrics.metrics());
  return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
}

/** The page loads nothing from elsewhere and talks only to this listener. */
const pageCsp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const cookieName = 'redundancy_token';

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Digests have equal lengths, so timingSafeEqual compares them without leaking the token's length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The cookie holds a value derived from the token, not the token: a copied cookie does not give the bearer token away. */
function cookieValue(token: string): string {
  return createHash('sha256').update(`redundancy-dashboard\0${token}`).digest('hex');
}

function authorized(req: IncomingMessage, tokenDigest: Buffer, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (match?.[1] !== undefined && timingSafeEqual(digest(match[1]), tokenDigest)) return true;
  const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${cookieName}=`));
  return cookie !== undefined && timingSafeEqual(digest(cookie.slice(cookieName.length + 1)), digest(cookieValue(token)));
}

function listenError(address: string, error: NodeJS.ErrnoException): RedundancyError {
  const message =
    error.code === 'EADDRINUSE'
      ? `http.listen ${address}: the address is in use (EADDRINUSE); another process holds the port`
      : `http.listen ${address}: cannot listen (${error.code ?? error.message})`;
  return new RedundancyError('IO', message, { cause: error });
}
