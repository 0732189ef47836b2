import type { Clock } from '../../core/clock.js';
import { batchSubject, batchText } from '../format.js';
import type { Channel, DeliveryResult, NotificationEvent, SlackChannelConfig } from '../types.js';
import { postJson } from './http-post.js';

/** Slack refuses a section text over 3000 characters (block kit limits). */
const maxSectionText = 3000;

/** The incoming-webhook payload: `text` is the plain fallback (notifications, screen readers). */
export function slackPayload(batch: readonly NotificationEvent[]): { text: string; blocks: unknown[] } {
  const lines = batchText(batch);
  const section = lines.length > maxSectionText ? `${lines.slice(0, maxSectionText - 4)}\n...` : lines;
  return {
    text: `${batchSubject(batch)}\n${lines}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: batchSubject(batch).slice(0, 150) } },
      { type: 'section', text: { type: 'plain_text', text: section } },
    ],
  };
}

/** Slack incoming webhook: one message a batch. */
export function slackChannel(config: SlackChannelConfig, clock: Clock): Channel {
  return {
    name: config.name,
    type: 'slack',
    groups: true,
    send(batch: NotificationEvent[]): Promise<DeliveryResult> {
      return postJson(config.url, JSON.stringify(slackPayload(batch)), {}, config.timeoutMs, () => clock.now());
    },
  };
}
