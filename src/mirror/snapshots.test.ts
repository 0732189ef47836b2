import { describe, expect, it } from 'vitest';
import { isSnapshotName, linkBase, nextStamp, partialsOf, snapshotStamp, snapshotsToPrune } from './snapshots.js';

const at = (iso: string) => Date.parse(iso);

describe('snapshot names', () => {
  it('are the UTC start time, second precision', () => {
    expect(snapshotStamp(at('2026-11-30T22:15:00.789Z'))).toBe('20261130T221500Z');
    expect(isSnapshotName('20261130T221500Z')).toBe(true);
    expect(isSnapshotName('latest')).toBe(false);
    expect(isSnapshotName('.incomplete-20261130T221500Z')).toBe(false);
  });

  it('always sort after the newest existing one (two runs in a second, a clock set back)', () => {
    expect(nextStamp(at('2026-11-30T22:15:00.5Z'), [])).toBe('20261130T221500Z');
    expect(nextStamp(at('2026-11-30T22:15:00.5Z'), ['20261130T221500Z', 'latest'])).toBe('20261130T221501Z');
    expect(nextStamp(at('2026-11-30T22:15:00Z'), ['20261201T000000Z'])).toBe('20261201T000001Z');
    expect(nextStamp(at('2026-11-30T22:15:00Z'), ['20261129T000000Z'])).toBe('20261130T221500Z');
  });

  it('prune the oldest beyond keep, never the one latest names', () => {
    const names = ['20260101T000000Z', '20260102T000000Z', '20260103T000000Z', 'latest', '.mirror.lock'];
    expect(snapshotsToPrune(names, 2, '20260103T000000Z')).toEqual(['20260101T000000Z']);
    expect(snapshotsToPrune(names, 1, '20260103T000000Z')).toEqual(['20260101T000000Z', '20260102T000000Z']);
    expect(snapshotsToPrune(names, 3, '20260103T000000Z')).toEqual([]);
    expect(snapshotsToPrune(names, 1, '20260101T000000Z')).toEqual(['20260102T000000Z', '20260103T000000Z']);
  });

  it('resume the newest partial copy and drop older ones; link to latest, else the newest', () => {
    expect(partialsOf(['.incomplete-20260102T000000Z', '.incomplete-20260101T000000Z', '20260101T000000Z'])).toEqual({ resume: '.incomplete-20260102T000000Z', remove: ['.incomplete-20260101T000000Z'] });
    expect(partialsOf(['20260101T000000Z'])).toEqual({ resume: undefined, remove: [] });
    expect(linkBase(['20260101T000000Z', '20260102T000000Z'], '20260101T000000Z')).toBe('20260101T000000Z');
    expect(linkBase(['20260101T000000Z', '20260102T000000Z'], 'gone')).toBe('20260102T000000Z');
    expect(linkBase([], undefined)).toBeUndefined();
  });
});
