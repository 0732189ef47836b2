import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { transpileSources } from '../../test/helpers/transpile.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedundancyError } from '../core/errors.js';
import { Ledger, ledgerFileName, newRunId, type LedgerEvent } from './ledger.js';

let dir: string;
let build: string;


function event(over: Partial<LedgerEvent> = {}): LedgerEvent {
  return {
    run: newRunId(), unit: 'cron:backup', side: 'primary', event: 'start', at: 1_000, slot: null,
    pid: 42, exitCode: null, signal: null, durationMs: null, host: 'test-host', ...over,
  };
}

/**
 * Starts `writers` processes that each append `lines` events once all are ready (a stdin barrier,
 * so their appends really overlap), and waits for them all to exit 0.
 */
async function appendFromProcesses(writers: number, lines: number, opts: { maxBytes?: number; keep?: number }): Promise<void> {
  const script = `
    const [moduleUrl, dir, writer, lines, opts] = process.argv.slice(1);
    const { Ledger } = await import(moduleUrl);
    const ledger = new Ledger({ dir, ...JSON.parse(opts) });
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      for (let i = 0; i < Number(lines); i += 1) {
        await ledger.append({ run: writer + '-' + i, unit: 'cron:backup', side: 'primary', event: 'start', at: Date.now(),
          slot: null, pid: process.pid, exitCode: null, signal: null, durationMs: null, host: 'h', reason: 'x'.repeat(100) });
      }
      process.exit(0);
    });`;
  const moduleUrl = pathToFileURL(join(build, 'store/ledger.js')).href;
  const children: ResultPromise[] = [];
  try {
    for (let w = 0; w < writers; w += 1) {
      children.push(execa(process.execPath, ['--input-type=module', '-e', script, moduleUrl, dir, String(w), String(lines), JSON.stringify(opts)]));
    }
    await Promise.all(children.map((child) => new Promise((ready) => child.stdout!.once('data', ready))));
    for (const child of children) child.stdin!.end('go\n');
    const results = await Promise.all(children);
    expect(results.map((r) => r.exitCode)).toEqual(children.map(() => 0));
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

beforeAll(async () => {
  build = await transpileSources(['store/ledger.ts', 'core/errors.ts'], 'ledger');
});

afterAll(async () => {
  await rm(build, { recursive: true, force: true });
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-ledger-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Ledger', () => {
  it('names the file after the unit and keeps the exact id in each line', async () => {
    expect(ledgerFileName('cron:backup')).toBe('cron_backup.jsonl');
    expect(ledgerFileName('script:a b/c.mjs')).toBe('script_a_b_c.mjs.jsonl');
    const ledger = new Ledger({ dir: join(dir, 'ledger') });
    const first = event();
    await ledger.append(first);
    // `cron:backup` and `cron_backup` share a file: each read gets its own unit's lines only.
    await ledger.append(event({ unit: 'cron_backup' }));
    const text = await readFile(join(dir, 'ledger', 'cron_backup.jsonl'), 'utf8');
    expect(text.split('\n')[0]).toBe(JSON.stringify(first));
    expect(await ledger.read('cron:backup')).toEqual({ events: [first], warnings: [] });
  });

  it('reads nothing for a unit never written', async () => {
    expect(await new Ledger({ dir: join(dir, 'none') }).read('cron:x')).toEqual({ events: [], warnings: [] });
  });

  it('leaves 100 whole lines after 100 processes append at once', async () => {
    await appendFromProcesses(100, 1, {});
    const lines = (await readFile(join(dir, 'cron_backup.jsonl'), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(100);
    const runs = lines.map((line) => (JSON.parse(line) as LedgerEvent).run);
    expect(new Set(runs).size).toBe(100);
  });

  it('loses and tears no line when it rotates under 20 concurrent writers', async () => {
    await appendFromProcesses(20, 50, { maxBytes: 4096, keep: 10_000 });
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThan(10);
    let lines = 0;
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      expect(text.endsWith('\n') || text === '').toBe(true);
      for (const line of text.split('\n').filter(Boolean)) {
        expect(() => JSON.parse(line) as unknown).not.toThrow();
        lines += 1;
      }
    }
    expect(lines).toBe(1000);
    const { events, warnings } = await new Ledger({ dir }).read('cron:backup');
    expect(warnings).toEqual([]);
    expect(new Set(events.map((e) => e.run)).size).toBe(1000);
  });

  it('keeps the newest rotated files and reads them oldest first', async () => {
    const ledger = new Ledger({ dir, maxBytes: 600, keep: 2 });
    for (let i = 0; i < 40; i += 1) await ledger.append(event({ run: `r${i}`, at: i }));
    const files = await readdir(dir);
    expect(files.filter((f) => f !== 'cron_backup.jsonl')).toHaveLength(2);
    const runs = (await ledger.read('cron:backup')).events.map((e) => e.run);
    expect(runs.at(-1)).toBe('r39');
    expect(runs.length).toBeLessThan(40);
    expect(runs).toEqual([...runs].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  });

  it('rotates with appendSync too', async () => {
    const ledger = new Ledger({ dir, maxBytes: 600, keep: 1 });
    for (let i = 0; i < 10; i += 1) ledger.appendSync(event({ run: `s${i}` }));
    expect(await readdir(dir)).toHaveLength(2);
    expect((await ledger.read('cron:backup')).events.at(-1)?.run).toBe('s9');
  });

  it('with sinceMs leaves out older events and rotated files last written before it', async () => {
    const ledger = new Ledger({ dir, maxBytes: 600, keep: 100 });
    for (let i = 0; i < 10; i += 1) await ledger.append(event({ run: `r${i}`, at: i }));
    expect((await ledger.read('cron:backup', { sinceMs: 8 })).events.map((e) => e.run)).toEqual(['r8', 'r9']);
    expect((await ledger.read('cron:backup', { sinceMs: Date.now() + 60_000 })).events).toEqual([]);
  });

  it('skips a corrupt line and a truncated last line, one warning each, naming file and line', async () => {
    const file = join(dir, 'cron_backup.jsonl');
    const good = event();
    const text = [JSON.stringify(good), '{"run": nope', JSON.stringify({ run: 'x' }), JSON.stringify(good)].join('\n');
    await writeFile(file, `${text}\n{"run":"cut`);
    const { events, warnings } = await new Ledger({ dir }).read('cron:backup');
    expect(events).toEqual([good, good]);
    expect(warnings).toEqual([
      `${file}:2: invalid JSON, skipped`,
      `${file}:3: not a ledger event, skipped`,
      `${file}:5: truncated line, skipped`,
    ]);
  });

  it('rejects with IO when the folder cannot be written, and appendSync throws', async () => {
    // A regular file where the folder should be fails for root too.
    await writeFile(join(dir, 'blocker'), '');
    const ledger = new Ledger({ dir: join(dir, 'blocker', 'ledger') });
    const error = await ledger.append(event()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedundancyError);
    expect((error as RedundancyError).code).toBe('IO');
    expect((error as RedundancyError).message).toContain('cron_backup.jsonl: append failed:');
    expect(() => ledger.appendSync(event())).toThrow(RedundancyError);
  });

  it('makes distinct run ids', () => {
    expect(new Set(Array.from({ length: 1000 }, newRunId)).size).toBe(1000);
  });
});
