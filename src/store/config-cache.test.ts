import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config-file.js';
import { ConfigCache, defaultConfigCache } from './config-cache.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'redundancy-cache-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ConfigCache', () => {
  it('answers the compiled config of an unchanged file, and only of that file', async () => {
    const project = tempDir();
    const cache = new ConfigCache(join(tempDir(), 'cache'));
    writeFileSync(join(project, 'redundancy.config.yaml'), 'checkInterval: 3s\n');
    const first = await loadConfig({ cwd: project, cache });
    expect(first.checkIntervalMs).toBe(3_000);
    const source = { text: 'checkInterval: 3s\n', file: 'redundancy.config.yaml', cwd: project };
    expect(cache.get(source)).toEqual(first);
    expect(cache.get({ ...source, text: 'checkInterval: 4s\n' })).toBeUndefined();
    expect(cache.get({ ...source, cwd: tempDir() })).toBeUndefined();

    writeFileSync(join(project, 'redundancy.config.yaml'), 'checkInterval: 4s\n');
    expect((await loadConfig({ cwd: project, cache })).checkIntervalMs).toBe(4_000);
  });

  it('keeps no copy of a config that does not compile: the error comes every time', async () => {
    const project = tempDir();
    const cacheDir = join(tempDir(), 'cache');
    const cache = new ConfigCache(cacheDir);
    writeFileSync(join(project, 'redundancy.config.yaml'), 'checkInterval: soon\n');
    await expect(loadConfig({ cwd: project, cache })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(loadConfig({ cwd: project, cache })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });

  it('ignores a damaged entry and a directory others may write to', async () => {
    const project = tempDir();
    const cacheDir = join(tempDir(), 'cache');
    const cache = new ConfigCache(cacheDir);
    writeFileSync(join(project, 'redundancy.config.yaml'), 'checkInterval: 3s\n');
    await loadConfig({ cwd: project, cache });
    const [entry] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, entry!), '{"key":');
    const source = { text: 'checkInterval: 3s\n', file: 'redundancy.config.yaml', cwd: project };
    expect(cache.get(source)).toBeUndefined();
    expect((await loadConfig({ cwd: project, cache })).checkIntervalMs).toBe(3_000);
    expect(cache.get(source)?.checkIntervalMs).toBe(3_000);

    chmodSync(cacheDir, 0o777);
    expect(cache.get(source)).toBeUndefined();
  });

  it('lives in REDUNDANCY_CACHE_DIR, else under XDG_CACHE_HOME', () => {
    const dir = tempDir();
    const source = { text: 'x: 1', file: 'f', cwd: dir };
    const explicit = defaultConfigCache({ REDUNDANCY_CACHE_DIR: join(dir, 'a') });
    explicit.put(source, { cwd: dir } as never);
    expect(readdirSync(join(dir, 'a'))).toHaveLength(1);
    defaultConfigCache({ XDG_CACHE_HOME: join(dir, 'xdg') }).put(source, { cwd: dir } as never);
    expect(readdirSync(join(dir, 'xdg', 'redundancy'))).toHaveLength(1);
  });
});
