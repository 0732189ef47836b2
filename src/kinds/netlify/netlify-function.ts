import type { UnitBase } from '../../core/types.js';

/** How Netlify invokes a function: on its schedule, in the background (202 at once), or per request. */
export type NetlifyFunctionType = 'scheduled' | 'background' | 'sync';

/** Where a function's schedule was read; the function's own `config` wins over the toml's. */
export type ScheduleOrigin = 'source' | 'toml' | 'manifest';

/** One function as the inventory found it, from every source Netlify reads. */
export interface NetlifyFunctionInfo {
  name: string;
  /** Absolute path of the entry file (the manifest's `mainFile` when only the manifest knows it). */
  entry: string;
  /** `js` for JavaScript and TypeScript; `go`, `rs` for other runtimes (listed, never twinned). */
  runtime: string;
  type: NetlifyFunctionType;
  /** The schedule as written (`@hourly`, `0 5 * * *`). */
  schedule?: string;
  scheduleFrom?: ScheduleOrigin;
  /** `/.netlify/functions/<name>`, or the function's `config.path` (which replaces it). */
  paths: string[];
  /** 2: `default(Request, context)`; 1: `handler(event, context)`; undefined when not seen statically. */
  apiVersion?: 1 | 2;
  /** Where the function is defined: the entry file, at its `config` or handler when found. */
  source: { file: string; line: number };
  /** Set when the function cannot be twinned: another runtime, an entry that does not parse. */
  whyNot?: string;
}

/** Netlify's limits: a run is killed after this long. */
export const netlifyTimeoutMs: Record<NetlifyFunctionType, number> = {
  scheduled: 30_000,
  background: 15 * 60_000,
  sync: 60_000,
};

export function defaultFunctionPath(name: string): string {
  return `/.netlify/functions/${name}`;
}

/** A function as a unit: `netlify:<name>`. */
export interface NetlifyUnit extends UnitBase {
  kind: 'netlify';
  schedule?: string;
  fn: NetlifyFunctionInfo;
}
