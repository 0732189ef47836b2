import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { transpileSources } from './helpers/transpile.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decideGate, runRecorded, type RunRecordedOptions } from '../src/schedule/run-wrapper.js';
import { Ledger, type LedgerEvent } from '../src/store/ledger.js';
import { isProcessAlive } from './helpers/pm2-home.js';
import { waitFor } from './helpers/wait-for.js';

const node = process.execPath;
let dir: string;
let build: string;
const spawned: ResultPromise[] = [];
const strayPids: number[] = [];


/** `redundancy run` as a process of its own: runRecorded, then exit with its code. SIGUSR2 makes it exit at once. */
function spawnWrapper(command: string[]): ResultPromise {
  const script = `
    const [build, options] = process.argv.slice(1);
    const { runRecorded } = await import(build + '/schedule/run-wrapper.js');
    const { Ledger } = await import(build + '/store/ledger.js');
    const o = JSON.parse(options);
    process.on('SIGUSR2', () => process.exit(9));
    const result = await runRecorded({ ...o, ledger: new Ledger({ dir: o.ledgerDir }), warn: (l) => process.stderr.write(l + '\\n') });
    process.exitCode = result.exitCode;`;
  const options = { unit: 'cron:backup', side: 'primary', command, cwd: dir, ledgerDir: join(dir, 'ledger'), gate: { run: true }, slot: null, host: 'h' };
  const wrapper = execa(node, ['--input-type=module', '-e', script, pathToFileURL(build).href, JSON.stringify(options)], { reject: false });
  spawned.push(wrapper);
  return wrapper;
}

/** A node program that writes its pid to `pidFile` and runs until killed; `stubborn` ignores SIGTERM. */
function holder(pidFile: string, stubborn = false): string[] {
  const code = `${stubborn ? "process.on('SIGTERM', () => {});" : ''} require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000);`;
  return [node, '-e', code, pidFile];
}

async function pidFrom(file: string): Promise<number> {
  const pid = await waitFor(async () => (existsSync(file) ? Number(await readFile(file, 'utf8')) || undefined : undefined), {
    timeoutMs: 10_000, what: `pid in ${file}`,
  });
  strayPids.push(pid);
  return pid;
}

