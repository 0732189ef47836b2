import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedundancyError } from '../../core/errors.js';
import { unwrapCommand, wrapLine, type WrapInput } from './wrapped-line.js';

const paths = { node: '/usr/local/bin/node', cli: '/opt/redundancy/dist/cli/main.js', project: '/srv/app' };

/** What cron does with the command part of a line (cronie do_command.c, as documented in crontab(5)). */
function cronSplit(part: string): { command: string; stdin?: string } {
  let command = '';
  for (let i = 0; i < part.length; i += 1) {
    const ch = part[i]!;
    if (ch === '\\' && i + 1 < part.length) {
      command += part[i + 1] === '%' ? '%' : ch + part[i + 1];
      i += 1;
    } else if (ch === '%') {
      let stdin = '';
      for (let j = i + 1; j < part.length; j += 1) {
        if (part[j] === '\\' && j + 1 < part.length) {
          stdin += part[j + 1] === '%' ? '%' : `\\${part[j + 1]}`;
          j += 1;
        } else stdin += part[j] === '%' ? '\n' : part[j];
      }
      return { command, stdin: stdin === '' || stdin.endsWith('\n') ? stdin : `${stdin}\n` };
    } else command += ch;
  }
  return { command };
}

const schedule = '*/5 * * * *';
const commandPart = (line: string, user?: string) => line.slice(schedule.length + 1 + (user === undefined ? 0 : user.length + 1));

const commands = [
  'echo hi',
  "echo 'it'\\''s' \"a'b\" 'x'",
  'date +\\%Y-\\%m-\\%d',
  "printf '\\%s|' \"it's\" a\\ b 'tab\there'",
  'echo a\\\\b \\$HOME "q\\"uote" `echo tick`',
  "echo 'ends with backslash\\'",
  "echo trailing\\\\",
  'tr a-z A-Z',
  "cat; echo \"$0\"",
];

describe('wrapLine', () => {
  it('writes the line the issue describes', () => {
    const entry: WrapInput = { unitId: 'cron:backup', schedule: '0 3 * * *', command: '/srv/app/backup.sh --all', shell: '/bin/sh' };
    expect(wrapLine(entry, paths)).toBe(
      "0 3 * * * '/usr/local/bin/node' '/opt/redundancy/dist/cli/main.js' run cron:backup --cwd '/srv/app' -- /bin/sh -c '/srv/app/backup.sh --all'",
    );
  });

  it('puts the user field of cron.d lines after the schedule', () => {
    const line = wrapLine({ unitId: 'cron:x', schedule, command: 'true', shell: '/bin/bash', user: 'www-data' }, paths);
    expect(line.startsWith(`${schedule} www-data '/usr/local/bin/node' `)).toBe(true);
    expect(unwrapCommand(commandPart(line, 'www-data'))).toEqual({ unitId: 'cron:x', command: 'true', shell: '/bin/bash', cwd: '/srv/app' });
  });

  it.each(commands)('round-trips %j with and without stdin', (command) => {
    for (const stdin of [undefined, 'line1%line2\\%x']) {
      const line = wrapLine({ unitId: 'cron:job', schedule, command, shell: '/bin/sh', ...(stdin === undefined ? {} : { stdin }) }, paths);
      expect(line.endsWith(stdin === undefined ? "'" : `%${stdin}`)).toBe(true);
      expect(unwrapCommand(commandPart(line))).toEqual({ unitId: 'cron:job', command, shell: '/bin/sh', cwd: '/srv/app' });
      // No unescaped % before the stdin part: cron must not cut the quoted command short.
      expect(cronSplit(commandPart(line)).stdin === undefined).toBe(stdin === undefined);
    }
  });

  it('escapes a bare % in the command and in paths so that cron keeps it', () => {
    const line = wrapLine(
      { unitId: 'cron:50%', schedule, command: 'date +%F', shell: '/bin/sh' },
      { node: '/n o/node', cli: "/it's/cli.js", project: '/p/100%' },
    );
    expect(line).toBe(`${schedule} '/n o/node' '/it'\\''s/cli.js' run 'cron:50\\%' --cwd '/p/100\\%' -- /bin/sh -c 'date +\\%F'`);
    expect(unwrapCommand(commandPart(line))).toEqual({ unitId: 'cron:50%', command: 'date +\\%F', shell: '/bin/sh', cwd: '/p/100%' });
  });

  it('refuses paths and users that cannot be written on a crontab line', () => {
    const cases = [...['/a\\b', '/a\nb', ''].map((project) => ({ project, user: undefined })), { project: '/p', user: 'two words' }];
    for (const { project, user } of cases) {
      let caught: unknown;
      try {
        wrapLine({ unitId: 'cron:x', schedule, command: 'true', shell: '/bin/sh', ...(user === undefined ? {} : { user }) }, { ...paths, project });
      } catch (error) {
        caught = error;
      }
      expect(isRedundancyError(caught) && caught.code === 'USAGE').toBe(true);
    }
  });
});

