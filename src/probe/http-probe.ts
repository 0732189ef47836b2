import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Probe } from '../core/ports.js';
import type { Sample } from '../core/types.js';

export interface HttpProbeOptions {
  url: string;
  /** `below-500`: any answer but a server error (a function that ran). @default 200 */
  expectStatus?: number | 'below-500';
  /** Deadline of the whole exchange, connect included. @default 2000 */
  timeoutMs?: number;
}

/** GET a URL: ok iff the status is the expected one. A fresh socket per check (`agent: false`), so no pool leaks between rounds. */
export class HttpProbe implements Probe {
  private readonly expectStatus: number | 'below-500';
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpProbeOptions) {
    this.expectStatus = options.expectStatus ?? 200;
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  check(): Promise<Omit<Sample, 'at'>> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(this.options.url);
      } catch {
        resolve({ ok: false, reason: `invalid URL ${this.options.url}` });
        return;
      }
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      let timedOut = false;
      const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' } }, (res: IncomingMessage) => {
        res.resume(); // the body is not needed; draining frees the socket
        res.on('error', () => undefined); // a body cut short does not change the status seen
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        const expected = this.expectStatus;
        const ok = expected === 'below-500' ? status > 0 && status < 500 : status === expected;
        resolve({ ok, reason: ok ? `HTTP ${status}` : `HTTP ${status} (expected ${expected === 'below-500' ? 'a status below 500' : expected})` });
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('probe deadline')); // with an error, so 'error' is emitted and resolves below
      }, this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ ok: false, reason: timedOut ? `timeout after ${this.timeoutMs}ms` : describeError(error) });
      });
      req.end();
    });
  }
}

function describeError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${error.code})`;
    default:
      return `request failed: ${error.message}`;
  }
}
