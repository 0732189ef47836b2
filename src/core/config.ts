import { resolve } from 'node:path';
import type { CompiledConfig, PolicyConfig, ProbeConfig, SecretRef, TwinMode, UnitConfig } from './config-types.js';
import { unitKinds, type UnitKind } from './types.js';
import { Checker, httpUrl, isPlainMap, listenAddress, type Path } from './config-checker.js';
import { compileDrills, compileHttp, compileNotify } from './config-observe.js';
import { compileOrchestrate } from './config-orchestrate.js';
import { compileHost } from './config-host.js';
import { formatDuration } from './duration.js';

export { displayKey, parseSize } from './config-checker.js';

/** Label used in messages when no config file was read. */
export const defaultsLabel = 'redundancy.config.yaml (defaults)';

/**
 * PM2's default ecosystem file names. The default for `sources.pm2.ecosystem` is all of them
 * resolved against cwd: compileConfig stays pure (no file system), and the file inventory keeps
 * only the first one that exists.
 */
export function defaultEcosystemFiles(cwd: string): string[] {
  return ['ecosystem.config.cjs', 'ecosystem.config.js', 'ecosystem.config.json'].map((name) => resolve(cwd, name));
}

// setTimeout fires at once for delays above 2^31-1 ms, so longer durations are refused.
const topKeys = ['checkInterval', 'policy', 'sources', 'schedules', 'units', 'twin', 'stateDir', 'logsDir', 'twinsFile', 'history', 'http', 'notify', 'watch', 'orchestrate', 'drills', 'host'];
const scheduleKinds: readonly UnitKind[] = ['cron', 'script', 'github', 'netlify'];
const twinModes: readonly TwinMode[] = ['cold', 'warm'];
const policyKeys = [
  'errorRateThreshold', 'window', 'minSamples', 'failbackAfter', 'holdDown', 'holdDownMax', 'healthyReset', 'deadAfter', 'startGrace',
];

/** PM2's defaults: samples come every few seconds, so ten of them are a minute. */
const basePolicy: PolicyConfig = {
  errorRateThreshold: 0.8,
  window: 10,
  minSamples: 5,
  failbackAfter: 3,
  holdDownMs: 30_000,
  holdDownMaxMs: 600_000,
  healthyResetMs: 600_000,
  deadAfterMs: 20_000,
  startGraceMs: 5_000,
};

/**
 * Scheduled kinds get a sample a run, minutes or days apart: three failed runs out of the last five
 * decide, two good runs end a failback trial, and the first trial waits an hour (a day at most).
 */
const schedulePolicy: Partial<PolicyConfig> = {
  window: 5,
  minSamples: 3,
  failbackAfter: 2,
  holdDownMs: 3_600_000,
  holdDownMaxMs: 86_400_000,
  healthyResetMs: 86_400_000,
};

