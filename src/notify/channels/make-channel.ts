import type { Clock } from '../../core/clock.js';
import type { Channel, ChannelConfig } from '../types.js';
import { emailChannel } from './email.js';
import { slackChannel } from './slack.js';
import { webhookChannel } from './webhook.js';

export function makeChannel(config: ChannelConfig, clock: Clock): Channel {
  switch (config.type) {
    case 'webhook':
      return webhookChannel(config, clock);
    case 'slack':
      return slackChannel(config, clock);
    case 'email':
      return emailChannel(config);
    default:
      throw new Error(`unhandled channel type: ${JSON.stringify(config satisfies never)}`);
  }
}
