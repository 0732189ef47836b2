// Everything the benchmark starts is registered here and undone in reverse order: at the end of
// a scenario, on failure, and on Ctrl-C / SIGTERM.

const stack = [];
/** Undos a scenario started itself and that have not finished: a cleanup run waits for them too. */
const inFlight = new Set();
let exiting = false;

/** Registers `undo`; returns a function that runs it now (once) and unregisters it. */
export function defer(label, undo) {
  const entry = { label, undo, done: false };
  stack.push(entry);
  return () => {
    if (entry.done) return entry.promise ?? Promise.resolve();
    entry.done = true;
    stack.splice(stack.indexOf(entry), 1);
    entry.promise = Promise.resolve().then(undo);
    inFlight.add(entry.promise);
    return entry.promise.finally(() => inFlight.delete(entry.promise));
  };
}

/**
 * Runs every registered undo, newest first; reports failures on stderr and carries on. Callers
 * at the same time (a failing scenario and a Ctrl-C) share one run, so none exits half-way.
 */
let running;
export function cleanupAll() {
  running ??= drain().finally(() => {
    running = undefined;
  });
  return running;
}

async function drain() {
  while (stack.length > 0) {
    const entry = stack.pop();
    if (entry.done) continue;
    entry.done = true;
    try {
      await entry.undo();
    } catch (error) {
      process.stderr.write(`bench: cleanup "${entry.label}" failed: ${error?.message ?? error}\n`);
    }
  }
  await Promise.allSettled([...inFlight]);
  if (stack.length > 0) await drain();
}

/** On Ctrl-C or SIGTERM: clean up, then exit 130 / 143. A second signal exits at once. */
export function installSignalHandlers() {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, () => {
      if (exiting) process.exit(code);
      exiting = true;
      process.stderr.write(`\nbench: ${signal}: cleaning up...\n`);
      cleanupAll().finally(() => process.exit(code));
    });
  }
}
