import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unlink } from 'node:fs/promises';
import { errorMessage, isRedundancyError } from '../core/errors.js';
import type { HealthReport } from '../core/report-types.js';
import type { DrillAnswer } from './drills.js';

export interface ControlHandlers {
  status(): Promise<HealthReport>;
  check(): Promise<HealthReport>;
  manual(unit: string, action: 'failover' | 'failback'): Promise<{ state: string; reason: string }>;
  hasUnit(unit: string): boolean;
  /** Re-read the config and sources; swap only if they load. */
  reload(): Promise<{ ok: boolean }>;
  /** The pause file changed: read it again. */
  pauses(): Promise<HealthReport>;
  /** Multi-host: a manual switch through the lease; undefined without `host` in the config. */
  host?(action: 'promote' | 'demote'): Promise<{ message: string }>;
  /** A drill of one unit; answers when it is over (or refused). */
  drill(unit: string, dryRun: boolean): Promise<DrillAnswer>;
}

/** The CLI talks to a running manager over HTTP on a Unix socket: no port to clash, only local users. */
export async function startControlServer(socketPath: string, handlers: ControlHandlers): Promise<Server> {
  await unlink(socketPath).catch(() => undefined);
  const server = createServer((req, res) => {
    route(req, handlers).then(
      ([status, body]) => send(res, status, body),
      (error: unknown) => {
        const code = isRedundancyError(error) ? error.code : 'INTERNAL';
        send(res, isRedundancyError(error) && (error.code === 'ILLEGAL_TRANSITION' || error.code === 'USAGE') ? 409 : 500, { error: { code, message: errorMessage(error) } });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function route(req: IncomingMessage, h: ControlHandlers): Promise<[number, unknown]> {
  const url = new URL(req.url ?? '/', 'http://manager');
  const [, action, ...rest] = url.pathname.split('/');
  const unit = decodeURIComponent(rest.join('/'));
  if (req.method === 'GET' && action === 'status') return [200, await h.status()];
  if (req.method === 'POST' && action === 'check') return [200, await h.check()];
  if (req.method === 'POST' && action === 'pauses') return [200, await h.pauses()];
  if (req.method === 'POST' && action === 'reload') {
    const result = await h.reload();
    return [result.ok ? 200 : 422, result];
  }
  if (req.method === 'POST' && action === 'host' && (unit === 'promote' || unit === 'demote')) {
    if (!h.host) return [409, { error: { code: 'USAGE', message: 'this project has no `host` section: it runs on one host' } }];
    return [200, await h.host(unit)];
  }
  if (req.method === 'POST' && action === 'drill') {
    if (!h.hasUnit(unit)) return [404, { error: { code: 'UNKNOWN_UNIT', message: `unknown unit ${unit}` } }];
    return [200, await h.drill(unit, url.searchParams.get('dryRun') === '1')];
  }
  if (req.method === 'POST' && (action === 'failover' || action === 'failback')) {
    if (!h.hasUnit(unit)) return [404, { error: { code: 'UNKNOWN_UNIT', message: `unknown unit ${unit}` } }];
    return [200, await h.manual(unit, action)];
  }
  return [404, { error: { code: 'USAGE', message: `no route ${req.method} ${url.pathname}` } }];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
