import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialRecord } from '../core/failover.js';
import { decodeRecord } from '../core/record-codec.js';
import { StateStore } from './state-store.js';

interface TestUnit {
  state: string;
  n: number;
}

function validateUnit(raw: unknown): TestUnit | undefined {
  const unit = raw as Partial<TestUnit> | null;
  if (typeof unit !== 'object' || unit === null) return undefined;
  return typeof unit.state === 'string' && typeof unit.n === 'number' ? { state: unit.state, n: unit.n } : undefined;
}

const now = Date.UTC(2025, 5, 1, 12, 0, 0);
let dir: string;
let file: string;

function store(): StateStore<TestUnit> {
  return new StateStore({ file, validateUnit });
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redundancy-state-'));
  file = path.join(dir, '.redundancy', 'state.json');
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeRaw(text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

async function expectQuarantined(why: RegExp): Promise<void> {
  const { units, warnings } = await store().load(now);
  expect(units).toEqual({});
  expect(warnings).toHaveLength(1);
  const kept = `${file}.corrupt-2025-06-01T12-00-00.000Z`;
  const warning = warnings[0]!;
  expect(warning.startsWith(`state file ${file} was unreadable (`)).toBe(true);
  expect(warning.endsWith(`); kept as ${kept}; state rebuilt from PM2`)).toBe(true);
  expect(warning).toMatch(why);
  await expect(fs.access(kept)).resolves.toBeUndefined();
  await expect(fs.access(file)).rejects.toThrow();
}

describe('StateStore', () => {
  it('round-trips units in a versioned file', async () => {
    const units = { 'pm2:api': { state: 'primary', n: 1 }, 'pm2:sync': { state: 'backup', n: 2 } };
    await store().save(units);
    const raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    expect(raw['version']).toBe(2);
    expect(new Date(raw['savedAt'] as string).toISOString()).toBe(raw['savedAt']);
    expect(raw['units']).toEqual(units);
    expect(await store().load(now)).toEqual({ units, warnings: [] });
  });

  it('loads a missing file as empty without warnings', async () => {
    expect(await store().load(now)).toEqual({ units: {}, warnings: [] });
  });

  it('quarantines a truncated file', async () => {
    await writeRaw('{"version":1,"units":{"pm2:a":{"sta');
    await expectQuarantined(/invalid JSON/);
    expect(await fs.readFile(`${file}.corrupt-2025-06-01T12-00-00.000Z`, 'utf8')).toContain('"pm2:a"');
  });

  it('quarantines a file of another version', async () => {
    await writeRaw(JSON.stringify({ version: 3, savedAt: 'x', units: {} }));
    await expectQuarantined(/version 3, expected 1 or 2/);
  });

  it('quarantines a file of the wrong shape', async () => {
    await writeRaw(JSON.stringify({ version: 1, units: [] }));
    await expectQuarantined(/"units" is not an object/);
  });

  it('drops one unreadable unit and keeps the others', async () => {
    await writeRaw(JSON.stringify({ version: 1, units: { 'pm2:good': { state: 'primary', n: 3 }, 'pm2:bad': { state: 7 } } }));
    const { units, warnings } = await store().load(now);
    expect(units).toEqual({ 'pm2:good': { state: 'primary', n: 3 } });
    expect(warnings).toEqual([`state file ${file}: unit pm2:bad was unreadable and dropped; its state is rebuilt from PM2`]);
  });

  it('serialises concurrent saves so that the file ends with the last one', async () => {
    const s = store();
    const saves = Array.from({ length: 100 }, (_, counter) => s.save({ 'pm2:api': { state: 'primary', n: counter } }));
    await Promise.all(saves);
    const { units } = await store().load(now);
    expect(units['pm2:api']?.n).toBe(99);
    expect((await fs.readdir(path.dirname(file))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('saveSync writes at once and stays last over a save in flight', async () => {
    const s = store();
    const pending = s.save({ 'pm2:api': { state: 'primary', n: 1 } });
    s.saveSync({ 'pm2:api': { state: 'backup', n: 2 } });
    await pending;
    await s.idle();
    expect((await store().load(now)).units).toEqual({ 'pm2:api': { state: 'backup', n: 2 } });
  });

  it('rejects a save that cannot be written, and later saves still work', async () => {
    await fs.writeFile(path.join(dir, '.redundancy'), 'a file where the directory should be');
    const s = store();
    await expect(s.save({})).rejects.toMatchObject({ code: 'IO' });
    await fs.rm(path.join(dir, '.redundancy'));
    await s.save({ 'pm2:x': { state: 'primary', n: 0 } });
    expect((await store().load(now)).units).toEqual({ 'pm2:x': { state: 'primary', n: 0 } });
  });
});

describe('StateStore migration', () => {
  it('reads a version-1 file written by the release before the kinds, and saves it as version 2', async () => {
    // Written by that release's own StateStore and transition() (commit b7a40c9), not by hand.
    const fixture = path.join(__dirname, '../../test/fixtures/state-v1.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.copyFile(fixture, file);
    const old = new StateStore({ file, validateUnit: decodeRecord });
    const loaded = await old.load(now);
    expect(loaded.warnings).toEqual([]);
    expect(Object.keys(loaded.units)).toEqual(['pm2:api', 'pm2:sync', 'pm2:web']);
    expect(loaded.units['pm2:sync']).toMatchObject({ state: { kind: 'backup', manual: false }, failovers: 1, repeat: 1 });
    expect(loaded.units['pm2:sync']!.window).toHaveLength(5);
    expect(loaded.units['pm2:web']!.state).toEqual({ kind: 'probing', since: 1795168800300, okCount: 0, started: false });
    await old.save(loaded.units);
    const saved = JSON.parse(await fs.readFile(file, 'utf8')) as { version: number; units: unknown };
    expect(saved.version).toBe(2);
    expect(saved.units).toEqual(JSON.parse(await fs.readFile(fixture, 'utf8')).units);
  });

  it('keeps a kind cursor through a save', async () => {
    const units = { 'cron:a': { ...initialRecord('cron:a', now), cursor: { judgedThrough: now, seen: ['r1'] } } };
    await new StateStore({ file, validateUnit: decodeRecord }).save(units);
    expect((await new StateStore({ file, validateUnit: decodeRecord }).load(now)).units).toEqual(units);
  });
});
