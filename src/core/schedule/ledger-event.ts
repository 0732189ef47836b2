/** One line of the run ledger (DESIGN.md, "Files"). */
export interface LedgerEvent {
  run: string;
  unit: string;
  side: 'primary' | 'twin';
  event: 'start' | 'end' | 'skipped' | 'interrupted';
  /** Epoch ms. */
  at: number;
  slot: number | null;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
  host: string;
  /** Why a run failed or was skipped. */
  reason?: string;
  attempt?: number;
  /** Fencing token, when hosts are configured. */
  epoch?: number;
}
