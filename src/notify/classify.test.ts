import { describe, expect, it } from 'vitest';
import { fullJitterMs, defaultRetryPolicy } from './backoff.js';
import { classifySmtpError } from './channels/email.js';
import { classifyStatus, retryAfterMs } from './channels/http-post.js';
import { newEntryId, parseEntry } from './outbox-entry.js';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('delivery classification', () => {
  it('sorts HTTP statuses into ok, retry, permanent and disable', () => {
    expect(classifyStatus(204, null, '', now)).toEqual({ ok: true });
    for (const status of [408, 429, 500, 502, 503, 504]) expect(classifyStatus(status, null, '', now)).toMatchObject({ ok: false, permanent: false });
    for (const status of [301, 400, 401, 403, 404, 413]) expect(classifyStatus(status, null, '', now)).toMatchObject({ ok: false, permanent: true });
    expect(classifyStatus(410, null, 'channel_is_archived', now)).toEqual({ ok: false, permanent: true, disable: true, reason: 'HTTP 410: channel_is_archived' });
    expect(classifyStatus(503, '7', '', now)).toMatchObject({ retryAfterMs: 7000 });
  });

  it('reads retry-after as seconds or an HTTP date', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('treats SMTP 5xx as permanent, 4xx and connection errors as transient', () => {
    expect(classifySmtpError(Object.assign(new Error('x'), { responseCode: 550, response: '550 no such user' }))).toMatchObject({ permanent: true, reason: 'SMTP 550: 550 no such user' });
    expect(classifySmtpError(Object.assign(new Error('x'), { responseCode: 451 }))).toMatchObject({ permanent: false });
    expect(classifySmtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }))).toMatchObject({ permanent: false, reason: 'ESOCKET: connect ECONNREFUSED' });
    expect(classifySmtpError(Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE' }))).toMatchObject({ permanent: true });
  });
});

describe('backoff', () => {
  it('draws up to base * 2^(attempt-1), capped', () => {
    const policy = { ...defaultRetryPolicy, baseMs: 1000, capMs: 300_000 };
    expect(fullJitterMs(1, policy, () => 0.999)).toBe(999);
    expect(fullJitterMs(4, policy, () => 0.5)).toBe(4000);
    expect(fullJitterMs(40, policy, () => 0.999)).toBe(299_700);
    expect(fullJitterMs(3, policy, () => 0)).toBe(0);
  });
});

describe('outbox entries', () => {
  const entry = { id: 'msg_abc', channel: 'hook', events: [{ type: 'failover', unit: 'pm2:a', state: 'backup', active: 'twin', reason: 'r', at: '2026-01-01T00:00:00.000Z', host: 'h' }], createdAt: '2026-01-01T00:00:00.000Z', attempts: 0, nextAttemptAt: '2026-01-01T00:00:00.000Z' };

  it('parses a well-formed entry and refuses anything else', () => {
    expect(parseEntry(JSON.stringify(entry), 'msg_abc')).toEqual(entry);
    expect(parseEntry(JSON.stringify(entry), 'msg_other')).toBeUndefined();
    expect(parseEntry(JSON.stringify(entry).slice(0, 40), 'msg_abc')).toBeUndefined();
    expect(parseEntry(JSON.stringify({ ...entry, events: [] }), 'msg_abc')).toBeUndefined();
    expect(parseEntry(JSON.stringify({ ...entry, attempts: -1 }), 'msg_abc')).toBeUndefined();
    expect(parseEntry(JSON.stringify({ ...entry, createdAt: 'yesterday' }), 'msg_abc')).toBeUndefined();
    expect(parseEntry(JSON.stringify({ ...entry, id: '../x', }), '../x')).toBeUndefined();
  });

  it('makes ids that sort in creation order within one millisecond', () => {
    const ids = Array.from({ length: 50 }, () => newEntryId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(50);
  });
});
