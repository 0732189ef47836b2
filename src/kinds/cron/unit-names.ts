import { createHash } from 'node:crypto';
import type { CronEntry } from './crontab-parser.js';

/**
 * Unit names for crontab entries: stable across edits that only move lines, so a collision is broken
 * by a hash of the entry's own text, never by its position.
 */
export function nameUnits(entries: readonly CronEntry[]): Array<{ entry: CronEntry; name: string }> {
  const bases = entries.map((entry) => sanitise(entry.nameHint ?? programName(entry.command)));
  const firstHinted = new Map<string, CronEntry>();
  const count = new Map<string, number>();
  entries.forEach((entry, i) => {
    const base = bases[i] as string;
    count.set(base, (count.get(base) ?? 0) + 1);
    if (entry.nameHint !== undefined && !firstHinted.has(base)) firstHinted.set(base, entry);
  });
  const used = new Set<string>();
  return entries.map((entry, i) => {
    const base = bases[i] as string;
    const keep = count.get(base) === 1 || firstHinted.get(base) === entry;
    let name = keep ? base : `${base}-${createHash('sha256').update(`${entry.schedule}\n${entry.command}`).digest('hex').slice(0, 6)}`;
    // Only identical lines (same schedule and command) can still clash; number them in order.
    for (let n = 2; used.has(name); n++) name = `${keep ? base : name.replace(/-\d+$/, '')}-${n}`;
    used.add(name);
    return { entry, name };
  });
}

function sanitise(name: string): string {
  const clean = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return clean === '' ? 'job' : clean;
}

/** Options that take a separate argument, per wrapper; `skip` is how many operands come before the command. */
const wrappers: Readonly<Record<string, { withArg: readonly string[]; skip: number }>> = {
  nice: { withArg: ['-n', '--adjustment'], skip: 0 },
  ionice: { withArg: ['-c', '-n', '--class', '--classdata'], skip: 0 },
  timeout: { withArg: ['-s', '-k', '--signal', '--kill-after'], skip: 1 },
  flock: { withArg: ['-w', '-E', '--wait', '--timeout', '--conflict-exit-code'], skip: 1 },
  env: { withArg: ['-u', '-C', '--unset', '--chdir'], skip: 0 },
  sudo: { withArg: ['-u', '-g', '--user', '--group'], skip: 0 },
  npx: { withArg: ['-p', '--package'], skip: 0 },
  nohup: { withArg: [], skip: 0 },
  exec: { withArg: [], skip: 0 },
  time: { withArg: [], skip: 0 },
  chronic: { withArg: [], skip: 0 },
  setsid: { withArg: [], skip: 0 },
};
const interpreterArgs = ['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '-W', '-X'];
const shell = /^(bash|sh|dash|zsh|ksh)$/;
const interpreter = /^(node|nodejs|bun|deno|tsx|ts-node|python[0-9.]*|perl|ruby|php[0-9.]*)$/;
const packageRunner = /^(npm|pnpm|yarn)$/;
const operator = /^(&&|\|\||;|\|)$/;
const never = /^$/;

/** The script or program a command runs, as a base name without extension (`node scripts/sync.mjs` -> `sync`). */
export function programName(command: string): string {
  const ws = words(command);
  let i = 0;
  // Skips options (and their arguments) up to the first operand or a word matching `stop`.
  const skipOptions = (withArg: readonly string[], stop: RegExp): void => {
    while (ws[i]?.startsWith('-') && ws[i] !== '-' && !stop.test(ws[i] as string)) {
      i += withArg.includes(ws[i] as string) ? 2 : 1;
      if (ws[i - 1] === '--') break;
    }
  };
  for (;;) {
    const word = ws[i];
    if (word === undefined) return 'job';
    const name = word.split('/').pop() as string;
    if (['(', '{', '!'].includes(word) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) {
      i++;
    } else if (['cd', 'test', '[', '[['].includes(word)) {
      // a guard or directory change before the real command: `cd /x && run`, `test -x /y || /y`
      const next = ws.findIndex((w, j) => j > i && operator.test(w));
      if (next < 0) return word;
      i = next + 1;
    } else if (wrappers[name] !== undefined) {
      i++;
      skipOptions(wrappers[name].withArg, never);
      i += wrappers[name].skip;
      if (name === 'flock' && /^(-c|--command)$/.test(ws[i] ?? '')) return programName(ws[i + 1] ?? '');
    } else if (shell.test(name)) {
      i++;
      skipOptions(['-o', '-O', '--rcfile', '--init-file'], /^-[a-zA-Z]*c$/);
      if (ws[i]?.startsWith('-')) return programName(ws[i + 1] ?? '');
      return ws[i] === undefined || operator.test(ws[i] as string) ? name : stem(ws[i] as string);
    } else if (interpreter.test(name)) {
      i++;
      const inline = /^(-c|-e|-p|-m|--eval|--print)$/;
      skipOptions(interpreterArgs, inline);
      if (ws[i] === 'run' && /^(deno|bun)$/.test(name)) {
        i++;
        skipOptions(interpreterArgs, inline);
      }
      const next = ws[i];
      if (next === '-m') return (ws[i + 1] ?? name).split('.').pop() as string;
      if (next === undefined || operator.test(next) || inline.test(next)) return name;
      return stem(next);
    } else if (packageRunner.test(name)) {
      i++;
      skipOptions(['--prefix', '-C', '--dir', '--cwd'], never);
      if (ws[i] === 'run' || ws[i] === 'run-script') i++;
      return ws[i] ?? name;
    } else {
      return stem(word);
    }
  }
}

function stem(word: string): string {
  const base = word.split('/').pop() as string;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Shell words with quotes removed; `&&`, `||`, `;`, `|` and parentheses come out as words of their own. */
function words(command: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  const flush = (): void => {
    if (word !== undefined) out.push(word);
    word = undefined;
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i] as string;
    const op = /^(&&|\|\||;|\||\(|\))/.exec(command.slice(i))?.[0];
    if (/\s/.test(ch) || op !== undefined) {
      flush();
      if (op !== undefined) out.push(op);
      i += (op?.length ?? 1) - 1;
    } else if (ch === "'" || ch === '"') {
      const close = command.indexOf(ch, i + 1);
      const end = close < 0 ? command.length : close;
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (ch === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else {
      word = (word ?? '') + ch;
    }
  }
  flush();
  return out;
}

const packageLeftover = /(\.rpmsave|\.rpmorig|\.rpmnew|\.dpkg-[^/]*)$/;

/** Whether cron reads a file in /etc/cron.d: cronie's skip list (database.c), then Debian's run-parts rule. */
export function cronDFileAccepted(fileName: string): { ok: true } | { ok: false; reason: string } {
  const name = fileName.split('/').pop() ?? '';
  if (name === '') return { ok: false, reason: 'the file name is empty' };
  if (name.startsWith('.')) return { ok: false, reason: 'cron skips hidden files (name starts with ".")' };
  if (name.startsWith('#')) return { ok: false, reason: 'cron skips names starting with "#" (editor autosave)' };
  if (name.endsWith('~')) return { ok: false, reason: 'cron skips names ending in "~" (editor backup)' };
  if (packageLeftover.test(name)) return { ok: false, reason: 'cron skips package-manager leftovers (.rpmsave, .rpmorig, .rpmnew, .dpkg-*)' };
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    return { ok: false, reason: 'Debian cron reads only names made of letters, digits, "_" and "-" (run-parts rule; no dots)' };
  }
  return { ok: true };
}
