import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import { Notifier, type ChannelConfig, type NotificationEvent } from '../src/notify/index.js';
import { HttpReceiver, SmtpReceiver, recordingLogger } from './helpers/receivers.js';
import { waitFor } from './helpers/wait-for.js';

let dir: string;
let http: HttpReceiver;
let smtp: SmtpReceiver;
const notifiers: Notifier[] = [];
const wait = { timeoutMs: 10_000 };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-outbox-'));
  http = await HttpReceiver.start();
  smtp = await SmtpReceiver.start();
});

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  await http.down();
  await smtp.close();
  await rm(dir, { recursive: true, force: true });
});

function event(unit: string, type: NotificationEvent['type'] = 'failover'): NotificationEvent {
  return { type, unit, state: 'backup', active: 'twin', reason: `${unit} error rate 0.90 > 0.80`, at: new Date().toISOString(), host: 'test-host' };
}

const slack = (): ChannelConfig => ({ type: 'slack', name: 'slack', url: http.url('/slack'), timeoutMs: 2000 });
const email = (): ChannelConfig => ({ type: 'email', name: 'mail', smtp: smtp.url, from: 'redundancy@example.test', to: ['ops@example.test', 'dev@example.test'], timeoutMs: 2000 });

function notifier(channels: ChannelConfig[], groupWaitMs: number): Notifier {
  const n = new Notifier({
    dir, clock: systemClock, logger: recordingLogger().logger, host: 'test-host',
    config: { groupWaitMs, repeatIntervalMs: 0, channels }, retry: { baseMs: 20, capMs: 200 },
  });
  notifiers.push(n);
  return n;
}

const slackBodies = (): { text: string; blocks: unknown[] }[] =>
  http.requests.filter((r) => r.path === '/slack').map((r) => JSON.parse(r.body) as { text: string; blocks: unknown[] });

