/** What a notification is about: DESIGN.md "Metrics and notifications". */
export type NotificationType =
  | 'failover'
  | 'failback'
  | 'failback-failed'
  | 'critical'
  | 'recovered'
  | 'missed-run'
  | 'config-error'
  | 'manager-start'
  | 'manager-stop'
  | 'paused'
  | 'resumed'
  | 'drill';

/** One notification; also the webhook body, field for field. */
export interface NotificationEvent {
  type: NotificationType;
  /** Unit id, or null for manager-wide events (manager-start, config-error). */
  unit: string | null;
  state: string | null;
  active: string | null;
  reason: string;
  /** ISO-8601. */
  at: string;
  host: string;
  /** Multi-host: the fencing token the sending host acted under (its last one on a standby). */
  epoch?: number;
}

export interface WebhookChannelConfig {
  type: 'webhook';
  name: string;
  url: string;
  /** Resolved `whsec_<base64>` secret; without it requests go unsigned. */
  secret?: string;
  timeoutMs: number;
}

export interface SlackChannelConfig {
  type: 'slack';
  name: string;
  /** Slack incoming-webhook URL. */
  url: string;
  timeoutMs: number;
}

export interface EmailChannelConfig {
  type: 'email';
  name: string;
  /** `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`; user:pass in the URL when needed. */
  smtp: string;
  from: string;
  to: string[];
  timeoutMs: number;
}

/** A compiled channel: every default filled, secrets resolved. `name` is unique among channels. */
export type ChannelConfig = WebhookChannelConfig | SlackChannelConfig | EmailChannelConfig;

/** What a config compiler fills in when the YAML leaves it out. */
export const notifyDefaults = {
  groupWaitMs: 5_000,
  repeatIntervalMs: 4 * 3_600_000,
  /** Per delivery; Standard Webhooks suggests 15-30 s for receivers, a notifier needs no more than 10. */
  timeoutMs: 10_000,
} as const;

export interface NotifyConfig {
  /** Slack and email: events within this long of the first of a burst go out as one message. 0 sends at once. @default 5000 */
  groupWaitMs: number;
  /** A unit still on its twin or critical is notified again after this long. 0 turns repeats off. @default 14400000 (4h) */
  repeatIntervalMs: number;
  channels: ChannelConfig[];
}

/** How a channel took one delivery. `disable`: the endpoint is gone (410), stop using the channel. */
export type DeliveryResult =
  | { ok: true }
  | { ok: false; permanent: boolean; disable?: boolean; retryAfterMs?: number; reason: string };

export interface Channel {
  readonly name: string;
  readonly type: ChannelConfig['type'];
  /** Whether a burst may share one delivery (Slack, email) or each event goes alone (webhook). */
  readonly groups: boolean;
  /** Never throws: every failure is a DeliveryResult. `meta.id` is stable across retries. */
  send(batch: NotificationEvent[], meta: { id: string }): Promise<DeliveryResult>;
}
