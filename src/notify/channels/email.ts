import { createTransport } from 'nodemailer';
import { errorMessage } from '../../core/errors.js';
import { batchSubject, batchText } from '../format.js';
import type { Channel, DeliveryResult, EmailChannelConfig, NotificationEvent } from '../types.js';

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** SMTP replies 5xx are permanent, 4xx transient; no reply at all (connection, timeout, TLS) is retried. */
export function classifySmtpError(error: unknown): DeliveryResult {
  const failure = (error ?? {}) as SmtpFailure;
  const reason = failure.response ?? errorMessage(error);
  if (typeof failure.responseCode === 'number') {
    return { ok: false, permanent: failure.responseCode >= 500, reason: `SMTP ${failure.responseCode}: ${reason}` };
  }
  // Refused before talking to the server: no recipients, a bad address. Retrying changes nothing.
  if (failure.code === 'EENVELOPE') return { ok: false, permanent: true, reason };
  return { ok: false, permanent: false, reason: failure.code ? `${failure.code}: ${reason}` : reason };
}

/** One mail a batch, over a transport made for it and closed after: nothing lingers between bursts. */
export function emailChannel(config: EmailChannelConfig): Channel {
  return {
    name: config.name,
    type: 'email',
    groups: true,
    async send(batch: NotificationEvent[], meta: { id: string }): Promise<DeliveryResult> {
      let transport: ReturnType<typeof createTransport> | undefined;
      try {
        transport = createTransport({
          url: config.smtp,
          connectionTimeout: config.timeoutMs,
          greetingTimeout: config.timeoutMs,
          socketTimeout: config.timeoutMs,
        });
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: batchSubject(batch),
          text: `${batchText(batch)}\n`,
          // Stable across retries, like webhook-id: a receiving system can drop a resent copy.
          messageId: `<${meta.id}@redundancy>`,
        });
        return { ok: true };
      } catch (error) {
        return classifySmtpError(error);
      } finally {
        transport?.close();
      }
    },
  };
}
