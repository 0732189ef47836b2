import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryFromDaemon } from '../src/kinds/pm2/live-inventory.js';
import { Pm2ProcessManager } from '../src/kinds/pm2/pm2-client.js';
import type { Pm2AppSpec, ProcessEvent, ProcessView } from '../src/core/types.js';
import { isolatedPm2, isProcessAlive, quietPm2Env } from './helpers/pm2-home.js';
import { waitFor } from './helpers/wait-for.js';

// PM2 reads PM2_HOME when it is loaded, which the adapter does on its first connect.
const pm2Home = await isolatedPm2();
Object.assign(process.env, quietPm2Env, { PM2_HOME: pm2Home.home });

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
let pm: Pm2ProcessManager | undefined;
const events: ProcessEvent[] = [];

afterAll(async () => {
  await pm?.close().catch(() => undefined); // the daemon may be gone already; kill() is what matters
  await pm2Home.kill();
});

function uniqueName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

function appSpec(name: string, script: string, extra: Partial<Pm2AppSpec> = {}): Pm2AppSpec {
  return { name, script: join(fixtures, script), args: [], cwd: fixtures, env: {}, options: {}, ...extra };
}

function manager(): Pm2ProcessManager {
  if (!pm) throw new Error('not connected');
  return pm;
}

async function view(name: string): Promise<ProcessView | undefined> {
  return (await manager().list()).find((entry) => entry.name === name);
}

/** Waits for the app to run with a pid, as PM2's list shows it. */
function listedOnline(name: string, what: string): Promise<ProcessView> {
  return waitFor(async () => {
    const entry = await view(name);
    return entry?.status === 'online' && entry.pid > 0 && entry;
  }, { timeoutMs: 10_000, what });
}

/** Waits for the app to run with a pid, as the handle knows it without asking PM2. */
function knownOnline(name: string, what: string): Promise<ProcessView> {
  return waitFor(() => {
    const known = manager().view(name);
    return known?.status === 'online' && known.pid > 0 && known;
  }, { timeoutMs: 10_000, what });
}

function eventsOf(name: string, type: ProcessEvent['type']): ProcessEvent[] {
  return events.filter((event) => event.name === name && event.type === type);
}

