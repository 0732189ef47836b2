import { request } from 'node:http';
import { RedundancyError } from '../core/errors.js';

export interface ControlResponse {
  status: number;
  body: unknown;
}

/** Asks the running manager; undefined when no manager listens on the socket. */
export function askManager(socketPath: string, method: 'GET' | 'POST', path: string, timeoutMs = 30_000): Promise<ControlResponse | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch {
          reject(new RedundancyError('MANAGER_UNREACHABLE', `manager answered ${path} with something that is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new RedundancyError('MANAGER_UNREACHABLE', `manager did not answer ${path} within ${timeoutMs}ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(error);
    });
    req.end();
  });
}
