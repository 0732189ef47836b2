import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitReport } from '../../src/core/report-types.js';
import { startHttpListener } from '../../src/http/http-listener.js';
import { ManagerMetrics } from '../../src/http/metrics.js';
import { ReportStream } from '../../src/http/report-stream.js';
import { repoRoot, freePorts } from '../helpers/project.js';
import { reportOf, unitLine } from '../helpers/reports.js';
import { appProject, pm2Session, waitForUnit } from '../helpers/session.js';

/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core. Skipped, with the
 * reason, where chromium is not installed (`.ci/run` installs it).
 */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);
const missing = `chromium not found at ${executablePath}: apt-get install chromium (or set CHROMIUM_PATH) to run the browser tests`;
if (!haveChromium) process.stderr.write(`SKIPPED: ${missing}\n`);

const artifacts = join(repoRoot, 'test-artifacts');
const session = pm2Session();
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (!haveChromium) return;
  profile = await mkdtemp(join(tmpdir(), 'redundancy-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (error) => {
    throw new Error(`the dashboard threw: ${error.message}`);
  });
  return page;
}

const row = (page: Page, unit: string) => page.locator(`tr[data-unit="${unit}"]`);

describe('the dashboard in chromium', () => {
  it('lists the units, shows a failover from the CLI within 2 s without a reload, and comes back after the manager restarts', async (ctx) => {
    ctx.skip(!haveChromium, missing);
    const [port] = await freePorts(1);
    const name = `dash${process.pid}`;
    const project = await appProject(session, { name, policy: { holdDown: '1h' }, config: [`http: { listen: "127.0.0.1:${port}" }`] });
    let manager = session.startManager(project);
    await waitForUnit(project, 'healthy', (u) => u.health === 'healthy' && u.samples >= 2);

    const page = await newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 10_000 }).toBe('live');
    const unit = row(page, `pm2:${name}`);
    await unit.waitFor({ timeout: 10_000 });
    expect(await unit.getAttribute('data-state')).toBe('primary');
    expect(await page.locator('section[data-kind="pm2"] h2').textContent()).toContain('1 unit(s)');
    const firstPid = manager.pid!;
    expect(await page.locator('#manager').textContent()).toContain(`manager pid ${firstPid}`);

    // A marker a reload would lose.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    const failover = await project.cli('failover', `pm2:${name}`);
    expect(failover.exitCode).toBe(0);
    const decided = Date.now();
    await page.locator(`tr[data-unit="pm2:${name}"][data-state="backup"]`).waitFor({ timeout: 2_000 });
    const shownAfterMs = Date.now() - decided;
    expect(shownAfterMs).toBeLessThan(2_000);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    expect(await unit.getAttribute('data-active')).toBe('twin');
    expect(await unit.locator('td.reason').textContent()).toBe('manual failover');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'dashboard-failover.png'), fullPage: true });

    manager.kill('SIGTERM');
    await manager;
    await expect.poll(() => page.locator('#conn').getAttribute('class'), { timeout: 10_000 }).toBe('down');
    manager = session.startManager(project);
    await expect.poll(async () => (await page.locator('#manager').textContent()) ?? '', { timeout: 30_000 }).toContain(`manager pid ${manager.pid}`);
    expect(manager.pid).not.toBe(firstPid);
    expect(await page.locator('#conn').textContent()).toBe('live');
    // Still the same page, and it still follows the unit (the new manager kept it on its twin).
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    expect(await row(page, `pm2:${name}`).getAttribute('data-state')).toBe('backup');
    expect((await project.cli('failback', `pm2:${name}`)).exitCode).toBe(0);
    await page.locator(`tr[data-unit="pm2:${name}"][data-state="primary"]`).waitFor({ timeout: 30_000 });
    // A drill's result and RTO show on the unit's row.
    await waitForUnit(project, 'healthy again', (u) => u.state === 'primary' && u.health === 'healthy');
    expect(await row(page, `pm2:${name}`).locator('td').nth(9).textContent()).toContain('never');
    expect((await project.cli('drill', `pm2:${name}`, '--yes')).exitCode).toBe(0);
    await expect.poll(() => row(page, `pm2:${name}`).locator('td').nth(9).textContent(), { timeout: 5_000 }).toMatch(/^ok RTO \d+(\.\d+)?m?s/);
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
    ctx.annotate(`failover shown ${shownAfterMs} ms after the CLI returned`);
    manager.kill('SIGTERM');
    await manager;
  });

  it('stays usable with 1,000 units: problems first, a filter box, deltas applied without a reload', async (ctx) => {
    ctx.skip(!haveChromium, missing);
    const stream = new ReportStream({ startedAt: Date.now() });
    const listener = await startHttpListener({ host: '127.0.0.1', port: 0, report: () => reportOf([]), metrics: new ManagerMetrics(), stream, logger: { info() {}, warn() {} } });
    try {
      const id = (i: number) => `pm2:app-${String(i).padStart(4, '0')}`;
      let units: UnitReport[] = Array.from({ length: 1_000 }, (_, i) => unitLine(id(i), { lastSamples: '1111111111', threshold: 0.8 }));
      stream.publish(reportOf(units));
      const page = await newPage();
      await page.goto(`http://${listener.address}/`);
      await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBe(1_000);
      expect(await page.locator('#shown').textContent()).toBe('1000 of 1000 unit(s)');

      // One unit goes critical: one delta, and it is listed first.
      units = units.map((u, i) => (i === 737 ? { ...u, state: 'backup', active: 'none', errorRate: 1, lastSamples: '0000000000', reason: 'neither side up' } : u));
      stream.publish(reportOf(units, 1));
      await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-unit'), { timeout: 5_000 }).toBe(id(737));
      expect(await page.locator('tbody tr').first().getAttribute('class')).toBe('p0');

      await page.fill('#filter', 'app-099');
      await expect.poll(() => page.locator('tbody tr').count(), { timeout: 5_000 }).toBe(10);
      expect(await page.locator('#shown').textContent()).toBe('10 of 1000 unit(s)');
      await page.fill('#filter', 'neither side');
      await expect.poll(() => page.locator('tbody tr').count(), { timeout: 5_000 }).toBe(1);
      await page.fill('#filter', '');
      // A burst of 100 reports (a busy round) leaves the page current.
      for (let n = 0; n < 100; n++) {
        units = units.map((u, i) => (i === n ? { ...u, failovers: 1 } : u));
        stream.publish(reportOf(units, 1));
      }
      await expect.poll(() => row(page, id(99)).locator('td').nth(5).textContent(), { timeout: 5_000 }).toBe('1');
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'dashboard-1000.png') });
    } finally {
      stream.close();
      await listener.close();
    }
  });
});
