import type { NotificationEvent } from './types.js';

/** How many events a subject names before `...`: a subject line stays readable. */
const subjectItems = 4;

function label(event: NotificationEvent): string {
  return event.unit ? `${event.type} ${event.unit}` : event.type;
}

/** One line per event, for Slack's fallback text and the mail body. */
export function eventLine(event: NotificationEvent): string {
  const where = event.state ? ` (${event.state}, active ${event.active ?? 'unknown'})` : '';
  return `${event.at} ${label(event)}${where} on ${event.host}: ${event.reason}`;
}

/** `[redundancy] failover pm2:web on host` or `[redundancy] 3 notifications: failover pm2:web, ...`. */
export function batchSubject(batch: readonly NotificationEvent[]): string {
  const [first] = batch;
  if (!first) return '[redundancy] no notifications';
  if (batch.length === 1) return `[redundancy] ${label(first)} on ${first.host}`;
  const named = batch.slice(0, subjectItems).map(label).join(', ');
  return `[redundancy] ${batch.length} notifications: ${named}${batch.length > subjectItems ? ', ...' : ''}`;
}

export function batchText(batch: readonly NotificationEvent[]): string {
  return batch.map(eventLine).join('\n');
}
