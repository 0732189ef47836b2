import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InvocationRequest, InvocationResult } from './ipc.js';

/** Netlify's buffered payload limit. */
export const maxBodyBytes = 6 * 1024 * 1024;

/** Not forwarded either way: they describe one connection, and node sets its own. */
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection']);

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/** The request as the worker wants it; rejects with `BodyTooLarge` past `maxBodyBytes`. */
export async function readRequest(req: http.IncomingMessage, origin: string): Promise<InvocationRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit, so the 413 reaches the client.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBodyBytes) chunks.push(chunk);
  }
  if (size > maxBodyBytes) throw new BodyTooLarge(`body over ${maxBodyBytes} bytes`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || hopByHop.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const host = req.headers.host ?? new URL(origin).host;
  return {
    method: req.method ?? 'GET',
    url: new URL(req.url ?? '/', `http://${host}`).href,
    headers,
    body: size > 0 ? Buffer.concat(chunks).toString('base64') : null,
  };
}

/** The function's answer; a failure is 504 (timed out) or 500, with the reason as text. */
export function writeResult(res: http.ServerResponse, name: string, result: InvocationResult): void {
  if (!result.ok) {
    writeText(res, result.timedOut ? 504 : 500, `function ${name} failed: ${result.reason}\n`);
    return;
  }
  for (const [header, value] of Object.entries(result.headers)) {
    if (!hopByHop.has(header)) res.setHeader(header, value);
  }
  res.statusCode = result.status;
  res.end(result.body);
}

export function writeText(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** `127.0.0.1:8888`, `[::1]:8888`, `:8888` or `8888` (host 127.0.0.1). */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address) ?? /^()(\d+)$/.exec(address);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port > 65_535) return undefined;
  return { host: match[1] || '127.0.0.1', port };
}

/** Listens; rejects with one line naming the address (`... is already in use`). */
export function listenOn(server: http.Server, address: string): Promise<{ port: number }> {
  const parsed = parseAddress(address);
  if (parsed === undefined) return Promise.reject(new Error(`cannot listen on ${JSON.stringify(address)}: expected host:port, like 127.0.0.1:8888`));
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why = error.code === 'EADDRINUSE' ? 'the address is already in use'
        : error.code === 'EADDRNOTAVAIL' ? 'no such local address'
        : error.code === 'EACCES' ? 'permission denied'
        : error.message;
      reject(new Error(`cannot listen on ${address}: ${why}`, { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve({ port: (server.address() as AddressInfo).port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(parsed.port, parsed.host);
  });
}
