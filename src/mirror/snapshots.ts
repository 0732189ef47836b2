/** Snapshot directories are named by their UTC start time, `20261130T221500Z`, so names sort by age. */
const snapshotPattern = /^\d{8}T\d{6}Z$/;
/** A copy under way (or cut short) lands here; renamed to its snapshot name once complete. */
export const partialPrefix = '.incomplete-';

export function snapshotStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function isSnapshotName(name: string): boolean {
  return snapshotPattern.test(name);
}

function stampMs(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/**
 * Pure: the new snapshot's name: now, or one second after the newest existing snapshot when that
 * is not earlier (two runs in one second, a clock set back), so the newest snapshot always sorts last.
 */
export function nextStamp(nowMs: number, existing: readonly string[]): string {
  const newest = existing.filter(isSnapshotName).sort().at(-1);
  const floor = newest === undefined ? -Infinity : stampMs(newest) + 1000;
  return snapshotStamp(Math.max(Math.floor(nowMs / 1000) * 1000, floor));
}

/** Pure: the snapshots to delete, oldest first, so that `keep` remain; the one `latest` names is never among them. */
export function snapshotsToPrune(names: readonly string[], keep: number, latest: string | undefined): string[] {
  const snapshots = names.filter(isSnapshotName).sort();
  const excess = snapshots.length - keep;
  if (excess <= 0) return [];
  return snapshots.filter((name) => name !== latest).slice(0, excess);
}

/** Pure: what a mirror starts from: the partial copy to resume (the newest left by a killed run), and the leftovers to delete. */
export function partialsOf(names: readonly string[]): { resume: string | undefined; remove: string[] } {
  const partials = names.filter((n) => n.startsWith(partialPrefix) && isSnapshotName(n.slice(partialPrefix.length))).sort();
  return { resume: partials.at(-1), remove: partials.slice(0, -1) };
}

/** Pure: the snapshot unchanged files are hard-linked to: the one `latest` names when it exists, else the newest. */
export function linkBase(names: readonly string[], latest: string | undefined): string | undefined {
  const snapshots = names.filter(isSnapshotName).sort();
  if (latest !== undefined && snapshots.includes(latest)) return latest;
  return snapshots.at(-1);
}
