import { callHandler, messageOf, type FunctionModule } from './call-handler.js';
import type { Answer, Invocation, InvocationAnswer, WorkerMessage } from './ipc.js';

/** Exit code of a worker that stopped on an error it could not pin on one invocation. */
export const workerFatalExit = 70;

/**
 * The loop of a function's worker process, bundled with the function (`node bundle.mjs`).
 * It listens on IPC first, then loads the function and says `{ ready: true }` (a warm process has
 * its module loaded); a module that throws while loading fails each invocation with that reason
 * instead of killing the process unseen. An uncaught exception or unhandled rejection fails every invocation in flight (they share
 * the process, any of them may have caused it), then the worker exits: the manager starts a fresh one.
 */
export function runWorker(load: () => Promise<FunctionModule>): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write('this bundle is a redundancy function worker: start it with an IPC channel (child_process.fork)\n');
    process.exit(workerFatalExit);
  }
  const inFlight = new Set<number>();
  let dying = false;
  const post = (message: WorkerMessage): Promise<void> =>
    new Promise((resolve) => {
      try {
        send(message, undefined, {}, () => resolve());
      } catch {
        resolve(); // the channel is gone: the manager has already seen this process end
      }
    });

  const fatal = (what: string, error: unknown): void => {
    process.stderr.write(`${what}: ${error instanceof Error ? (error.stack ?? error.message) : messageOf(error)}\n`);
    if (dying) return;
    dying = true;
    const reason = `${what}: ${messageOf(error)}`;
    const answers = [post({ fatal: reason }), ...[...inFlight].map((id) => post({ id, ok: false, reason }))];
    // Exit once the answers are out; a stuck channel must not keep a broken process alive.
    setTimeout(() => process.exit(workerFatalExit), 2_000).unref();
    void Promise.all(answers).then(() => process.exit(workerFatalExit));
  };
  process.on('uncaughtException', (error) => fatal('uncaught exception', error));
  process.on('unhandledRejection', (reason) => fatal('unhandled rejection', reason));
  // The manager is gone (even killed): nobody can call this function any more.
  process.on('disconnect', () => process.exit(0));

  const loaded = Promise.resolve().then(load);
  process.on('message', (message: Invocation) => {
    if (dying) return;
    inFlight.add(message.id);
    void loaded
      .then(
        (mod) => callHandler(mod, message),
        (error: unknown): Answer => ({ ok: false, reason: `the function failed to load: ${messageOf(error)}` }),
      )
      .then((answer) => {
        // After a fatal error the in-flight ones are already answered.
        if (dying || !inFlight.delete(message.id)) return;
        const reply: InvocationAnswer = { ...answer, id: message.id };
        return post(reply);
      });
  });
  // Ready either way: a load error is each invocation's answer.
  void loaded.then(
    () => post({ ready: true }),
    () => post({ ready: true }),
  );
}
