/** The notification subsystem's public API: edges from reports, a durable notifier, signing. */
export type {
  Channel, ChannelConfig, DeliveryResult, EmailChannelConfig, NotificationEvent, NotificationType, NotifyConfig,
  SlackChannelConfig, WebhookChannelConfig,
} from './types.js';
export { notifyDefaults } from './types.js';
export { notificationEvent, unitEdges, type EdgeMemory, type EdgeOptions } from './edges.js';
export { Notifier, type ChannelStats, type NotifierOptions, type NotifierStats, type PendingNotification } from './notifier.js';
export { defaultRetryPolicy, type RetryPolicy } from './backoff.js';
export { signWebhook, verifyWebhook, webhookHeaders, webhookKey } from './signing.js';
export { makeChannel } from './channels/make-channel.js';
export { DEAD_FILE, type NotifyLogger, type OutboxEntry } from './outbox.js';
