import { request } from 'node:http';
import { createServer } from 'node:net';
import { now, sleep } from './time.js';

/** One GET on 127.0.0.1, fresh socket; resolves { status, body } or rejects (refused, reset, timeout). */
export function get(port, path = '/', timeoutMs = 1_000) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** GET / of a fixture service (test/fixtures/service.cjs): { role, pid }. */
export async function whoAnswers(port) {
  const res = await get(port, '/');
  return { status: res.status, ...JSON.parse(res.body) };
}

/**
 * Polls GET `path` every `intervalMs` (tight: the resolution of every latency figure) until a
 * 2xx answer that `accept` takes; returns the time of that answer (performance.now()).
 */
export async function waitForAnswer(port, { path = '/', intervalMs = 2, timeoutMs = 30_000, accept = () => true } = {}) {
  const deadline = now() + timeoutMs;
  let last = 'no attempt';
  while (now() < deadline) {
    try {
      const res = await get(port, path, 500);
      if (res.status >= 200 && res.status < 300 && accept(res)) return now();
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error.code ?? error.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`port ${port} gave no accepted answer within ${timeoutMs} ms (last: ${last})`);
}

/** A port the OS handed out and took back. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Polls every port of `ports` (all at once, then `intervalMs` apart) until each gives an answer
 * `accept(port, body)` takes; resolves the time (performance.now()) each port first did, by port.
 * One sweep for all ports instead of a poller each: during a storm the polling itself is load.
 */
export async function waitForAllAnswers(ports, { intervalMs = 10, timeoutMs = 120_000, accept }) {
  const deadline = now() + timeoutMs;
  const answeredAt = new Map();
  while (answeredAt.size < ports.length) {
    if (now() > deadline) throw new Error(`${ports.length - answeredAt.size} of ${ports.length} ports gave no accepted answer within ${timeoutMs} ms`);
    const pending = ports.filter((port) => !answeredAt.has(port));
    await Promise.all(
      pending.map(async (port) => {
        try {
          const res = await get(port, '/', 500);
          if (res.status >= 200 && res.status < 300 && accept(port, JSON.parse(res.body))) answeredAt.set(port, now());
        } catch {
          // not answering yet
        }
      }),
    );
    await sleep(intervalMs);
  }
  return answeredAt;
}