/** Validates a YAML-parsed config and fills every default; throws one-line CONFIG_INVALID errors. */
export function compileConfig(raw: unknown, opts: { file?: string; cwd: string }): CompiledConfig {
  const check = new Checker(opts.file ?? defaultsLabel);
  const cwd = resolve(opts.cwd);
  const top = check.map([], raw, topKeys, 'a map of settings');
  const history = check.map(['history'], top.history, ['maxBytes', 'keep']);
  const twinMode = compileTwinMode(check, ['twin'], top.twin, 'cold');
  const policies = compilePolicies(check, top.policy);
  const sources = check.map(['sources'], top.sources, ['pm2', 'cron', 'scripts', 'github', 'netlify']);
  const compiled: CompiledConfig = {
    cwd,
    checkIntervalMs: check.duration(['checkInterval'], top.checkInterval, 5_000),
    policy: policies.global,
    policyByKind: policies.byKind,
    sources: {
      pm2: compilePm2Source(check, sources.pm2, cwd),
      cron: compileCronSource(check, sources.cron, cwd),
      scripts: { dirs: check.paths(['sources', 'scripts', 'dirs'], check.map(['sources', 'scripts'], sources.scripts, ['dirs']).dirs, ['automation/scripts']).map((d) => resolve(cwd, d)) },
      github: compileGithubSource(check, sources.github, cwd),
      netlify: compileNetlifySource(check, sources.netlify, cwd),
    },
    schedules: compileSchedules(check, top.schedules),
    http: compileHttp(check, top.http),
    notify: compileNotify(check, top.notify),
    drills: compileDrills(check, top.drills),
    ...(top.orchestrate !== undefined && { orchestrate: compileOrchestrate(check, top.orchestrate, cwd) }),
    ...(top.host !== undefined && top.host !== null && { host: compileHost(check, top.host) }),
    watch: check.boolean(['watch'], top.watch, false),
    twin: { mode: twinMode },
    units: compileUnits(check, top.units, twinMode, policies),
    stateDir: resolve(cwd, check.path(['stateDir'], top.stateDir, '.redundancy')),
    logsDir: resolve(cwd, check.path(['logsDir'], top.logsDir, 'logs')),
    twinsFile: resolve(cwd, check.path(['twinsFile'], top.twinsFile, 'automation/redundancy/ecosystem.backup.config.cjs')),
    history: {
      maxBytes: check.size(['history', 'maxBytes'], history.maxBytes, 1024 * 1024),
      keep: check.integer(['history', 'keep'], history.keep, 3, 0),
    },
  };
  if (opts.file !== undefined) compiled.file = resolve(cwd, opts.file);
  return compiled;
}

type PolicyLayer = { path: Path; raw: Record<string, unknown> };

interface Policies {
  global: PolicyConfig;
  byKind: Record<UnitKind, PolicyConfig>;
  /** The written layers each kind's policy came from, so a unit's own layer goes on top of them. */
  layers: Record<UnitKind, PolicyLayer[]>;
}

/** `policy` for PM2; `policy.byKind.<kind>` on top of a kind's defaults (schedule kinds have their own, which `policy` does not touch). */
function compilePolicies(check: Checker, raw: unknown): Policies {
  const written = check.map(['policy'], raw, [...policyKeys, 'byKind']);
  const { byKind: rawByKind, ...globalRaw } = written;
  const global: PolicyLayer = { path: ['policy'], raw: globalRaw };
  const kinds = check.map(['policy', 'byKind'], rawByKind, unitKinds);
  const byKind = {} as Record<UnitKind, PolicyConfig>;
  const layers = {} as Record<UnitKind, PolicyLayer[]>;
  for (const kind of unitKinds) {
    const path = ['policy', 'byKind', kind];
    const own: PolicyLayer = { path, raw: check.map(path, kinds[kind], policyKeys) };
    // Schedule kinds keep their own defaults: a `policy` written for apps sampled every few seconds does not fit runs days apart.
    layers[kind] = scheduleKinds.includes(kind) ? [own] : [global, own];
    byKind[kind] = compilePolicy(check, kindDefaults(kind), layers[kind]);
  }
  return { global: compilePolicy(check, basePolicy, [global]), byKind, layers };
}

function kindDefaults(kind: UnitKind): PolicyConfig {
  return scheduleKinds.includes(kind) ? { ...basePolicy, ...schedulePolicy } : basePolicy;
}

