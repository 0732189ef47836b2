import type { Probe } from '../core/ports.js';
import type { Sample } from '../core/types.js';

export interface CommandProbeOptions {
  /** A shell command line. */
  command: string;
  cwd: string;
  /** @default 10000 */
  timeoutMs?: number;
}

const maxReasonChars = 120;

/** Runs a shell command: ok iff it exits 0. */
export class CommandProbe implements Probe {
  private readonly timeoutMs: number;

  constructor(private readonly options: CommandProbeOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async check(): Promise<Omit<Sample, 'at'>> {
    // Own process group: on timeout the shell and everything it started are killed. Killing the
    // shell alone leaves its children holding stderr, and the probe waits for them.
    // Loaded on first use: the CLI's read-only commands never pay for it.
    const { execa } = await import('execa');
    const subprocess = execa(this.options.command, {
      shell: true,
      cwd: this.options.cwd,
      timeout: this.timeoutMs,
      reject: false,
      detached: true,
      stdin: 'ignore',
      stdout: 'ignore',
    });
    let groupKilled = false;
    const timer = setTimeout(() => {
      groupKilled = killGroup(subprocess.pid);
    }, this.timeoutMs);
    const result = await subprocess;
    clearTimeout(timer);
    if (result.timedOut || groupKilled) return { ok: false, reason: `timed out after ${this.timeoutMs}ms` };
    if (result.exitCode === 0) return { ok: true, reason: 'exit code 0' };
    const detail = lastLine(typeof result.stderr === 'string' ? result.stderr : '');
    if (result.exitCode !== undefined) {
      return { ok: false, reason: `exit code ${result.exitCode}${detail ? `: ${detail}` : ''}` };
    }
    if (result.signal) return { ok: false, reason: `killed by ${result.signal}` };
    return { ok: false, reason: `could not run: ${clip(result.shortMessage ?? 'unknown error')}` };
  }
}

function killGroup(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false; // the group is gone already: the command finished on its own
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return clip(lines.at(-1) ?? '');
}

function clip(text: string): string {
  return text.length > maxReasonChars ? `${text.slice(0, maxReasonChars - 1)}…` : text;
}
