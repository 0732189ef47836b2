/**
 * The messages between the manager and a function's worker process, over Node IPC (JSON).
 * Bodies travel as base64 so any bytes survive the JSON channel.
 */

/** How the function is called: per HTTP request, on its schedule, or in the background (202 already sent). */
export type InvocationKind = 'request' | 'scheduled' | 'background';

export interface InvocationRequest {
  method: string;
  /** Absolute URL, `http://127.0.0.1:8888/.netlify/functions/hello?x=1`. */
  url: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Base64, or null for no body. */
  body: string | null;
}

/** Manager -> worker: call the handler once. */
export interface Invocation {
  id: number;
  kind: InvocationKind;
  request: InvocationRequest;
  /** Named segments of the matched `config.path` (`/api/:name`), for `context.params`. */
  params?: Record<string, string>;
  functionName?: string;
  /** The run's limit, for v1's `context.getRemainingTimeInMillis()`. */
  timeoutMs?: number;
}

/** Headers of an answer; `set-cookie` may be repeated. */
export type AnswerHeaders = Record<string, string | string[]>;

/** The handler's answer, or why there is none. */
export type Answer =
  | { ok: true; status: number; headers: AnswerHeaders; /** base64 */ body: string }
  | { ok: false; reason: string };

/** Worker -> manager: the answer to invocation `id`. */
export type InvocationAnswer = Answer & { id: number };

/** Worker -> manager, once, when it listens for invocations (the function module loads after). */
export interface WorkerReady {
  ready: true;
}

/** Worker -> manager, before it answers its in-flight invocations and exits: send it nothing more. */
export interface WorkerFatal {
  fatal: string;
}

export type WorkerMessage = InvocationAnswer | WorkerReady | WorkerFatal;

export function isAnswer(message: WorkerMessage): message is InvocationAnswer {
  return typeof (message as InvocationAnswer).id === 'number';
}

/** What an invocation came to, as the manager sees it (the worker's answer, a timeout, a dead process). */
export type InvocationResult =
  | { ok: true; status: number; headers: AnswerHeaders; body: Buffer; pid: number | null }
  | { ok: false; reason: string; timedOut: boolean; signal: string | null; pid: number | null };
