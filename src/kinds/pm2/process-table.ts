import type { ProcessView } from '../../core/types.js';

interface Row {
  view: ProcessView;
  /** When this row was last learnt, on the table's own counter. */
  stamp: number;
}

/**
 * What one handle knows of a PM2 daemon's processes, by pm_id, kept current between full lists by
 * bus events and the handle's own operations.
 *
 * PM2 answers lists out of order (each waits on its own pidusage sweep), so a full list only
 * overwrites rows it is newer than: a list asked for before an event never undoes that event.
 */
export class ProcessTable {
  private readonly rows = new Map<number, Row>();
  private readonly idsByName = new Map<string, Set<number>>();
  private counter = 0;
  private snapshotStamp: number | undefined;

  /** Marks the moment a full list is asked for; pass the result to `applySnapshot`. */
  begin(): number {
    return ++this.counter;
  }

  /** A full list asked for at `issued`: adds, refreshes and forgets rows older than it. */
  applySnapshot(views: readonly ProcessView[], issued: number): void {
    const seen = new Set<number>();
    for (const view of views) {
      seen.add(view.pmId);
      const row = this.rows.get(view.pmId);
      if (!row || row.stamp < issued) this.set(view, issued);
    }
    for (const [pmId, row] of this.rows) {
      if (!seen.has(pmId) && row.stamp < issued) this.drop(pmId);
    }
    this.snapshotStamp = Math.max(this.snapshotStamp ?? 0, issued);
  }

  /** A newer fact about one process; fields left out keep what the table knew (memory, cpu). */
  update(pmId: number, fact: Partial<ProcessView> & Pick<ProcessView, 'name'>): void {
    const before = this.rows.get(pmId)?.view;
    const view: ProcessView = { ...(before ?? blankView(fact.name, pmId)), ...fact, pmId };
    this.set(view, ++this.counter);
  }

  /** The process is gone from PM2 (deleted, or its id is unknown to the daemon). */
  drop(pmId: number): void {
    const row = this.rows.get(pmId);
    if (!row) return;
    this.rows.delete(pmId);
    this.unindex(row.view.name, pmId);
  }

  /** Forgets everything: a new daemon numbers its processes afresh. */
  clear(): void {
    this.rows.clear();
    this.idsByName.clear();
    this.snapshotStamp = undefined;
  }

  /** Whether a full list has been applied since the table was created or cleared. */
  get complete(): boolean {
    return this.snapshotStamp !== undefined;
  }

  byName(name: string): ProcessView[] {
    return [...(this.idsByName.get(name) ?? [])].map((pmId) => this.rows.get(pmId)!.view);
  }

  /** The newest process of that name (highest pm_id): several apps may share a name. */
  latest(name: string): ProcessView | undefined {
    let found: ProcessView | undefined;
    for (const pmId of this.idsByName.get(name) ?? []) {
      const view = this.rows.get(pmId)!.view;
      if (!found || view.pmId > found.pmId) found = view;
    }
    return found;
  }

  all(): ProcessView[] {
    return [...this.rows.values()].map((row) => row.view);
  }

  private set(view: ProcessView, stamp: number): void {
    const before = this.rows.get(view.pmId)?.view.name;
    if (before !== undefined && before !== view.name) this.unindex(before, view.pmId);
    this.rows.set(view.pmId, { view, stamp });
    let ids = this.idsByName.get(view.name);
    if (!ids) this.idsByName.set(view.name, (ids = new Set()));
    ids.add(view.pmId);
  }

  private unindex(name: string, pmId: number): void {
    const ids = this.idsByName.get(name);
    ids?.delete(pmId);
    if (ids?.size === 0) this.idsByName.delete(name);
  }
}

function blankView(name: string, pmId: number): ProcessView {
  return { name, pmId, status: 'unknown', pid: 0, restarts: 0, unstableRestarts: 0, startedAt: 0, memoryBytes: 0, cpuPercent: 0 };
}
