export interface WaitForOptions {
  timeoutMs: number;
  /** @default 50 */
  intervalMs?: number;
  /** What is awaited, for the failure message: `app x online`. */
  what: string;
}

/**
 * Polls `fn` until it returns a value other than undefined or false, and returns that value.
 * Fails after `timeoutMs` with a message naming `what` and the last error thrown by `fn`, if any.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs, intervalMs = 50, what }: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${detail}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
