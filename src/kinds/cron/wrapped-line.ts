import { RedundancyError } from '../../core/errors.js';
import { unitKinds } from '../../core/types.js';

/** One primary crontab entry, split the way cron splits it. */
export interface WrapInput {
  /** e.g. `cron:backup` */
  unitId: string;
  /** The five fields or the @nickname, as written. */
  schedule: string;
  /**
   * The command as written, `\%` kept, before the first unescaped `%`. A bare `%` in it is taken
   * literally and written as `\%` (a command from the config file has no stdin part).
   */
  command: string;
  /** The raw text after the first unescaped `%`, as written, if any: cron feeds it to stdin. */
  stdin?: string;
  /** The SHELL in effect for the entry, e.g. `/bin/sh`. */
  shell: string;
  /** The user field of /etc/crontab and cron.d lines. */
  user?: string;
}

export interface WrapPaths {
  node: string;
  cli: string;
  project: string;
}

export interface Unwrapped {
  unitId: string;
  /** The original command as written (cron level: `\%` kept). */
  command: string;
  shell: string;
  /** The `--cwd` project directory, when the line has one. */
  cwd?: string;
}

const plainWord = /^[A-Za-z0-9_@+=:,./-]+$/;

/** Single quotes for sh: a `'` becomes `'\''`. */
function shQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A word cron passes through unchanged apart from `\%` -> `%`. */
function cronWord(text: string, what: string, quote: 'always' | 'when-needed'): string {
  // A backslash before `%` cannot be written so that cron keeps it (`\\%` still starts stdin).
  if (/[\\\n\r\0]/.test(text) || text === '') {
    throw new RedundancyError('USAGE', `cannot put ${what} ${JSON.stringify(text)} on a crontab line: empty, or has a backslash or a line break`);
  }
  const word = quote === 'when-needed' && plainWord.test(text) ? text : shQuote(text);
  return word.replaceAll('%', '\\%');
}

/** Cron reads the user field as one blank-delimited word, without quotes or `%` handling. */
function userField(user: string): string {
  if (!/^[^\s\0]+$/.test(user)) throw new RedundancyError('USAGE', `cannot put the user ${JSON.stringify(user)} on a crontab line`);
  return user;
}

/** `command` with every bare `%` escaped, so that cron never cuts the quoted command short. */
function escapeBarePercents(command: string): string {
  let out = '';
  for (let i = 0; i < command.length; i += 1) {
    const ch = command[i];
    if (ch === '\\' && i + 1 < command.length) {
      out += ch + command[i + 1];
      i += 1;
    } else out += ch === '%' ? '\\%' : ch;
  }
  return out;
}

/**
 * The crontab line that runs `entry` through `redundancy run`:
 * `<schedule> [user] '<node>' '<cli>' run <unitId> --cwd '<project>' -- <shell> -c '<command>'[%<stdin>]`.
 * Cron turns `\%` into `%` before the shell sees the line, so escapes inside the quoted command
 * are kept as written and the inner shell gets exactly what the primary line gave its shell.
 */
export function wrapLine(entry: WrapInput, paths: WrapPaths): string {
  for (const [what, text] of [['schedule', entry.schedule], ['command', entry.command], ['stdin', entry.stdin ?? '']] as const) {
    if (/[\n\r\0]/.test(text)) throw new RedundancyError('USAGE', `cron ${what} ${JSON.stringify(text)} has a line break`);
  }
  const words = [
    entry.schedule,
    ...(entry.user === undefined ? [] : [userField(entry.user)]),
    cronWord(paths.node, 'the node path', 'always'),
    cronWord(paths.cli, 'the CLI path', 'always'),
    'run',
    cronWord(entry.unitId, 'the unit id', 'when-needed'),
    '--cwd',
    cronWord(paths.project, 'the project path', 'always'),
    '--',
    cronWord(entry.shell, 'the shell', 'when-needed'),
    '-c',
    shQuote(escapeBarePercents(entry.command)),
  ];
  return words.join(' ') + (entry.stdin === undefined ? '' : `%${entry.stdin}`);
}

/**
 * Splits cron-level text into sh words, stopping at the first unescaped `%` outside quotes.
 * `\%` stays `\%` in every word; the caller decides what cron makes of it.
 */
function shWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
      continue;
    }
    if (ch === '%') break;
    word ??= '';
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j += 1) {
        const next = text[j + 1];
        if (text[j] === '\\' && next !== undefined && '$`"\\'.includes(next)) word += text[++j];
        else word += text[j];
      }
      if (j >= text.length) return undefined;
      i = j + 1;
    } else if (ch === '\\') {
      const next = text[i + 1] ?? '';
      word += next === '%' ? '\\%' : next;
      i += 2;
    } else {
      word += ch;
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function isUnitId(text: string): boolean {
  const colon = text.indexOf(':');
  return colon > 0 && colon < text.length - 1 && (unitKinds as readonly string[]).includes(text.slice(0, colon));
}

/**
 * Recognises the command part of a wrapped line (any node and CLI path, quoted or not, or the
 * `redundancy` bin alone) and gives back the unit and the original command as written. Text after
 * an unescaped `%` (stdin) is ignored. `undefined` for any other command.
 */
export function unwrapCommand(command: string): Unwrapped | undefined {
  const words = shWords(command);
  if (words === undefined) return undefined;
  const runAt = words[1] === 'run' ? 1 : words[2] === 'run' ? 2 : -1;
  if (runAt < 0) return undefined;
  const unescape = (word: string) => word.replaceAll('\\%', '%');
  const unitId = unescape(words[runAt + 1] ?? '');
  if (!isUnitId(unitId)) return undefined;
  let at = runAt + 2;
  let cwd: string | undefined;
  if (words[at] === '--cwd' && words[at + 1] !== undefined) {
    cwd = unescape(words[at + 1]!);
    at += 2;
  }
  const [dashes, shell, dashC, original, ...rest] = words.slice(at);
  if (dashes !== '--' || shell === undefined || dashC !== '-c' || original === undefined || rest.length > 0) return undefined;
  return { unitId, command: original, shell: unescape(shell), ...(cwd === undefined ? {} : { cwd }) };
}