describe('unwrapCommand', () => {
  it('accepts unquoted paths, the bin alone, and ignores the stdin part', () => {
    expect(unwrapCommand("node /x/cli.js run cron:a --cwd /p -- /bin/sh -c 'echo'%in")).toEqual({ unitId: 'cron:a', command: 'echo', shell: '/bin/sh', cwd: '/p' });
    expect(unwrapCommand('redundancy run script:b -- sh -c "echo \\"hi\\""')).toEqual({ unitId: 'script:b', command: 'echo "hi"', shell: 'sh' });
  });

  it.each([
    'echo hi',
    "docker compose run web -- sh -c 'x'",
    "node cli.js run nokind:x -- sh -c 'x'",
    "node cli.js run cron:a -- sh -c 'x' extra",
    "node cli.js run cron:a -- sh -c 'unterminated",
    "node cli.js run cron:a sh -c 'x'",
  ])('says %j is not a wrapped command', (command) => {
    expect(unwrapCommand(command)).toBeUndefined();
  });
});

describe('a wrapped line run the way cron runs it', () => {
  let dir: string;
  let fakeCli: string;
  const project = () => join(dir, "pro ject's 50%");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redundancy-wrap-'));
    fakeCli = join(dir, "fake cli's.mjs");
    // Stands in for `redundancy run`: reports its arguments on stderr, runs the rest with stdin.
    await writeFile(
      fakeCli,
      [
        "import { spawnSync } from 'node:child_process';",
        "const args = process.argv.slice(2); const at = args.indexOf('--');",
        'process.stderr.write(JSON.stringify(args.slice(0, at)));',
        "const r = spawnSync(args[at + 1], args.slice(at + 2), { stdio: 'inherit' }); process.exit(r.status ?? 1);",
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runAsCron(part: string) {
    const { command, stdin } = cronSplit(part);
    return execa('/bin/sh', ['-c', command], { input: stdin ?? '', reject: false, cwd: dir });
  }

  it('feeds the stdin part the way cron does', async () => {
    const line = wrapLine({ unitId: 'cron:job', schedule, command: 'tr a-z A-Z', shell: '/bin/sh', stdin: 'line1%line2\\%x' }, { node: process.execPath, cli: fakeCli, project: project() });
    expect((await runAsCron(commandPart(line))).stdout).toBe('LINE1\nLINE2%X');
  });

  it.each(commands)('%j gives the same output wrapped as plain', async (command) => {
    for (const stdin of [undefined, 'line1%line2\\%x\\y']) {
      const plainPart = command + (stdin === undefined ? '' : `%${stdin}`);
      const line = wrapLine(
        { unitId: 'cron:job', schedule, command, shell: '/bin/sh', ...(stdin === undefined ? {} : { stdin }) },
        { node: process.execPath, cli: fakeCli, project: project() },
      );
      const [plain, wrapped] = await Promise.all([runAsCron(plainPart), runAsCron(commandPart(line))]);
      expect(wrapped.stdout).toBe(plain.stdout);
      expect(wrapped.exitCode).toBe(plain.exitCode);
      expect(JSON.parse(wrapped.stderr.slice(wrapped.stderr.lastIndexOf('["run"')))).toEqual(['run', 'cron:job', '--cwd', project()]);
    }
  });
});
