import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { errorMessage, RedundancyError } from '../../../core/errors.js';
import { newRunId, type Ledger, type LedgerEvent } from '../../../store/ledger.js';
import { netlifyTimeoutMs, type NetlifyFunctionInfo } from '../netlify-function.js';
import { bundleFunction } from './bundle.js';
import { FunctionProcess, type RunnerLogger } from './function-process.js';
import { BodyTooLarge, listenOn, readRequest, writeResult, writeText } from './http-front.js';
import type { InvocationKind, InvocationRequest, InvocationResult } from './ipc.js';
import { matchRoute, routesOf, type Route } from './routes.js';

export type { RunnerLogger };

export interface LocalRunnerOptions {
  ledger: Pick<Ledger, 'append'>;
  /** Where bundles are written and kept between runs (`.redundancy/netlify-bundles`). */
  bundleDir: string;
  /** Written on every ledger line. */
  host: string;
  /** Environment of every function, under each function's own `env`. */
  env?: Record<string, string>;
  logger?: RunnerLogger;
  /** Epoch ms, for the ledger. @default Date.now */
  now?: () => number;
}

/** A Netlify function to serve locally as the twin of the deployed one. */
export interface NetlifyTwin {
  unitId: string;
  info: NetlifyFunctionInfo;
  /** Replaces Netlify's limit for the function's type (`netlifyTimeoutMs`). */
  timeoutMs?: number;
  /** Over the runner's `env`. */
  env?: Record<string, string>;
  /** @default the entry's folder */
  cwd?: string;
}

/** One run: ok when the function answered with a status under 500. */
export interface RunResult {
  ok: boolean;
  status?: number;
  reason?: string;
  durationMs: number;
}

interface Served {
  twin: NetlifyTwin;
  bundle: string;
  bundleMtimeMs: number;
  process: FunctionProcess;
  routes: Route[];
}

const noLogger: RunnerLogger = { info: () => undefined, warn: () => undefined };

/**
 * Runs Netlify functions on this machine as their twins: each enabled function is bundled once
 * (esbuild, cached) and served by one warm worker process; scheduled functions are invoked by
 * `runScheduled`, sync and background ones over HTTP after `listen`. Every invocation is one run
 * in the ledger (`start`, `end`, `side: 'twin'`); a handler's error is a failed run, never a throw.
 */
export class LocalRunner {
  private readonly served = new Map<string, Served>();
  /** Enable/disable of one unit, one at a time. */
  private readonly queue = new Map<string, Promise<unknown>>();
  /** Runs under way (a background one outlives its request): `close` waits for their ledger lines. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly logger: RunnerLogger;
  private readonly now: () => number;
  private server: http.Server | undefined;
  private ledgerWarned = false;

  constructor(private readonly opts: LocalRunnerOptions) {
    this.logger = opts.logger ?? noLogger;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Bundles the function and serves it. Rejects with a one-line reason when it cannot run here
   * (another runtime, an entry that does not parse) or does not bundle (`file:line:col: ...`).
   * Enabling again picks up a changed source: a rebuilt bundle gets a new process.
   */
  enable(twin: NetlifyTwin): Promise<void> {
    return this.serialize(twin.unitId, async () => {
      const { info, unitId } = twin;
      if (info.runtime !== 'js') throw new RedundancyError('REFUSED', `${unitId}: a ${info.runtime} function cannot run locally`);
      if (info.whyNot !== undefined) throw new RedundancyError('REFUSED', `${unitId}: cannot run locally: ${info.whyNot}`);
      const bundle = await bundleFunction(info.entry, this.opts.bundleDir);
      const bundleMtimeMs = (await fsp.stat(bundle)).mtimeMs;
      const old = this.served.get(unitId);
      const same = old !== undefined && old.bundle === bundle && old.bundleMtimeMs === bundleMtimeMs && sameEnv(old.twin, twin);
      const proc = same ? old.process : new FunctionProcess({
        bundle, unitId, functionName: info.name, env: { ...this.opts.env, ...twin.env }, cwd: twin.cwd ?? path.dirname(info.entry), logger: this.logger,
      });
      const routes = info.type === 'scheduled' ? [] : routesOf(unitId, info.name, info.paths);
      this.served.set(unitId, { twin, bundle, bundleMtimeMs, process: proc, routes });
      if (old !== undefined && !same) await old.process.stop();
      this.logger.info({ unit: unitId, bundle }, 'netlify function served locally');
    });
  }

  /** Stops serving the function and its process (runs under way fail). */
  disable(unitId: string): Promise<void> {
    return this.serialize(unitId, async () => {
      const served = this.served.get(unitId);
      if (served === undefined) return;
      this.served.delete(unitId);
      await served.process.stop();
      this.logger.info({ unit: unitId }, 'netlify function no longer served locally');
    });
  }

  enabled(unitId: string): boolean {
    return this.served.has(unitId);
  }

  /** Starts the function's process now, so the first run does not wait for it. */
  async warm(unitId: string): Promise<void> {
    await this.get(unitId).process.start();
  }

