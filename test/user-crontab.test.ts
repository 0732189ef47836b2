import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedundancyError } from '../src/core/errors.js';
import {
  applyBlock,
  crontabDiff,
  installBlock,
  removeBlock,
  uninstallBlock,
  UserCrontab,
  type BlockEntry,
} from '../src/kinds/cron/user-crontab.js';
import { wrapLine } from '../src/kinds/cron/wrapped-line.js';

const project = '/srv/my app';
const paths = { node: '/usr/bin/node', cli: '/opt/redundancy/dist/cli/main.js', project };

function entry(name: string, schedule: string, command: string, env: Array<[string, string]> = [], stdin?: string): BlockEntry {
  const original = `${schedule} ${command}${stdin === undefined ? '' : `%${stdin}`}`;
  const wrapped = wrapLine({ unitId: `cron:${name}`, schedule, command, shell: '/bin/sh', ...(stdin === undefined ? {} : { stdin }) }, paths);
  return { wrapped, original, env, nameComment: `# redundancy: name=${name}` };
}

const backup = entry('backup', '0 3 * * *', '/srv/my\\ app/backup.sh', [['CRON_TZ', 'Europe/Paris'], ['MAILTO', 'ops@example.com']]);
const report = entry('report', '*/15 * * * *', "printf '\\%s' \"it's\" | mail -s report me", [['MAILTO', 'ops@example.com']], 'body%line 2');
const crontab = [
  'MAILTO=ops@example.com',
  '# m h dom mon dow command',
  'CRON_TZ=Europe/Paris',
  '0 3 * * * /srv/my\\ app/backup.sh   ',
  'CRON_TZ=UTC',
  '',
  `*/15 * * * * printf '\\%s' "it's" | mail -s report me%body%line 2`,
  '30 4 * * * /other/job.sh',
  '',
].join('\n');

function expectRefused(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isRedundancyError(caught) && caught.code === 'REFUSED' && pattern.test(caught.message)).toBe(true);
}

