import type { ServerResponse } from 'node:http';
import type { HealthReport, UnitReport } from '../core/report-types.js';

export interface ReportStreamOptions {
  /** Epoch ms the manager started: part of every event id, so ids of a restarted manager never match old ones. */
  startedAt: number;
  /** A comment line this often keeps proxies and the browser from closing an idle stream. @default 15000 */
  keepAliveMs?: number;
  /** What the browser waits before reconnecting (the `retry:` field). @default 2000 */
  retryMs?: number;
}

/** A report changed since the one before: every field but the units, and the units that are new objects. */
export interface ReportDelta {
  report: Omit<HealthReport, 'units'>;
  changed: UnitReport[];
  removed: string[];
}

/**
 * `GET /events`: Server-Sent Events, one event per report the supervisor writes. A client gets a
 * `report` event with the whole report when it connects (or reconnects with an id it cannot resume
 * from), then a `delta` event per new report with only the units whose report object changed: the
 * supervisor keeps a unit's object while it is unchanged, so at 1,000 units a round costs a few
 * lines, not the whole report. Event ids are `<manager start>-<sequence>`.
 */
export class ReportStream {
  private readonly clients = new Set<ServerResponse>();
  private seq = 0;
  private last: HealthReport | undefined;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(private readonly opts: ReportStreamOptions) {
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), opts.keepAliveMs ?? 15_000);
    this.keepAlive.unref();
  }

  get currentId(): string {
    return `${this.opts.startedAt}-${this.seq}`;
  }

  /** A new report: one event to every client. */
  publish(report: HealthReport): void {
    const previous = this.last;
    this.last = report;
    this.seq += 1;
    if (this.clients.size === 0) return;
    const frame = previous ? frameOf('delta', this.currentId, deltaOf(previous, report)) : frameOf('report', this.currentId, report);
    this.write(frame);
  }

  /** Takes over a request for `/events`; `lastEventId` is the browser's `Last-Event-ID` on a reconnect. */
  attach(res: ServerResponse, lastEventId: string | undefined): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${this.opts.retryMs ?? 2_000}\n\n`);
    // A client that has the current report needs nothing; any other id (older, or another manager's) gets it whole.
    if (this.last && lastEventId !== this.currentId) res.write(frameOf('report', this.currentId, this.last));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  get size(): number {
    return this.clients.size;
  }

  /** Ends every stream: the browser reconnects by itself to the next manager. */
  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const res of this.clients) res.write(text);
  }
}

export function deltaOf(previous: HealthReport, next: HealthReport): ReportDelta {
  const before = new Map(previous.units.map((u) => [u.id, u]));
  const changed = next.units.filter((u) => before.get(u.id) !== u);
  const present = new Set(next.units.map((u) => u.id));
  const removed = previous.units.filter((u) => !present.has(u.id)).map((u) => u.id);
  const { units: _units, ...rest } = next;
  return { report: rest, changed, removed };
}

/** One event: JSON has no raw newlines, so `data:` is one line. */
function frameOf(event: 'report' | 'delta', id: string, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}