  /**
   * One scheduled invocation (POST `{"next_run": ISO}`, `x-nf-event: schedule`), recorded as one
   * run. Its limit is the function's `timeoutMs`, else Netlify's 30 s. Rejects only for a unit
   * that is not enabled.
   */
  async runScheduled(unitId: string, nextRun: Date, opts: { slot?: number | null } = {}): Promise<RunResult> {
    const served = this.get(unitId);
    const request: InvocationRequest = {
      method: 'POST',
      url: `http://localhost/.netlify/functions/${encodeURIComponent(served.twin.info.name)}`,
      headers: { 'content-type': 'application/json', 'x-nf-event': 'schedule', 'user-agent': 'Netlify Clockwork' },
      body: Buffer.from(JSON.stringify({ next_run: nextRun.toISOString() })).toString('base64'),
    };
    const { run } = await this.track(this.recordedRun(served, 'scheduled', request, {}, opts.slot ?? null));
    return run;
  }

  /**
   * Serves every enabled sync and background function at `/.netlify/functions/<name>` (and below)
   * and at its `config.path`s; a background function answers 202 at once and runs after.
   * Resolves with the port (useful with port 0); rejects with one line naming the address.
   */
  async listen(address: string): Promise<{ port: number }> {
    if (this.server !== undefined) throw new RedundancyError('REFUSED', 'the local runner is already listening');
    const server = http.createServer((req, res) => {
      this.track(this.handle(req, res)).catch((error: unknown) => {
        this.logger.warn({ url: req.url, err: errorMessage(error) }, 'local function request failed');
        writeText(res, 500, 'internal error\n');
      });
    });
    this.server = server;
    try {
      return await listenOn(server, address);
    } catch (error) {
      this.server = undefined;
      throw error;
    }
  }

  /** Stops the server and every function process; resolves once every run under way is recorded. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    server?.closeIdleConnections();
    const served = [...this.served.values()];
    this.served.clear();
    await Promise.all(served.map((s) => s.process.stop()));
    await Promise.allSettled([...this.running]);
    server?.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = matchRoute([...this.served.values()].flatMap((s) => s.routes), pathname);
    const served = match && this.served.get(match.unitId);
    if (match === undefined || served === undefined) {
      req.resume();
      return writeText(res, 404, `no function at ${pathname}\n`);
    }
    let request: InvocationRequest;
    try {
      request = await readRequest(req, 'http://localhost');
    } catch (error) {
      if (error instanceof BodyTooLarge) return writeText(res, 413, `${error.message}\n`);
      throw error;
    }
    const name = served.twin.info.name;
    if (served.twin.info.type === 'background') {
      res.writeHead(202).end();
      await this.recordedRun(served, 'background', request, match.params, null);
      return;
    }
    const { result } = await this.recordedRun(served, 'request', request, match.params, null);
    writeResult(res, name, result);
  }

  /** One invocation between a `start` and an `end` line. */
  private async recordedRun(served: Served, kind: InvocationKind, request: InvocationRequest, params: Record<string, string>, slot: number | null): Promise<{ run: RunResult; result: InvocationResult }> {
    const { unitId, info } = served.twin;
    const limit = served.twin.timeoutMs ?? netlifyTimeoutMs[kind === 'request' ? 'sync' : kind];
    const run = newRunId();
    const startedAt = this.now();
    const line = (event: 'start' | 'end', at: number, over: Partial<LedgerEvent>): LedgerEvent => ({
      run, unit: unitId, side: 'twin', event, at, slot, pid: null, exitCode: null, signal: null, durationMs: null, host: this.opts.host, ...over,
    });
    // Invoked first so a cold start has its pid for the start line (the process spawns at once).
    const invocation = served.process.invoke(kind, request, limit, { params });
    await this.append(line('start', startedAt, { pid: served.process.pid ?? null }));
    const result = await invocation;
    const durationMs = Math.max(0, this.now() - startedAt);
    const reason = !result.ok ? result.reason : result.status >= 500 ? `status ${result.status}` : undefined;
    const exitCode = reason === undefined ? 0 : !result.ok && result.timedOut ? 124 : 1;
    await this.append(line('end', this.now(), {
      pid: result.pid, exitCode, signal: result.ok ? null : result.signal, durationMs, ...(reason !== undefined && { reason }),
    }));
    if (reason !== undefined) this.logger.warn({ unit: unitId, fn: info.name, kind, reason }, 'local function run failed');
    return { run: { ok: reason === undefined, ...(result.ok && { status: result.status }), ...(reason !== undefined && { reason }), durationMs }, result };
  }

  /** A ledger that cannot be written never stops a run: one warning, then silence. */
  private async append(event: LedgerEvent): Promise<void> {
    try {
      await this.opts.ledger.append(event);
    } catch (error) {
      if (this.ledgerWarned) return;
      this.ledgerWarned = true;
      this.logger.warn({ unit: event.unit, err: errorMessage(error) }, 'the run ledger could not be written, functions run anyway');
    }
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const done = (): void => void this.running.delete(work);
    work.then(done, done);
    return work;
  }

  private get(unitId: string): Served {
    const served = this.served.get(unitId);
    if (served === undefined) throw new RedundancyError('UNKNOWN_UNIT', `${unitId} is not enabled on the local runner`);
    return served;
  }

  private serialize(unitId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queue.get(unitId) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.queue.set(unitId, next);
    const forget = (): void => {
      if (this.queue.get(unitId) === next) this.queue.delete(unitId);
    };
    next.then(forget, forget);
    return next;
  }
}

function sameEnv(a: NetlifyTwin, b: NetlifyTwin): boolean {
  return JSON.stringify([a.env ?? {}, a.cwd, a.info.name]) === JSON.stringify([b.env ?? {}, b.cwd, b.info.name]);
}
