import type { Path } from './config-path.js';

/** What a stage does when one of its jobs fails or times out. */
export type OnFailure = 'continue' | 'stop' | 'warn';

/** A check that must pass before any job runs. `at` is where it was written, for messages. */
export type PreflightCheck =
  | { kind: 'path'; path: string; minFreeBytes: number; at: Path }
  | { kind: 'command'; command: string; timeoutMs: number; at: Path }
  | { kind: 'http'; url: string; timeoutMs: number; at: Path };

/** Where a mirror copies to: a directory on this host, or `host:path` over ssh. */
export type MirrorTarget = { kind: 'local'; path: string } | { kind: 'ssh'; host: string; path: string };

export interface MirrorSpec {
  /** Absolute path of the source directory; its contents are copied. */
  from: string;
  to: MirrorTarget;
  /** Snapshots kept; older ones are pruned, oldest first. @default 7 */
  keep: number;
  /** Compare checksums of the copy with the source before `latest` moves. @default true */
  verify: boolean;
  /** rsync `--exclude` patterns. @default [] */
  exclude: string[];
  ssh?: { port?: number; identity?: string };
  /** rsync `--bwlimit`, in KiB per second. */
  bwlimitKiB?: number;
}

export type OrchestrateJobSpec =
  | { kind: 'run'; name: string; command: string; at: Path }
  | { kind: 'unit'; name: string; unit: string; at: Path }
  | { kind: 'mirror'; name: string; mirror: MirrorSpec; at: Path };

export interface OrchestrateStage {
  name: string;
  jobs: OrchestrateJobSpec[];
  /** Globs over unit ids or unit commands (`cron:restic-*`): every cron or script unit matching one is a job. @default [] */
  discover: string[];
  /** @default false */
  parallel: boolean;
  /** At most this many jobs at once; null: no limit (a parallel stage), 1 for a stage that is not parallel. */
  concurrency: number | null;
  /** Each job's process group is stopped after this long. @default 1h */
  timeoutMs: number;
  /** @default continue */
  onFailure: OnFailure;
  at: Path;
}

/** `orchestrate:` — preflight checks, then stages in order. */
export interface OrchestrateConfig {
  /** Exit 2 when (failed + timed out) / ran is strictly greater. @default 0.5 */
  failureThreshold: number;
  preflight: PreflightCheck[];
  stages: OrchestrateStage[];
}
