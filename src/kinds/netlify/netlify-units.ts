import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { parseEnv } from 'node:util';
import type { Clock } from '../../core/clock.js';
import { formatListen } from '../../core/config-checker.js';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import { RedundancyError, errorMessage } from '../../core/errors.js';
import { resolveSecret } from '../../core/secrets.js';
import { HttpProbe } from '../../probe/http-probe.js';
import type { Ledger } from '../../store/ledger.js';
import type { Logger } from '../../store/logger.js';
import { LocalRunner } from './local-runner/local-runner.js';
import { createNetlifyApi } from './netlify-api.js';
import type { NetlifyUnit } from './netlify-function.js';
import { inventoryNetlify } from './netlify-inventory.js';
import { NetlifyRuntime, type NetlifyUnitSpec, type SiteHealthPort } from './netlify-kind.js';
import { planNetlifyTwin, renderNetlifyBackup, type NetlifyTwinPlan } from './netlify-twin.js';

export interface NetlifyUnits {
  units: NetlifyUnit[];
  /** Functions listed but not twinned, and files that could not be read. */
  notes: string[];
  /** A broken netlify.toml, for commands that must not go on without it (`twins --write`). */
  broken?: string;
}

/** Every function Netlify would deploy; those that cannot be twinned are listed with why. */
export async function loadNetlifyUnits(config: CompiledConfig): Promise<NetlifyUnits> {
  const source = config.sources.netlify;
  const found = await inventoryNetlify({ cwd: config.cwd, toml: source.toml, tomlGiven: source.tomlGiven });
  const notes = [...found.notes];
  const units: NetlifyUnit[] = [];
  for (const fn of found.functions) {
    const id = `netlify:${fn.name}`;
    if (fn.whyNot) {
      notes.push(`${id}: listed, not twinned: ${fn.whyNot}`);
      continue;
    }
    if (unitConfig(config, id).ignore) continue;
    units.push({ id, kind: 'netlify', name: fn.name, source: fn.source, ...(fn.schedule !== undefined && { schedule: fn.schedule }), fn });
  }
  return { units, notes, ...(found.broken !== undefined && { broken: found.broken }) };
}

export function planNetlifyTwins(config: CompiledConfig, units: readonly NetlifyUnit[]): NetlifyTwinPlan[] {
  return units.map((unit) => planNetlifyTwin(unit.id, unit.fn, config.schedules.throttle.netlify));
}

export function netlifyBackupFile(config: CompiledConfig): string {
  return join(config.cwd, 'automation', 'redundancy', 'netlify-backup.json');
}

export function renderNetlifyBackupFor(config: CompiledConfig, plans: readonly NetlifyTwinPlan[]): string {
  return renderNetlifyBackup(plans, { cwdRelative: (file) => relative(config.cwd, file), listen: listenText(config) });
}

/** `host:port` of the local runner's listener, as a URL writes it. */
export function listenText(config: CompiledConfig): string {
  return formatListen(config.sources.netlify.listen);
}

/** The site's API as the config names it, or why there is none. */
export function netlifyApiFor(config: CompiledConfig, logger: Logger): { api: SiteHealthPort } | { unwatched: string } {
  const source = config.sources.netlify;
  const token = resolveSecret(source.token, 'sources.netlify.token');
  if (!token) return { unwatched: 'no token' };
  if (!source.siteId) return { unwatched: 'no site (sources.netlify.siteId)' };
  return { api: createNetlifyApi({ siteId: source.siteId, token, apiUrl: source.apiUrl, logger }) };
}

/** The functions' environment: a dotenv file, or `env:` references resolved now. */
export function functionEnv(config: CompiledConfig): Record<string, string> {
  const env = config.sources.netlify.env;
  if (!env) return {};
  if ('file' in env) {
    try {
      return parseEnv(readFileSync(env.file, 'utf8')) as Record<string, string>;
    } catch (error) {
      throw new RedundancyError('CONFIG_INVALID', `sources.netlify.env: ${env.file}: ${errorMessage(error)}`);
    }
  }
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(env.refs)) out[name] = resolveSecret(ref, `sources.netlify.env.${name}`)!;
  return out;
}

/** A sync function's public URL, when the site is known and the path is a plain one. */
function probeFor(config: CompiledConfig, unit: NetlifyUnit): HttpProbe | undefined {
  const { siteUrl, expectStatus, probeTimeoutMs } = config.sources.netlify;
  const path = unit.fn.paths.find((p) => !/[:*]/.test(p));
  if (!siteUrl || unit.fn.type !== 'sync' || !path) return undefined;
  const own = unitConfig(config, unit.id).probe;
  if (own?.kind === 'http') return new HttpProbe({ url: own.url, expectStatus: own.expectStatus, timeoutMs: own.timeoutMs });
  return new HttpProbe({ url: `${siteUrl}${path}`, expectStatus: expectStatus ?? 'below-500', timeoutMs: probeTimeoutMs });
}

export function netlifyRuntime(config: CompiledConfig, units: readonly NetlifyUnit[], deps: { clock: Clock; logger: Logger; ledger: Ledger }): NetlifyRuntime {
  const source = config.sources.netlify;
  const plans = planNetlifyTwins(config, units);
  const specs: NetlifyUnitSpec[] = units.map((unit, i) => {
    const settings = unitConfig(config, unit.id);
    const probe = probeFor(config, unit);
    // Nothing can stop a deployed function: the twin always runs beside it.
    return { unit, plan: plans[i]!, policy: { ...settings.policy, overlap: true }, ...(probe && { probe }) };
  });
  const runner = new LocalRunner({
    ledger: deps.ledger,
    bundleDir: join(config.stateDir, 'netlify', 'bundles'),
    host: hostname(),
    env: functionEnv(config),
    logger: deps.logger,
  });
  return new NetlifyRuntime({
    units: specs,
    ...netlifyApiFor(config, deps.logger),
    runner,
    listen: listenText(config),
    clock: deps.clock,
    logger: deps.logger,
    pollEveryMs: source.pollEveryMs,
  });
}
