import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../test/helpers/pm2-home.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { CommandProbe } from './command-probe.js';

const node = JSON.stringify(process.execPath);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-probe-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function probe(command: string, timeoutMs = 10_000): CommandProbe {
  return new CommandProbe({ command, cwd: dir, timeoutMs });
}

describe('CommandProbe', () => {
  it('is ok when the command exits 0', async () => {
    expect(await probe(`${node} -e "process.exit(0)"`).check()).toEqual({ ok: true, reason: 'exit code 0' });
  });

  it('fails with the exit code and the last line of stderr', async () => {
    const result = await probe(`${node} -e "console.error('first'); console.error('  last line  '); process.exit(3)"`).check();
    expect(result).toEqual({ ok: false, reason: 'exit code 3: last line' });
  });

  it('fails with the exit code alone when stderr is empty', async () => {
    expect(await probe('exit 4').check()).toEqual({ ok: false, reason: 'exit code 4' });
  });

  it('clips a long stderr line to 120 characters', async () => {
    const { reason } = await probe(`${node} -e "console.error('x'.repeat(500)); process.exit(1)"`).check();
    expect(reason.startsWith('exit code 1: xxx')).toBe(true);
    expect(reason.length).toBe('exit code 1: '.length + 120);
  });

  it('runs in the given directory', async () => {
    expect(await probe(`${node} -e "process.exit(process.cwd() === process.argv[1] ? 0 : 5)" ${JSON.stringify(dir)}`).check()).toMatchObject({
      ok: true,
    });
  });

  it('times out, and kills what the shell started', async () => {
    const pidFile = join(dir, 'child.pid');
    const child = `${node} -e "require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)" ${JSON.stringify(pidFile)}`;
    const started = Date.now();
    // `; true` keeps the shell from exec-ing the child: it runs as a grandchild.
    expect(await probe(`${child}; true`, 1_000).check()).toEqual({ ok: false, reason: 'timed out after 1000ms' });
    expect(Date.now() - started).toBeLessThan(4_000);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => !isProcessAlive(pid), { timeoutMs: 5_000, what: `probe grandchild ${pid} gone` });
  });

  it('fails when the command cannot run', async () => {
    const result = await new CommandProbe({ command: 'true', cwd: join(dir, 'missing') }).check();
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^could not run: /);
  });
});
