import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig } from '../../core/config-file.js';
import { compileConfig } from '../../core/config.js';
import type { CompiledConfig } from '../../core/config-types.js';
import { errorMessage, RedundancyError } from '../../core/errors.js';
import { slotFor } from '../../core/schedule/run-samples.js';
import { nextSlot, previousSlot } from '../../core/schedule/slots.js';
import { ledgerDir, planScriptTwins, stateFile } from '../../daemon/compose.js';
import { inventoryCron, type CronUnit } from '../../kinds/cron/cron-inventory.js';
import { runScriptBackup } from '../../kinds/script/script-backup.js';
import { inventoryScripts, type ScriptUnit } from '../../kinds/script/script-inventory.js';
import { decideGate, runRecorded, type GateDecision } from '../../schedule/run-wrapper.js';
import { readJsonFile } from '../../store/atomic-file.js';
import { defaultConfigCache } from '../../store/config-cache.js';
import { Ledger } from '../../store/ledger.js';
import type { GlobalOptions } from '../context.js';
import { monotonicClock } from '../../core/clock.js';
import { heartbeatActing, heartbeatFile, readHeartbeat } from '../../hosts/heartbeat.js';

export interface RunOptions {
  twin?: boolean;
}

/**
 * `redundancy run <unit> [--twin] -- <cmd...>`: runs the command, records it in the ledger, passes
 * its exit code through. Needs no manager. Whatever goes wrong in the tool (config, state, ledger),
 * the primary's command still runs: the gate fails open and says why in the ledger.
 */
export async function runCommand(global: GlobalOptions, unitId: string, command: string[], opts: RunOptions): Promise<number> {
  const cwd = resolve(global.cwd ?? process.cwd());
  const warn = (line: string) => process.stderr.write(`${line}\n`);
  const loaded = await loadConfig({ configPath: global.config, cwd, cache: defaultConfigCache() }).then(
    (config) => ({ config }),
    (error: unknown) => ({ config: compileConfig(undefined, { cwd }), broken: `config does not load (${errorMessage(error)})` }),
  );
  const { config } = loaded;
  let broken = 'broken' in loaded ? loaded.broken : undefined;
  const found = broken ? undefined : await findUnit(config, unitId).catch((error: unknown) => {
    // A bad line elsewhere in a crontab, or `crontab -l` failing, must not stop this job.
    broken = `inventory does not load (${errorMessage(error)})`;
    return undefined;
  });
  if (!broken && found === undefined) {
    throw new RedundancyError('UNKNOWN_UNIT', `unknown unit ${unitId}: \`redundancy run\` takes a cron: or script: unit of \`redundancy inventory\``);
  }
  const unit = found;
  const side = opts.twin ? 'twin' : 'primary';
  // `--twin` is a run by hand, which always runs; the primary fails open.
  // Multi-host: only the host whose manager holds the lease runs the unit (no failing open: the other host would run it too).
  const beat = config.host ? readHeartbeat(heartbeatFile(config.stateDir)) : undefined;
  const follows = config.host !== undefined && (config.host.units === 'all' || config.host.units.includes(unitId));
  const gate: GateDecision = follows && opts.twin !== true && !heartbeatActing(beat, monotonicClock.now())
    ? { run: false, reason: `this host (${config.host!.name}) does not hold the lease${beat?.epoch != null ? ` (last epoch ${beat.epoch})` : ''}: the active host runs it` }
    : broken
    ? { run: true, reason: `${broken}: ${side === 'primary' ? 'failing open' : 'run by hand'}` }
    : await readGate(config, unitId, side, opts.twin === true);
  // Under cron, anything on stderr is mailed every run: the ledger says it; a person at a terminal is told too.
  const tell = (line: string) => process.stderr.isTTY && warn(`redundancy: ${unitId}: ${line}`);
  if (gate.run && gate.reason) tell(gate.reason);
  const epoch = beat?.epoch ?? undefined;
  const ledger = new Ledger({ dir: ledgerDir(config), ...(epoch !== undefined && { epoch: () => epoch }) });
  const now = Date.now();
  const slot = unit?.kind === 'cron' ? slotOf(unit, now, config.schedules.graceMs) : null;
  const host = config.host?.name ?? hostname();
  if (unit?.kind === 'script' && !gate.run && gate.reason === 'unit is on its twin') {
    // On demand, the twin takes the call: the script runs through its backup wrapper.
    const plan = planScriptTwins(config, [unit])[0]!;
    const outcome = await runScriptBackup({ unit: unitId, script: unit.script, args: command, cwd: config.cwd, ledger, retry: plan.twin, host, slot, warn });
    return outcome.exitCode;
  }
  const argv = commandFor(unit, command);
  if (argv.length === 0) throw new RedundancyError('USAGE', `run ${unitId}: no command given (\`redundancy run ${unitId} -- <cmd...>\`)`);
  // A project's own crontab lines and scripts run in the project; other lines where cron started them (HOME).
  const runIn = unit?.kind === 'cron' ? unit.cwd : unit?.kind === 'script' ? config.cwd : process.cwd();
  // The line's own command gets its `%` part on stdin, as cron gives it.
  const input = unit?.kind === 'cron' && command.length === 0 ? unit.entry.stdin : undefined;
  const outcome = await runRecorded({ unit: unitId, side, command: argv, cwd: runIn, ledger, gate, slot, host, warn, ...(input !== undefined && { input }) });
  if (outcome.skipped) tell(`${side} skipped: ${gate.reason ?? ''}`);
  return outcome.exitCode;
}

async function findUnit(config: CompiledConfig, id: string): Promise<CronUnit | ScriptUnit | undefined> {
  if (id.startsWith('cron:')) return (await inventoryCron(config)).units.find((u) => u.id === id);
  if (id.startsWith('script:')) {
    const cron = await inventoryCron(config).catch(() => ({ units: [] as CronUnit[] }));
    return (await inventoryScripts(config, cron.units.map((u) => u.entry.command))).find((u) => u.id === id);
  }
  return undefined;
}

/** A script unit's command is the script; for a cron unit with no command given, its line's own. */
function commandFor(unit: CronUnit | ScriptUnit | undefined, command: string[]): string[] {
  if (unit?.kind === 'script') return [process.execPath, unit.script, ...command];
  if (unit?.kind === 'cron' && command.length === 0) return [unit.entry.shell, '-c', unit.entry.commandForShell];
  return command;
}

/** The state file says which side is active; read only, never quarantined or rewritten from here. */
async function readGate(config: CompiledConfig, unitId: string, side: 'primary' | 'twin', manual: boolean): Promise<GateDecision> {
  const file = stateFile(config);
  const [read, info] = await Promise.all([readJsonFile(file), stat(file).catch(() => undefined)]);
  const units = read.kind === 'ok' ? (read.value as { units?: Record<string, { state?: { kind?: string; started?: boolean } }> }).units : undefined;
  const state = units?.[unitId]?.state;
  // A failback trial whose twin has not stopped yet still belongs to the twin.
  const kind = state?.kind === 'probing' && state.started !== true ? 'failing-over' : state?.kind;
  return decideGate({
    side,
    state: kind,
    stateAgeMs: read.kind === 'ok' && info ? Date.now() - info.mtimeMs : undefined,
    staleAfterMs: config.schedules.staleAfterMs,
    manual,
  });
}

function slotOf(unit: CronUnit, now: number, graceMs: number): number | null {
  const { parsed, tz } = unit.entry;
  return slotFor(now, { previous: previousSlot(parsed, tz, now), next: nextSlot(parsed, tz, now) }, 60_000, graceMs);
}