/** Merges written layers over defaults; each value is checked, and named, where it was written. */
function compilePolicy(check: Checker, defaults: PolicyConfig, layers: readonly PolicyLayer[]): PolicyConfig {
  const policy = { ...defaults };
  const given = new Map<string, PolicyLayer>();
  for (const layer of layers) {
    const p = layer.raw;
    const at = (key: string): Path => [...layer.path, key];
    for (const key of Object.keys(p)) if (p[key] !== undefined) given.set(key, layer);
    if (p.errorRateThreshold !== undefined) {
      const threshold = p.errorRateThreshold;
      if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) check.fail(at('errorRateThreshold'), threshold, 'a number > 0 and <= 1');
      policy.errorRateThreshold = threshold;
    }
    policy.window = check.integer(at('window'), p.window, policy.window, 1);
    policy.failbackAfter = check.integer(at('failbackAfter'), p.failbackAfter, policy.failbackAfter, 1);
    policy.holdDownMs = check.duration(at('holdDown'), p.holdDown, policy.holdDownMs);
    policy.healthyResetMs = check.duration(at('healthyReset'), p.healthyReset, policy.healthyResetMs);
    policy.deadAfterMs = check.duration(at('deadAfter'), p.deadAfter, policy.deadAfterMs);
    policy.startGraceMs = check.duration(at('startGrace'), p.startGrace, policy.startGraceMs);
  }
  // Defaults follow the values given, so a small window alone does not trip a rule about a key not written.
  const minSamplesLayer = given.get('minSamples');
  policy.minSamples = minSamplesLayer
    ? check.integer([...minSamplesLayer.path, 'minSamples'], minSamplesLayer.raw.minSamples, 0, 1, policy.window, 'policy.window')
    : Math.min(defaults.minSamples, policy.window);
  const maxLayer = given.get('holdDownMax');
  if (maxLayer) {
    policy.holdDownMaxMs = check.duration([...maxLayer.path, 'holdDownMax'], maxLayer.raw.holdDownMax, 0);
    if (policy.holdDownMaxMs < policy.holdDownMs) {
      check.fail([...maxLayer.path, 'holdDownMax'], maxLayer.raw.holdDownMax, `a duration >= policy.holdDown (${formatDuration(policy.holdDownMs)})`);
    }
  } else policy.holdDownMaxMs = Math.max(defaults.holdDownMaxMs, policy.holdDownMs);
  return policy;
}

function compileCronSource(check: Checker, raw: unknown, cwd: string): CompiledConfig['sources']['cron'] {
  const cron = check.map(['sources', 'cron'], raw, ['files', 'cronD', 'userCrontab', 'user', 'skipInvalid']);
  const path = (key: string): Path => ['sources', 'cron', key];
  return {
    files: check.paths(path('files'), cron.files, ['automation/crontab']).map((f) => resolve(cwd, f)),
    filesGiven: cron.files !== undefined,
    cronD: check.paths(path('cronD'), cron.cronD, []).map((f) => resolve(cwd, f)),
    userCrontab: check.boolean(path('userCrontab'), cron.userCrontab, false),
    ...(cron.user !== undefined && { user: check.path(path('user'), cron.user, undefined, 'a user name') }),
    skipInvalid: check.boolean(path('skipInvalid'), cron.skipInvalid, false),
  };
}

function compileGithubSource(check: Checker, raw: unknown, cwd: string): CompiledConfig['sources']['github'] {
  const gh = check.map(['sources', 'github'], raw, ['workflows', 'repo', 'apiUrl', 'token', 'pollEvery', 'missedAfter']);
  const path = (key: string): Path => ['sources', 'github', key];
  if (gh.repo !== undefined && (typeof gh.repo !== 'string' || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(gh.repo))) {
    check.fail(path('repo'), gh.repo, 'owner/name');
  }
  return {
    workflows: resolve(cwd, check.path(path('workflows'), gh.workflows, '.github/workflows')),
    ...(gh.repo !== undefined && { repo: gh.repo as string }),
    apiUrl: httpUrl(check, path('apiUrl'), gh.apiUrl ?? 'https://api.github.com'),
    token: check.secret(path('token'), gh.token, 'GITHUB_TOKEN'),
    pollEveryMs: check.duration(path('pollEvery'), gh.pollEvery, 60_000),
    missedAfterMs: check.duration(path('missedAfter'), gh.missedAfter, 3_600_000),
  };
}