describe('grouped notifications (Slack, email)', () => {
  it('sends a burst inside groupWait as one Slack message, while a webhook gets one request per event', async () => {
    // groupWait leaves room for slow fsyncs on a loaded machine: the burst must fit in it.
    const n = notifier([slack(), { type: 'webhook', name: 'hook', url: http.url('/hook'), timeoutMs: 2000 }], 1500);
    await n.start();
    const burst = [event('pm2:a'), event('pm2:b'), event('pm2:c', 'critical')];
    for (const e of burst) await n.notify([e]);
    await waitFor(() => n.stats().pending === 0, { ...wait, what: 'burst delivered' });
    const [message, ...more] = slackBodies();
    expect(more).toEqual([]);
    expect(message!.text.split('\n')).toEqual([
      '[redundancy] 3 notifications: failover pm2:a, failover pm2:b, critical pm2:c',
      ...burst.map((e) => `${e.at} ${e.type} ${e.unit} (backup, active twin) on test-host: ${e.reason}`),
    ]);
    expect(message!.blocks).toHaveLength(2);
    expect(http.requests.filter((r) => r.path === '/hook')).toHaveLength(3);

    // After the group closed, a new event opens a new group.
    await n.notify([event('pm2:d', 'recovered')]);
    await waitFor(() => slackBodies().length === 2, { ...wait, what: 'second message' });
    expect(slackBodies()[1]!.text).toMatch(/^\[redundancy\] recovered pm2:d on test-host\n/);
  });

  it('loses and repeats nothing when groups close while events keep arriving', async () => {
    const n = notifier([slack()], 2);
    await n.start();
    const units = Array.from({ length: 40 }, (_, i) => `pm2:u${i}`);
    await Promise.all(units.map((unit) => n.notify([event(unit)])));
    await waitFor(() => n.stats().pending === 0, { ...wait, what: 'all groups sent' });
    const lines = slackBodies().flatMap((b) => b.text.split('\n').slice(1));
    expect(lines.map((l) => l.split(' ')[2])).toEqual(units);
  });

  it('sends at once, one message per notify() call, with groupWait 0', async () => {
    const n = notifier([slack()], 0);
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => slackBodies().length === 1, { ...wait, what: 'first message' });
    await n.notify([event('pm2:b'), event('pm2:c')]);
    await waitFor(() => slackBodies().length === 2, { ...wait, what: 'second message' });
    expect(slackBodies()[1]!.text.split('\n')).toHaveLength(3);
  });

  it('keeps a group that is still open when the manager dies and sends it whole after the restart', async () => {
    const first = notifier([slack()], 60_000);
    await first.start();
    await first.notify([event('pm2:a')]);
    await first.notify([event('pm2:b')]);
    await first.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, files[0]!), 'utf8'))).toMatchObject({ channel: 'slack', attempts: 0, events: [{ unit: 'pm2:a' }, { unit: 'pm2:b' }] });
    expect(http.requests).toEqual([]);

    // The restarted manager waits out the group's remaining time; here it is due at once.
    const second = new Notifier({
      dir, clock: { now: () => Date.now() + 60_000 }, logger: recordingLogger().logger, host: 'test-host',
      config: { groupWaitMs: 60_000, repeatIntervalMs: 0, channels: [slack()] },
    });
    notifiers.push(second);
    await second.start();
    await waitFor(() => slackBodies().length === 1, { ...wait, what: 'group sent after restart' });
    expect(slackBodies()[0]!.text).toMatch(/^\[redundancy\] 2 notifications: failover pm2:a, failover pm2:b\n/);
    await waitFor(() => second.stats().pending === 0, { ...wait, what: 'empty outbox' });
  });

  it('flushes an open group on close({ flushMs }) and leaves a failing channel on disk', async () => {
    const down = await HttpReceiver.start({ up: false });
    const n = notifier([slack(), { type: 'webhook', name: 'hook', url: down.url(), timeoutMs: 2000 }], 60_000);
    await n.start();
    await n.notify([event('pm2:a', 'failover')]);
    await waitFor(() => n.stats().channels.hook!.failed >= 1, { ...wait, what: 'webhook failing' });
    await n.notify([event('manager', 'manager-stop')]);
    const started = performance.now();
    await n.close({ flushMs: 5000 });
    expect(performance.now() - started).toBeLessThan(4000);
    expect(slackBodies().map((b) => b.text.split('\n')[0])).toEqual(['[redundancy] 2 notifications: failover pm2:a, manager-stop manager']);
    // The webhook's oldest entry is in backoff: both its entries wait on disk for the next start.
    expect(n.stats()).toMatchObject({ pending: 2, channels: { slack: { sent: 1 }, hook: { pending: 2 } } });
  });

  it('sends a burst as one mail through SMTP', async () => {
    const n = notifier([email()], 1500);
    await n.start();
    const burst = [event('pm2:a'), event('pm2:b'), event('cron:nightly', 'critical'), event('pm2:c'), event('pm2:d')];
    for (const e of burst) await n.notify([e]);
    await waitFor(() => smtp.messages.length === 1 && n.stats().pending === 0, { ...wait, what: 'one mail' });
    const [mail] = smtp.messages;
    expect(mail!.subject).toBe('[redundancy] 5 notifications: failover pm2:a, failover pm2:b, critical cron:nightly, failover pm2:c, ...');
    expect(mail!.from).toBe('redundancy@example.test');
    expect(mail!.to).toEqual(['ops@example.test', 'dev@example.test']);
    expect(mail!.text.trim().split('\n')).toEqual(burst.map((e) => `${e.at} ${e.type} ${e.unit} (backup, active twin) on test-host: ${e.reason}`));
    expect(mail!.messageId).toMatch(/^<msg_[0-9a-z]+@redundancy>$/);
    expect(n.stats().channels.mail).toMatchObject({ sent: 1, failed: 0 });
  });

  it('retries an SMTP 4xx and an unreachable server, and gives up on a 5xx', async () => {
    smtp.rejections.push(451);
    const n = notifier([email()], 0);
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().channels.mail!.sent === 1, { ...wait, what: 'mail after 451' });
    expect(smtp.messages).toHaveLength(1);
    expect(n.stats().channels.mail).toMatchObject({ sent: 1, failed: 1 });

    smtp.rejections.push(550);
    await n.notify([event('pm2:b')]);
    await waitFor(() => n.stats().dead === 1, { ...wait, what: 'dead letter after 550' });
    const dead = JSON.parse((await readFile(join(dir, 'dead.jsonl'), 'utf8')).trim()) as { lastError: string };
    expect(dead.lastError).toMatch(/^SMTP 550/);

    await smtp.close();
    await n.notify([event('pm2:c')]);
    await waitFor(() => n.stats().channels.mail!.failed >= 3, { ...wait, what: 'retries while SMTP is down' });
    expect(n.stats()).toMatchObject({ pending: 1, dead: 1 });
    expect(n.pending()[0]!.lastError).toMatch(/ECONNREFUSED|ECONNECTION/);
  });
});
