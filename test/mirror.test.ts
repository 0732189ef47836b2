import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/schedule/ledger-event.js';
import type { OrchestrateResult } from '../src/orchestrate/format.js';
import { cliPath, freePort, makeProject, type TestProject } from './helpers/project.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Mirror jobs with Debian's rsync: snapshots with hard links, `latest` switched only after a
 * complete copy (also when a mirror is SIGKILLed mid-copy), retention, the lock, verify, ssh.
 */
const projects: TestProject[] = [];
const groups: number[] = [];
afterAll(async () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await Promise.all(projects.map((p) => p.remove()));
});

const source = { 'data/a.txt': 'alpha\n', 'data/b.txt': 'bravo\n', 'data/sub/c.txt': 'charlie\n', 'data/skip.tmp': 'not copied\n' };

async function project(mirror: string, files: Record<string, string> = source, env: NodeJS.ProcessEnv = {}): Promise<TestProject> {
  const config = `sources: { pm2: { live: false } }\norchestrate:\n  stages:\n${mirror}`;
  const p = await makeProject({ ...process.env, ...env }, { 'redundancy.config.yaml': config, ...files });
  projects.push(p);
  return p;
}

const stage = (name: string, mirror: string) => `    - name: ${name}\n      jobs:\n        - { name: data, mirror: ${mirror} }\n`;
const snapshots = async (dir: string) => (await readdir(dir)).filter((n) => /^\d{8}T\d{6}Z$/.test(n)).sort();
const inode = async (file: string) => (await stat(file)).ino;
const result = (stdout: string) => JSON.parse(stdout) as OrchestrateResult;

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

