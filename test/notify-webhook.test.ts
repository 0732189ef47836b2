import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import { Notifier, verifyWebhook, type NotificationEvent, type NotifierOptions, type WebhookChannelConfig } from '../src/notify/index.js';
import { HttpReceiver, recordingLogger } from './helpers/receivers.js';
import { waitFor } from './helpers/wait-for.js';

let dir: string;
let receiver: HttpReceiver;
const notifiers: Notifier[] = [];
const secret = `whsec_${randomBytes(32).toString('base64')}`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redundancy-outbox-'));
  receiver = await HttpReceiver.start();
});

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  await receiver.down();
  await rm(dir, { recursive: true, force: true });
});

function event(unit: string, type: NotificationEvent['type'] = 'failover'): NotificationEvent {
  return { type, unit, state: 'failing-over', active: 'twin', reason: 'error rate 0.90 > 0.80', at: new Date().toISOString(), host: 'test-host' };
}

function hook(extra: Partial<WebhookChannelConfig> = {}): WebhookChannelConfig {
  return { type: 'webhook', name: 'hook', url: receiver.url(), secret, timeoutMs: 2000, ...extra };
}

function notifier(extra: Partial<NotifierOptions> = {}, channel = hook()): { n: Notifier; lines: ReturnType<typeof recordingLogger>['lines'] } {
  const { logger, lines } = recordingLogger();
  const n = new Notifier({
    dir, clock: systemClock, logger, host: 'test-host',
    config: { groupWaitMs: 0, repeatIntervalMs: 0, channels: [channel] },
    retry: { baseMs: 20, capMs: 200 },
    ...extra,
  });
  notifiers.push(n);
  return { n, lines };
}

