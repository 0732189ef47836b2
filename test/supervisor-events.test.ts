import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Pm2ProcessManager } from '../src/kinds/pm2/pm2-client.js';
import { systemClock } from '../src/core/clock.js';
import { compileConfig } from '../src/core/config.js';
import type { ProcessManager } from '../src/core/ports.js';
import type { Pm2Unit } from '../src/core/types.js';
import { openSupervisor } from '../src/daemon/compose.js';
import { silentLogger } from '../src/store/logger.js';
import { isolatedPm2, quietPm2Env } from './helpers/pm2-home.js';
import { freePort } from './helpers/project.js';
import { waitFor } from './helpers/wait-for.js';

// A daemon above the small-daemon size: rounds read the adapter's event-fed view, not PM2's list.
const pm2Home = await isolatedPm2();
Object.assign(process.env, quietPm2Env, { PM2_HOME: pm2Home.home });
const dir = await mkdtemp(join(tmpdir(), 'redundancy-events-'));
let real: Pm2ProcessManager | undefined;

afterAll(async () => {
  await real?.close().catch(() => undefined);
  await pm2Home.kill();
  await rm(dir, { recursive: true, force: true });
});

function answer(port: number): Promise<{ role: string; pid: number } | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', timeout: 500 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as { role: string; pid: number }) : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

it('fails over and keeps every side known from PM2 events alone, with no full list after start-up', async () => {
  real = await Pm2ProcessManager.connect();
  let lists = 0;
  const pm: ProcessManager = {
    list: () => {
      lists += 1;
      return real!.list();
    },
    view: (name) => real!.view(name),
    start: (spec) => real!.start(spec),
    register: (spec) => real!.register(spec),
    stop: (name) => real!.stop(name),
    remove: (name) => real!.remove(name),
    onEvent: (listener) => real!.onEvent(listener),
    close: () => real!.close(),
  };
  const port = await freePort();
  const dieFile = join(dir, 'die');
  const bootLog = join(dir, 'boots.log');
  const unit: Pm2Unit = {
    id: 'pm2:svc',
    kind: 'pm2',
    name: 'svc',
    source: { file: join(dir, 'ecosystem.config.cjs'), line: 1 },
    app: {
      name: 'svc',
      script: join(import.meta.dirname, 'fixtures/service.cjs'),
      args: [],
      cwd: dir,
      env: { PORT: String(port), DIE_AT_BOOT_FILE: dieFile, BOOT_LOG: bootLog },
      options: {},
    },
  };
  const config = compileConfig(
    { checkInterval: '200ms', policy: { window: 1, minSamples: 1, holdDown: '1h' }, sources: { pm2: { live: false } }, units: { 'pm2:svc': { probe: { http: `http://127.0.0.1:${port}/health`, timeout: '500ms' } } } },
    { cwd: dir },
  );
  const supervisor = openSupervisor({
    config,
    units: [unit],
    pm,
    logger: silentLogger(),
    clock: systemClock,
    startedAt: Date.now(),
    fullList: { smallDaemonApps: 0, fullListEveryMs: 3_600_000 },
  });
  const unsubscribe = supervisor.listen();
  try {
    await supervisor.init();
    expect(lists).toBe(1);
    await waitFor(async () => (await answer(port))?.role === 'primary', { timeoutMs: 10_000, what: 'the primary answering' });
    const primaryPid = real.view('svc')!.pid;
    expect(primaryPid).toBeGreaterThan(0);
    await supervisor.round();
    expect(supervisor.report().units[0]).toMatchObject({ active: 'primary', primary: { status: 'online' }, twin: { status: 'stopped' } });

    writeFileSync(dieFile, '');
    process.kill(primaryPid, 'SIGKILL');
    await waitFor(async () => (await answer(port))?.role === 'backup', { timeoutMs: 15_000, what: 'the twin answering' });
    for (let i = 0; i < 5; i++) await supervisor.round();

    const report = supervisor.report().units[0]!;
    expect(report).toMatchObject({ active: 'twin', primary: { status: 'stopped' }, twin: { status: 'online' } });
    // What the event-fed view says is what PM2 says.
    const fresh = await real.list();
    for (const name of ['svc', 'svc-backup']) {
      const listed = fresh.find((v) => v.name === name)!;
      expect(real.view(name)).toMatchObject({ status: listed.status, pid: listed.pid, restarts: listed.restarts });
    }
    expect(lists).toBe(1);
    const boots = readFileSync(bootLog, 'utf8').trim().split('\n').filter((line) => line.startsWith('backup'));
    expect(boots).toHaveLength(1);
  } finally {
    unsubscribe();
    await supervisor.drain();
  }
  expect(existsSync(join(dir, '.redundancy', 'state.json'))).toBe(true);
});
