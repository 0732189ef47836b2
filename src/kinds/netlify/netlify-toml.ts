/**
 * `netlify.toml` as Netlify's build reads it for functions (@netlify/config `functions_config.ts`,
 * zip-it-and-ship-it `config.ts`): the functions directory, and settings per function name or glob.
 * Pure apart from `readNetlifyToml`, which reads the file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { describeValue } from '../../core/errors.js';

/** Netlify's functions directory when the toml names none. */
export const defaultFunctionsDir = 'netlify/functions';

/** The `[functions]` keys @netlify/config knows; a sub-table of only these keys is one function's (or glob's) settings. */
const configProperties: ReadonlySet<string> = new Set([
  'deno_import_map',
  'directory',
  'external_node_modules',
  'ignored_node_modules',
  'included_files',
  'memory',
  'node_bundler',
  'region',
  'schedule',
  'vcpu',
]);
const nodeBundlers = ['esbuild', 'nft', 'zisi', 'none'];

/** One `[functions."<pattern>"]` table (or the top-level `[functions]` props, pattern `*`). */
export interface FunctionSettings {
  schedule?: string;
  nodeBundler?: string;
  includedFiles?: string[];
  externalNodeModules?: string[];
  /** line of the table (or of the `schedule` key when set) in the toml */
  line: number;
}

/** `line` 0: the file as a whole (missing, unreadable). */
export interface TomlProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface NetlifyTomlSettings {
  /** the toml read, when there was one */
  file?: string;
  /** absolute functions directory */
  functionsDir: string;
  functionsDirFrom: 'functions.directory' | 'build.functions' | 'default';
  /** pattern as written (`name`, `pat*`, `*`) to its settings */
  functions: Map<string, FunctionSettings>;
  /** things read but not used, as `file:line: message` */
  notes: string[];
}

export type NetlifyTomlRead = { ok: true; settings: NetlifyTomlSettings } | { ok: false; problems: TomlProblem[] };

/** Settings when there is no toml (or a broken one): the default directory under `projectDir`. */
export function defaultTomlSettings(projectDir: string): NetlifyTomlSettings {
  return { functionsDir: resolve(projectDir, defaultFunctionsDir), functionsDirFrom: 'default', functions: new Map(), notes: [] };
}

/**
 * Reads `file`. A missing file gives the defaults, unless `given` (the user named it), then a problem.
 * Paths in the toml are relative to its directory joined with `[build] base`.
 */
export async function readNetlifyToml(file: string, opts: { projectDir: string; given: boolean }): Promise<NetlifyTomlRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !opts.given) return { ok: true, settings: defaultTomlSettings(opts.projectDir) };
    const why = code === 'ENOENT' ? 'no such file' : `cannot read: ${(error as Error).message}`;
    return { ok: false, problems: [{ file, line: 0, column: 0, message: why }] };
  }
  return parseNetlifyToml(text, file);
}

export function parseNetlifyToml(text: string, file: string): NetlifyTomlRead {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const message = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    return { ok: false, problems: [{ file, line: error.line, column: error.column, message: `TOML syntax: ${message}` }] };
  }
  const locate = keyLocator(text);
  const problems: TomlProblem[] = [];
  const wrong = (path: string[], received: unknown, expected: string): void => {
    problems.push({ file, ...locate(path), message: `${formatKeyPath(path)}: expected ${expected}, got ${describeValue(received)}` });
  };
  const notes: string[] = [];
  const build = tableAt(doc, ['build'], wrong);
  const functions = tableAt(doc, ['functions'], wrong);
  const dev = tableAt(doc, ['dev'], wrong);

  const patterns = new Map<string, FunctionSettings>();
  let directory: string | undefined;
  const wildcard: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(functions ?? {})) {
    // @netlify/config: a config prop whose value is not a table of config props applies to every function.
    if (configProperties.has(key) && !isSettingsTable(value)) wildcard[key] = value;
    else if (isTable(value)) patterns.set(key, readSettings(value, ['functions', key], locate, wrong));
    else wrong(['functions', key], value, `a table of settings for the functions matching "${key}"`);
  }
  const star = readSettings(wildcard, ['functions'], locate, wrong);
  if (Object.keys(wildcard).some((k) => k !== 'directory')) {
    // As @netlify/config merges them: an explicit `[functions."*"]` wins over the top-level props.
    const explicit = patterns.get('*');
    patterns.set('*', explicit ? { ...star, ...explicit, line: explicit.schedule !== undefined ? explicit.line : star.line } : star);
  }
  const directoryValue = wildcard.directory ?? (isTable(functions?.['*']) ? functions['*'].directory : undefined);
  if (directoryValue !== undefined) {
    if (typeof directoryValue === 'string' && directoryValue !== '') directory = directoryValue;
    else wrong(['functions', 'directory'], directoryValue, 'a directory (a non-empty string)');
  }
  const legacy = build?.functions;
  if (legacy !== undefined && (typeof legacy !== 'string' || legacy === '')) wrong(['build', 'functions'], legacy, 'a directory (a non-empty string)');
  const base = build?.base;
  if (base !== undefined && typeof base !== 'string') wrong(['build', 'base'], base, 'a directory (a string)');
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };

  const from: NetlifyTomlSettings['functionsDirFrom'] = directory ? 'functions.directory' : typeof legacy === 'string' ? 'build.functions' : 'default';
  const root = resolve(dirname(file), typeof base === 'string' ? base : '.');
  const functionsDir = resolve(root, directory ?? (typeof legacy === 'string' ? legacy : defaultFunctionsDir));
  if (typeof dev?.functions === 'string' && from === 'default') {
    notes.push(`${file}:${locate(['dev', 'functions']).line}: [dev] functions is Netlify Dev's setting, not the functions directory; reading ${functionsDir}`);
  }
  return { ok: true, settings: { file, functionsDir, functionsDirFrom: from, functions: patterns, notes } };
}