const entryFiles = async (): Promise<string[]> => (await readdir(dir)).filter((f) => f.endsWith('.json'));
const deadLines = async (): Promise<Record<string, unknown>[]> =>
  (await readFile(join(dir, 'dead.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const wait = { timeoutMs: 10_000 };

describe('webhook notifications', () => {
  it('delivers each event as one signed Standard Webhooks request', async () => {
    const { n } = notifier();
    await n.start();
    const events = [event('pm2:a'), event('pm2:b', 'critical')];
    await n.notify(events);
    await waitFor(() => receiver.accepted().length === 2, { ...wait, what: 'two deliveries' });
    for (const [i, request] of receiver.requests.entries()) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-id']).toMatch(/^msg_/);
      expect(verifyWebhook(secret, request.headers, request.body)).toBe(true);
      expect(JSON.parse(request.body)).toEqual(events[i]);
    }
    expect(receiver.requests[0]!.headers['webhook-id']).not.toBe(receiver.requests[1]!.headers['webhook-id']);
    await waitFor(() => n.stats().pending === 0, { ...wait, what: 'empty outbox' });
    expect(n.stats().channels.hook).toMatchObject({ sent: 2, failed: 0, dead: 0, disabled: false });
    expect(await entryFiles()).toEqual([]);
  });

  it('keeps retrying while the receiver is down and delivers exactly once after it comes up', async () => {
    await receiver.down();
    const { n } = notifier();
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().channels.hook!.failed >= 3, { ...wait, what: 'failed attempts' });
    expect(n.pending()[0]!.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    await receiver.up();
    await waitFor(() => n.stats().pending === 0, { ...wait, what: 'delivery after the receiver came up' });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.accepted()).toHaveLength(1);
  });

  it('sends after a restart what a killed manager had written, with the same webhook-id', async () => {
    // Never started: the entry is on disk, nothing was sent (a SIGKILL right after the write).
    await notifier().n.notify([event('pm2:a')]);
    const [file] = await entryFiles();
    const id = file!.replace(/\.json$/, '');
    const copy = join(dir, 'copy.keep');
    await copyFile(join(dir, file!), copy);

    const second = notifier().n;
    await second.start();
    await waitFor(() => second.stats().pending === 0, { ...wait, what: 'delivery after restart' });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id]);

    // Killed after the receiver accepted, before the removal: resent once, same id to de-duplicate on.
    await copyFile(copy, join(dir, file!));
    const third = notifier().n;
    await third.start();
    await waitFor(() => third.stats().pending === 0, { ...wait, what: 'resend after a late crash' });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
  });

  it('disables the channel on 410: the entry and the rest go to dead.jsonl, later events are dropped', async () => {
    receiver.answer({ status: 410, body: 'gone' });
    const { n, lines } = notifier();
    await n.notify([event('pm2:a'), event('pm2:b')]);
    await n.start();
    await waitFor(() => n.stats().channels.hook!.disabled, { ...wait, what: 'channel disabled' });
    await n.notify([event('pm2:c')]);
    expect(n.stats()).toMatchObject({ pending: 0, dead: 2, channels: { hook: { dead: 1, dropped: 2, disabled: true } } });
    expect(receiver.requests).toHaveLength(1);
    expect((await deadLines()).map((l) => l.result)).toEqual(['dead', 'dropped']);
    expect(lines.filter((l) => l.msg === 'notification channel disabled')).toHaveLength(1);
  });

  it('gives up at once on 400 and records the entry in dead.jsonl', async () => {
    receiver.answer({ status: 400, body: 'invalid_payload' });
    const { n } = notifier();
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().dead === 1 && n.stats().pending === 0, { ...wait, what: 'dead letter' });
    const [line] = await deadLines();
    expect(line).toMatchObject({ channel: 'hook', attempts: 1, lastError: 'HTTP 400: invalid_payload', result: 'dead', events: [event('pm2:a')].map((e) => ({ ...e, at: expect.any(String) })) });
    expect(receiver.requests).toHaveLength(1);
    expect(await entryFiles()).toEqual([]);
  });

  it('waits as long as retry-after asks on 429, and retries 500', async () => {
    receiver.answer({ status: 429, headers: { 'retry-after': '1' } }, { status: 500 });
    const { n } = notifier();
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().channels.hook!.sent === 1, { ...wait, what: 'delivery after 429 and 500' });
    expect(receiver.requests.map((r) => (typeof r.answer === 'object' ? r.answer.status : r.answer))).toEqual([429, 500, 200]);
    // Timer and clock granularity: a few ms early at most.
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(990);
    expect(n.stats().channels.hook).toMatchObject({ sent: 1, failed: 2 });
  });

  it('survives a receiver that hangs, drops the connection or answers garbage', async () => {
    receiver.answer('hang', 'close', 'garbage');
    const { n } = notifier({}, hook({ timeoutMs: 300 }));
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().channels.hook!.sent === 1, { ...wait, what: 'delivery after three bad answers' });
    expect(receiver.requests).toHaveLength(4);
    expect(n.stats().channels.hook).toMatchObject({ sent: 1, failed: 3, dead: 0 });
  });

  it('moves corrupt outbox files aside with one warning each and goes on', async () => {
    await writeFile(join(dir, 'msg_truncated.json'), '{"id":"msg_truncated","chan');
    await writeFile(join(dir, 'msg_shape.json'), '{"id":"msg_shape","channel":"hook","events":[]}');
    const { n, lines } = notifier();
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => receiver.accepted().length === 1, { ...wait, what: 'delivery beside corrupt files' });
    const names = await readdir(dir);
    expect(names.filter((f) => f.includes('.corrupt-')).sort()).toEqual([expect.stringMatching(/^msg_shape\.json\.corrupt-/), expect.stringMatching(/^msg_truncated\.json\.corrupt-/)]);
    expect(lines.filter((l) => l.level === 'warn' && l.msg?.includes('moved aside'))).toHaveLength(2);
  });

  it('gives up after the maximum age', async () => {
    await receiver.down();
    const { n } = notifier({ retry: { baseMs: 20, capMs: 50, maxAgeMs: 300 } });
    await n.start();
    await n.notify([event('pm2:a')]);
    await waitFor(() => n.stats().dead === 1, { ...wait, what: 'expiry' });
    const [line] = await deadLines();
    expect(String(line!.lastError)).toMatch(/^gave up after \d+ attempts/);
    expect(n.stats().channels.hook!.failed).toBeGreaterThan(0);
  });
});
