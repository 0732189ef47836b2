import { type CronSchedule, parseCronExpression } from '../../core/schedule/cron-fields.js';

/**
 * Crontab text to entries, following cronie (src/entry.c, src/env.c, src/do_command.c). Pure: the
 * caller reads the file. Errors are collected per line and parsing goes on, as cron skips bad lines.
 */

export interface CronEntry {
  file: string;
  line: number; // 1-based
  /** the schedule as written in the line ('*\/5 * * * *' whitespace-normalised, or '@daily') */
  schedule: string;
  parsed: CronSchedule;
  user?: string; // cron.d / /etc/crontab format only
  /** the command text before the first unescaped '%', with '\%' kept as written (exactly what cron hands the shell after its own unescaping is `commandForShell`) */
  command: string;
  commandForShell: string; // '\%' -> '%'
  /** what cron writes to the command's stdin: the text after the first unescaped '%', '%' -> newline, '\%' -> '%', ending in a newline */
  stdin?: string;
  /** env lines in effect for this entry, in order of appearance (SHELL, PATH, MAILTO, CRON_TZ, any NAME=value) */
  env: Record<string, string>;
  shell: string; // env SHELL or '/bin/sh'
  tz?: string; // CRON_TZ in effect
  /** from a '# redundancy: name=<x>' comment on the line directly above */
  nameHint?: string;
  raw: string; // the line as written
}

export interface CronParseError {
  file: string;
  line: number;
  column: number;
  message: string;
}

type Token = { text: string; start: number }; // start is 0-based in the raw line
type Problem = { column: number; message: string };

// cronie reads a leading '-' as "don't syslog this run"; '~' starts one of its random fields.
const entryStart = /^-?[@*~0-9]/;
const hintComment = /^#\s*redundancy:\s*name\s*=\s*(\S+)\s*$/;
const envLine = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*([^]*)$/;

export function parseCrontab(text: string, opts: { file: string; userField: boolean }): { entries: CronEntry[]; errors: CronParseError[] } {
  const entries: CronEntry[] = [];
  const errors: CronParseError[] = [];
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let hint: string | undefined;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const nameHint = hint;
    hint = undefined;
    const start = raw.search(/[^ \t]/);
    if (start < 0) return;
    const rest = raw.slice(start);
    if (rest.startsWith('#')) {
      hint = hintComment.exec(rest)?.[1];
      return;
    }
    const outcome = entryStart.test(rest) ? parseEntry(raw, start, opts.userField) : parseSetting(raw, start, env);
    if (outcome === undefined) return;
    if ('message' in outcome) {
      errors.push({ file: opts.file, line, ...outcome });
      return;
    }
    const entry: CronEntry = { file: opts.file, line, ...outcome, env: { ...env }, shell: env.SHELL ?? '/bin/sh', raw };
    if (env.CRON_TZ) entry.tz = env.CRON_TZ;
    if (nameHint !== undefined) entry.nameHint = nameHint;
    entries.push(entry);
  });
  return { entries, errors };
}

/** An env line; undefined once stored, or the problem. Only lines that do not start like an entry get here. */
function parseSetting(raw: string, start: number, env: Record<string, string>): Problem | undefined {
  const match = envLine.exec(raw.slice(start));
  if (match === null) {
    return problem(raw, start + 1, 'a schedule (five fields or an @nickname), an environment setting NAME=value or a comment');
  }
  const name = match[1] as string;
  // cronie trims any trailing whitespace (isspace), so a CRLF file's '\r' leaves values too.
  let value = (match[2] as string).replace(/\s+$/, '');
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const valueColumn = raw.length - (match[2] as string).length + 1;
    const close = value.indexOf(quote, 1);
    if (close < 0) return problem(raw, valueColumn, `a closing ${quote} for the value of ${name}`);
    const extra = value.slice(close + 1).search(/\S/);
    if (extra >= 0) return problem(raw, valueColumn + close + 1 + extra, `the end of the line after the quoted value of ${name}`);
    value = value.slice(1, close);
  }
  env[name] = value;
  return undefined;
}