type Wrong = (path: string[], received: unknown, expected: string) => void;
type Locate = (path: string[]) => { line: number; column: number };

function readSettings(table: Record<string, unknown>, path: string[], locate: Locate, wrong: Wrong): FunctionSettings {
  const out: FunctionSettings = { line: locate(path).line };
  const { schedule, node_bundler: bundler, included_files: included, external_node_modules: external } = table;
  if (schedule !== undefined) {
    if (typeof schedule === 'string') {
      out.schedule = schedule;
      out.line = locate([...path, 'schedule']).line;
    } else wrong([...path, 'schedule'], schedule, 'a string (a cron or @hourly, @daily, ...)');
  }
  if (bundler !== undefined) {
    if (typeof bundler === 'string' && nodeBundlers.includes(bundler)) out.nodeBundler = bundler;
    else wrong([...path, 'node_bundler'], bundler, `one of ${nodeBundlers.join(', ')}`);
  }
  const list = (value: unknown, key: string): string[] | undefined => {
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    wrong([...path, key], value, 'a list of strings');
    return undefined;
  };
  const includedFiles = list(included, 'included_files');
  if (includedFiles) out.includedFiles = includedFiles;
  const externalNodeModules = list(external, 'external_node_modules');
  if (externalNodeModules) out.externalNodeModules = externalNodeModules;
  return out;
}

function tableAt(doc: Record<string, unknown>, path: string[], wrong: Wrong): Record<string, unknown> | undefined {
  const value = doc[path[0]!];
  if (value === undefined) return undefined;
  if (isTable(value)) return value;
  wrong(path, value, 'a table');
  return undefined;
}

const isTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
const isSettingsTable = (value: unknown): boolean => isTable(value) && Object.keys(value).every((k) => configProperties.has(k));

/** `functions."x".schedule`: the segment under `functions` (a name or glob) quoted, the others bare. */
export function formatKeyPath(path: string[]): string {
  return path.map((key, i) => (i === 1 && path[0] === 'functions' && !configProperties.has(key) ? JSON.stringify(key) : key)).join('.');
}

/** `*` (any run of characters) and `?` (one character), as minimatch reads them against a function name. */
export function matchesPattern(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** zip-it-and-ship-it's weight: literal characters count; any wildcard costs one more, so `netlify` beats `netlify*`. */
export function patternWeight(pattern: string): number {
  const wildcards = [...pattern].filter((c) => c === '*').length;
  return pattern.length - wildcards - (wildcards === 0 ? 0 : 1);
}

/** The toml schedule for `name`: the heaviest matching pattern that sets one (an exact name beats a glob beats `*`). */
export function tomlScheduleFor(settings: NetlifyTomlSettings, name: string): { schedule: string; pattern: string; line: number } | undefined {
  let best: { schedule: string; pattern: string; line: number; weight: number } | undefined;
  for (const [pattern, s] of settings.functions) {
    if (s.schedule === undefined || !matchesPattern(pattern, name)) continue;
    const weight = pattern === name ? Number.MAX_SAFE_INTEGER : patternWeight(pattern);
    // Equal weights: the later pattern wins, as zip-it-and-ship-it merges them in order.
    if (best === undefined || weight >= best.weight) best = { schedule: s.schedule, pattern, line: s.line, weight };
  }
  return best && { schedule: best.schedule, pattern: best.pattern, line: best.line };
}

/**
 * Finds the line and column of a key path by scanning the text: `[a."b"]` headers, `k = v` and dotted
 * `k.j = v` lines. smol-toml gives no positions for values. The exact path wins, then the longest
 * written prefix of it (an inline table, or the header); line 1 when nothing matches.
 */
function keyLocator(text: string): Locate {
  const entries: Array<{ path: string[]; line: number; column: number }> = [];
  let table: string[] = [];
  let inMultiline = false;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const quotes = (raw.match(/"""|'''/g) ?? []).length;
    if (inMultiline) {
      if (quotes % 2 === 1) inMultiline = false;
      return;
    }
    if (quotes % 2 === 1) inMultiline = true;
    const start = raw.search(/\S/);
    if (start < 0 || raw[start] === '#') return;
    const header = /^\[\[?([^\]]*)\]\]?/.exec(raw.slice(start));
    if (header) {
      table = splitKey(header[1]!);
      entries.push({ path: table, line, column: start + 1 });
      return;
    }
    const assign = /^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+|\s*\.\s*)+?)\s*=/.exec(raw.slice(start));
    if (assign) entries.push({ path: [...table, ...splitKey(assign[1]!)], line, column: start + 1 });
  });
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((k, i) => k === b[i]);
  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const hit = entries.find((e) => same(e.path, path.slice(0, n)));
      if (hit) return { line: hit.line, column: hit.column };
    }
    return { line: 1, column: 1 };
  };
}

function splitKey(text: string): string[] {
  const parts: string[] = [];
  for (const m of text.matchAll(/\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^.\s"']+)\s*\.?/g)) {
    const key = m[1]!;
    parts.push(key.startsWith('"') ? (JSON.parse(key) as string) : key.startsWith("'") ? key.slice(1, -1) : key);
  }
  return parts;
}
