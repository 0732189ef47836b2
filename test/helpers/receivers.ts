import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** How the receiver answers one request. */
export type Answer =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Never answers: the sender's timeout must fire. */
  | 'hang'
  /** Drops the connection without a response. */
  | 'close'
  /** Answers bytes that are not HTTP. */
  | 'garbage';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered; a 2xx status is an accepted delivery. */
  answer: Answer;
  /** When the request's body had arrived (ms). */
  at: number;
}

/**
 * A 127.0.0.1 HTTP receiver that records every request. Answers come from a queue (`answer()`),
 * then 200 `ok`. It can go down (not listening) and come back up on the same port.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly queue: Answer[] = [];
  private server: Server | undefined;

  private constructor(readonly port: number) {}

  /** Listening on a free port; `{ up: false }` reserves the port but does not listen. */
  static async start(opts: { up?: boolean } = {}): Promise<HttpReceiver> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const receiver = new HttpReceiver(port);
    if (opts.up !== false) await receiver.up();
    return receiver;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests answered 2xx. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => typeof r.answer === 'object' && r.answer.status >= 200 && r.answer.status < 300);
  }

  /** Queues answers for the next requests, in order. */
  answer(...answers: Answer[]): void {
    this.queue.push(...answers);
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const answer = this.queue.shift() ?? { status: 200, body: 'ok' };
        this.requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answer, at: Date.now() });
        if (answer === 'hang') return;
        if (answer === 'close') return void req.socket.destroy();
        if (answer === 'garbage') return void req.socket.end('NOT HTTP AT ALL\r\n\r\n');
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops open connections (hanging ones included). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  text: string;
  raw: string;
}

/** The headers (unfolded) and decoded text of a single-part text mail as nodemailer writes it. */
export function parseMail(raw: string): { headers: Map<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map(head.split('\r\n').map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as [string, string];
  }));
  let text = raw.slice(split + 4);
  if (headers.get('content-transfer-encoding') === 'quoted-printable') {
    const bytes = text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    text = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { headers, text: text.replace(/\r\n/g, '\n') };
}

/** An in-process SMTP server on 127.0.0.1 (no TLS, no auth) that keeps what it receives. */
export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  /** Reply codes for the next messages' DATA, in order (e.g. 451, 550); then 250. */
  readonly rejections: number[] = [];
  private constructor(private readonly server: SMTPServer, readonly port: number) {}

  static async start(): Promise<SmtpReceiver> {
    let receiver: SmtpReceiver | undefined;
    const server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const code = receiver?.rejections.shift();
          if (code !== undefined) return callback(Object.assign(new Error(`rejected by test (${code})`), { responseCode: code }));
          const raw = Buffer.concat(chunks).toString('utf8');
          const { headers, text } = parseMail(raw);
          receiver?.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: headers.get('subject') ?? '',
            messageId: headers.get('message-id') ?? '',
            text,
            raw,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    receiver = new SmtpReceiver(server, (server.server.address() as AddressInfo).port);
    return receiver;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface LogLine {
  level: string;
  obj: unknown;
  msg: string | undefined;
}

/** A logger that keeps its lines, for asserting on warnings. */
export function recordingLogger(): { lines: LogLine[]; logger: { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn } } {
  const lines: LogLine[] = [];
  const at = (level: string): LogFn => (obj: unknown, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}
type LogFn = (obj: unknown, msg?: string) => void;
