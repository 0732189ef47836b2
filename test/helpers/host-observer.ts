import type { TestHost } from './hosts.js';

/** One look at every host's app: when it was taken (ms, monotonic) and which hosts answered. */
export interface Look {
  at: number;
  answered: string[];
}

export const now = () => Number(process.hrtime.bigint() / 1_000n) / 1_000;

/**
 * Polls every host's app port every `everyMs`, each look asking all hosts at once, and keeps what
 * answered. A look where two hosts answered is split brain; its length counts until the next look.
 */
export class HostObserver {
  readonly looks: Look[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly hosts: readonly TestHost[], private readonly everyMs = 25) {}

  start(): void {
    this.timer = setInterval(() => void this.look(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async look(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const at = now();
    const answers = await Promise.all(this.hosts.map((h) => h.answers(150)));
    this.looks.push({ at, answered: this.hosts.filter((_, i) => answers[i]).map((h) => h.name) });
    this.busy = false;
  }

  /** Looks since `from`. */
  since(from: number): Look[] {
    return this.looks.filter((l) => l.at >= from);
  }

  /** Milliseconds during which two or more hosts answered, since `from`. */
  splitBrainMs(from: number): number {
    const looks = this.since(from);
    let total = 0;
    looks.forEach((look, i) => {
      if (look.answered.length < 2) return;
      total += (looks[i + 1]?.at ?? look.at + this.everyMs) - look.at;
    });
    return Math.round(total);
  }

  /** When a host other than `not` first answered after `from` (monotonic ms), or undefined. */
  firstAnswer(from: number, not: string): { host: string; at: number } | undefined {
    for (const look of this.since(from)) {
      const other = look.answered.find((h) => h !== not);
      if (other) return { host: other, at: look.at };
    }
    return undefined;
  }

  /** When `host` last answered after `from`. */
  lastAnswer(from: number, host: string): number | undefined {
    const looks = this.since(from).filter((l) => l.answered.includes(host));
    return looks.at(-1)?.at;
  }
}

export interface Figures {
  scenario: string;
  runs: number;
  splitBrainMs: number[];
  takeoverMs: number[];
  unitsLost: number[];
}

export function summary(f: Figures): string {
  const sorted = [...f.takeoverMs].sort((a, b) => a - b);
  const pick = (q: number) => (sorted.length === 0 ? '-' : String(Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!)));
  return `${f.scenario}: runs ${f.runs}; split-brain ms max ${Math.max(0, ...f.splitBrainMs)} (runs with any: ${f.splitBrainMs.filter((v) => v > 0).length}); takeover ms min ${pick(0)} median ${pick(0.5)} max ${pick(1)}; units lost ${f.unitsLost.reduce((a, b) => a + b, 0)}`;
}
