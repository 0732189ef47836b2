import { describe, expect, it } from 'vitest';
import { type CronEntry, parseCrontab } from './crontab-parser.js';

const file = '/var/spool/cron/app';

function entries(text: string, userField = false): CronEntry[] {
  const result = parseCrontab(text, { file, userField });
  expect(result.errors).toEqual([]);
  return result.entries;
}

function only(text: string, userField = false): CronEntry {
  const list = entries(text, userField);
  expect(list).toHaveLength(1);
  return list[0] as CronEntry;
}

function errors(text: string, userField = false) {
  return parseCrontab(text, { file, userField }).errors;
}

describe('parseCrontab entries', () => {
  it('reads five fields separated by tabs or runs of spaces, then the command', () => {
    const entry = only('*/5\t*  * *   *   /opt/x/backup-db.sh --full  \n');
    expect(entry).toMatchObject({
      file,
      line: 1,
      schedule: '*/5 * * * *',
      parsed: { kind: 'cron', expr: '*/5 * * * *' },
      command: '/opt/x/backup-db.sh --full  ',
      commandForShell: '/opt/x/backup-db.sh --full  ',
      env: {},
      shell: '/bin/sh',
      raw: '*/5\t*  * *   *   /opt/x/backup-db.sh --full  ',
    });
    expect(entry.user).toBeUndefined();
    expect(entry.stdin).toBeUndefined();
    expect(entry.tz).toBeUndefined();
  });

  it('reads nicknames, @reboot included', () => {
    const [daily, reboot] = entries('@daily  node scripts/sync.mjs\n@reboot /opt/start.sh');
    expect(daily).toMatchObject({ schedule: '@daily', parsed: { kind: 'cron', expr: '0 0 * * *' }, command: 'node scripts/sync.mjs' });
    expect(reboot).toMatchObject({ line: 2, schedule: '@reboot', parsed: { kind: 'reboot' }, command: '/opt/start.sh' });
  });

  it('reads the user field in /etc/crontab and cron.d format', () => {
    expect(only('17 * * * * root cd / && run-parts /etc/cron.hourly', true)).toMatchObject({
      user: 'root',
      command: 'cd / && run-parts /etc/cron.hourly',
    });
    expect(only('@weekly\tbackup\t/usr/local/bin/rotate', true)).toMatchObject({ user: 'backup', command: '/usr/local/bin/rotate' });
  });

  it('treats a line that starts like a schedule as an entry even with "=" in the command', () => {
    const entry = only('*/5 * * * * PATH="$PATH:/x" cmd');
    expect(entry.command).toBe('PATH="$PATH:/x" cmd');
    expect(entry.env).toEqual({});
  });

  it('drops cronie prefixes: a leading "-" (no syslog) and a "-n " option', () => {
    expect(only('-0 1 * * * /bin/quiet')).toMatchObject({ schedule: '0 1 * * *', command: '/bin/quiet', raw: '-0 1 * * * /bin/quiet' });
    expect(only('0 1 * * * -n  /bin/mail-on-error').command).toBe('/bin/mail-on-error');
  });
});

describe('parseCrontab percent signs', () => {
  it('splits at the first unescaped "%" and turns later ones into newlines', () => {
    const entry = only('0 0 * * * mail -s "report" ops%line one%line two');
    expect(entry).toMatchObject({ command: 'mail -s "report" ops', commandForShell: 'mail -s "report" ops', stdin: 'line one\nline two\n' });
  });

  it('keeps "\\%" as written in command and unescapes it for the shell', () => {
    const entry = only('0 0 * * * date +\\%Y-\\%m-\\%d > /tmp/d');
    expect(entry.command).toBe('date +\\%Y-\\%m-\\%d > /tmp/d');
    expect(entry.commandForShell).toBe('date +%Y-%m-%d > /tmp/d');
    expect(entry.stdin).toBeUndefined();
  });

  it('follows do_command.c for other backslashes and for stdin', () => {
    expect(only('0 0 * * * printf "a\\tb\\\\%in\\%put%"').commandForShell).toBe('printf "a\\tb\\\\');
    expect(only('0 0 * * * cat %100\\% done%').stdin).toBe('100% done\n');
    expect(only('0 0 * * * cat %').stdin).toBeUndefined();
  });
});

