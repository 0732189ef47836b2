import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CronEntry, parseCrontab } from './crontab-parser.js';
import { cronDFileAccepted, nameUnits, programName } from './unit-names.js';

function parse(text: string): CronEntry[] {
  const { entries, errors } = parseCrontab(text, { file: 'crontab', userField: false });
  expect(errors).toEqual([]);
  return entries;
}

const names = (text: string): string[] => nameUnits(parse(text)).map((n) => n.name);
const hash6 = (schedule: string, command: string): string =>
  createHash('sha256').update(`${schedule}\n${command}`).digest('hex').slice(0, 6);

describe('programName', () => {
  it.each([
    ['/opt/x/backup-db.sh', 'backup-db'],
    ['/opt/x/backup-db.sh --full > /var/log/b.log 2>&1', 'backup-db'],
    ['node scripts/sync.mjs', 'sync'],
    ['/usr/bin/node --max-old-space-size=4096 -r dotenv/config dist/jobs/report.js', 'report'],
    ['NODE_ENV=production TZ=UTC node dist/cleanup.js', 'cleanup'],
    ['cd /srv/app && ./bin/rotate-logs', 'rotate-logs'],
    ['cd /srv/app; python3 -u tools/import_feed.py', 'import_feed'],
    ['nice -n 19 ionice -c3 /usr/local/bin/reindex', 'reindex'],
    ['timeout -s KILL 30m flock -n /tmp/sync.lock node sync.js', 'sync'],
    ['flock -w 10 /run/lock/x -c "/opt/bin/heavy.sh arg"', 'heavy'],
    ['/usr/bin/env python3 /opt/jobs/prune.py', 'prune'],
    ["bash -lc 'cd /srv && exec ./nightly.sh'", 'nightly'],
    ['sh /opt/jobs/mirror.sh', 'mirror'],
    ['python3 -m app.jobs.cleanup', 'cleanup'],
    ['python3 -c "print(1)"', 'python3'],
    ['deno run -A jobs/fetch.ts', 'fetch'],
    ['npm --prefix /srv/app run build:nightly', 'build:nightly'],
    ['sudo -u www-data php artisan schedule:run', 'artisan'],
    ['test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )', 'run-parts'],
    ['"/opt/my jobs/send report.sh"', 'send report'],
    ['/usr/bin/certbot renew -q', 'certbot'],
  ])('%s -> %s', (command, expected) => {
    expect(programName(command)).toBe(expected);
  });
});

describe('nameUnits', () => {
  it('uses the name hint, else the sanitised program name', () => {
    expect(names('# redundancy: name=Nightly_DB\n0 3 * * * /opt/backup.sh\n*/5 * * * * /opt/Send Mail.PY\n@reboot start-app')).toEqual([
      'nightly_db',
      'send',
      'start-app',
    ]);
  });

  it('suffixes every colliding entry without a hint with a hash of schedule and command', () => {
    const text = '0 1 * * * /opt/sync.sh a\n0 2 * * * node sync.js\n0 3 * * * /opt/other.sh';
    expect(names(text)).toEqual([`sync-${hash6('0 1 * * *', '/opt/sync.sh a')}`, `sync-${hash6('0 2 * * *', 'node sync.js')}`, 'other']);
  });

  it('does not depend on line order', () => {
    const lines = ['0 1 * * * /opt/sync.sh a', '@daily   node sync.js', '# redundancy: name=sync\n0 4 * * * /x/y', '0 3 * * * /opt/other.sh'];
    const forward = nameUnits(parse(lines.join('\n'))).map((n) => `${n.entry.command}=${n.name}`);
    const backward = nameUnits(parse([...lines].reverse().join('\n'))).map((n) => `${n.entry.command}=${n.name}`);
    expect([...backward].sort()).toEqual([...forward].sort());
    expect(forward).toContain('/x/y=sync');
  });

  it('keeps the first of colliding hints and hash-suffixes the others', () => {
    const text = '# redundancy: name=job\n0 1 * * * /a\n# redundancy: name=job\n0 2 * * * /b';
    expect(names(text)).toEqual(['job', `job-${hash6('0 2 * * *', '/b')}`]);
  });

  it('numbers identical lines so names stay unique', () => {
    const [a, b, c] = names('0 1 * * * /opt/x.sh\n0   1 * * * /opt/x.sh\n0 1 * * * /opt/x.sh');
    expect(b).toBe(`${a}-2`);
    expect(c).toBe(`${a}-3`);
  });

  it('falls back to "job" when nothing usable is left', () => {
    expect(names('0 1 * * * "!!!"')).toEqual(['job']);
  });
});

describe('cronDFileAccepted', () => {
  it.each(['php', 'e2scrub_all', 'redundancy-backup', 'SYSSTAT'])('accepts %s', (name) => {
    expect(cronDFileAccepted(name)).toEqual({ ok: true });
  });

  it.each([
    ['.placeholder', 'hidden'],
    ['#backup#', '"#"'],
    ['backup~', '"~"'],
    ['backup.rpmsave', 'package-manager'],
    ['backup.rpmnew', 'package-manager'],
    ['backup.dpkg-dist', 'package-manager'],
    ['backup.dpkg-old', 'package-manager'],
    ['backup.cron', 'run-parts'],
    ['my backup', 'run-parts'],
    ['', 'empty'],
  ])('refuses %j (%s)', (name, reason) => {
    const result = cronDFileAccepted(name);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('looks at the base name of a path', () => {
    expect(cronDFileAccepted('/etc/cron.d/backup')).toEqual({ ok: true });
    expect(cronDFileAccepted('/etc/cron.d/backup.sh').ok).toBe(false);
  });
});
