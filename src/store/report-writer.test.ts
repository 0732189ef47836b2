import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthReport } from '../core/report-types.js';
import { RedundancyError } from '../core/errors.js';
import { ReportWriter, historyLine, reportText } from './report-writer.js';

let dir: string;
let logsDir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redundancy-report-'));
  logsDir = path.join(dir, 'logs');
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function report(round: number): HealthReport {
  return {
    generatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, round)).toISOString(),
    manager: { pid: 4242, version: '0.1.0', startedAt: '2025-01-01T00:00:00.000Z' },
    summary: { units: 1, healthy: 0, onTwin: 1, critical: 0 },
    units: [
      {
        id: 'pm2:sync', kind: 'pm2', name: 'sync', state: 'backup', active: 'twin', health: 'unhealthy',
        errorRate: 0.9, samples: 10, twin: { name: 'sync-backup', status: 'online' },
        primary: { name: 'sync', status: 'stopped' }, lastCheckAt: null, lastTransitionAt: null,
        failovers: round, reason: 'error rate 0.90 > 0.80',
      },
    ],
  };
}

function writer(overrides: Partial<ConstructorParameters<typeof ReportWriter>[0]> = {}): ReportWriter {
  return new ReportWriter({ logsDir, historyMaxBytes: 1024 * 1024, historyKeep: 3, onError: vi.fn(), ...overrides });
}

async function lines(file: string): Promise<string[]> {
  return (await fs.readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
}

describe('historyLine', () => {
  it('names only the units that are not healthy on their primary', () => {
    const base = report(1);
    const healthy = { ...base.units[0]!, id: 'pm2:web', name: 'web', state: 'primary' as const, active: 'primary' as const, health: 'healthy' as const, errorRate: 0 };
    const degraded = { ...healthy, id: 'pm2:api', health: 'degraded' as const, errorRate: 0.5 };
    const line = historyLine({ ...base, summary: { units: 3, healthy: 1, onTwin: 1, critical: 0 }, units: [healthy, base.units[0]!, degraded] });
    expect(line.summary).toEqual({ units: 3, healthy: 1, onTwin: 1, critical: 0 });
    expect(line.units).toEqual([
      { id: 'pm2:sync', state: 'backup', active: 'twin', health: 'unhealthy', errorRate: 0.9 },
      { id: 'pm2:api', state: 'primary', active: 'primary', health: 'degraded', errorRate: 0.5 },
    ]);
  });
});

describe('ReportWriter', () => {
  it('replaces the report with pretty JSON and appends a history line per write', async () => {
    const w = writer();
    await w.write(report(1));
    await w.write(report(2));
    const text = await fs.readFile(w.reportFile, 'utf8');
    expect(text).toBe(`${JSON.stringify(report(2), null, 2)}\n`);
    expect((await fs.readdir(logsDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const history = (await lines(w.historyFile)).map((line) => JSON.parse(line) as unknown);
    expect(history).toEqual([historyLine(report(1)), historyLine(report(2))]);
    expect(history[0]).toEqual({
      at: report(1).generatedAt,
      summary: report(1).summary,
      units: [{ id: 'pm2:sync', state: 'backup', active: 'twin', health: 'unhealthy', errorRate: 0.9 }],
    });
    expect(w.failed).toBe(false);
  });

  it('rotates the history by size and keeps N files', async () => {
    const lineBytes = Buffer.byteLength(`${JSON.stringify(historyLine(report(10)))}\n`);
    // Two lines fit, the third rotates.
    const w = writer({ historyMaxBytes: lineBytes * 2 + 1, historyKeep: 2 });
    for (let round = 10; round < 20; round += 1) await w.write(report(round));
    const names = (await fs.readdir(logsDir)).sort();
    expect(names).toEqual(['health-history.jsonl', 'health-history.jsonl.1', 'health-history.jsonl.2', 'redundancy-health.json']);
    const roundsIn = async (file: string): Promise<number[]> =>
      (await lines(file)).map((line) => (JSON.parse(line) as { at: string }).at).map((at) => new Date(at).getUTCSeconds());
    expect(await roundsIn(w.historyFile)).toEqual([18, 19]);
    expect(await roundsIn(`${w.historyFile}.1`)).toEqual([16, 17]);
    expect(await roundsIn(`${w.historyFile}.2`)).toEqual([14, 15]);
    for (const name of names.filter((n) => n.startsWith('health-history'))) expect((await fs.stat(path.join(logsDir, name))).size).toBeLessThanOrEqual(lineBytes * 2 + 1);
  });

  it('reports an unwritable logs dir once, keeps going and recovers', async () => {
    // A regular file named logs fails for root too, unlike chmod.
    await fs.writeFile(logsDir, 'not a directory');
    const onError = vi.fn();
    const onRecover = vi.fn();
    const w = writer({ onError, onRecover });

    await expect(w.write(report(1))).resolves.toBeUndefined();
    await w.write(report(2));
    expect(onError).toHaveBeenCalledTimes(1);
    const error = onError.mock.calls[0]![0] as RedundancyError;
    expect(error).toBeInstanceOf(RedundancyError);
    expect(error.code).toBe('IO');
    expect(error.message).toContain(logsDir);
    expect(w.failed).toBe(true);
    expect(w.error).toBeInstanceOf(RedundancyError);

    await fs.rm(logsDir);
    await w.write(report(3));
    expect(w.failed).toBe(false);
    expect(onRecover).toHaveBeenCalledTimes(1);
    expect(JSON.parse(await fs.readFile(w.reportFile, 'utf8'))).toEqual(report(3));
    expect(await lines(w.historyFile)).toHaveLength(1);

    // A new failure streak is reported again.
    await fs.rm(logsDir, { recursive: true });
    await fs.writeFile(logsDir, 'again');
    await w.write(report(4));
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('serialises concurrent writes so that the report is the last one', async () => {
    const w = writer({ historyMaxBytes: 2000, historyKeep: 5 });
    await Promise.all(Array.from({ length: 30 }, (_, round) => w.write(report(round))));
    expect(JSON.parse(await fs.readFile(w.reportFile, 'utf8'))).toEqual(report(29));
    const files = (await fs.readdir(logsDir)).filter((name) => name.startsWith('health-history.jsonl'));
    let total = 0;
    for (const name of files) total += (await lines(path.join(logsDir, name))).length;
    expect(files.length).toBeGreaterThan(1);
    expect(total).toBeLessThanOrEqual(30);
    const live = await lines(w.historyFile);
    expect((JSON.parse(live.at(-1)!) as { at: string }).at).toBe(report(29).generatedAt);
    expect(w.failed).toBe(false);
  });
});

describe('reportText', () => {
  it('writes what JSON.stringify(report, null, 2) writes, taking unchanged units from the cache', () => {
    const unit = { id: 'cron:a', twin: { name: 'a-backup', status: 'off' }, runs: { lastRun: null, note: 'say "units": []\n' } };
    const report = {
      generatedAt: '2026-12-01T00:00:00.000Z', manager: { pid: 1, version: '0.2.0', startedAt: 'x' },
      summary: { units: 2, healthy: 2, onTwin: 0, critical: 0 }, units: [unit, { ...unit, id: 'cron:b' }], kinds: { github: { unwatched: 'no token' } },
    } as unknown as HealthReport;
    const cache = new WeakMap<object, string>();
    expect(reportText(report, cache)).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(cache.get(unit)).toBeDefined();
    const empty = { ...report, units: [] } as HealthReport;
    expect(reportText(empty, cache)).toBe(`${JSON.stringify(empty, null, 2)}\n`);
  });
});
