import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { beCron, crontabOf, ledgerOf, throwawayCronUser, wrappedLineOf } from './helpers/cron-user.js';
import { cliPath, type TestProject } from './helpers/project.js';
import { pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * Cron units against the real `crontab` of a throwaway user: the wrapped crontab, its install and
 * removal, and the inventory's answers to bad input. Root's crontab is checked unchanged at the end.
 */
const session = pm2Session();
const cron = throwawayCronUser('k');

const projectCrontab = '# redundancy: name=job\n* * * * * sh job.sh\n';
const jobSh = 'echo "job ran in $(pwd)" >> runs.log\n';

const inventoryIds = async (project: TestProject) => {
  const r = await project.cli('--json', 'inventory');
  expect(r.exitCode).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ id: string; source: { file: string } }>).map((u) => `${u.id} ${u.source.file.replace(project.dir, '.')}`);
};

describe('the wrapped crontab', () => {
  const userOriginal = 'MAILTO=""\n# my own line\n*/10 * * * * /usr/bin/touch user-line-ran\n';
  let project: TestProject;
  let before: string[];
  const backups = async () => (await readdir(join(project.dir, '.redundancy')).catch(() => [])).filter((f) => f.startsWith('crontab.backup-'));

  beforeAll(async () => {
    project = await session.project({
      'automation/crontab': projectCrontab,
      'job.sh': jobSh,
      'redundancy.config.yaml': `sources:\n  cron: { userCrontab: true, user: ${cron.user} }\n`,
    });
    await execa('crontab', ['-u', cron.user, '-'], { input: userOriginal });
  });

  it('twins --write writes automation/redundancy/crontab.wrapped: lines cron can run as they are, crontab untouched', async () => {
    before = await inventoryIds(project);
    expect(before).toEqual(['cron:job ./automation/crontab', 'cron:touch crontab -l']);
    const r = await project.cli('twins', '--write');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('wrote automation/redundancy/crontab.wrapped (2 wrapped lines)');
    const text = await readFile(join(project.dir, 'automation/redundancy/crontab.wrapped'), 'utf8');
    const line = `* * * * * '${process.execPath}' '${cliPath}' run cron:job --cwd '${project.dir}' -- /bin/sh -c 'sh job.sh'`;
    expect(text.split('\n')).toContain(line);
    expect(await crontabOf(cron.user)).toBe(userOriginal);
    expect(await beCron(line, cron.home)).toMatchObject({ exitCode: 0 });
    expect(await readFile(join(project.dir, 'runs.log'), 'utf8')).toBe(`job ran in ${project.dir}\n`);
    expect((await ledgerOf(project, 'cron:job')).map((e) => e.event)).toEqual(['start', 'end']);
  });

  it('twins --install-crontab --dry-run prints the diff and changes nothing', async () => {
    const r = await project.cli('twins', '--install-crontab', '--dry-run');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('crontab: would change:\n--- crontab (current)\n+++ crontab (new)\n');
    expect(r.stdout).toContain('\n-*/10 * * * * /usr/bin/touch user-line-ran\n');
    expect(r.stdout).toContain(`\n+# BEGIN redundancy ${project.dir}\n`);
    expect(await crontabOf(cron.user)).toBe(userOriginal);
    expect(await backups()).toEqual([]);
  });

  it('twins --install-crontab moves the user line into the block, once; the inventory keeps the unit ids', async () => {
    const r = await project.cli('twins', '--install-crontab');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/crontab: installed \d+ wrapped lines \(old crontab kept as \.redundancy\/crontab\.backup-/);
    const installed = await crontabOf(cron.user);
    const lines = installed.split('\n');
    expect(lines.slice(0, 2)).toEqual(['MAILTO=""', '# my own line']);
    const [from, to] = [lines.indexOf(`# BEGIN redundancy ${project.dir}`), lines.indexOf(`# END redundancy ${project.dir}`)];
    expect(from).toBe(2);
    expect(to).toBeGreaterThan(from);
    // Moved, not left beside the wrapped copy: outside the block the line is gone, inside it is a comment.
    expect(lines.filter((l) => l.endsWith('/usr/bin/touch user-line-ran'))).toEqual(['# redundancy-original: */10 * * * * /usr/bin/touch user-line-ran']);
    const wrapped = lines.filter((l) => l.includes(` '${cliPath}' run `));
    expect(wrapped).toHaveLength(2);
    expect(wrapped.every((l) => lines.indexOf(l) > from && lines.indexOf(l) < to)).toBe(true);
    expect(await backups()).toHaveLength(1);
    expect(await readFile(join(project.dir, '.redundancy', (await backups())[0]!), 'utf8')).toBe(userOriginal);

    const again = await project.cli('twins', '--install-crontab');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('crontab: already up to date');
    expect(await crontabOf(cron.user)).toBe(installed);
    expect(await backups()).toHaveLength(1);

    expect(await inventoryIds(project)).toEqual(before);
  });

  it('the wrapped user line runs as cron runs it: in HOME, recorded under the same unit', async () => {
    const r = await beCron(await wrappedLineOf(cron.user, 'cron:touch'), cron.home);
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(cron.home, 'user-line-ran'))).toBe(true);
    expect((await ledgerOf(project, 'cron:touch')).map((e) => [e.side, e.event, e.exitCode])).toEqual([['primary', 'start', null], ['primary', 'end', 0]]);
  });

  it('stop --cleanup puts the original lines back and removes the block', async () => {
    const r = await project.cli('stop', '--cleanup');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('restored the crontab');
    expect(await crontabOf(cron.user)).toBe(userOriginal);
    expect(await inventoryIds(project)).toEqual(before);
    expect((await project.cli('stop', '--cleanup')).stdout).not.toContain('restored the crontab');
  });
});

