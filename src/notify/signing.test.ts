import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedundancyError } from '../core/errors.js';
import { signWebhook, verifyWebhook, webhookHeaders, webhookKey } from './signing.js';

// The Standard Webhooks specification's published test vector (also in its reference libraries' tests).
const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signing', () => {
  it('reproduces the published vector', () => {
    expect(signWebhook(vector.secret, vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
  });

  it('signs a fresh secret as node:crypto does by hand', () => {
    const key = randomBytes(32);
    const secret = `whsec_${key.toString('base64')}`;
    const body = JSON.stringify({ type: 'failover', unit: 'pm2:web' });
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.${body}`).digest('base64');
    expect(webhookHeaders(secret, 'msg_1', 1700000000, body)).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `v1,${expected}`,
    });
  });

  it('verifies within the tolerance, and refuses a changed body, id, stale timestamp or wrong key', () => {
    const headers = { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': vector.signature };
    const at = vector.timestamp + 10;
    expect(verifyWebhook(vector.secret, headers, vector.body, 300, at)).toBe(true);
    expect(verifyWebhook(vector.secret, new Headers(headers), vector.body, 300, at)).toBe(true);
    expect(verifyWebhook(vector.secret, headers, `${vector.body} `, 300, at)).toBe(false);
    expect(verifyWebhook(vector.secret, { ...headers, 'webhook-id': 'msg_other' }, vector.body, 300, at)).toBe(false);
    expect(verifyWebhook(vector.secret, headers, vector.body, 300, vector.timestamp + 301)).toBe(false);
    expect(verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, headers, vector.body, 300, at)).toBe(false);
    expect(verifyWebhook(vector.secret, { 'webhook-id': vector.id }, vector.body, 300, at)).toBe(false);
  });

  it('accepts any one of several space-separated signatures (key rotation)', () => {
    const headers = { 'webhook-id': vector.id, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': `v1,bm90IGl0 ${vector.signature}` };
    expect(verifyWebhook(vector.secret, headers, vector.body, 300, vector.timestamp)).toBe(true);
  });

  it('rejects a secret that is not base64', () => {
    expect(() => webhookKey('whsec_not base64!')).toThrow(RedundancyError);
    expect(() => webhookKey('whsec_')).toThrow(/whsec_<base64>/);
    expect(webhookKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toEqual(webhookKey(vector.secret));
  });
});
