import { describe, expect, it } from 'vitest';
import type { ProcessView } from '../../core/types.js';
import { ProcessTable } from './process-table.js';

const view = (name: string, pmId: number, status: string, extra: Partial<ProcessView> = {}): ProcessView => ({
  name,
  pmId,
  status,
  pid: status === 'online' ? 100 + pmId : 0,
  restarts: 0,
  unstableRestarts: 0,
  startedAt: 0,
  memoryBytes: 0,
  cpuPercent: 0,
  ...extra,
});

describe('ProcessTable', () => {
  it('keeps an event learnt after a list was asked for, though the list answers later', () => {
    const table = new ProcessTable();
    const issued = table.begin();
    table.update(1, { name: 'web-backup', status: 'online', pid: 42 });
    table.applySnapshot([view('web', 0, 'online'), view('web-backup', 1, 'stopped')], issued);
    expect(table.byName('web-backup')).toEqual([expect.objectContaining({ status: 'online', pid: 42 })]);
    expect(table.byName('web')[0]?.status).toBe('online');
  });

  it('lets a newer list overwrite older events and forget what PM2 no longer has', () => {
    const table = new ProcessTable();
    table.applySnapshot([view('a', 0, 'online'), view('b', 1, 'stopped')], table.begin());
    table.update(0, { name: 'a', status: 'waiting restart', pid: 0 });
    table.applySnapshot([view('a', 0, 'online', { memoryBytes: 5 })], table.begin());
    expect(table.byName('a')).toEqual([expect.objectContaining({ status: 'online', memoryBytes: 5 })]);
    expect(table.byName('b')).toEqual([]);
    expect(table.all()).toHaveLength(1);
  });

  it('does not forget a process an event added after the list was asked for', () => {
    const table = new ProcessTable();
    const issued = table.begin();
    table.update(7, { name: 'new', status: 'online' });
    table.applySnapshot([], issued);
    expect(table.byName('new')).toHaveLength(1);
  });

  it('keeps memory and cpu from the last list when an event updates a row', () => {
    const table = new ProcessTable();
    table.applySnapshot([view('a', 0, 'online', { memoryBytes: 1234, cpuPercent: 3 })], table.begin());
    table.update(0, { name: 'a', status: 'online', restarts: 1 });
    expect(table.byName('a')[0]).toMatchObject({ memoryBytes: 1234, cpuPercent: 3, restarts: 1 });
  });

  it('indexes by name through renames, drops and clears', () => {
    const table = new ProcessTable();
    expect(table.complete).toBe(false);
    table.applySnapshot([view('a', 0, 'online'), view('a', 1, 'online')], table.begin());
    expect(table.complete).toBe(true);
    expect(table.byName('a').map((v) => v.pmId).sort()).toEqual([0, 1]);
    expect(table.latest('a')?.pmId).toBe(1);
    expect(table.latest('nobody')).toBeUndefined();
    table.update(1, { name: 'b', status: 'stopped' });
    expect(table.byName('a').map((v) => v.pmId)).toEqual([0]);
    expect(table.byName('b').map((v) => v.pmId)).toEqual([1]);
    table.drop(0);
    expect(table.byName('a')).toEqual([]);
    table.clear();
    expect(table.all()).toEqual([]);
    expect(table.complete).toBe(false);
  });
});
