import type { DrillConfig } from './drill.js';
import type { OrchestrateConfig } from './orchestrate-types.js';
import type { UnitId, UnitKind } from './types.js';

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
  /** The unit's policy: its kind's, with `units.<id>.policy` on top. */
  policy: PolicyConfig;
  /** Scheduled kinds: the failback trial runs the primary once at once instead of waiting for its slots. @default false */
  trialRun: boolean;
}

/** A notification channel as written; secrets stay references until the manager starts. */
export type ChannelSpec =
  | { type: 'webhook'; name: string; url: string; secret?: SecretRef; timeoutMs: number }
  | { type: 'slack'; name: string; url: string | SecretRef; timeoutMs: number }
  | { type: 'email'; name: string; smtp: string; from: string; to: string[]; timeoutMs: number };

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
  /** The policy of PM2 units, and what every kind starts from. */
  policy: PolicyConfig;
  /** Each kind's policy: its documented defaults, then the keys written under `policy`, then `policy.byKind.<kind>`. */
  policyByKind: Record<UnitKind, PolicyConfig>;
  sources: {
    pm2: {
      /** Absolute paths of ecosystem files to read; the default is the first of ecosystem.config.{cjs,js,json} that exists. */
      ecosystem: string[];
      /** Also read apps from the live PM2 daemon. @default true */
      live: boolean;
    };
    cron: {
      /** Crontab-format files in the project. @default [automation/crontab] when it exists */
      files: string[];
      /** False when `files` is the default: a missing default file is no error. */
      filesGiven: boolean;
      /** cron.d-format files or directories (a user field on each line). @default [] */
      cronD: string[];
      /** Also read the current user's crontab (`crontab -l`). @default false */
      userCrontab: boolean;
      /** Whose crontab `userCrontab` and `twins --install-crontab` use (`crontab -u`, for root managing a service user). @default the current user */
      user?: string;
      /** An unparseable line is a warning and left out, instead of an error. @default false */
      skipInvalid: boolean;
    };
    scripts: {
      /** Directories of Node scripts run on demand. @default [automation/scripts] */
      dirs: string[];
    };
    github: {
      /** Directory of the workflow files. @default .github/workflows */
      workflows: string;
      /** `owner/name`; undefined: read from the `origin` remote when watching starts. */
      repo?: string;
      /** @default https://api.github.com */
      apiUrl: string;
      /** Where the token is read from when watching starts; never the token itself. */
      token: SecretRef;
      /** @default 60s */
      pollEveryMs: number;
      /** A scheduled slot with no run by then is a missed schedule (GitHub delays scheduled runs). @default 1h */
      missedAfterMs: number;
    };
    netlify: {
      /** @default netlify.toml in the project */
      toml: string;
      /** False when `toml` is the default: a missing default file is no error. */
      tomlGiven: boolean;
      /** The site's API id; undefined: functions are inventoried and twinned, not watched through the API. */
      siteId?: string;
      /** @default https://api.netlify.com/api/v1 */
      apiUrl: string;
      token: SecretRef;
      /** The deployed site, for HTTP probes of sync functions (`<siteUrl><function path>`). */
      siteUrl?: string;
      /** Where the local runner serves sync functions while they are on their twin. @default 127.0.0.1:8888 */
      listen: { host: string; port: number };
      /** The functions' environment: a dotenv file, or names mapped to `env:` references. */
      env?: { file: string } | { refs: Record<string, SecretRef> };
      /** @default 60s */
      pollEveryMs: number;
      /** A probe of a sync function is ok with this status; unset: any status below 500 (the function answered). */
      expectStatus?: number;
      /** @default 10s */
      probeTimeoutMs: number;
    };
  };
  /** The read-only listener (`/health`, `/metrics`); `false` turns it off. @default 127.0.0.1:9797 */
  http: { listen: { host: string; port: number } | false; token?: SecretRef };
  notify: {
    /** A burst inside this is one Slack message or mail. @default 5s */
    groupWaitMs: number;
    /** The same notification for a unit again only after this, while it stays on its twin or down. @default 4h */
    repeatIntervalMs: number;
    /** Retries of a delivery: exponential from `baseMs` with full jitter, at most `capMs` apart, given up after `maxAgeMs`. @default 1s, 5m, 24h */
    backoff: { baseMs: number; capMs: number; maxAgeMs: number };
    channels: ChannelSpec[];
  };
  /** Drills (`redundancy drill`); absent in a config compiled by an older version: the defaults. */
  drills?: DrillConfig;
  /** Reload when the config file changes. @default false */
  watch: boolean;
  /** The `orchestrate` plan: preflight checks and stages of jobs; absent when not written. */
  orchestrate?: OrchestrateConfig;
  /** Multi-host warm standby: absent, this host runs its units alone. */
  host?: HostConfig;
  schedules: {
    /** A slot with no run started by slot + grace is a missed run. @default 2m */
    graceMs: number;
    /** A run still going after this is an overrun. @default 1h */
    maxRuntimeMs: number;
    /** `redundancy run` stops trusting the state once no manager has touched it for this long (the gate fails open). @default 5m */
    staleAfterMs: number;
    /** The twin's schedule is thinned until its firings are at least this far apart, per kind. */
    throttle: { cron: number; script: number; github: number; netlify: number };
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

/**
 * A secret named in the config, resolved only where it is used (the compiled config is cached on
 * disk and must not hold it). `given` false: the default reference, whose absence means "not watched".
 */
export interface SecretRef {
  env: string;
  given: boolean;
}

export function unitConfig(config: CompiledConfig, id: UnitId): UnitConfig {
  const configured = config.units[id];
  if (configured) return configured;
  const kind = id.slice(0, id.indexOf(':')) as UnitKind;
  return { overlap: false, ignore: false, twinMode: config.twin.mode, policy: config.policyByKind[kind] ?? config.policy, trialRun: false };
}

/** `host:` — this host's place in a cluster of hosts that share one active host through an etcd lease. */
export interface HostConfig {
  /** @default the machine's host name */
  name: string;
  /** The group of hosts that share one leader; the election key is under it. */
  cluster: string;
  lease: {
    /** etcd client URLs (`http://127.0.0.1:2379`). */
    etcd: string[];
    /** @default 10s */
    ttlMs: number;
    /** @default ttl / 3 */
    renewEveryMs: number;
    /** The active host stops acting this long before its lease can expire anywhere else. @default 1s */
    marginMs: number;
    /** One etcd call gives up after this. @default renewEvery / 2, at most (ttl - renewEvery) / 2 */
    renewTimeoutMs: number;
  };
  /** The units that follow the lease; `all` or a list of unit ids. @default all */
  units: 'all' | string[];
  /** Rounds with a critical unit after which the active host resigns the lease; 0 never. @default 3 */
  stepDownAfter: number;
  /** How often a standby runs the orchestrate mirror jobs; absent: it does not. */
  mirrorEveryMs?: number;
}