function compileNetlifySource(check: Checker, raw: unknown, cwd: string): CompiledConfig['sources']['netlify'] {
  const keys = ['toml', 'siteId', 'apiUrl', 'token', 'siteUrl', 'listen', 'env', 'pollEvery', 'expectStatus', 'probeTimeout'];
  const nf = check.map(['sources', 'netlify'], raw, keys);
  const path = (key: string): Path => ['sources', 'netlify', key];
  if (nf.siteId !== undefined && (typeof nf.siteId !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(nf.siteId))) check.fail(path('siteId'), nf.siteId, "the site's API id or name");
  const apiUrl = httpUrl(check, path('apiUrl'), nf.apiUrl ?? 'https://api.netlify.com/api/v1');
  const siteUrl = nf.siteUrl === undefined ? undefined : httpUrl(check, path('siteUrl'), nf.siteUrl);
  return {
    toml: resolve(cwd, check.path(path('toml'), nf.toml, 'netlify.toml')),
    tomlGiven: nf.toml !== undefined,
    ...(nf.siteId !== undefined && { siteId: nf.siteId as string }),
    apiUrl,
    token: check.secret(path('token'), nf.token, 'NETLIFY_AUTH_TOKEN'),
    ...(siteUrl !== undefined && { siteUrl }),
    listen: listenAddress(check, path('listen'), nf.listen ?? '127.0.0.1:8888'),
    ...(nf.env !== undefined && { env: functionEnv(check, path('env'), nf.env, cwd) }),
    pollEveryMs: check.duration(path('pollEvery'), nf.pollEvery, 60_000),
    ...(nf.expectStatus !== undefined && { expectStatus: check.integer(path('expectStatus'), nf.expectStatus, 200, 100, 599) }),
    probeTimeoutMs: check.duration(path('probeTimeout'), nf.probeTimeout, 10_000),
  };
}



/** A dotenv file, or a map of names to `env:NAME` references (never literal secrets in the config). */
function functionEnv(check: Checker, path: Path, value: unknown, cwd: string): { file: string } | { refs: Record<string, SecretRef> } {
  if (typeof value === 'string') return { file: resolve(cwd, check.path(path, value, undefined, 'a dotenv file or a map of env:NAME references')) };
  const map = check.map(path, value, undefined, 'a dotenv file or a map of env:NAME references');
  const refs: Record<string, SecretRef> = {};
  for (const [name, ref] of Object.entries(map)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) check.fail([...path, name], ref, 'a variable name (letters, digits, _)');
    refs[name] = check.secret([...path, name], ref, name);
  }
  return { refs };
}

function compileSchedules(check: Checker, raw: unknown): CompiledConfig['schedules'] {
  const schedules = check.map(['schedules'], raw, ['grace', 'maxRuntime', 'staleAfter', 'throttle']);
  const throttle = check.map(['schedules', 'throttle'], schedules.throttle, ['cron', 'script', 'github', 'netlify']);
  const every = (kind: string, fallback: number) => check.duration(['schedules', 'throttle', kind], throttle[kind], fallback);
  return {
    graceMs: check.duration(['schedules', 'grace'], schedules.grace, 120_000),
    maxRuntimeMs: check.duration(['schedules', 'maxRuntime'], schedules.maxRuntime, 3_600_000),
    staleAfterMs: check.duration(['schedules', 'staleAfter'], schedules.staleAfter, 300_000),
    throttle: { cron: every('cron', 1_800_000), script: every('script', 1_800_000), github: every('github', 86_400_000), netlify: every('netlify', 1_800_000) },
  };
}

