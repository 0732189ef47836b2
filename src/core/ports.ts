import type { Pm2AppSpec, ProcessEvent, ProcessView, Sample } from './types.js';

/** The manager's handle on one PM2 daemon. Every operation is idempotent where PM2 allows it. */
export interface ProcessManager {
  /** Asks PM2 for every app; what `view` answers is brought up to date too. */
  list(): Promise<ProcessView[]>;
  /**
   * What this handle knows of an app now, without asking PM2: the last `list`, kept current by PM2's
   * events and this handle's own operations. Undefined when it knows of no app by that name.
   */
  view(name: string): ProcessView | undefined;
  /** Starts (or restarts a stopped/errored) app; resolves once PM2 has it online or launching. No-op if already online. */
  start(spec: Pm2AppSpec): Promise<void>;
  /** Registers an app stopped (PM2 `autostart: false`): it never runs, though a `cron_restart` would still start it. No-op if it exists. */
  register(spec: Pm2AppSpec): Promise<void>;
  /** Stops an app; no-op if it is already stopped or unknown. */
  stop(name: string): Promise<void>;
  /** Removes an app from PM2; no-op if unknown. */
  remove(name: string): Promise<void>;
  /** Subscribes to process events; returns the unsubscribe function. */
  onEvent(listener: (event: ProcessEvent) => void): () => void;
  close(): Promise<void>;
}

/** One health check of a primary beyond PM2's own status. */
export interface Probe {
  check(): Promise<Omit<Sample, 'at'>>;
}
