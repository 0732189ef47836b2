/** Time as an argument: the core never reads the wall clock itself. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * CLOCK_MONOTONIC in ms: never jumps with the wall clock, and is the same clock in every process
 * of this machine, so the watchdog can read a deadline the manager wrote.
 */
export const monotonicClock: Clock = { now: () => Number(process.hrtime.bigint() / 1_000n) / 1_000 };