describe('applyBlock / removeBlock', () => {
  it('moves the originals into a block at the end, with the env they ran with', () => {
    const after = applyBlock(crontab, project, [backup, report]);
    expect(after).toBe(
      [
        'MAILTO=ops@example.com',
        '# m h dom mon dow command',
        'CRON_TZ=Europe/Paris',
        'CRON_TZ=UTC',
        '',
        '30 4 * * * /other/job.sh',
        '# BEGIN redundancy /srv/my app',
        'CRON_TZ=Europe/Paris',
        '# redundancy-position: 3 8',
        '# redundancy-original: 0 3 * * * /srv/my\\ app/backup.sh   ',
        '# redundancy: name=backup',
        backup.wrapped,
        'CRON_TZ=UTC',
        '# redundancy-position: 6 8',
        `# redundancy-original: ${report.original}`,
        '# redundancy: name=report',
        report.wrapped,
        '# END redundancy /srv/my app',
        '',
      ].join('\n'),
    );
    expect(applyBlock(after, project, [backup, report])).toBe(after);
    expect(removeBlock(after, project)).toBe(crontab);
    expect(removeBlock(crontab, project)).toBe(crontab);
  });

  it('puts back the originals of entries dropped from the block where they stood', () => {
    const both = applyBlock(crontab, project, [backup, report]);
    const one = applyBlock(both, project, [report]);
    expect(one).toBe(applyBlock(crontab, project, [report]));
    expect(one.split('\n').slice(0, 5)).toEqual(crontab.split('\n').slice(0, 5));
  });

  it('moves a wrapped line found outside the block in, and does not invent originals it never saw', () => {
    const missing = entry('gone', '@daily', 'true');
    const after = applyBlock(`${missing.wrapped}\n`, project, [missing]);
    expect(after.startsWith('# BEGIN')).toBe(true);
    expect(removeBlock(after, project)).toBe(`${missing.wrapped}\n`);
    expect(removeBlock(applyBlock('A=1\n', project, [missing]), project)).toBe('A=1\n');
  });

  it('puts originals where the block was, with their env around them, when the user part changed (not byte for byte)', () => {
    const installed = applyBlock(crontab, project, [backup]);
    const edited = `${installed}MAILTO=""\n5 5 * * * /added/later.sh\n`;
    const removed = removeBlock(edited, project);
    expect(removed.split('\n').slice(6)).toEqual([
      '30 4 * * * /other/job.sh',
      'CRON_TZ=Europe/Paris',
      '0 3 * * * /srv/my\\ app/backup.sh   ',
      'CRON_TZ=UTC',
      'MAILTO=""',
      '5 5 * * * /added/later.sh',
      '',
    ]);
    const again = applyBlock(edited, project, [backup]);
    expect(applyBlock(again, project, [backup])).toBe(again);
  });

  it('leaves other projects alone and refuses a broken block', () => {
    const other = `# BEGIN redundancy /other\n${backup.original}\n# END redundancy /other\n`;
    expect(applyBlock(other, project, [backup]).startsWith(other)).toBe(true);
    expectRefused(() => applyBlock(`# BEGIN redundancy ${project}\n* * * * * x\n`, project, [backup]), /line 1: .* without its END/);
    expectRefused(() => removeBlock(`# END redundancy ${project}\n`, project), /line 1: .* without its BEGIN/);
  });

  it('is idempotent and undone by removeBlock for any crontab (property)', () => {
    const pool = [backup.original, report.original, '30 4 * * * /other/job.sh', 'CRON_TZ=UTC', 'SHELL=/bin/bash', 'MAILTO=""', '# note', '', backup.wrapped];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 12 }), fc.subarray([backup, report]), (lines, entries) => {
        const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
        const once = applyBlock(text, project, entries);
        expect(applyBlock(once, project, entries)).toBe(once);
        expect(removeBlock(once, project)).toBe(text);
      }),
    );
  });

  it('diffs with context', () => {
    expect(crontabDiff('a\nb\nc\n', 'a\nc\nd\n')).toBe('--- crontab (current)\n+++ crontab (new)\n@@ -1,3 +1,3 @@\n a\n-b\n c\n+d\n');
    expect(crontabDiff('x\n', 'x\n')).toBe('');
  });
});

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('the real crontab, for a throwaway user', () => {
  const user = `rdcron${process.pid}`;
  const tab = new UserCrontab({ user });
  let backupDir: string;
  let rootBefore: string;

  beforeAll(async () => {
    rootBefore = await new UserCrontab().read();
    await execa('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    backupDir = await mkdtemp(join(tmpdir(), 'redundancy-crontab-'));
  });
  afterAll(async () => {
    await execa('crontab', ['-u', user, '-r'], { reject: false });
    await execa('userdel', [user], { reject: false });
    await rm(backupDir, { recursive: true, force: true });
    expect(await new UserCrontab().read()).toBe(rootBefore);
  });

  const backups = async () => (await readdir(backupDir)).sort();

  it('reads "" before the user has a crontab, and crontab rejects a bad line', async () => {
    expect(await tab.read()).toBe('');
    await expect(tab.write('61 * * * * x\n')).rejects.toThrow(/^crontab refused the new text: .*bad minute/);
    expect(await tab.read()).toBe('');
  });

  it('installs once, backs up, and changes nothing the second time', async () => {
    await tab.write(crontab);
    const dry = await installBlock({ crontab: tab, project, entries: [backup, report], backupDir, dryRun: true });
    expect(dry).toMatchObject({ changed: true });
    expect(dry.diff).toContain(`-${backup.original}`);
    expect(dry.diff).toContain(`+${backup.wrapped}`);
    expect(await tab.read()).toBe(crontab);
    expect(await backups()).toEqual([]);

    const first = await installBlock({ crontab: tab, project, entries: [backup, report], backupDir });
    expect(first.diff).toBe(dry.diff);
    // crontab checked and accepted the text: the wrapped lines, quotes, \% and the stdin part.
    expect(await tab.read()).toBe(applyBlock(crontab, project, [backup, report]));
    expect(await readFile(first.backup!, 'utf8')).toBe(crontab);
    expect(await backups()).toHaveLength(1);

    expect(await installBlock({ crontab: tab, project, entries: [backup, report], backupDir })).toEqual({ changed: false, diff: '' });
    expect(await backups()).toHaveLength(1);
  });

  it('uninstalls byte for byte (dry run first), then has nothing to do', async () => {
    const installed = await tab.read();
    const dry = await uninstallBlock({ crontab: tab, project, backupDir, dryRun: true });
    expect(dry.diff).toContain(`+${backup.original}`);
    expect(await tab.read()).toBe(installed);

    const done = await uninstallBlock({ crontab: tab, project, backupDir });
    expect(await tab.read()).toBe(crontab);
    expect(await readFile(done.backup!, 'utf8')).toBe(installed);
    expect(await uninstallBlock({ crontab: tab, project, backupDir })).toEqual({ changed: false, diff: '' });
    expect(await backups()).toHaveLength(2);
  });

  it.skipIf(!existsSync('/etc/debian_version'))('hits Debian cron\'s command length limit with crontab\'s own message', async () => {
    const long = entry('long', '@daily', `echo ${'x'.repeat(900)}`);
    await expect(installBlock({ crontab: tab, project, entries: [long], backupDir })).rejects.toThrow(/command too long/);
  });

  it('says in one line that crontab is missing', async () => {
    const missing = new UserCrontab({ binary: '/nonexistent/crontab' });
    await expect(missing.read()).rejects.toThrow(/^\/nonexistent\/crontab not found: install the cron package \(Debian: apt-get install cron\)$/);
  });
});
