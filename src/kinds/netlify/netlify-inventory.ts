/**
 * Every Netlify function of a project, as Netlify's build would see it, from files only: the
 * functions directory (netlify.toml), each entry's in-source config, and the build manifest when one
 * is there. No user code is run.
 */
import { access, readFile } from 'node:fs/promises';
import { parseCronExpression } from '../../core/schedule/cron-fields.js';
import { listFunctionFiles, type FunctionFile } from './function-files.js';
import { readInSourceConfig, type InSourceRead } from './in-source-config.js';
import { readManifest, type ManifestFunction, type NetlifyManifest } from './manifest.js';
import { defaultFunctionPath, type NetlifyFunctionInfo, type ScheduleOrigin } from './netlify-function.js';
import { defaultTomlSettings, matchesPattern, readNetlifyToml, tomlScheduleFor, type NetlifyTomlSettings, type TomlProblem } from './netlify-toml.js';

export interface NetlifyInventory {
  /** sorted by name; those that cannot be twinned carry `whyNot` */
  functions: NetlifyFunctionInfo[];
  /** what was left out or could not be read, one line each */
  notes: string[];
  /** the first netlify.toml problem (`file:line:col: message`); its settings were ignored and the default directory read */
  broken?: string;
}

export interface InventoryOptions {
  /** the project directory: the manifest is under it, and the default functions directory when the toml is unusable */
  cwd: string;
  /** absolute path of netlify.toml */
  toml: string;
  /** the user named the toml: a missing file is then an error */
  tomlGiven: boolean;
}

/** The schedule nicknames Netlify takes (not `@reboot`, not `@annually`). */
export const netlifyNicknames = ['@yearly', '@monthly', '@weekly', '@daily', '@hourly'] as const;

/** Why Netlify would not take `text` as a schedule, or undefined when it would. */
export function checkNetlifySchedule(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('@')) {
    return (netlifyNicknames as readonly string[]).includes(trimmed) ? undefined : `Netlify takes ${netlifyNicknames.join(', ')} or five cron fields`;
  }
  const fields = trimmed === '' ? 0 : trimmed.split(/\s+/).length;
  if (fields !== 5) return `expected five cron fields (minute hour day-of-month month day-of-week), got ${fields}`;
  const parsed = parseCronExpression(trimmed);
  return parsed.ok ? undefined : `expected ${parsed.expected} at column ${parsed.column}`;
}

export async function inventoryNetlify(opts: InventoryOptions): Promise<NetlifyInventory> {
  const notes: string[] = [];
  let broken: string | undefined;
  const read = await readNetlifyToml(opts.toml, { projectDir: opts.cwd, given: opts.tomlGiven });
  let settings: NetlifyTomlSettings;
  if (read.ok) {
    settings = read.settings;
    notes.push(...settings.notes);
  } else {
    settings = defaultTomlSettings(opts.cwd);
    const lines = read.problems.map(formatProblem);
    broken = lines[0];
    for (const line of lines) notes.push(`${line}; netlify.toml ignored, reading ${settings.functionsDir}`);
  }

  const [listing, manifestRead] = await Promise.all([listFunctionFiles(settings.functionsDir), readManifest(opts.cwd)]);
  if (listing.missing && settings.functionsDirFrom !== 'default') {
    notes.push(`${settings.file}: functions directory ${settings.functionsDir} (${settings.functionsDirFrom}) does not exist`);
  }
  notes.push(...listing.notes, ...manifestRead.notes);
  const manifest = manifestRead.manifest;
  const inManifest = new Map(manifest?.functions.map((f) => [f.name, f]));

  const found = await Promise.all(
    listing.files.map(async (file) => fromFile(file, file.runtime === 'js' ? await readEntry(file.entry) : undefined, settings, inManifest.get(file.name), manifest, notes)),
  );
  const names = new Set(found.map((f) => f.name));
  const onlyInManifest = (manifest?.functions ?? []).filter((f) => !names.has(f.name));
  found.push(...(await Promise.all(onlyInManifest.map((f) => fromManifest(f, manifest!, settings)))));

  for (const [pattern, s] of settings.functions) {
    if (pattern === '*' || s.schedule === undefined) continue;
    if (!found.some((f) => matchesPattern(pattern, f.name))) notes.push(`${settings.file}:${s.line}: [functions."${pattern}"] matches no function`);
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { functions: found, notes, ...(broken !== undefined && { broken }) };
}

const formatProblem = (p: TomlProblem): string => (p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`);

async function readEntry(entry: string): Promise<InSourceRead> {
  let text: string;
  try {
    text = await readFile(entry, 'utf8');
  } catch (error) {
    return { ok: false, line: 0, column: 0, message: `cannot read: ${(error as Error).message}` };
  }
  return readInSourceConfig(text, entry);
}

interface Schedule {
  schedule: string;
  from: ScheduleOrigin;
  /** `file:line` where it is written */
  where: string;
}

function fromFile(
  file: FunctionFile,
  source: InSourceRead | undefined,
  settings: NetlifyTomlSettings,
  listed: ManifestFunction | undefined,
  manifest: NetlifyManifest | undefined,
  notes: string[],
): NetlifyFunctionInfo {
  const fn: NetlifyFunctionInfo = {
    name: file.name,
    entry: file.entry,
    runtime: file.runtime,
    type: 'sync',
    paths: [defaultFunctionPath(file.name)],
    source: { file: file.entry, line: 1 },
  };
  const whyNot: string[] = file.whyNot ? [file.whyNot] : [];
  let schedule: Schedule | undefined;
  let background = file.name.endsWith('-background') || listed?.background === true;
  if (source && !source.ok) {
    const at = source.line > 0 ? `${file.entry}:${source.line}:${source.column}` : file.entry;
    whyNot.push(source.line > 0 ? `does not parse: ${at}: ${source.message}` : `${at}: ${source.message}`);
    if (listed?.paths) fn.paths = listed.paths;
  } else if (source) {
    const isc = source.value;
    fn.source.line = isc.line;
    if (isc.apiVersion !== undefined) fn.apiVersion = isc.apiVersion;
    else notes.push(`${file.entry}: no \`handler\` export and no default export seen; Netlify would find nothing to call`);
    notes.push(...isc.notes);
    if (isc.invalid) whyNot.push(isc.invalid);
    const cron = isc.config?.schedule ?? isc.schedule;
    if (cron !== undefined) schedule = { schedule: cron, from: 'source', where: `${file.entry}:${isc.configLines.schedule ?? isc.line}` };
    if (isc.config?.path) fn.paths = isc.config.path;
    if (isc.config?.background === true) background = true;
  }
  if (fn.apiVersion === undefined && listed?.apiVersion !== undefined) fn.apiVersion = listed.apiVersion;
  schedule ??= fromToml(settings, file.name) ?? fromManifestSchedule(listed, manifest);
  return finish(fn, schedule, background, whyNot);
}

