import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProbe } from './http-probe.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') res.writeHead(200).end('ok');
    else if (req.url === '/fail') res.writeHead(500).end('no');
    // /hang: never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('HttpProbe', () => {
  it('is ok on the expected status', async () => {
    expect(await new HttpProbe({ url: `${base}/ok`, expectStatus: 200 }).check()).toEqual({ ok: true, reason: 'HTTP 200' });
  });

  it('fails on another status and names both', async () => {
    expect(await new HttpProbe({ url: `${base}/fail`, expectStatus: 200 }).check()).toEqual({
      ok: false,
      reason: 'HTTP 500 (expected 200)',
    });
  });

  it('can expect a status other than 200', async () => {
    expect(await new HttpProbe({ url: `${base}/fail`, expectStatus: 500 }).check()).toMatchObject({ ok: true });
  });

  it('fails after its timeout when the server does not answer', async () => {
    const started = Date.now();
    expect(await new HttpProbe({ url: `${base}/hang`, timeoutMs: 200 }).check()).toEqual({
      ok: false,
      reason: 'timeout after 200ms',
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await new HttpProbe({ url: `http://127.0.0.1:${port}/health` }).check()).toEqual({
      ok: false,
      reason: 'connection refused',
    });
  });

  it('reports a malformed URL without throwing', async () => {
    expect(await new HttpProbe({ url: 'not a url' }).check()).toEqual({ ok: false, reason: 'invalid URL not a url' });
  });
});