function compilePm2Source(check: Checker, raw: unknown, cwd: string): CompiledConfig['sources']['pm2'] {
  const pm2 = check.map(['sources', 'pm2'], raw, ['ecosystem', 'live']);
  const path: Path = ['sources', 'pm2', 'ecosystem'];
  let ecosystem = defaultEcosystemFiles(cwd);
  if (pm2.ecosystem !== undefined) {
    const list = Array.isArray(pm2.ecosystem) ? pm2.ecosystem : [pm2.ecosystem];
    const names = list.map((item, i) =>
      check.path(Array.isArray(pm2.ecosystem) ? [...path, i] : path, item, undefined, 'a file path or a list of file paths'),
    );
    ecosystem = [...new Set(names.map((name) => resolve(cwd, name)))];
  }
  return { ecosystem, live: check.boolean(['sources', 'pm2', 'live'], pm2.live, true) };
}

/** `twin: { mode: cold | warm }`, globally or per unit; a unit without one takes the global mode. */
function compileTwinMode(check: Checker, path: Path, raw: unknown, fallback: TwinMode): TwinMode {
  const twin = check.map(path, raw, ['mode']);
  if (twin.mode === undefined) return fallback;
  if (!twinModes.includes(twin.mode as TwinMode)) check.fail([...path, 'mode'], twin.mode, 'cold or warm');
  return twin.mode as TwinMode;
}

function compileUnits(check: Checker, raw: unknown, twinMode: TwinMode, policies: Policies): Record<string, UnitConfig> {
  const units = check.map(['units'], raw);
  const compiled: Record<string, UnitConfig> = {};
  for (const id of Object.keys(units)) {
    const [kind, ...rest] = id.split(':');
    if (!unitKinds.includes(kind as UnitKind) || rest.join(':').trim() === '') {
      check.fail(['units'], id, `unit ids like pm2:api (kinds: ${unitKinds.join(', ')})`);
    }
    const path = ['units', id];
    const unit = check.map(path, units[id], ['probe', 'overlap', 'ignore', 'twin', 'policy', 'trialRun']);
    const kindLayers = policies.layers[kind as UnitKind];
    const own: PolicyLayer = { path: [...path, 'policy'], raw: check.map([...path, 'policy'], unit.policy, policyKeys) };
    const config: UnitConfig = {
      overlap: check.boolean([...path, 'overlap'], unit.overlap, false),
      ignore: check.boolean([...path, 'ignore'], unit.ignore, false),
      twinMode: compileTwinMode(check, [...path, 'twin'], unit.twin, twinMode),
      policy: compilePolicy(check, kindDefaults(kind as UnitKind), [...kindLayers, own]),
      trialRun: check.boolean([...path, 'trialRun'], unit.trialRun, false),
    };
    if (unit.probe !== undefined) config.probe = compileProbe(check, [...path, 'probe'], unit.probe);
    compiled[id] = config;
  }
  return compiled;
}

function compileProbe(check: Checker, path: Path, raw: unknown): ProbeConfig {
  const shape = 'a map with http: URL or command: "..."';
  if (!isPlainMap(raw)) return check.fail(path, raw, shape);
  if ('http' in raw && 'command' in raw) return check.fail(path, raw, 'either http or command, not both');
  if ('http' in raw) {
    const probe = check.map(path, raw, ['http', 'expectStatus', 'timeout']);
    const url = probe.http;
    if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      check.fail([...path, 'http'], url, 'an http:// or https:// URL');
    }
    return {
      kind: 'http',
      url: url as string,
      expectStatus: check.integer([...path, 'expectStatus'], probe.expectStatus, 200, 100, 599),
      timeoutMs: check.duration([...path, 'timeout'], probe.timeout, 2_000),
    };
  }
  if ('command' in raw) {
    const probe = check.map(path, raw, ['command', 'timeout']);
    if (typeof probe.command !== 'string' || probe.command.trim() === '') {
      check.fail([...path, 'command'], probe.command, 'a command line to run');
    }
    return {
      kind: 'command',
      command: probe.command as string,
      timeoutMs: check.duration([...path, 'timeout'], probe.timeout, 10_000),
    };
  }
  return check.fail(path, raw, shape);
}
