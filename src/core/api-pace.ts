/** What an API's `X-RateLimit-*` headers last said; null where it has not said. */
export interface RateBudget {
  limit: number | null;
  remaining: number | null;
  /** epoch ms */
  resetAt: number | null;
}

/** Share of the limit never spent by polls, left for the twins' own calls and the operator's tools. */
const reserveShare = 0.1;

/**
 * The wait before the next poll: `pollEveryMs`, stretched so that what is left of the budget lasts
 * until it resets. A poll that costs `requestsPerPoll` and a budget that would run out before the
 * reset would turn every answer into a 429, and a kind with no answers has no samples: slower
 * samples beat none. `now` is on the same wall clock as `resetAt`.
 */
export function pollWaitMs(budget: RateBudget, now: number, pollEveryMs: number, requestsPerPoll: number): number {
  const { limit, remaining, resetAt } = budget;
  if (remaining === null || resetAt === null || resetAt <= now || requestsPerPoll <= 0) return pollEveryMs;
  const spendable = remaining - Math.ceil((limit ?? 0) * reserveShare);
  const pollsLeft = Math.floor(spendable / requestsPerPoll);
  if (pollsLeft <= 0) return Math.max(pollEveryMs, resetAt - now);
  return Math.max(pollEveryMs, Math.ceil((resetAt - now) / pollsLeft));
}

/** What a poll costs on average, from the last poll's cost: smooth enough that a cheap poll (a 304) after a full one does not swing the pace. */
export function averagePollCost(previous: number | undefined, lastSpent: number): number {
  return previous === undefined ? lastSpent : previous * 0.8 + lastSpent * 0.2;
}
