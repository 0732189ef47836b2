import { statfs } from 'node:fs/promises';
import { relative } from 'node:path';
import type { PreflightCheck } from '../core/config-orchestrate.js';
import { errorMessage } from '../core/errors.js';
import { rsyncMissing } from '../mirror/rsync-args.js';
import { formatBytes } from './format-bytes.js';

export interface PreflightResult {
  check: PreflightCheck['kind'] | 'rsync';
  /** What was checked: the path, the command, the URL. */
  target: string;
  ok: boolean;
  /** What was found, also when it passed (`12.3 GB free, needs 100 MB`). */
  reason: string;
}

/** Runs every check (at once); the run goes on only when all pass. `rsync` is added when the plan has mirrors. */
export async function runPreflight(checks: readonly PreflightCheck[], opts: { cwd: string; needsRsync: boolean }): Promise<PreflightResult[]> {
  const all: Array<Promise<PreflightResult>> = checks.map((check) => runCheck(check, opts.cwd).catch((error: unknown) => ({
    check: check.kind, target: targetOf(check, opts.cwd), ok: false, reason: errorMessage(error).split('\n')[0]!,
  })));
  if (opts.needsRsync) all.push(checkRsync());
  return Promise.all(all);
}

function targetOf(check: PreflightCheck, cwd: string): string {
  if (check.kind === 'path') {
    const rel = relative(cwd, check.path);
    return rel === '' ? '.' : rel.startsWith('..') ? check.path : rel;
  }
  return check.kind === 'command' ? check.command : check.url;
}

async function runCheck(check: PreflightCheck, cwd: string): Promise<PreflightResult> {
  const base = { check: check.kind, target: targetOf(check, cwd) };
  switch (check.kind) {
    case 'path': {
      const fs = await statfs(check.path).catch((error: NodeJS.ErrnoException) => {
        throw new Error(error.code === 'ENOENT' ? `${base.target} does not exist` : errorMessage(error));
      });
      const free = fs.bavail * fs.bsize;
      return { ...base, ok: free >= check.minFreeBytes, reason: `${formatBytes(free)} free, needs ${formatBytes(check.minFreeBytes)}` };
    }
    case 'command': {
      const { execa } = await import('execa');
      const child = execa(check.command, { shell: true, cwd, reject: false, detached: true, stdin: 'ignore', all: true });
      const timer = setTimeout(() => killGroup(child.pid), check.timeoutMs);
      const result = await child.finally(() => clearTimeout(timer));
      const last = String(result.all ?? '').trim().split('\n').at(-1) ?? '';
      if (result.exitCode === 0) return { ...base, ok: true, reason: 'exit 0' };
      const why = result.exitCode === undefined ? `stopped after ${check.timeoutMs}ms (${result.signal ?? 'killed'})` : `exit ${result.exitCode}`;
      return { ...base, ok: false, reason: last ? `${why}: ${last.slice(0, 200)}` : why };
    }
    case 'http': {
      const response = await fetch(check.url, { signal: AbortSignal.timeout(check.timeoutMs), redirect: 'follow' }).catch((error: unknown) => {
        throw new Error(`no answer: ${errorMessage((error as { cause?: unknown }).cause ?? error)}`);
      });
      await response.body?.cancel();
      return { ...base, ok: response.status >= 200 && response.status < 300, reason: `HTTP ${response.status}` };
    }
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function checkRsync(): Promise<PreflightResult> {
  const { execa } = await import('execa');
  const result = await execa('rsync', ['--version'], { reject: false, stdin: 'ignore' });
  const version = /version\s+(\S+)/.exec(String(result.stdout))?.[1];
  if (result.exitCode === 0) return { check: 'rsync', target: 'rsync', ok: true, reason: `rsync ${version ?? '(version unknown)'}` };
  return { check: 'rsync', target: 'rsync', ok: false, reason: (result as { code?: string }).code === 'ENOENT' ? rsyncMissing : `rsync --version failed: exit ${result.exitCode}` };
}
