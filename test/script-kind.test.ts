import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/schedule/ledger-event.js';
import { ledgerOf } from './helpers/cron-user.js';
import type { TestProject } from './helpers/project.js';
import { pm2Session } from './helpers/session.js';

/**
 * Script units: Node scripts in automation/scripts, run on demand through `redundancy run`, and
 * their twin, the generated backup wrapper that retries.
 */
const session = pm2Session();

/** Logs each call (role and args) to calls.log; fails while fail-times counts down. */
const xScript = `import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
appendFileSync('calls.log', \`\${process.env.REDUNDANCY_ROLE ?? 'primary'} \${JSON.stringify(args)}\\n\`);
const left = existsSync('fail-times') ? Number(readFileSync('fail-times', 'utf8')) : 0;
if (left > 0) {
  writeFileSync('fail-times', String(left - 1));
  console.error(\`x failed, \${left - 1} failures left\`);
  process.exit(3);
}
console.log(\`x done \${args.join('|')}\`);
`;

const project = (extra: Record<string, string> = {}) => session.project({ 'automation/scripts/x.mjs': xScript, ...extra });

async function calls(p: TestProject): Promise<string[]> {
  return (await readFile(join(p.dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

const summary = (events: LedgerEvent[]) => events.map((e) => [e.side, e.event, e.attempt ?? null, e.exitCode]);

describe('script units', () => {
  it('a script is script:<name>; a crontab line calling it makes it a cron unit instead, listed once', async () => {
    const p = await project({
      'automation/scripts/nightly.mjs': "console.log('nightly');\n",
      'automation/scripts/notes.txt': 'not a script\n',
      'automation/crontab': '30 2 * * * /usr/bin/node automation/scripts/nightly.mjs --full\n',
    });
    const ids = async () => (JSON.parse((await p.cli('--json', 'inventory')).stdout) as Array<{ id: string; schedule: string | null }>);
    expect(await ids()).toEqual([
      expect.objectContaining({ id: 'cron:nightly', schedule: '30 2 * * *' }),
      expect.objectContaining({ id: 'script:x', schedule: null }),
    ]);
    // The same script with no line calling it is a script unit again.
    await p.write('automation/crontab', '');
    expect((await ids()).map((u) => u.id)).toEqual(['script:nightly', 'script:x']);
  });

  it('run script:x -- a b runs the script with the args, passing stdio and the exit code through', async () => {
    const p = await project();
    const ok = await p.cli('run', 'script:x', '--', 'a', 'b c');
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'x done a|b c' });
    await p.write('fail-times', '1');
    const failed = await p.cli('run', 'script:x', '--', 'again');
    expect(failed).toMatchObject({ exitCode: 3, stderr: 'x failed, 0 failures left' });
    // The primary is not retried: one call each, in the project directory.
    expect(await calls(p)).toEqual(['primary ["a","b c"]', 'primary ["again"]']);
    const events = await ledgerOf(p, 'script:x');
    expect(summary(events)).toEqual([['primary', 'start', null, null], ['primary', 'end', null, 0], ['primary', 'start', null, null], ['primary', 'end', null, 3]]);
    expect(events.every((e) => e.slot === null && e.unit === 'script:x')).toBe(true);
    expect(events[0]!.run).toBe(events[1]!.run);
  });

  it('while on its twin, run script:x goes through the backup wrapper and retries, each attempt in the ledger', async () => {
    const p = await project({ 'fail-times': '2' });
    expect((await p.cli('failover', 'script:x')).exitCode).toBe(0);
    const r = await p.cli('run', 'script:x', '--', 'a');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('x done a');
    expect(await calls(p)).toEqual(['backup ["a"]', 'backup ["a"]', 'backup ["a"]']);
    const events = await ledgerOf(p, 'script:x');
    expect(summary(events)).toEqual([
      ['twin', 'start', 1, null], ['twin', 'end', 1, 3],
      ['twin', 'start', 2, null], ['twin', 'end', 2, 3],
      ['twin', 'start', 3, null], ['twin', 'end', 3, 0],
    ]);
    // Waits between attempts: 1 s, then 2 s, each with up to half again of jitter.
    const gap = (end: number) => events[end + 1]!.at - events[end]!.at;
    expect(gap(1)).toBeGreaterThanOrEqual(1_000);
    expect(gap(3)).toBeGreaterThanOrEqual(2_000);
  });

  it('twins --write writes automation/redundancy/scripts/x-backup.mjs, which runs on its own and records its attempts', async () => {
    const p = await project({ 'fail-times': '1' });
    const r = await p.cli('twins', '--write');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('wrote automation/redundancy/scripts/x-backup.mjs (twin of script:x)');
    expect(existsSync(join(p.dir, 'automation/redundancy/scripts/x-backup.mjs'))).toBe(true);

    // No manager, no state, no CLI: the wrapper alone.
    const run = await execa(process.execPath, ['automation/redundancy/scripts/x-backup.mjs', 'q'], { cwd: p.dir, env: p.env, reject: false });
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout)).toBe('x done q');
    expect(String(run.stderr)).toContain('x failed, 0 failures left');
    expect(await calls(p)).toEqual(['backup ["q"]', 'backup ["q"]']);
    expect(summary(await ledgerOf(p, 'script:x'))).toEqual([['twin', 'start', 1, null], ['twin', 'end', 1, 3], ['twin', 'start', 2, null], ['twin', 'end', 2, 0]]);
  });
});
