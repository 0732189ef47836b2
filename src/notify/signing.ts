import { createHmac, timingSafeEqual } from 'node:crypto';
import { RedundancyError } from '../core/errors.js';

/** Standard Webhooks 1.0 signing: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`. */

const prefix = 'whsec_';

/** The HMAC key of a `whsec_<base64>` secret (a bare base64 string is accepted too, as the reference libraries do). */
export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith(prefix) ? secret.slice(prefix.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new RedundancyError('CONFIG_INVALID', `webhook secret: expected whsec_<base64>, got a value of ${secret.length} characters`);
  }
  return key;
}

/** The `webhook-signature` value for one delivery. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers. */
export function webhookHeaders(secret: string, id: string, timestampSec: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signWebhook(secret, id, timestampSec, body),
  };
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A receiver's check: the signature matches one of the space-separated `v1,` entries (key
 * rotation), in constant time, and the timestamp is within `toleranceSec` of `nowSec`.
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSec - Number(timestamp)) > toleranceSec) return false;
  const expected = Buffer.from(signWebhook(secret, id, Number(timestamp), body));
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
