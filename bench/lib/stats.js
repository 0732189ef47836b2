export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median plus spread, rounded, for the details of results.json. */
export function summary(values, digits = 1) {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (x) => round(x, digits);
  return { n: values.length, median: r(median(values)), min: r(sorted[0]), max: r(sorted.at(-1)), samples: values.map(r) };
}

export function round(x, digits = 1) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
