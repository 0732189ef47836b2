import type { Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { webhookHeaders } from '../signing.js';
import type { Channel, DeliveryResult, NotificationEvent, WebhookChannelConfig } from '../types.js';
import { postJson } from './http-post.js';

/** Standard Webhooks delivery: one event a request, signed when a secret is set. */
export function webhookChannel(config: WebhookChannelConfig, clock: Clock): Channel {
  return {
    name: config.name,
    type: 'webhook',
    groups: false,
    async send(batch: NotificationEvent[], meta: { id: string }): Promise<DeliveryResult> {
      const [event] = batch;
      if (!event || batch.length !== 1) {
        return { ok: false, permanent: true, reason: `a webhook delivery carries one event, got ${batch.length}` };
      }
      const body = JSON.stringify(event);
      // The timestamp is the send time, not the event time: receivers reject stale timestamps.
      const timestampSec = Math.floor(clock.now() / 1000);
      let headers: Record<string, string> = { 'webhook-id': meta.id, 'webhook-timestamp': String(timestampSec) };
      try {
        if (config.secret) headers = webhookHeaders(config.secret, meta.id, timestampSec, body);
      } catch (error) {
        return { ok: false, permanent: true, reason: errorMessage(error) };
      }
      return postJson(config.url, body, headers, config.timeoutMs, () => clock.now());
    },
  };
}
