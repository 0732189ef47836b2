import { isAbsolute, relative, resolve } from 'node:path';
import { Checker, httpUrl, isPlainMap, parseSize, type Path } from './config-checker.js';

import type { MirrorSpec, MirrorTarget, OnFailure, OrchestrateConfig, OrchestrateJobSpec, OrchestrateStage, PreflightCheck } from './orchestrate-types.js';

export type { MirrorSpec, MirrorTarget, OnFailure, OrchestrateConfig, OrchestrateJobSpec, OrchestrateStage, PreflightCheck } from './orchestrate-types.js';

const onFailures: readonly OnFailure[] = ['continue', 'stop', 'warn'];
const runnableKinds = ['cron', 'script'];
const sizeExpected = 'a size like 500MB, 10GiB or a number of bytes';

export function compileOrchestrate(check: Checker, raw: unknown, cwd: string): OrchestrateConfig {
  const top = check.map(['orchestrate'], raw, ['failureThreshold', 'preflight', 'stages']);
  const threshold = top.failureThreshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) check.fail(['orchestrate', 'failureThreshold'], threshold, 'a number >= 0 and <= 1');
  const preflight = list(check, ['orchestrate', 'preflight'], top.preflight, 'a list of checks ({ path, minFree }, { command } or { http })')
    .map((item, i) => compilePreflight(check, ['orchestrate', 'preflight', i], item, cwd));
  const names = new Set<string>();
  const stages = list(check, ['orchestrate', 'stages'], top.stages, 'a list of stages ({ name, jobs, ... })').map((item, i) => {
    const stage = compileStage(check, ['orchestrate', 'stages', i], item, cwd);
    if (names.has(stage.name)) check.fail([...stage.at, 'name'], stage.name, 'a stage name no other stage has');
    names.add(stage.name);
    return stage;
  });
  return { failureThreshold: threshold as number, preflight, stages };
}

function list(check: Checker, path: Path, value: unknown, expected: string): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : check.fail(path, value, expected);
}

function compilePreflight(check: Checker, at: Path, raw: unknown, cwd: string): PreflightCheck {
  const shape = 'a check: { path, minFree }, { command } or { http }';
  if (!isPlainMap(raw)) return check.fail(at, raw, shape);
  const given = ['path', 'command', 'http'].filter((key) => key in raw);
  if (given.length !== 1) return check.fail(at, raw, `${shape} (exactly one of path, command, http)`);
  const key = (k: string): Path => [...at, k];
  if ('path' in raw) {
    const c = check.map(at, raw, ['path', 'minFree']);
    const path = resolve(cwd, check.path(key('path'), c.path, undefined, 'a directory path'));
    if (c.minFree === undefined) return check.fail(key('minFree'), c.minFree, sizeExpected);
    const bytes = parseSize(c.minFree);
    if (bytes === undefined || bytes < 1) return check.fail(key('minFree'), c.minFree, sizeExpected);
    return { kind: 'path', path, minFreeBytes: bytes, at };
  }
  if ('command' in raw) {
    const c = check.map(at, raw, ['command', 'timeout']);
    return { kind: 'command', command: command(check, key('command'), c.command), timeoutMs: check.duration(key('timeout'), c.timeout, 30_000), at };
  }
  const c = check.map(at, raw, ['http', 'timeout']);
  return { kind: 'http', url: httpUrl(check, key('http'), c.http), timeoutMs: check.duration(key('timeout'), c.timeout, 10_000), at };
}

function command(check: Checker, path: Path, value: unknown): string {
  return typeof value === 'string' && value.trim() !== '' ? value : check.fail(path, value, 'a command line to run');
}

function compileStage(check: Checker, at: Path, raw: unknown, cwd: string): OrchestrateStage {
  const s = check.map(at, raw, ['name', 'jobs', 'discover', 'parallel', 'concurrency', 'timeout', 'onFailure'], 'a stage ({ name, jobs, ... })');
  const key = (k: string): Path => [...at, k];
  const name = jobName(check, key('name'), s.name, 'a stage name');
  const parallel = check.boolean(key('parallel'), s.parallel, false);
  const concurrency = s.concurrency === undefined ? (parallel ? null : 1) : check.integer(key('concurrency'), s.concurrency, 1, 1);
  if (!parallel && concurrency !== null && concurrency > 1) check.fail(key('concurrency'), s.concurrency, 'at most 1 unless the stage sets parallel: true');
  const onFailure = s.onFailure ?? 'continue';
  if (!onFailures.includes(onFailure as OnFailure)) check.fail(key('onFailure'), onFailure, onFailures.join(', '));
  const discover = s.discover === undefined ? [] : Array.isArray(s.discover) ? s.discover : [s.discover];
  discover.forEach((glob, i) => {
    if (typeof glob !== 'string' || glob.trim() === '') check.fail(Array.isArray(s.discover) ? [...key('discover'), i] : key('discover'), glob, 'a glob over unit ids or commands, like cron:restic-*');
  });
  const jobNames = new Set<string>();
  const jobs = list(check, key('jobs'), s.jobs, 'a list of jobs ({ name, run }, { unit } or { name, mirror })').map((item, i) => {
    const job = compileJob(check, [...key('jobs'), i], item, cwd);
    if (jobNames.has(job.name)) check.fail([...job.at, job.kind === 'unit' ? 'unit' : 'name'], job.name, 'a job name no other job of the stage has');
    jobNames.add(job.name);
    return job;
  });
  if (jobs.length === 0 && discover.length === 0) check.fail(key('jobs'), s.jobs, 'at least one job, or discover: <glob>');
  return { name, jobs, discover: discover as string[], parallel, concurrency, timeoutMs: check.duration(key('timeout'), s.timeout, 3_600_000), onFailure: onFailure as OnFailure, at };
}

