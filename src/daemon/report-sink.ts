import type { HealthReport } from '../core/report-types.js';

/** Writes the newest report only: reports asked for while a write runs collapse into one. */
export class LatestReportSink {
  private pending: HealthReport | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly write: (report: HealthReport) => Promise<void>) {}

  offer(report: HealthReport): void {
    this.pending = report;
    this.running ??= this.pump();
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pump(): Promise<void> {
    while (this.pending) {
      const report = this.pending;
      this.pending = undefined;
      await this.write(report);
    }
    this.running = undefined;
  }
}
