import { readFile } from 'node:fs/promises';

/**
 * Reads a state file over and over while a test runs: every read must be a valid version-2 state
 * holding every unit it is told about (once a file exists). Collects violations, never throws.
 */
export class StateWatcher {
  readonly violations: string[] = [];
  reads = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly unitIds: readonly string[],
    private readonly context: () => string = () => '',
    private readonly intervalMs = 20,
  ) {}

  start(): this {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.check().then(() => {
        this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One read now; the problem found, if any (also recorded). */
  async check(): Promise<string | undefined> {
    const problem = await this.problem();
    if (problem !== undefined) this.violations.push(`${new Date().toISOString()} ${this.context()}: ${problem}`);
    return problem;
  }

  private async problem(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `unreadable: ${(error as Error).message}`;
    }
    this.reads += 1;
    let value: { version?: unknown; units?: Record<string, { state?: { kind?: unknown } }> };
    try {
      value = JSON.parse(text) as typeof value;
    } catch (error) {
      return `not JSON (${(error as Error).message}): ${JSON.stringify(text.slice(0, 80))}`;
    }
    if (value.version !== 2) return `version ${JSON.stringify(value.version)}`;
    if (typeof value.units !== 'object' || value.units === null) return 'no units map';
    const missing = this.unitIds.filter((id) => typeof value.units![id]?.state?.kind !== 'string');
    return missing.length > 0 ? `units lost from the state: ${missing.join(', ')}` : undefined;
  }
}