type EntryPart = Pick<CronEntry, 'schedule' | 'parsed' | 'user' | 'command' | 'commandForShell' | 'stdin'>;

function parseEntry(raw: string, start: number, userField: boolean): EntryPart | Problem {
  const from = raw[start] === '-' ? start + 1 : start;
  const tokens: Token[] = [...raw.slice(from).matchAll(/[^ \t]+/g)].map((m) => ({ text: m[0], start: from + (m.index ?? 0) }));
  const count = tokens[0]?.text.startsWith('@') ? 1 : 5;
  const last = tokens[count - 1];
  const parsed = parseCronExpression(raw.slice(from, last ? last.start + last.text.length : raw.length));
  if (!parsed.ok) return problem(raw, from + parsed.column, parsed.expected);
  const schedule = tokens.slice(0, count).map((t) => t.text).join(' ');
  const endColumn = raw.replace(/[ \t]+$/, '').length + 1;
  const next = tokens[count];
  if (next === undefined) return problem(raw, endColumn, userField ? 'a user name and a command after the schedule' : 'a command after the schedule');
  // cronie's check for a common typo: six time fields.
  if (next.text.startsWith('*')) return problem(raw, next.start + 1, `${userField ? 'a user name' : 'a command'} after five time fields`);
  let user: string | undefined;
  let commandToken = next;
  if (userField) {
    user = next.text;
    const after = tokens[count + 1];
    if (after === undefined) return problem(raw, endColumn, `a command after the user name ${user}`);
    commandToken = after;
  }
  let commandStart = commandToken.start;
  // cronie takes a leading "-n " as "mail only on error" and refuses any other option.
  const option = /^-n[ \t]+/.exec(raw.slice(commandStart));
  if (option !== null) commandStart += option[0].length;
  if (commandStart >= raw.length) return problem(raw, endColumn, 'a command after "-n"');
  if (raw[commandStart] === '-') return problem(raw, commandStart + 1, 'a command (cron reads a leading "-" as an option and knows only "-n")');
  const entry: EntryPart = { schedule, parsed: parsed.schedule, ...splitCommand(raw.slice(commandStart)) };
  if (user !== undefined) entry.user = user;
  return entry;
}

/** do_command.c: the command ends at the first unescaped '%'; '\%' loses its backslash, other '\x' stay. */
function splitCommand(text: string): Pick<CronEntry, 'command' | 'commandForShell' | 'stdin'> {
  let commandForShell = '';
  let i = 0;
  for (; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '%') break;
    if (ch === '\\' && i + 1 < text.length) {
      const next = text[++i] as string;
      commandForShell += next === '%' ? '%' : ch + next;
    } else {
      commandForShell += ch;
    }
  }
  const split: Pick<CronEntry, 'command' | 'commandForShell' | 'stdin'> = { command: text.slice(0, i), commandForShell };
  const input = text.slice(i + 1);
  if (i < text.length && input !== '') split.stdin = stdinText(input);
  return split;
}

/** The bytes cron pipes to the job: '%' -> newline, '\%' -> '%', other backslashes kept, newline-terminated. */
function stdinText(input: string): string {
  let out = '';
  let escaped = false;
  let needNewline = false;
  for (let ch of input) {
    if (escaped) {
      if (ch !== '%') out += '\\';
    } else if (ch === '%') {
      ch = '\n';
    }
    escaped = ch === '\\';
    if (!escaped) {
      out += ch;
      needNewline = ch !== '\n';
    }
  }
  if (escaped) out += '\\';
  return needNewline ? `${out}\n` : out;
}

function problem(raw: string, column: number, expected: string): Problem {
  const got = /^[^ \t,]*/.exec(raw.slice(column - 1))?.[0] ?? '';
  return { column, message: `expected ${expected}, got ${got === '' ? 'the end of the line' : JSON.stringify(got)}` };
}
