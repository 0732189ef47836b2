import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.js';
import { RedundancyError, errorMessage } from '../../core/errors.js';
import { writeFileAtomic } from '../../store/atomic-file.js';

export interface BlockEntry {
  /** The wrapped entry line. */
  wrapped: string;
  /** The primary line as written. */
  original: string;
  /** Env settings the entry needs, in order (SHELL, PATH, CRON_TZ, MAILTO, others). */
  env: Array<[string, string]>;
  /** e.g. `# redundancy: name=backup` */
  nameComment?: string;
}

const originalPrefix = '# redundancy-original: ';
/** `<index> <count>`: where the original stood among the user's lines, and how many there were. */
const positionPrefix = '# redundancy-position: ';
const begin = (project: string) => `# BEGIN redundancy ${project}`;
const end = (project: string) => `# END redundancy ${project}`;

type Env = Map<string, string>;
/** Values cron uses when a crontab sets nothing: only SHELL is the same in every cron. */
const defaults: ReadonlyMap<string, string> = new Map([['SHELL', '/bin/sh']]);

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

const joinLines = (lines: readonly string[]) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);
const unquote = (text: string) => (text.length >= 2 && /^["']/.test(text) && text.at(-1) === text[0] ? text.slice(1, -1) : text);

/** `name = value` as cron reads it (spaces optional, matching quotes stripped); entries and comments are not env lines. */
function parseEnv(line: string): [string, string] | undefined {
  if (/^\s*(#|$)/.test(line)) return undefined;
  const match = /^\s*("[^"]*"|'[^']*'|[^\s="']+)\s*=\s*(.*?)\s*$/.exec(line);
  return match ? [unquote(match[1]!), unquote(match[2]!)] : undefined;
}

function envOf(lines: readonly string[]): Env {
  const env: Env = new Map();
  for (const line of lines) {
    const pair = parseEnv(line);
    if (pair) env.set(...pair);
  }
  return env;
}

/** One `NAME=value` line, quoted where cron would otherwise read the value differently. */
export function envLine(name: string, value: string): string {
  if (/[\n\r\0]/.test(name + value)) throw new RedundancyError('USAGE', `env ${name}: a line break cannot go in a crontab`);
  const needsQuotes = value === '' || value !== value.trim() || unquote(value) !== value;
  return `${name}=${needsQuotes ? (value.includes('"') ? `'${value}'` : `"${value}"`) : value}`;
}

/** Env lines that take `running` to `target` (updating `running`); a name cron has no value for cannot be unset. */
function envChanges(running: Env, target: Iterable<[string, string]>): string[] {
  const lines: string[] = [];
  for (const [name, value] of target) {
    if ((running.get(name) ?? defaults.get(name)) === value) continue;
    lines.push(envLine(name, value));
    running.set(name, value);
  }
  return lines;
}

const malformed = (index: number, problem: string) =>
  new RedundancyError('REFUSED', `crontab line ${index + 1}: ${problem}; fix the crontab by hand (crontab -e)`);

/** The line range of the block of `project`, and every line inside another project's block. */
function locate(lines: readonly string[], project: string): { block?: [number, number]; foreign: Set<number> } {
  const foreign = new Set<number>();
  let block: [number, number] | undefined;
  let open: { project: string; at: number } | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    const marker = /^# (BEGIN|END) redundancy (.+)$/.exec(line);
    if (!marker) {
      if (open && open.project !== project) foreign.add(i);
      return;
    }
    const [, kind, owner] = marker as unknown as [string, 'BEGIN' | 'END', string];
    if (kind === 'BEGIN') {
      if (open) throw malformed(i, `"${line}" inside the block of ${open.project}`);
      if (owner === project && block) throw malformed(i, `a second block for ${project}`);
      open = { project: owner, at: i };
    } else {
      if (open?.project !== owner) throw malformed(i, `"${line}" without its BEGIN`);
      if (owner === project) block = [open.at, i];
      open = undefined;
    }
  });
  if (open) throw malformed(open.at, `"${begin(open.project)}" without its END`);
  return { ...(block ? { block } : {}), foreign };
}

/**
 * The new crontab text: the block of `project` is taken out (its originals put back first), every
 * `original` (or `wrapped`) line outside any block is moved into a new block appended at the end.
 * Inside, each entry gets the env lines that differ from what is in effect, the original line as a
 * comment with its position (so that removeBlock can restore it), the name comment and the wrapped
 * line; then the env of the user's part is set again for lines added after the block later.
 * No entries: no block. Idempotent. A name the user's part never sets (other than SHELL) cannot be
 * set back, so it stays in effect after the block.
 */
export function applyBlock(current: string, project: string, entries: readonly BlockEntry[]): string {
  const restored = removeBlock(current, project);
  if (entries.length === 0) return restored;
  const base = splitLines(restored);
  const { foreign } = locate(base, project);
  const moved = entries.map(() => [] as Array<{ index: number; line: string }>);
  const user = base.filter((line, index) => {
    const key = line.trimEnd();
    if (foreign.has(index) || /^\s*(#|$)/.test(key)) return true;
    const owner = entries.findIndex((entry) => entry.original.trimEnd() === key || entry.wrapped.trimEnd() === key);
    if (owner >= 0) moved[owner]!.push({ index, line });
    return owner < 0;
  });
  const endEnv = envOf(user);
  const running = new Map(endEnv);
  const block = [begin(project)];
  entries.forEach((entry, i) => {
    const needed = new Map(entry.env);
    block.push(...envChanges(running, [...needed, ...[...endEnv].filter(([name]) => !needed.has(name))]));
    for (const { index, line } of moved[i]!) block.push(`${positionPrefix}${index} ${base.length}`, `${originalPrefix}${line}`);
    if (entry.nameComment !== undefined) block.push(entry.nameComment);
    block.push(entry.wrapped);
  });
  block.push(...envChanges(running, endEnv), end(project));
  return joinLines([...user, ...block]);
}

/**
 * Takes the block of `project` out and puts its original lines back: where they stood if the
 * user's part has as many lines as when they were moved, else where the block was, with the env
 * they ran with around them. Text without the block is returned as it is. Idempotent.
 */
export function removeBlock(current: string, project: string): string {
  const lines = splitLines(current);
  const { block } = locate(lines, project);
  if (!block) return current;
  const [from, to] = block;
  const user = [...lines.slice(0, from), ...lines.slice(to + 1)];
  const before = envOf(lines.slice(0, from));
  const running = new Map(before);
  const originals: Array<{ line: string; env: Env; index?: number; count?: number }> = [];
  let position: [number, number] | undefined;
  for (const line of lines.slice(from + 1, to)) {
    const pair = parseEnv(line);
    if (pair) running.set(...pair);
    else if (line.startsWith(positionPrefix)) position = line.slice(positionPrefix.length).split(' ').map(Number) as [number, number];
    else if (line.startsWith(originalPrefix)) {
      originals.push({ line: line.slice(originalPrefix.length), env: new Map(running), ...(position ? { index: position[0], count: position[1] } : {}) });
      position = undefined;
    }
  }
  const indexes = originals.map((o) => o.index);
  const inPlace = originals.every((o) => o.count === user.length + originals.length && Number.isInteger(o.index) && o.index! < o.count!)
    && new Set(indexes).size === indexes.length;
  if (inPlace) {
    for (const o of [...originals].sort((a, b) => a.index! - b.index!)) user.splice(o.index!, 0, o.line);
    return joinLines(user);
  }
  const back = new Map(before);
  const restored = originals.flatMap((o) => [...envChanges(back, o.env), o.line]);
  user.splice(from, 0, ...restored, ...envChanges(back, before));
  return joinLines(user);
}

/** A small unified diff of two crontab texts ('' when equal), for --dry-run. */
export function crontabDiff(before: string, after: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const ops: Array<[' ' | '-' | '+', string]> = a.slice(0, head).map((line) => [' ', line]);
  ops.push(...middleDiff(a.slice(head, a.length - tail), b.slice(head, b.length - tail)));
  ops.push(...a.slice(a.length - tail).map((line): [' ', string] => [' ', line]));
  const out = ['--- crontab (current)', '+++ crontab (new)'];
  for (let i = 0; i < ops.length; ) {
    if (ops[i]![0] === ' ') {
      i += 1;
      continue;
    }
    const start = Math.max(0, i - context);
    let last = i;
    for (let j = i; j < ops.length && j - last <= 2 * context; j += 1) if (ops[j]![0] !== ' ') last = j;
    const stop = Math.min(ops.length, last + 1 + context);
    const count = (from: number, to: number, skip: string) => ops.slice(from, to).filter(([op]) => op !== skip).length;
    out.push(`@@ -${count(0, start, '+') + 1},${count(start, stop, '+')} +${count(0, start, '-') + 1},${count(start, stop, '-')} @@`);
    out.push(...ops.slice(start, stop).map(([op, line]) => op + line));
    i = stop;
  }
  return joinLines(out);
}

/** Longest common subsequence of the changed middle; past a size bound, all out then all in (still a correct diff). */
function middleDiff(a: readonly string[], b: readonly string[]): Array<[' ' | '-' | '+', string]> {
  if (a.length * b.length > 4_000_000) return [...a.map((l): ['-', string] => ['-', l]), ...b.map((l): ['+', string] => ['+', l])];
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const ops: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([' ', a[i]!]);
      i += 1;
      j += 1;
    } else if (i < a.length && (j === b.length || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) ops.push(['-', a[i++]!]);
    else ops.push(['+', b[j++]!]);
  }
  return ops;
}

/** One user's crontab through the `crontab` binary. */
export class UserCrontab {
  private readonly user: string | undefined;
  private readonly binary: string;

  /** @param opts.user another user's crontab (`crontab -u`, root only) @param opts.binary @default 'crontab' */
  constructor(opts: { user?: string; binary?: string } = {}) {
    this.user = opts.user;
    this.binary = opts.binary ?? 'crontab';
  }

  private async run(args: string[], input?: string) {
    const { execa } = await import('execa');
    const argv = [...(this.user === undefined ? [] : ['-u', this.user]), ...args];
    // LC_ALL=C: "no crontab for" is matched below. stripFinalNewline off: the text must stay byte for byte.
    const result = await execa(this.binary, argv, {
      reject: false,
      stripFinalNewline: false,
      timeout: 30_000,
      env: { LC_ALL: 'C' },
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    });
    const what = `crontab ${argv.join(' ')}`;
    if (result.exitCode === undefined) {
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') throw new RedundancyError('IO', `${this.binary} not found: install the cron package (Debian: apt-get install cron)`);
      throw new RedundancyError('IO', `${what}: ${errorMessage(result.shortMessage)}`, { cause: result.cause });
    }
    return { ...result, what, stderrLine: result.stderr.trim().split('\n').join('; ') };
  }

  /** The crontab text; '' when the user has none. */
  async read(): Promise<string> {
    const result = await this.run(['-l']);
    if (result.exitCode === 0) return result.stdout;
    if (/no crontab for/.test(result.stderr)) return '';
    throw new RedundancyError('REFUSED', `${result.what}: ${result.stderrLine}`);
  }

  /** Installs `text` (a final newline added if missing) through `crontab -`, which checks it and swaps it in atomically. */
  async write(text: string): Promise<void> {
    const result = await this.run(['-'], text === '' || text.endsWith('\n') ? text : `${text}\n`);
    if (result.exitCode !== 0) throw new RedundancyError('REFUSED', `crontab refused the new text: ${result.stderrLine}`);
  }
}

export interface CrontabChange {
  /** For a dry run: whether it would change. */
  changed: boolean;
  diff: string;
  /** Where the old text was saved. */
  backup?: string;
}

interface ChangeOptions {
  crontab: UserCrontab;
  project: string;
  backupDir: string;
  dryRun?: boolean;
  /** @default systemClock */
  clock?: Clock;
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false);
}

async function change(opts: ChangeOptions, compute: (before: string) => string): Promise<CrontabChange> {
  const before = await opts.crontab.read();
  const after = compute(before);
  if (after === before) return { changed: false, diff: '' };
  const diff = crontabDiff(before, after);
  if (opts.dryRun) return { changed: true, diff };
  const stamp = new Date((opts.clock ?? systemClock).now()).toISOString().replace(/:/g, '-');
  let backup = join(opts.backupDir, `crontab.backup-${stamp}`);
  for (let n = 1; await exists(backup); n += 1) backup = join(opts.backupDir, `crontab.backup-${stamp}-${n}`);
  await writeFileAtomic(backup, before);
  // crontab has no compare-and-swap: an edit made since the first read must not be overwritten.
  if ((await opts.crontab.read()) !== before) {
    throw new RedundancyError('REFUSED', 'the crontab changed while it was being updated; run the command again');
  }
  await opts.crontab.write(after);
  return { changed: true, diff, backup };
}

/** Reads the crontab, puts the block in (applyBlock), backs the old text up and writes; no write and no backup when nothing changes. */
export function installBlock(opts: ChangeOptions & { entries: readonly BlockEntry[] }): Promise<CrontabChange> {
  return change(opts, (before) => applyBlock(before, opts.project, opts.entries));
}

/** Takes the block out again (removeBlock), the same way as installBlock. */
export function uninstallBlock(opts: ChangeOptions): Promise<CrontabChange> {
  return change(opts, (before) => removeBlock(before, opts.project));
}