describe('mirror', () => {
  it('keep: 2 run three times keeps two snapshots, hard-links unchanged files, and latest names the newest', async () => {
    const p = await project(stage('mirror', '{ from: data/, to: backup, keep: 2, exclude: ["*.tmp"] }'));
    const to = join(p.dir, 'backup');
    const runs: OrchestrateResult[] = [];
    for (let i = 0; i < 3; i++) {
      if (i === 2) await p.write('data/b.txt', 'bravo changed\n');
      const r = await p.cli('orchestrate', '--yes', '--json');
      expect(r.exitCode, r.stderr).toBe(0);
      runs.push(result(r.stdout));
    }
    expect(runs.map((r) => r.stages[0]!.jobs[0]!.status)).toEqual(['successful', 'successful', 'successful']);
    const kept = await snapshots(to);
    expect(kept).toHaveLength(2);
    expect(await readlink(join(to, 'latest'))).toBe(kept[1]);
    expect(await tree(join(to, 'latest'))).toEqual(['a.txt', 'b.txt', 'sub/c.txt']);
    // Unchanged: the same inode in both snapshots. Changed: its own copy.
    expect(await inode(join(to, kept[0]!, 'a.txt'))).toBe(await inode(join(to, kept[1]!, 'a.txt')));
    expect(await inode(join(to, kept[0]!, 'sub/c.txt'))).toBe(await inode(join(to, kept[1]!, 'sub/c.txt')));
    expect(await inode(join(to, kept[0]!, 'b.txt'))).not.toBe(await inode(join(to, kept[1]!, 'b.txt')));
    expect(await readFile(join(to, 'latest/b.txt'), 'utf8')).toBe('bravo changed\n');
    expect(await readFile(join(to, kept[0]!, 'b.txt'), 'utf8')).toBe('bravo\n');
    // Nothing left behind: no partial copy, no lock, no temp link.
    expect((await readdir(to)).filter((n) => n.startsWith('.'))).toEqual([]);
    const ledger = (await readFile(join(p.dir, '.redundancy/ledger/orchestrate_mirror_data.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as LedgerEvent);
    expect(ledger.map((e) => e.event)).toEqual(['start', 'end', 'start', 'end', 'start', 'end']);
  });

  it('keeps latest on a complete snapshot while a copy runs and after the mirror is SIGKILLed mid-copy; the next run takes the stale lock over', async () => {
    const big: Record<string, string> = { ...source };
    const p = await project(stage('fast', '{ from: data, to: backup, keep: 3 }') + stage('slow', '{ from: data, to: backup, keep: 3, bwlimit: 400KiB }'), big);
    const to = join(p.dir, 'backup');
    const first = await p.cli('orchestrate', '--stage', 'fast', '--yes');
    expect(first.exitCode, first.stderr).toBe(0);
    const [complete] = await snapshots(to);
    const completeTree = await tree(join(to, complete!));
    expect(completeTree).toEqual(['a.txt', 'b.txt', 'skip.tmp', 'sub/c.txt']);

    // 3 MB of new data at 400 KiB/s: about 7 s of copying.
    await mkdir(join(p.dir, 'data/big'), { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(join(p.dir, `data/big/f${i}`), Buffer.alloc(300_000, i));
    const slow = execa('node', [cliPath, '--cwd', p.dir, 'orchestrate', '--stage', 'slow', '--yes', '--json'], { env: p.env, reject: false });
    const start = await waitFor(async () => {
      const text = await readFile(join(p.dir, '.redundancy/ledger/orchestrate_slow_data.jsonl'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerEvent).find((e) => e.event === 'start');
    }, { timeoutMs: 30_000, what: 'the slow mirror started' });
    groups.push(start.pid!);
    // While it copies, latest always names the complete snapshot.
    const partial = await waitFor(async () => {
      expect(await readlink(join(to, 'latest'))).toBe(complete);
      const name = (await readdir(to)).find((n) => n.startsWith('.incomplete-'));
      return name && (await readdir(join(to, name, 'big')).catch(() => [])).length > 0 ? name : undefined;
    }, { timeoutMs: 30_000, intervalMs: 20, what: 'the copy under way' });
    const lock = (await readFile(join(to, '.mirror.lock'), 'utf8')).trim();
    expect(lock).toMatch(new RegExp(`^${start.pid} ${hostname()} `));

    // SIGKILL the mirror and its rsync (the job's process group), mid-copy.
    process.kill(-start.pid!, 'SIGKILL');
    const killed = await slow;
    expect(killed.exitCode).toBe(2);
    expect(result(String(killed.stdout)).stages[0]!.jobs[0]).toMatchObject({ status: 'failed', reason: 'killed by SIGKILL' });
    expect(await readlink(join(to, 'latest'))).toBe(complete);
    expect(await tree(join(to, 'latest'))).toEqual(completeTree);
    expect(await snapshots(to)).toEqual([complete]);
    expect(existsSync(join(to, partial))).toBe(true);
    expect(existsSync(join(to, '.mirror.lock'))).toBe(true);

    // The next run: the dead holder's lock is taken over, the partial copy continued, latest moves only once complete.
    const next = await p.cli('--verbose', 'orchestrate', '--stage', 'fast', '--yes');
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stdout).toContain(`took over the stale lock of pid ${start.pid}`);
    expect(next.stdout).toContain(`continuing the partial copy ${partial}`);
    const after = await snapshots(to);
    expect(after).toHaveLength(2);
    expect(await readlink(join(to, 'latest'))).toBe(after[1]);
    expect(await tree(join(to, 'latest'))).toEqual([...completeTree.slice(0, 2), ...Array.from({ length: 10 }, (_, i) => `big/f${i}`), ...completeTree.slice(2)].sort());
    expect((await readdir(to)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('fails a job whose source does not exist without touching the destination', async () => {
    const p = await project(stage('m', '{ from: nothing-here, to: backup }'), {});
    const r = await p.cli('orchestrate', '--yes', '--json');
    expect(r.exitCode).toBe(2);
    expect(result(r.stdout).stages[0]!.jobs[0]).toMatchObject({ status: 'failed', exitCode: 1, reason: `exit 1: source ${join(p.dir, 'nothing-here')} does not exist; the destination was not touched` });
    expect(existsSync(join(p.dir, 'backup'))).toBe(false);
  });

  it('refuses a destination another live mirror holds, and verifies by checksum', async () => {
    const p = await project(stage('m', '{ from: data, to: backup, verify: true }'));
    await p.write('backup/.mirror.lock', `${process.pid} ${hostname()} 2026-01-01T00:00:00.000Z\n`);
    const held = await p.cli('orchestrate', '--yes', '--json');
    expect(held.exitCode).toBe(2);
    expect(result(held.stdout).stages[0]!.jobs[0]!.reason).toBe(`exit 1: ${join(p.dir, 'backup')} is locked by pid ${process.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z (.mirror.lock)`);
    expect(await readdir(join(p.dir, 'backup'))).toEqual(['.mirror.lock']);

    await p.write('backup/.mirror.lock', '');
    const r = await p.cli('--verbose', 'orchestrate', '--yes');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('[m/data] verified: checksums match');
  });

  it('checks an ssh destination before copying: unreachable fails with nothing copied; reachable copies over ssh', async () => {
    const closed = await freePort();
    const p = await project(stage('m', `{ from: data, to: "127.0.0.1:/nonexistent/backup", ssh: { port: ${closed} } }`));
    const r = await p.cli('orchestrate', '--yes', '--json');
    expect(r.exitCode).toBe(2);
    expect(result(r.stdout).stages[0]!.jobs[0]!.reason).toMatch(/^exit 1: cannot reach 127\.0\.0\.1 over ssh, nothing copied: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused$/);

    // An `ssh` that runs the remote command here (the same sh and rsync --server a host would run).
    const remote = join(p.dir, 'remote/backup');
    const bin = join(p.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'ssh'), [
      '#!/bin/sh',
      'while [ $# -gt 0 ]; do case "$1" in -o|-p|-i|-l) shift 2;; -*) shift;; *) break;; esac; done',
      'echo "$1" >> "$(dirname "$0")/hosts.log"; shift',
      'exec sh -c "$*"',
      '',
    ].join('\n'));
    await chmod(join(bin, 'ssh'), 0o755);
    await p.write('redundancy.config.yaml', `sources: { pm2: { live: false } }\norchestrate:\n  stages:\n${stage('m', `{ from: data, to: "backup@nas:${remote}", keep: 1, ssh: { port: 2222 } }`)}`);
    for (let i = 0; i < 2; i++) {
      const ok = await execa('node', [cliPath, '--cwd', p.dir, 'orchestrate', '--yes'], { env: { ...p.env, PATH: `${bin}:${process.env.PATH}` }, reject: false });
      expect(ok.exitCode, String(ok.stdout) + String(ok.stderr)).toBe(0);
    }
    const kept = await snapshots(remote);
    expect(kept).toHaveLength(1);
    expect(await readlink(join(remote, 'latest'))).toBe(kept[0]);
    expect(await tree(join(remote, 'latest'))).toEqual(['a.txt', 'b.txt', 'skip.tmp', 'sub/c.txt']);
    expect((await readFile(join(bin, 'hosts.log'), 'utf8')).trim().split('\n')).toContain('backup@nas');
  });
});