describe('parseCrontab environment', () => {
  const text = [
    'SHELL=/bin/bash',
    'PATH = /usr/local/bin:/usr/bin',
    "MAILTO=''",
    'GREETING="  hi there  "',
    "CRON_TZ='Europe/Paris'   ",
    '0 6 * * * /opt/morning.sh',
    'CRON_TZ=UTC',
    'PATH=/bin',
    '0 7 * * * /opt/later.sh',
  ].join('\n');

  it('applies settings to the entries after them, in order of appearance', () => {
    const [morning, later] = entries(text);
    expect(morning?.env).toEqual({
      SHELL: '/bin/bash',
      PATH: '/usr/local/bin:/usr/bin',
      MAILTO: '',
      GREETING: '  hi there  ',
      CRON_TZ: 'Europe/Paris',
    });
    expect(Object.keys(morning?.env ?? {})).toEqual(['SHELL', 'PATH', 'MAILTO', 'GREETING', 'CRON_TZ']);
    expect(morning).toMatchObject({ shell: '/bin/bash', tz: 'Europe/Paris' });
    expect(later).toMatchObject({ tz: 'UTC', env: { PATH: '/bin', CRON_TZ: 'UTC' } });
  });

  it('trims unquoted values, CRLF included', () => {
    expect(only('A = b c \r\n* * * * * x').env).toEqual({ A: 'b c' });
  });
});

describe('parseCrontab comments and name hints', () => {
  it('skips comments and blank lines and takes a name hint from the line directly above', () => {
    const list = entries('# nightly\n\n   # redundancy: name=db-backup\n0 3 * * * /opt/backup.sh\n# redundancy: name=lost\n\n@hourly x\n');
    expect(list.map((e) => [e.line, e.nameHint])).toEqual([
      [4, 'db-backup'],
      [7, undefined],
    ]);
  });
});

describe('parseCrontab errors', () => {
  it('reports a bad field with its column in the raw line and goes on', () => {
    const result = parseCrontab('SHELL=/bin/bash\n  0 24 * * * /a\n*/5 * * * * /b\n0 0 * * mon-fry /c\n', { file, userField: false });
    expect(result.entries.map((e) => e.line)).toEqual([3]);
    expect(result.errors).toEqual([
      { file, line: 2, column: 5, message: 'expected an hour 0-23, "*", a range, a list or a step, got "24"' },
      { file, line: 4, column: 13, message: expect.stringMatching(/^expected a day of week 0-7 or sun-sat, .*, got "fry"$/) },
    ]);
  });

  it('reports a missing command, user or field at the end of the line', () => {
    expect(errors('0 0 * * *   ')).toEqual([{ file, line: 1, column: 10, message: 'expected a command after the schedule, got the end of the line' }]);
    expect(errors('@daily root', true)[0]).toMatchObject({ column: 12, message: 'expected a command after the user name root, got the end of the line' });
    expect(errors('@daily', true)[0]?.message).toBe('expected a user name and a command after the schedule, got the end of the line');
    expect(errors('0 0 * *')[0]).toMatchObject({ column: 8, message: expect.stringMatching(/^expected a day of week/) });
    expect(errors('0 0 * * * -n ')[0]?.message).toBe('expected a command after "-n", got the end of the line');
  });

  it('catches six time fields and unknown options like cronie', () => {
    expect(errors('0 0 * * * * /a')[0]).toMatchObject({ column: 11, message: 'expected a command after five time fields, got "*"' });
    expect(errors('0 0 * * * -x /a')[0]).toMatchObject({ column: 11 });
    expect(errors('5 4 * * sun root /a\n5 4 * * * * root /a', true)).toEqual([
      { file, line: 2, column: 11, message: 'expected a user name after five time fields, got "*"' },
    ]);
  });

  it('reports lines that are neither entries, settings nor comments', () => {
    expect(errors('  run-backup nightly')).toEqual([
      {
        file,
        line: 1,
        column: 3,
        message: 'expected a schedule (five fields or an @nickname), an environment setting NAME=value or a comment, got "run-backup"',
      },
    ]);
    expect(errors('@often /a')[0]?.column).toBe(1);
    expect(errors('A="unclosed')[0]).toMatchObject({ column: 3, message: 'expected a closing " for the value of A, got "\\"unclosed"' });
    expect(errors("A='x' y")[0]).toMatchObject({ column: 7, message: "expected the end of the line after the quoted value of A, got \"y\"" });
    expect(errors('~ * * * * /a')[0]?.message).toContain('random');
  });
});
