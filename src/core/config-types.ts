import type { UnitId } from './types.js';

export type ProbeConfig =
  | { kind: 'http'; url: string; expectStatus: number; timeoutMs: number }
  | { kind: 'command'; command: string; timeoutMs: number };

/** cold: the twin is registered stopped and pays a whole start at failover; warm: it waits booted, parked. */
export type TwinMode = 'cold' | 'warm';

export interface UnitConfig {
  probe?: ProbeConfig;
  /** Primary and twin may run side by side (no shared port, lock or checkout). @default false */
  overlap: boolean;
  /** Leave this unit out of supervision. @default false */
  ignore: boolean;
  /** @default the global `twin.mode` */
  twinMode: TwinMode;
}

export interface PolicyConfig {
  /** Fail over when the window's error rate is strictly greater. @default 0.8 */
  errorRateThreshold: number;
  /** Samples kept per unit. @default 10 */
  window: number;
  /** No decision on fewer samples. @default 5 */
  minSamples: number;
  /** Consecutive ok samples of the primary before failback completes. @default 3 */
  failbackAfter: number;
  /** First wait before a failback attempt; doubles on each repeat failover. @default 30s */
  holdDownMs: number;
  /** Cap of the doubling hold-down. @default 10m */
  holdDownMaxMs: number;
  /** Time on the primary after which the hold-down goes back to its first value. @default 10m */
  healthyResetMs: number;
  /** A primary shown `waiting restart` with pid 0 for longer than this counts as dead. @default 20s */
  deadAfterMs: number;
  /** A probe failing this soon after the process started is start-up, not a failure (PM2's `online` fires at fork). @default 5s */
  startGraceMs: number;
}

export interface CompiledConfig {
  /** Absolute path of the file read, or undefined when every default applies. */
  file?: string;
  /** Absolute project directory; every relative path is resolved against it. */
  cwd: string;
  /** @default 5s */
  checkIntervalMs: number;
  policy: PolicyConfig;
  sources: {
    pm2: {
      /** Absolute paths of ecosystem files to read; the default is the first of ecosystem.config.{cjs,js,json} that exists. */
      ecosystem: string[];
      /** Also read apps from the live PM2 daemon. @default true */
      live: boolean;
    };
  };
  /** Default twin mode of every unit. @default cold */
  twin: { mode: TwinMode };
  /** Per-unit settings keyed by unit id; units not named get `unitConfig`'s defaults. */
  units: Record<UnitId, UnitConfig>;
  /** @default `.redundancy` */
  stateDir: string;
  /** @default `logs` */
  logsDir: string;
  /** Where `twins --write` writes the PM2 twins. @default `automation/redundancy/ecosystem.backup.config.cjs` */
  twinsFile: string;
  history: {
    /** Rotate health-history.jsonl past this size. @default 1 MiB */
    maxBytes: number;
    /** Rotated files kept. @default 3 */
    keep: number;
  };
}

export function unitConfig(config: CompiledConfig, id: UnitId): UnitConfig {
  return config.units[id] ?? { overlap: false, ignore: false, twinMode: config.twin.mode };
}
