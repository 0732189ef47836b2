import { errorMessage } from '../../core/errors.js';
import type { DeliveryResult } from '../types.js';

/** Enough of a receiver's answer to explain a failure in a log line. */
const maxReasonBody = 200;

/** `retry-after` as delay seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * 2xx ok; 408, 429 and 5xx retried (honouring `retry-after`); 410 permanent and disables the
 * channel (Standard Webhooks, Slack's `channel_is_archived`); any other status permanent
 * (3xx included: redirects are not followed, a moved endpoint is a configuration error).
 */
export function classifyStatus(status: number, retryAfter: string | null, detail: string, now: number): DeliveryResult {
  if (status >= 200 && status < 300) return { ok: true };
  const reason = `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) {
    const after = retryAfterMs(retryAfter, now);
    return { ok: false, permanent: false, reason, ...(after !== undefined && { retryAfterMs: after }) };
  }
  if (status === 410) return { ok: false, permanent: true, disable: true, reason };
  return { ok: false, permanent: true, reason };
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs}ms`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${errorMessage(error)} (${detail})` : errorMessage(error);
}

/**
 * POSTs a JSON body and classifies the outcome; never throws. The timeout covers the whole
 * exchange, the answer's body included (a receiver that sends headers and then hangs).
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  now: () => number,
): Promise<DeliveryResult> {
  try {
    new URL(url);
  } catch {
    return { ok: false, permanent: true, reason: 'invalid URL' };
  }
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await response.text()).trim().slice(0, maxReasonBody);
    return classifyStatus(response.status, response.headers.get('retry-after'), text, now());
  } catch (error) {
    return { ok: false, permanent: false, reason: networkReason(error, timeoutMs) };
  }
}
