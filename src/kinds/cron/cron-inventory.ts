import { isStartupCommand } from './startup-line.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import { isRedundancyError, RedundancyError } from '../../core/errors.js';
import { isUnsatisfiable } from '../../core/schedule/cron-fields.js';
import type { UnitBase } from '../../core/types.js';
import { parseCrontab, type CronEntry, type CronParseError } from './crontab-parser.js';
import { cronDFileAccepted, nameUnits } from './unit-names.js';
import { UserCrontab } from './user-crontab.js';
import { unwrapCommand } from './wrapped-line.js';

export interface CronUnit extends UnitBase {
  kind: 'cron';
  schedule: string;
  entry: CronEntry;
  /** Where the command runs: the project for a project crontab file (its paths are the project's), else HOME, as cron does. */
  cwd: string;
  /** The user's crontab line already goes through `redundancy run` (installed by `twins --install-crontab`). */
  wrapped: boolean;
}

export interface CronInventory {
  units: CronUnit[];
  /** Files left out and why (cron.d names cron itself skips). */
  skipped: Array<{ file: string; reason: string }>;
  /** Lines left out with `sources.cron.skipInvalid`. */
  warnings: string[];
}

/** Project crontab files, cron.d files and directories, and the user's crontab, as `sources.cron` says. */
export async function inventoryCron(config: CompiledConfig, crontab?: UserCrontab): Promise<CronInventory> {
  const source = config.sources.cron;
  const found: Array<{ entry: CronEntry; cwd: string; wrappedId?: string }> = [];
  const skipped: CronInventory['skipped'] = [];
  const errors: CronParseError[] = [];
  const take = (text: string, file: string, userField: boolean, cwd: string) => {
    const parsed = parseCrontab(text, { file, userField });
    errors.push(...parsed.errors);
    for (const entry of parsed.entries) found.push({ entry, cwd });
  };
  for (const file of source.files) {
    const text = await readIfExists(file, source.filesGiven);
    if (text !== undefined) take(text, file, false, config.cwd);
  }
  for (const path of source.cronD) {
    for (const file of await cronDFiles(path, skipped)) take(await readFile(file, 'utf8'), file, true, homedir());
  }
  if (source.userCrontab) {
    const text = await (crontab ?? userCrontab(config)).read().catch((error: unknown) => {
      // Asked for in the config, so a missing cron is a configuration problem, said in one line.
      if (isRedundancyError(error) && error.code === 'IO') throw new RedundancyError('CONFIG_INVALID', `${config.file ?? 'redundancy.config.yaml'}: sources.cron.userCrontab is true, but ${error.message}`);
      throw error;
    });
    const parsed = parseCrontab(text, { file: 'crontab -l', userField: false });
    errors.push(...parsed.errors);
    for (const entry of parsed.entries) {
      // `redundancy startup cron` keeps the manager itself up: not a job.
      if (isStartupCommand(entry.command)) continue;
      const unwrapped = unwrapCommand(entry.command);
      // Another project's wrapped lines are that project's units.
      if (unwrapped && unwrapped.cwd !== undefined && unwrapped.cwd !== config.cwd) continue;
      if (!unwrapped) {
        found.push({ entry, cwd: homedir() });
        continue;
      }
      const original = { ...entry, command: unwrapped.command, commandForShell: unwrapped.command.replace(/\\%/g, '%'), shell: unwrapped.shell };
      found.push({ entry: original, cwd: homedir(), wrappedId: unwrapped.unitId });
    }
  }
  const warnings = reportErrors(errors, source.skipInvalid);
  const units = toUnits(config, found);
  // Watched all the same (it has no slot to miss), but said: a line that never fires is a mistake.
  for (const u of units) {
    if (u.entry.parsed.kind === 'cron' && isUnsatisfiable(u.entry.parsed.fields)) {
      warnings.push(`${u.source.file}:${u.source.line}: ${u.id}: '${u.schedule}' never fires (no month has that day)`);
    }
  }
  return { units, skipped, warnings };
}

function toUnits(config: CompiledConfig, found: ReadonlyArray<{ entry: CronEntry; cwd: string; wrappedId?: string }>): CronUnit[] {
  const named = nameUnits(found.filter((f) => f.wrappedId === undefined).map((f) => f.entry));
  const byEntry = new Map(named.map((n) => [n.entry, n.name]));
  const units = new Map<string, CronUnit>();
  for (const f of found) {
    const id = f.wrappedId ?? `cron:${byEntry.get(f.entry)!}`;
    // A project line and its installed wrapped copy are one unit: the project file names it.
    if (units.has(id) || unitConfig(config, id).ignore) continue;
    units.set(id, {
      id,
      kind: 'cron',
      name: id.slice('cron:'.length),
      source: { file: f.entry.file, line: f.entry.line },
      schedule: f.entry.schedule,
      entry: f.entry,
      cwd: f.cwd,
      wrapped: f.wrappedId !== undefined,
    });
  }
  return [...units.values()];
}

/** One line naming file:line:column, exit 78; with skipInvalid, a warning each and the line left out. */
function reportErrors(errors: readonly CronParseError[], skipInvalid: boolean): string[] {
  const lines = errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`);
  if (lines.length > 0 && !skipInvalid) {
    const more = lines.length > 1 ? ` (and ${lines.length - 1} more; sources.cron.skipInvalid: true leaves bad lines out)` : '';
    throw new RedundancyError('CONFIG_PARSE', `${lines[0]}${more}`);
  }
  return lines.map((line) => `${line}; line left out (sources.cron.skipInvalid)`);
}

async function readIfExists(file: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    throw new RedundancyError('CONFIG_INVALID', `sources.cron.files: cannot read ${file}: ${code ?? String(error)}`);
  }
}

/** A cron.d path: one file, or a directory whose names cron itself would read (Debian's run-parts rule). */
async function cronDFiles(path: string, skipped: CronInventory['skipped']): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new RedundancyError('CONFIG_INVALID', `sources.cron.cronD: ${path} does not exist`);
  if (!info.isDirectory()) return [path];
  const files: string[] = [];
  for (const name of (await readdir(path)).sort()) {
    const accepted = cronDFileAccepted(name);
    if (accepted.ok) files.push(join(path, name));
    else skipped.push({ file: join(path, basename(name)), reason: accepted.reason });
  }
  return files;
}

/** The crontab `sources.cron` names: the current user's, or `sources.cron.user`'s. */
export function userCrontab(config: CompiledConfig): UserCrontab {
  const { user } = config.sources.cron;
  return new UserCrontab(user !== undefined ? { user } : {});
}
