import type { Sample } from './types.js';

/** The last `size` samples of a unit; pure, returns new arrays. */
export function pushSample(window: readonly Sample[], sample: Sample, size: number): Sample[] {
  const next = [...window, sample];
  return next.length > size ? next.slice(next.length - size) : next;
}

export function errorRate(window: readonly Sample[]): number {
  if (window.length === 0) return 0;
  const failed = window.reduce((n, s) => (s.ok ? n : n + 1), 0);
  return failed / window.length;
}

/** Strictly greater than the threshold, and only with enough samples to judge. */
export function isOverThreshold(window: readonly Sample[], threshold: number, minSamples: number): boolean {
  return window.length >= minSamples && errorRate(window) > threshold;
}