async function daemonsOfThisHome(): Promise<number> {
  const { stdout } = await execa('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((line) => line.includes('God Daemon') && line.includes(pm2Home.home)).length;
}

describe('connecting', () => {
  it('fails with PM2_UNAVAILABLE and starts nothing when no daemon runs and startDaemon is false', async () => {
    await expect(Pm2ProcessManager.connect({ startDaemon: false })).rejects.toMatchObject({ code: 'PM2_UNAVAILABLE' });
    expect(existsSync(join(pm2Home.home, 'pm2.pid'))).toBe(false);
    expect(await daemonsOfThisHome()).toBe(0);
  });

  it('starts exactly one daemon for concurrent cold connects', async () => {
    const handles = await Promise.all([Pm2ProcessManager.connect(), Pm2ProcessManager.connect(), Pm2ProcessManager.connect()]);
    expect(await daemonsOfThisHome()).toBe(1);
    pm = handles[0];
    pm.onEvent((event) => events.push(event));
    await Promise.all(handles.slice(1).map((handle) => handle.close()));
    await expect(Pm2ProcessManager.connect({ startDaemon: false }).then((handle) => handle.close())).resolves.toBeUndefined();
  });
});

describe('Pm2ProcessManager against a real daemon', () => {
  beforeAll(async () => {
    if (!pm) {
      pm = await Pm2ProcessManager.connect();
      pm.onEvent((event) => events.push(event));
    }
  });

  it('starts an app and lists it online', async () => {
    const name = uniqueName('online');
    await manager().start(appSpec(name, 'worker.cjs'));
    const seen = await waitFor(async () => {
      const entry = await view(name);
      return entry?.status === 'online' && entry;
    }, { timeoutMs: 10_000, what: `${name} online` });
    expect(seen.pid).toBeGreaterThan(0);
    expect(seen.pmId).toBeGreaterThanOrEqual(0);
    expect(seen.startedAt).toBeGreaterThan(0);
    await waitFor(() => eventsOf(name, 'online').length > 0, { timeoutMs: 5_000, what: `online event of ${name}` });
  });

  it('registers an app stopped, without ever running it, and only once', async () => {
    const name = uniqueName('registered');
    await manager().register(appSpec(name, 'worker.cjs'));
    await manager().register(appSpec(name, 'worker.cjs'));
    const entries = (await manager().list()).filter((entry) => entry.name === name);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'stopped', pid: 0, restarts: 0 });
    expect(eventsOf(name, 'online')).toEqual([]);
  });

  it('starts an app it registered from the same spec in place, as PM2 restarts it', async () => {
    const name = uniqueName('reg-start');
    await manager().register(appSpec(name, 'worker.cjs'));
    const registered = (await view(name))!;
    await manager().start(appSpec(name, 'worker.cjs'));
    const online = await waitFor(async () => {
      const entry = await view(name);
      return entry?.status === 'online' && entry;
    }, { timeoutMs: 10_000, what: `${name} online` });
    expect(online.pmId).toBe(registered.pmId);
    expect(manager().view(name)).toMatchObject({ pmId: registered.pmId, status: 'online', pid: online.pid });
    expect((await manager().list()).filter((entry) => entry.name === name)).toHaveLength(1);
  });

  it('treats stop and remove of unknown or stopped apps as no-ops', async () => {
    const name = uniqueName('idem');
    await manager().stop(name);
    await manager().remove(name);
    await manager().start(appSpec(name, 'worker.cjs'));
    await manager().stop(name);
    await manager().stop(name);
    expect(await view(name)).toMatchObject({ status: 'stopped', pid: 0 });
    await manager().remove(name);
    await manager().remove(name);
    expect(await view(name)).toBeUndefined();
  });

  it('leaves an online app alone on start', async () => {
    const name = uniqueName('noop');
    await manager().start(appSpec(name, 'worker.cjs'));
    const before = await waitFor(async () => {
      const entry = await view(name);
      return entry?.status === 'online' && entry;
    }, { timeoutMs: 10_000, what: `${name} online` });
    await manager().start(appSpec(name, 'worker.cjs', { env: { CHANGED: '1' } }));
    const after = await view(name);
    expect(after).toMatchObject({ pid: before.pid, restarts: before.restarts, status: 'online' });
    expect(eventsOf(name, 'exit')).toEqual([]);
  });

  it("starts a stopped app with the spec's current env", async () => {
    const name = uniqueName('env');
    await manager().start(appSpec(name, 'worker.cjs', { env: { GREETING: 'old' } }));
    await manager().stop(name);
    await manager().start(appSpec(name, 'worker.cjs', { env: { GREETING: 'new' } }));
    const running = await listedOnline(name, `${name} online again`);
    const { spec } = (await manager().listAppSpecs()).find((entry) => entry.spec.name === name)!;
    expect(spec.env).toEqual({ GREETING: 'new' });
    if (process.platform === 'linux') {
      const environ = readFileSync(`/proc/${running.pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain('GREETING=new');
    }
  });

  it('reports a manual stop as manual exits', async () => {
    const name = uniqueName('manual');
    await manager().start(appSpec(name, 'worker.cjs'));
    await manager().stop(name);
    await waitFor(() => eventsOf(name, 'exit').length > 0, { timeoutMs: 5_000, what: `exit event of ${name}` });
    expect(eventsOf(name, 'exit').every((event) => event.type === 'exit' && event.manually)).toBe(true);
  });

  it('reports a stop by another PM2 client as manual exits too', async () => {
    const name = uniqueName('external');
    await manager().start(appSpec(name, 'worker.cjs'));
    const other = await Pm2ProcessManager.connect({ startDaemon: false });
    try {
      await other.stop(name);
    } finally {
      await other.close();
    }
    await waitFor(() => eventsOf(name, 'exit').length >= 2, { timeoutMs: 5_000, what: `both exit events of ${name}` });
    expect(eventsOf(name, 'exit').every((event) => event.type === 'exit' && event.manually)).toBe(true);
  });

  it('reports a crash loop as unmanual exits, then restart-overlimit and errored', async () => {
    const name = uniqueName('crash');
    await manager().start(appSpec(name, 'crash.cjs', { maxRestarts: 2, minUptimeMs: 5_000 }));
    await waitFor(() => eventsOf(name, 'restart-overlimit').length > 0, { timeoutMs: 20_000, what: `restart overlimit of ${name}` });
    const exits = eventsOf(name, 'exit');
    expect(exits.length).toBeGreaterThanOrEqual(2);
    for (const exit of exits) expect(exit).toMatchObject({ manually: false, exitCode: 1 });
    await waitFor(async () => (await view(name))?.status === 'errored', { timeoutMs: 5_000, what: `${name} errored` });
    expect(await view(name)).toMatchObject({ pid: 0 });
  });

  it('recovers script, args, cwd, env and restart options from the daemon', async () => {
    const name = uniqueName('specs');
    const spec = appSpec(name, 'worker.cjs', {
      args: ['--flag', 'two words'],
      cwd: tmpdir(),
      env: { ALPHA: '1', BETA: 'x y' },
      maxRestarts: 7,
      minUptimeMs: 2_000,
      restartDelayMs: 150,
      autorestart: false,
    });
    await manager().register(spec);
    const found = (await manager().listAppSpecs()).find((entry) => entry.spec.name === name);
    expect(found?.spec).toEqual(spec);
    expect(found?.view).toMatchObject({ name, status: 'stopped' });
  });

  it('inventories live apps, skipping twins and the manager', async () => {
    const name = uniqueName('inv');
    await manager().register(appSpec(name, 'worker.cjs', { cronRestart: '0 3 * * *' }));
    await manager().register(appSpec(`${name}-backup`, 'worker.cjs'));
    await manager().register(appSpec('redundancy-manager', 'worker.cjs'));
    const units = await inventoryFromDaemon(manager());
    expect(units.find((unit) => unit.name === name)).toMatchObject({
      id: `pm2:${name}`,
      kind: 'pm2',
      source: { file: 'pm2' },
      schedule: '0 3 * * *',
      app: { script: join(fixtures, 'worker.cjs') },
    });
    expect(units.map((unit) => unit.name)).not.toContain(`${name}-backup`);
    expect(units.map((unit) => unit.name)).not.toContain('redundancy-manager');
    await manager().remove(name); // its cron would start it
  });

  it('knows, without a list, a crash, the restart that PM2 has pending and the new pid', async () => {
    const name = uniqueName('known');
    await manager().start(appSpec(name, 'worker.cjs', { restartDelayMs: 400 }));
    const first = await knownOnline(name, `${name} known online`);
    expect(first.pid).toBe((await view(name))?.pid);
    process.kill(first.pid, 'SIGKILL');
    // PM2 itself lists it `stopped` until the restart timer fires: the handle must not take that as a stop.
    await waitFor(() => manager().view(name)?.status === 'waiting restart', { timeoutMs: 5_000, what: `${name} waiting restart` });
    expect(manager().view(name)).toMatchObject({ pid: 0 });
    const again = await knownOnline(name, `${name} restarted`);
    expect(again.pid).not.toBe(first.pid);
    expect(again.restarts).toBe(1);
    expect(isProcessAlive(again.pid)).toBe(true);
    expect(await view(name)).toMatchObject({ pid: again.pid, restarts: 1 });
    await manager().stop(name);
    expect(manager().view(name)).toMatchObject({ status: 'stopped', pid: 0 });
  });

  it('starts at once an app of its own that crashed and waits for PM2\'s restart timer', async () => {
    const name = uniqueName('waiting');
    const spec = appSpec(name, 'worker.cjs', { restartDelayMs: 5_000 });
    await manager().start(spec);
    const first = await knownOnline(name, `${name} online`);
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => manager().view(name)?.status === 'waiting restart', { timeoutMs: 5_000, what: `${name} waiting restart` });
    const asked = Date.now();
    await manager().start(spec);
    const again = await listedOnline(name, `${name} online again`);
    expect(Date.now() - asked).toBeLessThan(4_000); // not PM2's 5 s timer
    expect(again.pmId).toBe(first.pmId);
    expect(again.pid).not.toBe(first.pid);
    await manager().stop(name);
  });

  it('stops and starts by name after another client deleted the app behind its back', async () => {
    const name = uniqueName('behind');
    await manager().start(appSpec(name, 'worker.cjs'));
    await waitFor(() => manager().view(name)?.status === 'online', { timeoutMs: 10_000, what: `${name} online` });
    const other = await Pm2ProcessManager.connect({ startDaemon: false });
    try {
      await other.remove(name);
    } finally {
      await other.close();
    }
    await manager().stop(name);
    await manager().start(appSpec(name, 'worker.cjs'));
    const running = await listedOnline(name, `${name} online again`);
    expect((await manager().list()).filter((entry) => entry.name === name)).toHaveLength(1);
    expect(manager().view(name)?.pmId).toBe(running.pmId);
  });

  it('refuses calls after close instead of spawning a daemon', async () => {
    const other = await Pm2ProcessManager.connect({ startDaemon: false });
    await other.close();
    await other.close();
    await expect(other.list()).rejects.toMatchObject({ code: 'PM2_UNAVAILABLE' });
  });

  it('kills the daemon and every app', async () => {
    const name = uniqueName('last');
    await manager().start(appSpec(name, 'worker.cjs'));
    const { pid } = (await view(name))!;
    const other = await Pm2ProcessManager.connect({ startDaemon: false });
    await other.killDaemon();
    await waitFor(async () => (await daemonsOfThisHome()) === 0, { timeoutMs: 10_000, what: 'the daemon gone' });
    expect(isProcessAlive(pid)).toBe(false);
    await expect(Pm2ProcessManager.connect({ startDaemon: false })).rejects.toMatchObject({ code: 'PM2_UNAVAILABLE' });
  });
});
