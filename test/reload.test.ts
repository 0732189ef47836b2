import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ecosystem, fixtures, freePorts } from './helpers/project.js';
import { appProject, pm2Session, status } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/** `reload` and SIGHUP in the real manager: units added without a restart, a broken config refused. */
const session = pm2Session();

describe('reload', () => {
  it('supervises a unit added to the ecosystem file, keeps the others, and refuses a config that does not load', async () => {
    const [metricsPort] = await freePorts(1);
    const project = await appProject(session, { name: `rla${process.pid}`, config: [`http: { listen: "127.0.0.1:${metricsPort}" }`] });
    const manager = session.startManager(project);
    const first = `pm2:rla${process.pid}`;
    await waitFor(async () => ((await status(project)).report.units?.[0]?.samples ?? 0) > 0 || undefined, { timeoutMs: 30_000, what: 'the first unit watched' });
    const pid = (await status(project)).report.manager.pid;

    const text = await readFile(join(project.dir, 'ecosystem.config.cjs'), 'utf8');
    const apps = (JSON.parse(text.replace(/^module\.exports = /, '').replace(/;\s*$/, '')) as { apps: unknown[] }).apps;
    const second = { name: `rlb${process.pid}`, script: join(fixtures, 'service.cjs'), env: { PORT: String((await freePorts(1))[0]) } };
    await project.write('ecosystem.config.cjs', ecosystem([...apps as Array<Record<string, unknown>>, second]));
    const reloaded = await project.cli('reload');
    expect(reloaded).toMatchObject({ exitCode: 0, stdout: `reloaded: added pm2:rlb${process.pid}` });
    const after = await waitFor(async () => {
      const report = (await status(project)).report;
      return report.units.some((u) => u.id === `pm2:rlb${process.pid}` && u.primary.status === 'online') ? report : undefined;
    }, { timeoutMs: 30_000, what: 'the added unit supervised and started' });
    expect(after.manager.pid).toBe(pid);
    expect(after.units.find((u) => u.id === first)!.samples).toBeGreaterThan(0);

    const config = await readFile(join(project.dir, 'redundancy.config.yaml'), 'utf8');
    await project.write('redundancy.config.yaml', `${config}policy: [broken\n`);
    const refused = await project.cli('reload');
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr).toMatch(/^redundancy: .*redundancy\.config\.yaml[^\n]*$/);
    // `status` still answers, from the running manager, and says both.
    const shown = await project.cli('status');
    expect(shown.stdout).toMatch(/^config: does not load: .*redundancy\.config\.yaml/m);
    expect(shown.stdout).toMatch(/^config: reload at \S+ refused, the running config stays: /m);
    const kept = (await (await fetch(`http://127.0.0.1:${metricsPort}/health`)).json()) as Awaited<ReturnType<typeof status>>['report'];
    expect(kept.manager).toMatchObject({ pid, reload: { ok: false, error: expect.stringContaining('redundancy.config.yaml') } });
    expect(kept.units).toHaveLength(2);
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain('redundancy_config_last_reload_successful 0');

    // SIGHUP reloads too: the mended config is taken.
    await project.write('redundancy.config.yaml', config);
    manager.kill('SIGHUP');
    await waitFor(async () => (await status(project)).report.manager.reload?.ok === true || undefined, { timeoutMs: 20_000, what: 'the SIGHUP reload' });
    manager.kill('SIGTERM');
    await manager;
  });

  it('with watch: true, reloads by itself when the ecosystem file is saved', async () => {
    const project = await appProject(session, { name: `rlw${process.pid}`, config: ['watch: true'] });
    const manager = session.startManager(project);
    await waitFor(async () => ((await status(project)).report.units?.[0]?.samples ?? 0) > 0 || undefined, { timeoutMs: 30_000, what: 'the unit watched' });
    const text = await readFile(join(project.dir, 'ecosystem.config.cjs'), 'utf8');
    const apps = (JSON.parse(text.replace(/^module\.exports = /, '').replace(/;\s*$/, '')) as { apps: Array<Record<string, unknown>> }).apps;
    const added = { name: `rlx${process.pid}`, script: join(fixtures, 'service.cjs'), env: { PORT: String((await freePorts(1))[0]) } };
    await project.write('ecosystem.config.cjs', ecosystem([...apps, added]));
    const report = await waitFor(async () => {
      const r = (await status(project)).report;
      return r.units.some((u) => u.id === `pm2:rlx${process.pid}`) && r.manager.reload ? r : undefined;
    }, { timeoutMs: 20_000, what: 'the unit added by the watcher' });
    expect(report.manager.reload?.ok).toBe(true);
    manager.kill('SIGTERM');
    await manager;
  });
});
