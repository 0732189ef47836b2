import { formatListen } from '../core/config-checker.js';
import type { CompiledConfig } from '../core/config-types.js';
import { errorMessage } from '../core/errors.js';
import type { UnitEvent, UnitRecord } from '../core/failover.js';
import type { HealthReport, ManagerReport } from '../core/report-types.js';
import { resolveSecret } from '../core/secrets.js';
import type { UnitId } from '../core/types.js';
import { startHttpListener, type HttpListener } from '../http/http-listener.js';
import { ManagerMetrics } from '../http/metrics.js';
import { ReportStream } from '../http/report-stream.js';
import type { Logger } from '../store/logger.js';
import { version } from '../version.js';
import type { SupervisorObserver } from './supervisor.js';

const trialStates = new Set(['probing', 'failing-back']);

/** Counts failovers and failbacks from the supervisor's transitions. */
export function countTransition(metrics: ManagerMetrics, id: UnitId, from: UnitRecord, to: UnitRecord): void {
  const before = from.state.kind;
  const after = to.state.kind;
  // A drill is counted by its own counter (redundancy_drills_total), never as a failover or failback.
  if (isDrill(from) || isDrill(to)) return;
  if (after === 'failing-over' && before !== 'failing-over') {
    metrics.countFailover(id, to.reason);
    if (trialStates.has(before)) metrics.countFailback(id, 'failed');
  }
  if (after === 'primary' && before === 'failing-back') metrics.countFailback(id, 'ok');
}

function isDrill(record: UnitRecord): boolean {
  return 'drill' in record.state && record.state.drill === true;
}

/**
 * What the manager shows outside itself: metrics fed by the supervisor and the read-only HTTP
 * listener. A listener that cannot start is logged and shown in the report; supervision goes on.
 */
export class Observability {
  readonly metrics = new ManagerMetrics({ version });
  /** Outlives a listener moved by a reload: browsers reconnect to the new one and get the whole report. */
  readonly stream: ReportStream;
  private listener: HttpListener | undefined;
  private report: () => HealthReport = () => {
    throw new Error('no report yet');
  };
  /** Read at start: a token written as env:NAME and unset stops the manager from starting. */
  private token: string | undefined;

  constructor(
    private config: CompiledConfig,
    private readonly manager: ManagerReport,
    private readonly logger: Logger,
  ) {
    this.token = Observability.tokenOf(config);
    this.stream = new ReportStream({ startedAt: Date.parse(manager.startedAt) });
  }

  observer(extra: SupervisorObserver = {}): SupervisorObserver {
    return {
      transition: (id: UnitId, from: UnitRecord, to: UnitRecord, event: UnitEvent) => {
        countTransition(this.metrics, id, from, to);
        extra.transition?.(id, from, to, event);
      },
      report: (report: HealthReport) => {
        this.metrics.update(report);
        this.stream.publish(report);
        extra.report?.(report);
      },
      ...(extra.sample && { sample: extra.sample }),
    };
  }

  async start(report: () => HealthReport): Promise<void> {
    this.report = report;
    const { listen } = this.config.http;
    if (listen === false) return;
    const address = formatListen(listen);
    try {
      this.listener = await startHttpListener({ host: listen.host, port: listen.port, ...(this.token && { token: this.token }), report: () => this.report(), metrics: this.metrics, stream: this.stream, logger: this.logger });
      this.manager.http = { listen: this.listener.address };
      this.logger.info({ listen: this.listener.address }, 'http listener on / (dashboard), /events, /health and /metrics');
    } catch (error) {
      this.manager.http = { listen: address, error: errorMessage(error) };
      this.logger.error({ listen: address, err: errorMessage(error) }, 'http listener not started; supervision goes on without it');
    }
  }

  /** Checks a new config before a reload swaps anything: its token must be readable. */
  static tokenOf(config: CompiledConfig): string | undefined {
    return config.http.token && resolveSecret(config.http.token, 'http.token');
  }

  /** A reload: the listener moves only when its address or token changed. */
  async reconfigure(next: CompiledConfig, token: string | undefined): Promise<void> {
    const same = JSON.stringify(next.http.listen) === JSON.stringify(this.config.http.listen) && token === this.token;
    this.config = next;
    if (same && (this.listener || next.http.listen === false)) return;
    this.token = token;
    // Its streams end with it (closeAllConnections); the browsers reconnect to the new listener.
    await this.listener?.close();
    this.listener = undefined;
    delete this.manager.http;
    await this.start(this.report);
  }

  async close(): Promise<void> {
    this.stream.close();
    await this.listener?.close();
  }
}
