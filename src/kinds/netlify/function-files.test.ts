import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listFunctionFiles } from './function-files.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/netlify/', import.meta.url));
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nffiles-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

describe('listFunctionFiles', () => {
  it('the fixture site: files, folders, another runtime; dotfiles, .d.ts and other files left out', async () => {
    const dir = join(fixtures, 'site/functions');
    const { files, notes, missing } = await listFunctionFiles(dir);
    expect(missing).toBe(false);
    expect(notes).toEqual([]);
    expect(files.map((f) => [f.name, f.entry.slice(dir.length + 1), f.runtime, f.folder])).toEqual([
      ['broken', 'broken.mjs', 'js', false],
      ['cleanup', 'cleanup.js', 'js', false],
      ['digest', 'digest/index.mjs', 'js', true],
      ['hello', 'hello.mts', 'js', false],
      ['hourly-report', 'hourly-report.ts', 'js', false],
      ['legacy', 'legacy.cjs', 'js', false],
      ['override', 'override.ts', 'js', false],
      ['ping', 'ping.mjs', 'js', false],
      ['report-weekly', 'report-weekly/report-weekly.ts', 'js', true],
      ['resize', 'resize/main.go', 'go', true],
      ['sync-background', 'sync-background.mjs', 'js', false],
    ]);
    expect(files.find((f) => f.name === 'resize')?.whyNot).toBe('runtime go: the local runner runs JavaScript and TypeScript only');
  });

  it('every extension; test files are functions too; node_modules and declarations are not', async () => {
    const dir = await tree({
      'a.js': '', 'b.mjs': '', 'c.cjs': '', 'd.ts': '', 'e.mts': '', 'f.cts': '', 'g.tsx': '',
      'a.test.js': '', 'types.d.ts': '', 'more.d.mts': '', 'data.json': '', '.hidden.js': '',
      'node_modules/x/index.js': '', 'rust/Cargo.toml': '', 'go-mod/go.mod': '', 'helpers/util.js': '',
    });
    const { files } = await listFunctionFiles(dir);
    expect(files.map((f) => `${f.name}:${f.runtime}`)).toEqual(['a:js', 'a.test:js', 'b:js', 'c:js', 'd:js', 'e:js', 'f:js', 'g:js', 'go-mod:go', 'rust:rs']);
    expect(files.find((f) => f.name === 'rust')?.whyNot).toBe('runtime rs: the local runner runs JavaScript and TypeScript only');
  });

  it('inside a folder: name.* before index.*, .js before .ts before .mjs (Netlify\'s order)', async () => {
    const dir = await tree({ 'x/index.js': '', 'x/x.ts': '', 'x/x.js': '', 'y/index.ts': '', 'y/y.mjs': '', 'z/index.mts': '', 'z/helper.js': '' });
    const { files } = await listFunctionFiles(dir);
    expect(files.map((f) => f.entry.slice(dir.length + 1))).toEqual(['x/x.js', 'y/index.ts', 'z/index.mts']);
  });

  it('one name twice: the folder wins over the file, .js over .ts; the loser is noted', async () => {
    const dir = await tree({ 'dup.ts': '', 'dup.js': '', 'two.mjs': '', 'two/index.mjs': '' });
    const { files, notes } = await listFunctionFiles(dir);
    expect(files.map((f) => f.entry.slice(dir.length + 1))).toEqual(['dup.js', 'two/index.mjs']);
    expect(notes.sort()).toEqual([
      `${join(dir, 'dup.ts')}: function dup is already ${join(dir, 'dup.js')}; Netlify deploys that one and ignores this file`,
      `${join(dir, 'two.mjs')}: function two is already ${join(dir, 'two/index.mjs')}; Netlify deploys that one and ignores this file`,
    ]);
  });

  it('a missing directory is no functions, flagged', async () => {
    expect(await listFunctionFiles(join(fixtures, 'no-such-dir'))).toEqual({ files: [], notes: [], missing: true });
  });
});
