import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostObserver } from '../helpers/host-observer.js';
import { now, summary, type Figures } from '../helpers/host-observer.js';
import type { TestHost } from '../helpers/hosts.js';
import { waitFor } from '../helpers/wait-for.js';

/** Runs of each scenario: `HOSTS_REPEAT` (3 in CI, 20 or more by hand). */
export const repeat = Number(process.env.HOSTS_REPEAT ?? 3);
export const ttlMs = Number(process.env.HOSTS_TTL_S ?? 3) * 1_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until one host's app has answered alone for a second and every other host's manager
 * reports standby: the start of a clean run.
 */
export async function settleStandby(hosts: readonly TestHost[], observer: HostObserver): Promise<{ active: TestHost; standby: TestHost }> {
  return waitFor(async () => {
    const looks = observer.since(now() - 1_000);
    if (looks.length < 10 || !looks.every((l) => l.answered.length === 1 && l.answered[0] === looks[0]!.answered[0])) return undefined;
    const active = hosts.find((h) => h.name === looks[0]!.answered[0])!;
    const others = hosts.filter((h) => h !== active);
    const reports = await Promise.all(others.map((h) => h.report()));
    if (!reports.every((r) => r?.manager.host?.role === 'standby')) return undefined;
    const view = JSON.parse((await active.project.cli('host', 'status', '--json')).stdout) as { leader: { host: string } | null; candidates: string[] };
    if (view.leader?.host !== active.name || !others.every((h) => view.candidates.includes(h.name))) return undefined;
    return { active, standby: others[0]! };
  }, { timeoutMs: 60_000, intervalMs: 250, what: 'one host active and the others standing by' });
}

/** A scenario's empty figures, already in the list `recordFigures` prints. */
export function newScenario(figures: Figures[], name: string): Figures {
  const f: Figures = { scenario: name, runs: 0, splitBrainMs: [], takeoverMs: [], unitsLost: [] };
  figures.push(f);
  return f;
}

/** Prints the figures, and appends them to HOSTS_FIGURES when set. */
export async function recordFigures(figures: Figures[]): Promise<void> {
  const lines = figures.map(summary);
  console.log(`hosts chaos figures (ttl ${ttlMs} ms):\n${lines.join('\n')}`);
  const file = process.env.HOSTS_FIGURES;
  if (file) {
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify({ at: new Date().toISOString(), ttlMs, figures })}\n`);
  }
}

/** The tail of each host's manager log, for a failure message: what the hosts did is the first question. */
export async function hostLogs(hosts: readonly TestHost[], lines = 25): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const tails = await Promise.all(hosts.map(async (h) => {
    const text = await readFile(join(h.project.dir, 'logs', 'redundancy.log'), 'utf8').catch(() => '');
    return `--- ${h.name}\n${text.trim().split('\n').slice(-lines).join('\n')}`;
  }));
  return tails.join('\n');
}