describe('bad input', () => {
  const badCrontab = `${projectCrontab}61 * * * * echo typo\n# redundancy: name=other\n0 4 * * * echo other\n`;

  it('an unparseable crontab line: exit 78 and one line naming file:line:column; skipInvalid makes it a warning', async () => {
    const project = await session.project({ 'automation/crontab': badCrontab });
    const r = await project.cli('inventory');
    expect(r.exitCode).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^redundancy: (\/\S+\/)?automation\/crontab:3:1: [^\n]*"61"[^\n]*$/);

    await project.write('redundancy.config.yaml', 'sources:\n  cron: { skipInvalid: true }\n');
    const skipped = await project.cli('inventory');
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stdout.split('\n').filter((l) => l.includes('automation/crontab:3:1:'))).toEqual([
      expect.stringMatching(/line left out \(sources\.cron\.skipInvalid\)$/),
    ]);
    expect(await inventoryIds(project)).toEqual(['cron:job ./automation/crontab', 'cron:other ./automation/crontab']);
  });

  it('a cron.d directory: a file whose name has a dot is listed as skipped, the others are read', async () => {
    const project = await session.project({
      'redundancy.config.yaml': 'sources:\n  cron: { cronD: [cron.d] }\n',
      'cron.d/backup': '# redundancy: name=nightly\n0 2 * * * root /usr/local/bin/backup\n',
      'cron.d/backup.dpkg-old': '0 3 * * * root /usr/local/bin/old\n',
      'cron.d/local.conf': '# redundancy: name=dotted\n0 5 * * * root /usr/local/bin/dotted\n',
    });
    const r = await project.cli('inventory');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${join(project.dir, 'cron.d/local.conf')}: skipped: .*no dots`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${join(project.dir, 'cron.d/backup.dpkg-old')}: skipped: `, 'm'));
    expect(await inventoryIds(project)).toEqual(['cron:nightly ./cron.d/backup']);
  });

  it('userCrontab: true with no crontab binary on PATH: one line, no stack', async () => {
    const project = await session.project({ 'automation/crontab': projectCrontab, 'redundancy.config.yaml': 'sources:\n  cron: { userCrontab: true }\n' });
    const emptyBin = await mkdtemp(join(tmpdir(), 'redundancy-nocron-'));
    try {
      for (const args of [['inventory'], ['twins', '--install-crontab']]) {
        const r = await execa(process.execPath, [cliPath, '--cwd', project.dir, ...args], { env: { ...project.env, PATH: emptyBin }, reject: false });
        expect(r.exitCode, args.join(' ')).not.toBe(0);
        expect(r.stderr).toMatch(/^redundancy: [^\n]*crontab not found: install the cron package \(Debian: apt-get install cron\)$/);
      }
    } finally {
      await rm(emptyBin, { recursive: true, force: true });
    }
  });

  it('a corrupt and a truncated ledger line are skipped with one warning each (file and line); the other runs still count', async () => {
    const project = await session.project({
      'automation/crontab': projectCrontab,
      'job.sh': jobSh,
      'redundancy.config.yaml': 'checkInterval: 200ms\nsources: { pm2: { live: false } }\n',
    });
    const unit = async () => (await status(project)).report.units?.find((u) => u.id === 'cron:job');
    const samples = (n: number) => waitFor(async () => (await unit())?.samples === n, { timeoutMs: 15_000, intervalMs: 100, what: `${n} samples` });
    const manager = session.startManager(project);
    await waitFor(async () => (await unit())?.state === 'primary', { timeoutMs: 30_000, intervalMs: 100, what: 'the manager up' });
    const file = join(project.dir, '.redundancy/ledger/cron_job.jsonl');
    expect((await project.cli('run', 'cron:job')).exitCode).toBe(0);
    await samples(1);
    await appendFile(file, '{"run": "x", garb\n');
    for (let i = 0; i < 2; i += 1) expect((await project.cli('run', 'cron:job')).exitCode).toBe(0);
    await samples(3);
    // A writer cut short: the last line has no end.
    await appendFile(file, '{"run":"cut","unit":"cron:j');
    const warnings = async () => (await readFile(join(project.dir, 'logs/redundancy.log'), 'utf8')).split('\n')
      .filter((l) => l.includes('cron_job.jsonl')).map((l) => (JSON.parse(l) as { msg: string }).msg);
    await waitFor(async () => (await warnings()).length === 2, { timeoutMs: 10_000, what: 'two ledger warnings' });
    manager.kill('SIGTERM');
    await manager;
    // Read again after each run, said once each.
    expect(await warnings()).toEqual([`${file}:3: invalid JSON, skipped`, `${file}:8: truncated line, skipped`]);
    expect(JSON.parse(await readFile(join(project.dir, 'logs/redundancy-health.json'), 'utf8'))).toMatchObject({
      units: [{ id: 'cron:job', samples: 3, errorRate: 0, runs: { lastRun: { side: 'primary', exitCode: 0, ok: true } } }],
    });
  });
});
