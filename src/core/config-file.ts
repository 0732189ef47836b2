import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { compileConfig } from './config.js';
import type { CompiledConfig } from './config-types.js';
import { errorMessage, RedundancyError } from './errors.js';

const candidates = ['redundancy.config.yaml', 'redundancy.config.yml'];

/** What a config compiles from: compileConfig is pure, so the same source compiles the same. */
export interface ConfigSource {
  text: string;
  file: string;
  cwd: string;
}

/** Compiled configs kept between runs, so an unchanged file is not parsed again. */
export interface CompiledConfigCache {
  get(source: ConfigSource): CompiledConfig | undefined;
  put(source: ConfigSource, config: CompiledConfig): void;
}

/**
 * Reads and compiles the config: `configPath` (relative to cwd) when given, else the first of
 * redundancy.config.yaml / .yml in cwd, else every default.
 */
export async function loadConfig(opts: { configPath?: string; cwd: string; cache?: CompiledConfigCache }): Promise<CompiledConfig> {
  const cwd = resolve(opts.cwd);
  if (opts.configPath !== undefined) {
    const text = await readText(resolve(cwd, opts.configPath), opts.configPath);
    if (text === undefined) throw new RedundancyError('CONFIG_INVALID', `${opts.configPath}: file not found`);
    return compileSource({ text, file: opts.configPath, cwd }, opts.cache);
  }
  for (const name of candidates) {
    const text = await readText(resolve(cwd, name), name);
    if (text !== undefined) return compileSource({ text, file: name, cwd }, opts.cache);
  }
  return compileConfig(undefined, { cwd });
}

function compileSource(source: ConfigSource, cache: CompiledConfigCache | undefined): CompiledConfig {
  const kept = cache?.get(source);
  if (kept) return kept;
  const config = compileConfig(parseYaml(source.text, source.file), { file: source.file, cwd: source.cwd });
  cache?.put(source, config);
  return config;
}

/** File text, or undefined when the file does not exist. */
async function readText(path: string, label: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RedundancyError('CONFIG_INVALID', `${label}: cannot read: ${firstLine(errorMessage(error))}`, { cause: error });
  }
}

/**
 * YAML 1.2, so `on`, `yes` and `no` stay strings. Syntax errors (duplicate keys included) become
 * one line `file:line:col: invalid YAML: reason`. An empty file yields undefined (every default).
 */
export function parseYaml(text: string, file: string): unknown {
  // Loaded here, not at import: a command answered from the cache never pays for the parser.
  const { LineCounter, parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', lineCounter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(Math.max(0, error.pos[0]));
    const reason = firstLine(error.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new RedundancyError('CONFIG_PARSE', `${file}:${line}:${col}: invalid YAML: ${reason}`, { cause: error });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? undefined;
  } catch (cause) {
    throw new RedundancyError('CONFIG_PARSE', `${file}: invalid YAML: ${firstLine(errorMessage(cause))}`, { cause });
  }
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}