/** Names appear in ledger ids (`orchestrate:<stage>/<job>`) and progress lines: one line, no `/`. */
function jobName(check: Checker, path: Path, value: unknown, what: string): string {
  const ok = typeof value === 'string' && value.trim() !== '' && !/[/\p{Cc}]/u.test(value);
  return ok ? value : check.fail(path, value, `${what} (text without / or control characters)`);
}

function compileJob(check: Checker, at: Path, raw: unknown, cwd: string): OrchestrateJobSpec {
  const shape = 'a job: { name, run: "<command>" }, { unit: "<id>" } or { name, mirror: {...} }';
  if (!isPlainMap(raw)) return check.fail(at, raw, shape);
  const given = ['run', 'unit', 'mirror'].filter((key) => key in raw);
  if (given.length !== 1) return check.fail(at, raw, `${shape} (exactly one of run, unit, mirror)`);
  const key = (k: string): Path => [...at, k];
  if ('unit' in raw) {
    const j = check.map(at, raw, ['unit', 'name']);
    const unit = j.unit;
    const [kind, ...rest] = typeof unit === 'string' ? unit.split(':') : [];
    if (typeof unit !== 'string' || !runnableKinds.includes(kind ?? '') || rest.join(':').trim() === '') {
      check.fail(key('unit'), unit, 'a cron: or script: unit id of `redundancy inventory` (other kinds have no command to run)');
    }
    return { kind: 'unit', name: j.name === undefined ? (unit as string) : jobName(check, key('name'), j.name, 'a job name'), unit: unit as string, at };
  }
  if ('run' in raw) {
    const j = check.map(at, raw, ['name', 'run']);
    return { kind: 'run', name: jobName(check, key('name'), j.name, 'a job name'), command: command(check, key('run'), j.run), at };
  }
  const j = check.map(at, raw, ['name', 'mirror']);
  return { kind: 'mirror', name: jobName(check, key('name'), j.name, 'a job name'), mirror: compileMirror(check, key('mirror'), j.mirror, cwd), at };
}

/** `host:path` when a colon comes before any slash, as rsync reads it. */
export function parseMirrorTarget(value: string, cwd: string): MirrorTarget {
  const remote = /^([^/:]+):(.*)$/.exec(value);
  if (remote) return { kind: 'ssh', host: remote[1]!, path: remote[2] === '' ? '.' : remote[2]! };
  return { kind: 'local', path: resolve(cwd, value) };
}

function compileMirror(check: Checker, at: Path, raw: unknown, cwd: string): MirrorSpec {
  const m = check.map(at, raw, ['from', 'to', 'keep', 'verify', 'exclude', 'ssh', 'bwlimit'], 'a map { from, to, keep, verify, exclude, ssh }');
  const key = (k: string): Path => [...at, k];
  const fromText = check.path(key('from'), m.from, undefined, 'a local directory to copy');
  if (/^[^/:]+:/.test(fromText)) check.fail(key('from'), m.from, 'a local directory (the destination may be host:path, the source may not)');
  const from = resolve(cwd, fromText);
  const to = parseMirrorTarget(check.path(key('to'), m.to, undefined, 'a directory, or host:path over ssh'), cwd);
  if (to.kind === 'ssh' && !/^[A-Za-z0-9_.@[\]-]+$/.test(to.host)) check.fail(key('to'), m.to, 'host:path with a host name like backup.example or user@host');
  if (to.kind === 'ssh' && to.host.startsWith('-')) check.fail(key('to'), m.to, 'a host name that does not start with -');
  if (to.kind === 'local') {
    const inside = relative(from, to.path);
    if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) check.fail(key('to'), m.to, `a directory outside the source ${fromText}`);
  }
  const exclude = m.exclude === undefined ? [] : Array.isArray(m.exclude) ? m.exclude : [m.exclude];
  exclude.forEach((pattern, i) => {
    if (typeof pattern !== 'string' || pattern === '') check.fail(Array.isArray(m.exclude) ? [...key('exclude'), i] : key('exclude'), pattern, 'an rsync exclude pattern');
  });
  const spec: MirrorSpec = {
    from,
    to,
    keep: check.integer(key('keep'), m.keep, 7, 1),
    verify: check.boolean(key('verify'), m.verify, true),
    exclude: exclude as string[],
  };
  if (m.ssh !== undefined) {
    if (to.kind !== 'ssh') check.fail(key('ssh'), m.ssh, 'no ssh settings for a local destination (ssh is for to: host:path)');
    const ssh = check.map(key('ssh'), m.ssh, ['port', 'identity']);
    spec.ssh = {
      ...(ssh.port !== undefined && { port: check.integer([...key('ssh'), 'port'], ssh.port, 22, 1, 65535) }),
      // `~/...` is left for ssh to expand, in the home of whoever runs the mirror.
      ...(ssh.identity !== undefined && { identity: homeOrResolved(cwd, check.path([...key('ssh'), 'identity'], ssh.identity, undefined, 'a private key file')) }),
    };
  }
  if (m.bwlimit !== undefined) {
    const bytes = parseSize(m.bwlimit);
    if (bytes === undefined || bytes < 1024) check.fail(key('bwlimit'), m.bwlimit, 'a size per second of at least 1KiB, like 500KB or 10MiB');
    spec.bwlimitKiB = Math.floor(bytes / 1024);
  }
  return spec;
}

function homeOrResolved(cwd: string, path: string): string {
  return path.startsWith('~/') ? path : resolve(cwd, path);
}
