import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/notify/index.js';
import { HttpReceiver } from './helpers/receivers.js';
import { appProject, pm2Session, waitForUnit } from './helpers/session.js';
import { waitFor } from './helpers/wait-for.js';

/** Notifications from the real manager to a real receiver on 127.0.0.1: never lost, never twice. */
const session = pm2Session();
const secret = `whsec_${Buffer.from('redundancy-test-secret-32-bytes!').toString('base64')}`;

async function project(name: string, receiver: HttpReceiver) {
  return appProject(session, {
    name,
    policy: { window: 2, minSamples: 2, holdDown: '1h' },
    config: [
      'notify:',
      '  groupWait: 0s',
      '  backoff: { base: 100ms, cap: 400ms }',
      `  channels: [{ type: webhook, url: "${receiver.url()}", secret: "env:TEST_WEBHOOK_SECRET" }]`,
    ],
  });
}

type Body = { type: string; unit: string | null; state: string | null; active: string | null; reason: string };
const bodies = (receiver: HttpReceiver) => receiver.accepted().map((r) => ({ id: r.headers['webhook-id'] as string, body: JSON.parse(r.body) as Body, request: r }));

describe('notifications from the manager', () => {
  it('delivers one signed failover to a receiver that was down when it happened', async () => {
    const receiver = await HttpReceiver.start({ up: false });
    const p = await project(`nf${process.pid}`, receiver);
    const manager = session.startManager(p, { TEST_WEBHOOK_SECRET: secret });
    await waitForUnit(p, 'watched', (u) => u.samples > 0);
    await p.write('fail', '');
    await waitForUnit(p, 'on its twin', (u) => u.state === 'backup');
    // Down for a while: the deliveries wait in the outbox and are retried.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await receiver.up();
    const failovers = await waitFor(async () => {
      const found = bodies(receiver).filter((b) => b.body.type === 'failover');
      return found.length > 0 ? found : undefined;
    }, { timeoutMs: 20_000, what: 'the failover delivered' });
    // Time for a duplicate to show up, if there were one.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(bodies(receiver).filter((b) => b.body.type === 'failover')).toHaveLength(1);
    const { body, request } = failovers[0]!;
    expect(body).toMatchObject({ unit: `pm2:nf${process.pid}`, state: expect.stringMatching(/failing-over|backup/) });
    expect(verifyWebhook(secret, request.headers as Record<string, string>, request.body)).toBe(true);
    expect(bodies(receiver).map((b) => b.body.type)).toContain('manager-start');
    manager.kill('SIGTERM');
    await manager;
    expect(bodies(receiver).map((b) => b.body.type)).toContain('manager-stop');
    await receiver.down();
  });

  it('sends after a SIGKILL what was in the outbox, once, with the same webhook-id', async () => {
    const receiver = await HttpReceiver.start({ up: false });
    const p = await project(`nk${process.pid}`, receiver);
    const killed = session.startManager(p, { TEST_WEBHOOK_SECRET: secret });
    await waitForUnit(p, 'watched', (u) => u.samples > 0);
    await p.write('fail', '');
    await waitForUnit(p, 'on its twin', (u) => u.state === 'backup');
    const outbox = join(p.dir, '.redundancy/outbox');
    await waitFor(async () => (await readdir(outbox).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).length >= 2 || undefined, { timeoutMs: 10_000, what: 'entries in the outbox' });
    const entries = await Promise.all((await readdir(outbox)).filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(join(outbox, f), 'utf8')) as { id: string; events: Body[] }));
    const written = entries.find((e) => e.events.some((ev) => ev.type === 'failover'))!;
    killed.kill('SIGKILL');
    await killed;
    await receiver.up();
    const manager = session.startManager(p, { TEST_WEBHOOK_SECRET: secret });
    await waitFor(async () => bodies(receiver).filter((b) => b.body.type === 'manager-start').length >= 2 || undefined, { timeoutMs: 20_000, what: 'both starts delivered' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const failovers = bodies(receiver).filter((b) => b.body.type === 'failover');
    expect(failovers).toHaveLength(1);
    expect(failovers[0]!.id).toBe(written.id);
    // The restarted manager found the unit already on its twin: no second failover.
    manager.kill('SIGTERM');
    await manager;
    await receiver.down();
  });
});
