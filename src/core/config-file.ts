import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { compileConfig } from './config.js';
import type { CompiledConfig } from './config-types.js';
import { errorMessage, RedundancyError } from './errors.js';

const candidates = ['redundancy.config.yaml', 'redundancy.config.yml'];

/**
 * Reads and compiles the config: `configPath` (relative to cwd) when given, else the first of
 * redundancy.config.yaml / .yml in cwd, else every default.
 */
export async function loadConfig(opts: { configPath?: string; cwd: string }): Promise<CompiledConfig> {
  const cwd = resolve(opts.cwd);
  if (opts.configPath !== undefined) {
    const text = await readText(resolve(cwd, opts.configPath), opts.configPath);
    if (text === undefined) throw new RedundancyError('CONFIG_INVALID', `${opts.configPath}: file not found`);
    return compileConfig(parseYaml(text, opts.configPath), { file: opts.configPath, cwd });
  }
  for (const name of candidates) {
    const text = await readText(resolve(cwd, name), name);
    if (text !== undefined) return compileConfig(parseYaml(text, name), { file: name, cwd });
  }
  return compileConfig(undefined, { cwd });
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
