import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { parse as parseYamlText } from 'yaml';
import { configError, errorMessage, formatPath, RedundancyError } from '../../core/errors.js';
import type { Pm2AppSpec } from '../../core/types.js';
import { specFromEcosystemApp } from './app-options.js';

export interface EcosystemApp {
  spec: Pm2AppSpec;
  /** 1-based line of the app's name in the file, best effort. */
  line?: number;
}

export interface Ecosystem {
  /** Absolute path of the file read. */
  file: string;
  apps: EcosystemApp[];
}

const require = createRequire(import.meta.url);
let importGeneration = 0;

/**
 * Reads a PM2 ecosystem file in any form PM2 accepts (.cjs, .js CommonJS or ESM, .mjs, .json,
 * .yaml/.yml) and normalises its apps. Re-reading a file sees its latest edits.
 */
export async function loadEcosystem(file: string): Promise<Ecosystem> {
  const path = resolve(file);
  let text: string;
  let exported: unknown;
  try {
    text = await readFile(path, 'utf8');
    exported = await evaluate(path, text);
  } catch (cause) {
    const reason = errorMessage(cause).split('\n', 1)[0]!.trim();
    throw new RedundancyError('ECOSYSTEM_LOAD', `${file}: failed to load: ${reason}`, { cause });
  }
  const specs = normalizeEcosystem(exported, file);
  const lines = nameLines(text);
  return { file: path, apps: specs.map((spec) => withLine(spec, text, lines)) };
}

async function evaluate(path: string, text: string): Promise<unknown> {
  const ext = extname(path);
  if (ext === '.json') return parseJsonLike(text, path);
  if (ext === '.yaml' || ext === '.yml') return parseYamlText(text);
  if (ext === '.cjs' || (ext === '.js' && !(await isModulePackage(dirname(path))))) {
    // Drop the cached copy so that a re-read sees edits.
    delete require.cache[require.resolve(path)];
    return unwrapModule(require(path));
  }
  if (ext === '.mjs' || ext === '.js') {
    // ESM has no cache to clear: a new query string makes a new module (the old one stays in memory).
    return unwrapModule(await import(`${pathToFileURL(path).href}?generation=${++importGeneration}`));
  }
  throw new Error(`unsupported file type "${ext}" (expected .cjs, .js, .mjs, .json, .yaml or .yml)`);
}

/** PM2 evaluates .json ecosystem files as a JS expression (comments, trailing commas); so do we, after plain JSON. */
function parseJsonLike(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (jsonError) {
    try {
      return runInNewContext(`(${text}\n)`, {}, { filename: path, timeout: 1000 });
    } catch {
      throw jsonError;
    }
  }
}

function unwrapModule(loaded: unknown): unknown {
  const isNamespace = typeof loaded === 'object' && loaded !== null && (loaded as object)[Symbol.toStringTag as never] === 'Module';
  if (isNamespace && 'default' in (loaded as object)) return (loaded as { default: unknown }).default;
  return loaded;
}

/** Whether the nearest package.json above `dir` says `"type": "module"`, which makes `.js` ESM. */
async function isModulePackage(dir: string): Promise<boolean> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      const pkg = JSON.parse(await readFile(join(current, 'package.json'), 'utf8')) as { type?: unknown };
      return pkg.type === 'module';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    if (dirname(current) === current) return false;
  }
}

/**
 * The apps of an evaluated ecosystem file: `{ apps: [...] }`, a list of apps, or one app.
 * Pure; `file` names the file in messages and its directory anchors relative paths.
 */
export function normalizeEcosystem(exported: unknown, file: string): Pm2AppSpec[] {
  const dir = dirname(resolve(file));
  let list: unknown[];
  let prefix: Array<string | number> = [];
  if (Array.isArray(exported)) {
    list = exported;
  } else if (isMap(exported) && 'apps' in exported) {
    if (!Array.isArray(exported.apps)) throw configError('ECOSYSTEM_INVALID', file, ['apps'], exported.apps, 'a list of apps');
    list = exported.apps;
    prefix = ['apps'];
  } else if (isMap(exported) && ('script' in exported || 'exec' in exported || 'name' in exported)) {
    return [specFromEcosystemApp(exported, { file, dir, path: [] })];
  } else {
    throw configError('ECOSYSTEM_INVALID', file, [], exported, '{ apps: [...] }, a list of apps, or one app');
  }
  const seen = new Map<string, number>();
  // Array.from: a hole (`apps: [a, , b]` in a JS file) is an app that is missing, not skipped.
  return Array.from(list, (app, i) => {
    const spec = specFromEcosystemApp(app, { file, dir, path: [...prefix, i] });
    const first = seen.get(spec.name);
    if (first !== undefined) {
      const other = formatPath([...prefix, first]);
      throw configError('ECOSYSTEM_INVALID', file, [...prefix, i, 'name'], spec.name, `a name not already used by ${other}`);
    }
    seen.set(spec.name, i);
    return spec;
  });
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withLine(spec: Pm2AppSpec, text: string, lines: Map<string, number>): EcosystemApp {
  const line = lines.get(spec.name) ?? findNameLine(text, spec.name);
  return line === undefined ? { spec } : { spec, line };
}

/** Every quoted `name: "x"` with its line, in one pass: a search per app is quadratic in a large file. */
function nameLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const entry = /\bname['"]?\s*:\s*(['"`])([^'"`\n]*)\1/g;
  let line = 1;
  let scanned = 0;
  for (let match = entry.exec(text); match; match = entry.exec(text)) {
    line += countNewlines(text, scanned, match.index);
    scanned = match.index;
    if (!lines.has(match[2]!)) lines.set(match[2]!, line);
  }
  return lines;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}

/**
 * Best-effort 1-based line of an app's name: a `name: "x"` entry (JS, JSON or YAML), else any
 * string literal "x", else a script literal whose file name is x (PM2's default name).
 */
export function findNameLine(text: string, name: string): number | undefined {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns = [
    new RegExp(`\\bname['"]?\\s*:\\s*(['"\`])${n}\\1`),
    new RegExp(`^[ \\t-]*name\\s*:\\s*${n}\\s*(#.*)?$`, 'm'),
    new RegExp(`(['"\`])${n}\\1`),
    new RegExp(`(['"\`])(?:[^'"\`\\n]*/)?${n}(?:\\.\\w+)?\\1`),
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return 1 + countNewlines(text, 0, match.index);
  }
  return undefined;
}