async function ledgerLines(): Promise<LedgerEvent[]> {
  const text = await readFile(join(dir, 'ledger', 'cron_backup.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LedgerEvent);
}

function options(over: Partial<RunRecordedOptions>): RunRecordedOptions {
  return {
    unit: 'cron:backup', side: 'primary', command: ['true'], cwd: dir, ledger: new Ledger({ dir: join(dir, 'ledger') }),
    gate: { run: true }, slot: null, host: 'h', warn: () => undefined, stdio: 'pipe', ...over,
  };
}

beforeAll(async () => {
  build = await transpileSources(['schedule/run-wrapper.ts', 'store/ledger.ts', 'core/errors.ts', 'core/duration.ts'], 'wrapper');
});

afterAll(async () => {
  await rm(build, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-run-'));
});

afterEach(async () => {
  for (const wrapper of spawned.splice(0)) wrapper.kill('SIGKILL');
  for (const pid of strayPids.splice(0)) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('decideGate', () => {
  const base = { state: 'primary', stateAgeMs: 1_000, staleAfterMs: 60_000, manual: false };

  it('lets each side run only in its own states', () => {
    for (const state of ['primary', 'probing', 'failing-back']) {
      expect(decideGate({ ...base, side: 'primary', state })).toEqual({ run: true });
      expect(decideGate({ ...base, side: 'twin', state })).toEqual({ run: false, reason: 'unit is on its primary' });
    }
    expect(decideGate({ ...base, side: 'primary', state: 'backup' })).toEqual({ run: false, reason: 'unit is on its twin' });
    expect(decideGate({ ...base, side: 'primary', state: 'failing-over' }).run).toBe(false);
    for (const state of ['failing-over', 'backup']) expect(decideGate({ ...base, side: 'twin', state })).toEqual({ run: true });
  });

  it('fails open for the primary when the state is unknown, unreadable or stale; never for the twin', () => {
    const cases = [
      { state: undefined, reason: 'no state for the unit' },
      { stateAgeMs: undefined, reason: 'no readable state file' },
      { stateAgeMs: 120_000, reason: 'state is stale (written 2m ago)' },
      { state: 'weird', reason: 'unknown state "weird"' },
    ];
    for (const { reason, ...over } of cases) {
      expect(decideGate({ ...base, ...over, side: 'primary' })).toEqual({ run: true, reason: `${reason}: failing open` });
      expect(decideGate({ ...base, ...over, side: 'twin' })).toEqual({ run: false, reason: `${reason}: the twin never runs on a guess` });
    }
  });

  it('runs the twin by hand whatever the state', () => {
    expect(decideGate({ ...base, side: 'twin', stateAgeMs: undefined, manual: true })).toEqual({ run: true });
  });
});

describe('runRecorded', () => {
  it('passes stdout and the exit code through, and records start and end', async () => {
    const wrapper = await spawnWrapper([node, '-e', "console.log('hello from the job'); process.exit(3)"]);
    expect(wrapper.exitCode).toBe(3);
    expect(wrapper.stdout).toBe('hello from the job');
    const [start, end] = await ledgerLines();
    expect(start).toMatchObject({ unit: 'cron:backup', side: 'primary', event: 'start', pid: expect.any(Number) as number });
    expect(end).toMatchObject({ run: start!.run, event: 'end', exitCode: 3, signal: null, reason: 'exit 3' });
    expect(end!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('hands SIGTERM to the command and records the signal', async () => {
    const wrapper = spawnWrapper(holder(join(dir, 'child.pid')));
    const child = await pidFrom(join(dir, 'child.pid'));
    wrapper.kill('SIGTERM');
    expect((await wrapper).exitCode).toBe(143);
    expect(isProcessAlive(child)).toBe(false);
    expect((await ledgerLines()).at(-1)).toMatchObject({ event: 'end', exitCode: null, signal: 'SIGTERM', reason: 'killed by SIGTERM' });
  });

  it('holds signal handlers only while a forwarding run is under way', async () => {
    const before = process.listenerCount('SIGTERM');
    const forwarding = runRecorded(options({ command: ['sh', '-c', 'sleep 0.3'] }));
    await waitFor(() => process.listenerCount('SIGTERM') === before + 1, { timeoutMs: 5_000, what: 'a SIGTERM handler' });
    await forwarding;
    expect(process.listenerCount('SIGTERM')).toBe(before);
    const marker = join(dir, 'running');
    const quiet = runRecorded(options({ command: ['sh', '-c', `touch '${marker}'; sleep 0.3`], forwardSignals: false }));
    await waitFor(() => existsSync(marker), { timeoutMs: 5_000, what: 'the quiet run under way' });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await quiet;
  });

  it('records interrupted when the wrapper exits before the command', async () => {
    const wrapper = spawnWrapper(holder(join(dir, 'child.pid')));
    const child = await pidFrom(join(dir, 'child.pid'));
    await waitFor(async () => (await ledgerLines().catch(() => [])).length === 1, { timeoutMs: 10_000, what: 'start line' });
    // The command outlives the wrapper and holds its stdout: wait for the wrapper's own exit.
    const exited = new Promise<number | null>((resolve) => wrapper.once('exit', resolve));
    wrapper.kill('SIGUSR2');
    expect(await exited).toBe(9);
    expect((await ledgerLines()).map((e) => e.event)).toEqual(['start', 'interrupted']);
    expect((await ledgerLines())[1]).toMatchObject({ reason: 'the wrapper exited before the command', exitCode: null });
    process.kill(child, 'SIGKILL');
    await wrapper;
  });

  it('on timeout kills the whole process group, SIGKILL for what ignores SIGTERM', async () => {
    const quoted = (words: string[]) => words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    // The shell leads the group; one stubborn program runs in the background, one in the foreground.
    const line = `${quoted(holder(join(dir, 'bg.pid'), true))} & ${quoted(holder(join(dir, 'fg.pid'), true))}; wait`;
    const outcome = runRecorded(options({ command: [line], shell: true, timeoutMs: 2_000, killAfterMs: 500 }));
    const pids = [await pidFrom(join(dir, 'bg.pid')), await pidFrom(join(dir, 'fg.pid'))];
    expect(await outcome).toMatchObject({ timedOut: true, exitCode: 143, signal: 'SIGTERM', skipped: false });
    for (const pid of pids) await waitFor(() => !isProcessAlive(pid), { timeoutMs: 5_000, what: `process ${pid} gone` });
    expect((await ledgerLines()).at(-1)).toMatchObject({ event: 'end', reason: 'timed out after 2000ms', signal: 'SIGTERM' });
  });

  it('still runs the command and passes its code when the ledger cannot be written, with one warning', async () => {
    await writeFile(join(dir, 'blocker'), '');
    const warnings: string[] = [];
    const marker = join(dir, 'ran');
    const outcome = await runRecorded(options({
      command: [node, '-e', 'require("fs").writeFileSync(process.argv[1], ""); process.exit(4)', marker],
      ledger: new Ledger({ dir: join(dir, 'blocker', 'ledger') }),
      warn: (line) => warnings.push(line),
    }));
    expect(outcome.exitCode).toBe(4);
    expect(existsSync(marker)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^redundancy: the run ledger could not be written, the command runs anyway: .*append failed/);
    expect(warnings[0]).not.toContain('\n');
  });

  it('still runs the command when the ledger throws instead of rejecting', async () => {
    const warnings: string[] = [];
    const broken = { append: () => { throw new Error('boom'); }, appendSync: () => { throw new Error('boom'); } };
    const outcome = await runRecorded(options({ command: ['sh', '-c', 'exit 5'], ledger: broken, warn: (l) => warnings.push(l) }));
    expect(outcome.exitCode).toBe(5);
    expect(warnings).toHaveLength(1);
  });

  it('with the gate closed records skipped and exits 0 without running', async () => {
    const marker = join(dir, 'ran');
    const outcome = await runRecorded(options({ command: ['touch', marker], gate: { run: false, reason: 'unit is on its twin' } }));
    expect(outcome).toEqual({ exitCode: 0, signal: null, timedOut: false, durationMs: 0, skipped: true });
    expect(existsSync(marker)).toBe(false);
    expect(await ledgerLines()).toEqual([expect.objectContaining({ event: 'skipped', reason: 'unit is on its twin', pid: null })]);
  });

  it('records why a command could not run and exits 127, and a piped failure with its last stderr line', async () => {
    expect((await runRecorded(options({ command: [join(dir, 'no-such-program')] }))).exitCode).toBe(127);
    expect((await ledgerLines()).at(-1)?.reason).toMatch(/^could not run: .*ENOENT/);
    await runRecorded(options({ command: ['sh', '-c', 'echo first >&2; echo "disk full" >&2; exit 2'], attempt: 2 }));
    expect((await ledgerLines()).at(-1)).toMatchObject({ exitCode: 2, reason: 'exit 2: disk full', attempt: 2 });
  });

  it('leaves 100 whole start lines and 100 whole end lines after 100 concurrent runs', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => runRecorded(options({ command: ['sh', '-c', `exit ${i % 4}`], slot: i }))),
    );
    expect(outcomes.map((o) => o.exitCode)).toEqual(outcomes.map((_, i) => i % 4));
    const text = await readFile(join(dir, 'ledger', 'cron_backup.jsonl'), 'utf8');
    const events = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LedgerEvent);
    expect(events.filter((e) => e.event === 'start')).toHaveLength(100);
    const ends = events.filter((e) => e.event === 'end');
    expect(ends).toHaveLength(100);
    const startsById = new Map(events.filter((e) => e.event === 'start').map((e) => [e.run, e]));
    for (const end of ends) expect(end.exitCode).toBe(startsById.get(end.run)!.slot! % 4);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });
});
