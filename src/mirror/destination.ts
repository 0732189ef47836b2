import type { MirrorSpec } from '../core/config-orchestrate.js';
import { RedundancyError } from '../core/errors.js';
import { shellQuote, sshOptions } from './rsync-args.js';

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The destination directory's file operations as small POSIX sh scripts, run with `sh` here or
 * through `ssh host` there: one code path for both, so what the local tests exercise is what runs
 * on a remote host. Each script gets the destination root as $1.
 */
export class Destination {
  readonly label: string;

  constructor(private readonly spec: Pick<MirrorSpec, 'to' | 'ssh'>) {
    this.label = spec.to.kind === 'ssh' ? `${spec.to.host}:${spec.to.path}` : spec.to.path;
  }

  get remote(): boolean {
    return this.spec.to.kind === 'ssh';
  }

  async sh(script: string, ...args: string[]): Promise<ShellResult> {
    const { execa } = await import('execa');
    const words = [this.spec.to.path, ...args];
    const result = this.spec.to.kind === 'ssh'
      ? await execa('ssh', [...sshOptions(this.spec), this.spec.to.host, ['sh', '-c', script, 'sh', ...words].map(shellQuote).join(' ')], { reject: false, stdin: 'ignore' })
      : await execa('sh', ['-c', script, 'sh', ...words], { reject: false, stdin: 'ignore' });
    return { code: result.exitCode ?? 128, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** Runs a script that must succeed; its failure is an error naming `what` and the last stderr line. */
  async must(what: string, script: string, ...args: string[]): Promise<string> {
    const r = await this.sh(script, ...args);
    if (r.code !== 0) throw new RedundancyError('IO', `${what} in ${this.label} failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
    return r.stdout;
  }

  /** Creates the root if needed; the names in it and what `latest` points at. */
  async list(): Promise<{ names: string[]; latest: string | undefined }> {
    const out = await this.must('listing', 'mkdir -p -- "$1" && cd -- "$1" && printf "latest=%s\\n" "$(readlink latest 2>/dev/null)" && ls -1A');
    const [first = '', ...names] = out.split('\n').filter((l) => l !== '');
    const latest = first.slice('latest='.length);
    return { names, latest: latest === '' ? undefined : latest };
  }

  rename(from: string, to: string): Promise<string> {
    return this.must(`renaming ${from} to ${to}`, 'cd -- "$1" && mv -T -- "$2" "$3"', from, to);
  }

  async remove(names: readonly string[]): Promise<void> {
    if (names.length > 0) await this.must(`removing ${names.join(', ')}`, 'cd -- "$1" && shift && rm -rf -- "$@"', ...names);
  }

  /** `latest` -> `target` atomically: a temp symlink renamed over it (rename(2) replaces in one step). */
  async switchLatest(target: string, tag: string): Promise<void> {
    await this.must('switching latest', 'cd -- "$1" && rm -f -- "$3" && ln -s -- "$2" "$3" && mv -T -- "$3" latest', target, `.latest.tmp-${tag}`);
  }
}

export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}
