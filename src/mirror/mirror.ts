import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { MirrorSpec } from '../core/config-orchestrate.js';
import { Destination, lastLine } from './destination.js';
import { acquireLock, releaseLock, type LockHolder } from './mirror-lock.js';
import { copyArgs, rsyncMissing, sshOptions, verifyArgs } from './rsync-args.js';
import { linkBase, nextStamp, partialPrefix, partialsOf, snapshotsToPrune } from './snapshots.js';

/** The compiled entry point that runs one mirror as its own process (dist/mirror/mirror-main.js). */
export const mirrorMain = fileURLToPath(new URL('./mirror-main.js', import.meta.url));

export interface MirrorResult {
  snapshot: string;
  /** The snapshot unchanged files were hard-linked to. */
  linkedTo: string | undefined;
  /** A partial copy left by a run that was killed, continued. */
  resumed: string | undefined;
  pruned: string[];
  verified: boolean;
}

/** A mirror that did not complete; `message` is the reason, one line. `latest` was not moved. */
export class MirrorFailed extends Error {
  override readonly name = 'MirrorFailed';
}

export interface MirrorOptions {
  /** Progress lines. */
  log?: (line: string) => void;
  now?: () => number;
  /** Who holds the lock. @default this process */
  self?: LockHolder;
}

/**
 * One mirror run: source checked, ssh destination reached, lock taken, copy into
 * `to/.incomplete-<stamp>/` with `--link-dest` to the previous snapshot, checksums compared,
 * renamed to `to/<stamp>/`, `latest` switched to it atomically, snapshots beyond `keep` pruned.
 * Any failure before the switch leaves `latest` where it was.
 */
export async function runMirror(spec: MirrorSpec, opts: MirrorOptions = {}): Promise<MirrorResult> {
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? Date.now;
  const info = await stat(spec.from).catch(() => undefined);
  if (!info?.isDirectory()) throw new MirrorFailed(`source ${spec.from} ${info ? 'is not a directory' : 'does not exist'}; the destination was not touched`);
  await rsync(['--version'], 'rsync --version');
  const dest = new Destination(spec);
  if (spec.to.kind === 'ssh') await checkSsh(spec);

  const self = opts.self ?? { pid: process.pid, host: hostname(), since: new Date(now()).toISOString() };
  await dest.list();
  const lock = await acquireLock(dest, self);
  if (!lock.held) throw new MirrorFailed(lock.reason);
  if (lock.tookOver) log(`took over the stale lock of pid ${lock.tookOver.pid} (${lock.tookOver.since})`);
  const release = () => releaseLock(dest, self).catch(() => undefined);
  const onSignal = (signal: NodeJS.Signals) => {
    // Stopped (a timeout, an interrupt): rsync got the signal too; the lock goes, the partial copy stays for the next run.
    void release().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  try {
    const { names, latest } = await dest.list();
    const stamp = nextStamp(now(), names);
    const partial = `${partialPrefix}${stamp}`;
    const leftovers = partialsOf(names);
    await dest.remove(leftovers.remove);
    if (leftovers.resume) {
      if (leftovers.resume !== partial) await dest.rename(leftovers.resume, partial);
      log(`continuing the partial copy ${leftovers.resume}`);
    }
    const linkTo = linkBase(names, latest);
    log(`copying ${spec.from}/ to ${dest.label}/${stamp}${linkTo ? ` (unchanged files linked to ${linkTo})` : ''}`);
    const copied = await rsync(copyArgs(spec, partial, linkTo), 'rsync');
    if (copied.code === 24) log('some source files vanished during the copy');
    if (spec.verify) {
      const diff = await rsync(verifyArgs(spec, partial), 'rsync verify');
      const lines = diff.stdout.split('\n').filter((l) => l.trim() !== '');
      if (lines.length > 0) throw new MirrorFailed(`verify: ${lines.length} difference(s) between ${spec.from} and the copy (first: ${lines[0]!.trim()}); latest not switched`);
      log('verified: checksums match');
    }
    await dest.rename(partial, stamp);
    await dest.switchLatest(stamp, String(self.pid));
    const after = await dest.list();
    const pruned = snapshotsToPrune(after.names, spec.keep, stamp);
    await dest.remove(pruned);
    log(`latest -> ${stamp}${pruned.length > 0 ? `; pruned ${pruned.join(', ')}` : ''}`);
    return { snapshot: stamp, linkedTo: linkTo, resumed: leftovers.resume, pruned, verified: spec.verify };
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    await release();
  }
}

async function rsync(args: string[], what: string): Promise<{ code: number; stdout: string }> {
  const { execa } = await import('execa');
  const r = await execa('rsync', args, { reject: false, stdin: 'ignore' });
  if ((r as { code?: string }).code === 'ENOENT') throw new MirrorFailed(rsyncMissing);
  const code = r.exitCode ?? 128;
  // 24: files vanished from the source while it was read; the copy of what is there is complete.
  if (code !== 0 && code !== 24) throw new MirrorFailed(`${what} failed (exit ${r.exitCode ?? r.signal}): ${lastLine(String(r.stderr)) || 'no message'}`);
  return { code, stdout: String(r.stdout) };
}

async function checkSsh(spec: MirrorSpec): Promise<void> {
  if (spec.to.kind !== 'ssh') return;
  const { execa } = await import('execa');
  const r = await execa('ssh', [...sshOptions(spec), spec.to.host, 'true'], { reject: false, stdin: 'ignore' });
  if ((r as { code?: string }).code === 'ENOENT') throw new MirrorFailed('ssh not found on PATH: install the openssh-client package');
  if (r.exitCode !== 0) throw new MirrorFailed(`cannot reach ${spec.to.host} over ssh, nothing copied: ${lastLine(String(r.stderr)) || `ssh exit ${r.exitCode ?? r.signal}`}`);
}
