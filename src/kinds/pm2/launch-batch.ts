/**
 * Launches gathered into batches: PM2's start of an ecosystem lists every app of the daemon (with a
 * CPU and memory sweep of each process) once per call, however many apps it starts. One call per
 * app made a start-up of 1,000 units (2,000 launches) quadratic; launches asked for in the same
 * turn of the event loop go as one call instead, at most `maxBatch` apps a call and `maxInFlight`
 * calls at once (the daemon is one process: more at once only contend there).
 */
export interface LaunchBatchOptions<App, Result> {
  /**
   * One PM2 call for these apps: what it launched (each result naming its app) and PM2's error, if
   * any; PM2 reports apps it could not launch beside those it did. Rejects when there was no answer.
   */
  send(apps: App[]): Promise<{ launched: Result[]; error?: unknown }>;
  nameOf(app: App): string;
  launchedName(result: Result): string | undefined;
  /** @default 100 */
  maxBatch?: number;
  /** @default 1 (measured: two at once made a start of 1,000 units slower, 15.6 and 15.9 s against 10.1 and 12.4) */
  maxInFlight?: number;
}

interface Waiting<App, Result> {
  app: App;
  resolve(results: Result[]): void;
  reject(error: unknown): void;
}

export class LaunchBatch<App, Result> {
  private readonly waiting: Array<Waiting<App, Result>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly opts: LaunchBatchOptions<App, Result>) {}

  /** Resolves what PM2 launched for `app` (empty when it launched nothing), or PM2's error. */
  launch(app: App): Promise<Result[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ app, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the current turn: every launch its callers ask for now joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { maxBatch = 100, maxInFlight = 1 } = this.opts;
    while (this.waiting.length > 0 && this.inFlight < maxInFlight) {
      const batch = this.waiting.splice(0, maxBatch);
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        if (this.waiting.length > 0) this.schedule();
      });
    }
  }

  private async send(batch: Array<Waiting<App, Result>>): Promise<void> {
    let answer: { launched: Result[]; error?: unknown };
    try {
      answer = await this.opts.send(batch.map((w) => w.app));
    } catch (error) {
      for (const w of batch) w.reject(error); // no answer (a deadline, a lost daemon): nothing to retry on
      return;
    }
    const byName = new Map<string, Result[]>();
    for (const result of answer.launched) {
      const name = this.opts.launchedName(result);
      if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), result]);
    }
    const failed: Array<Waiting<App, Result>> = [];
    for (const w of batch) {
      const launched = byName.get(this.opts.nameOf(w.app));
      if (launched) w.resolve(launched);
      else if (answer.error === undefined) w.resolve([]);
      else failed.push(w);
    }
    if (failed.length === 0) return;
    // PM2's error does not say which app it is about: alone, each app gets its own answer.
    if (batch.length === 1) return failed[0]!.reject(answer.error);
    await Promise.all(failed.map((w) => this.send([w])));
  }
}