async function fromManifest(listed: ManifestFunction, manifest: NetlifyManifest, settings: NetlifyTomlSettings): Promise<NetlifyFunctionInfo> {
  const fn: NetlifyFunctionInfo = {
    name: listed.name,
    entry: listed.mainFile,
    runtime: listed.runtime,
    type: 'sync',
    paths: listed.paths ?? [defaultFunctionPath(listed.name)],
    source: { file: listed.mainFile, line: 1 },
    ...(listed.apiVersion !== undefined && { apiVersion: listed.apiVersion }),
  };
  const whyNot: string[] = [];
  if (listed.runtime !== 'js') whyNot.push(`runtime ${listed.runtime}: the local runner runs JavaScript and TypeScript only`);
  else if (!(await access(listed.mainFile).then(() => true, () => false))) {
    whyNot.push(`known only from ${manifest.file}, and its entry ${listed.mainFile} does not exist here`);
  }
  const schedule = fromToml(settings, listed.name) ?? fromManifestSchedule(listed, manifest);
  return finish(fn, schedule, listed.background || listed.name.endsWith('-background'), whyNot);
}

function fromToml(settings: NetlifyTomlSettings, name: string): Schedule | undefined {
  const hit = tomlScheduleFor(settings, name);
  return hit && { schedule: hit.schedule, from: 'toml', where: `${settings.file}:${hit.line}` };
}

function fromManifestSchedule(listed: ManifestFunction | undefined, manifest: NetlifyManifest | undefined): Schedule | undefined {
  return listed?.schedule !== undefined && manifest ? { schedule: listed.schedule, from: 'manifest', where: `${manifest.file}:${listed.line}` } : undefined;
}

/** type: scheduled if a schedule, else background, else sync; an invalid schedule is a reason not to twin. */
function finish(fn: NetlifyFunctionInfo, schedule: Schedule | undefined, background: boolean, whyNot: string[]): NetlifyFunctionInfo {
  if (schedule) {
    fn.type = 'scheduled';
    fn.schedule = schedule.schedule;
    fn.scheduleFrom = schedule.from;
    const problem = checkNetlifySchedule(schedule.schedule);
    if (problem) whyNot.push(`${schedule.where}: schedule ${JSON.stringify(schedule.schedule)} is not valid: ${problem}`);
  } else if (background) {
    fn.type = 'background';
  }
  if (whyNot.length > 0) fn.whyNot = whyNot.join('; ');
  return fn;
}
