/** When to try a failed delivery again, and when to give up. */
export interface RetryPolicy {
  /** First retry within this long. @default 1000 */
  baseMs: number;
  /** No wait longer than this between two attempts. @default 300000 (5 min) */
  capMs: number;
  /** Give up this long after the entry was created. @default 86400000 (24 h) */
  maxAgeMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1000, capMs: 300_000, maxAgeMs: 86_400_000 };

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * uniform in [0, min(cap, base * 2^(attempt-1))), so many entries failing together spread out.
 */
export function fullJitterMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * ceiling);
}
