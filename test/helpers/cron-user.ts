import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect } from 'vitest';
import type { LedgerEvent } from '../../src/core/schedule/ledger-event.js';
import type { TestProject } from './project.js';
import { waitFor } from './wait-for.js';

/** `crontab -l` of root as it is: compared before and after, never changed by the tests. */
async function rootCrontab(): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const r = await execa('crontab', ['-l'], { reject: false, env: { LC_ALL: 'C' } });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** useradd/userdel lock /etc/passwd: another test file doing the same makes them fail for a moment. */
async function userCommand(args: string[], what: string): Promise<void> {
  await waitFor(async () => (await execa(args[0]!, args.slice(1), { reject: false })).exitCode === 0, { timeoutMs: 30_000, intervalMs: 200, what });
}

/**
 * A throwaway user (no home) whose crontab the tests may change (`sources.cron.user`), and a temp
 * HOME for "being cron". In afterAll: the user's crontab and the user are gone, root's crontab is
 * what it was.
 */
export function throwawayCronUser(tag: string) {
  const state = { user: `rdtest${process.pid}${tag}`, home: '' };
  let rootBefore: Awaited<ReturnType<typeof rootCrontab>>;
  beforeAll(async () => {
    rootBefore = await rootCrontab();
    await userCommand(['useradd', '-M', '-s', '/usr/sbin/nologin', state.user], `useradd ${state.user}`);
    state.home = await mkdtemp(join(tmpdir(), 'redundancy-cron-home-'));
  });
  afterAll(async () => {
    await execa('crontab', ['-u', state.user, '-r'], { reject: false });
    await userCommand(['userdel', state.user], `userdel ${state.user}`);
    expect((await execa('id', [state.user], { reject: false })).exitCode).not.toBe(0);
    if (state.home) await rm(state.home, { recursive: true, force: true });
    expect(await rootCrontab()).toEqual(rootBefore);
  });
  return state;
}

/** The user's crontab text; '' when they have none. */
export async function crontabOf(user: string): Promise<string> {
  const r = await execa('crontab', ['-u', user, '-l'], { reject: false, stripFinalNewline: false, env: { LC_ALL: 'C' } });
  if (r.exitCode === 0) return String(r.stdout);
  if (/no crontab for/.test(String(r.stderr))) return '';
  throw new Error(`crontab -u ${user} -l: ${String(r.stderr)}`);
}

/** The installed line that runs `unit` through `redundancy run`. */
export async function wrappedLineOf(user: string, unit: string): Promise<string> {
  const lines = (await crontabOf(user)).split('\n').filter((l) => !l.startsWith('#') && l.includes(` run ${unit} `));
  expect(lines, `one wrapped line for ${unit}`).toHaveLength(1);
  return lines[0]!;
}

/**
 * Runs a crontab line as cron would: the command part after the schedule, `%` cut into stdin,
 * through /bin/sh -c in HOME with cron's bare environment.
 */
export async function beCron(line: string, home: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const match = /^\s*(?:@\w+|(?:\S+\s+){4}\S+)\s+(.*)$/.exec(line);
  if (!match) throw new Error(`not a crontab entry: ${line}`);
  let command = '';
  let stdin: string | undefined;
  const text = match[1]!;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === '\\' && text[i + 1] === '%') {
      command += '%';
      i += 1;
    } else if (text[i] === '%') {
      stdin = `${text.slice(i + 1).replaceAll('%', '\n')}\n`;
      break;
    } else command += text[i];
  }
  const r = await execa('/bin/sh', ['-c', command], {
    cwd: home,
    env: { PATH: '/usr/bin:/bin', HOME: home, SHELL: '/bin/sh' },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    ...(stdin === undefined ? { stdin: 'ignore' as const } : { input: stdin }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The unit's ledger events, in file order; [] before the first run. */
export async function ledgerOf(project: TestProject, unit: string): Promise<LedgerEvent[]> {
  const file = join(project.dir, '.redundancy/ledger', `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LedgerEvent);
}
