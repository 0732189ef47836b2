import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CompiledConfigCache, ConfigSource } from '../core/config-file.js';
import type { CompiledConfig } from '../core/config-types.js';
import { version } from '../version.js';
import { writeFileAtomicSync } from './atomic-file.js';

/**
 * Compiled configs by a hash of everything they compile from (the text, its file name, the project
 * directory, the program version), so a command run on an unchanged file skips loading and parsing
 * YAML. compileConfig is pure, so a hit is exactly what compiling again would give.
 *
 * The cache only ever saves time: a directory that cannot be made, read or written (or one another
 * user owns) means compiling as if there were no cache, never an error.
 */
export class ConfigCache implements CompiledConfigCache {
  constructor(private readonly dir: string) {}

  get(source: ConfigSource): CompiledConfig | undefined {
    if (!this.usable(false)) return undefined;
    const key = keyOf(source);
    try {
      const value = JSON.parse(readFileSync(this.path(key), 'utf8')) as { key?: string; config?: CompiledConfig };
      return value.key === key ? value.config : undefined;
    } catch {
      return undefined;
    }
  }

  put(source: ConfigSource, config: CompiledConfig): void {
    if (!this.usable(true)) return;
    const key = keyOf(source);
    try {
      writeFileAtomicSync(this.path(key), JSON.stringify({ key, config }));
    } catch {
      // A full disk or a read-only home: the next run compiles again.
    }
  }

  private path(key: string): string {
    return join(this.dir, `config-${key.slice(0, 32)}.json`);
  }

  /** The directory is this user's alone: nobody else can plant a config for us to trust. */
  private usable(create: boolean): boolean {
    try {
      if (create) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const stat = statSync(this.dir);
      const uid = process.getuid?.();
      return stat.isDirectory() && (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
    } catch {
      return false;
    }
  }
}

function keyOf(source: ConfigSource): string {
  return createHash('sha256').update([version, source.cwd, source.file, source.text].join('\0')).digest('hex');
}

/** `$REDUNDANCY_CACHE_DIR`, else the XDG cache directory (`~/.cache/redundancy`). */
export function defaultConfigCache(env: NodeJS.ProcessEnv = process.env): ConfigCache {
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return new ConfigCache(env.REDUNDANCY_CACHE_DIR || join(xdg, 'redundancy'));
}
