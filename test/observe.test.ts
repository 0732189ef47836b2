import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { freePorts } from './helpers/project.js';
import { appProject, pm2Session, status, waitForUnit } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/** The manager's read-only listener: /health and /metrics of the real manager, and a port someone else holds. */
const session = pm2Session();

describe('the http listener', () => {
  it('serves /health and /metrics of the running manager, and shows a failover in both', async () => {
    const [port] = await freePorts(1);
    const project = await appProject(session, { name: `obs${process.pid}`, policy: { window: 2, minSamples: 2, holdDown: '1h' }, config: [`http: { listen: "127.0.0.1:${port}" }`] });
    const manager = session.startManager(project);
    const id = `pm2:obs${process.pid}`;
    await waitForUnit(project, 'healthy', (u) => u.id === id && u.state === 'primary' && u.samples > 0);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { units: Array<{ id: string }> }).units.map((u) => u.id)).toEqual([id]);
    await project.write('fail', '');
    await waitForUnit(project, 'on its twin', (u) => u.id === id && u.state === 'backup');
    const text = await waitFor(async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return body.includes(`redundancy_unit_active{unit="${id}",side="twin"} 1`) ? body : undefined;
    }, { timeoutMs: 10_000, what: '/metrics showing the twin active' });
    expect(text).toContain(`redundancy_unit_state{unit="${id}",kind="pm2",state="backup"} 1`);
    expect(text).toMatch(new RegExp(`redundancy_failovers_total\\{unit="${id}",reason="error-rate"\\} 1`));
    expect(text).toContain('process_resident_memory_bytes');
    // Read-only: nothing that changes state is reachable.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
    manager.kill('SIGTERM');
    await manager;
  });

  it('logs a port in use, shows it in status, and supervises without the listener', async () => {
    const [port] = await freePorts(1);
    const squatter = createServer((_req, res) => void res.end('someone else'));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const project = await appProject(session, { name: `busy${process.pid}`, config: [`http: { listen: "127.0.0.1:${port}" }`] });
      const manager = session.startManager(project);
      await waitForUnit(project, 'supervised', (u) => u.samples > 0);
      const { stdout } = await project.cli('status');
      expect(stdout).toMatch(new RegExp(`^http: not listening on 127\\.0\\.0\\.1:${port}: .*in use`, 'm'));
      expect((await status(project)).report.manager.http).toMatchObject({ listen: `127.0.0.1:${port}`, error: expect.stringContaining('EADDRINUSE') });
      manager.kill('SIGTERM');
      await manager;
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
