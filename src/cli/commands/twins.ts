import { join } from 'node:path';
import { RedundancyError } from '../../core/errors.js';
import { planGithubTwins } from '../../kinds/github/github-units.js';
import { installCrontab, blockEntries, wrapPaths, writeWrappedCrontab } from '../../kinds/cron/cron-twin-files.js';
import { renderTwinsFile, writeTwinsFile } from '../../kinds/pm2/twin-file.js';
import { netlifyBackupFile, planNetlifyTwins, renderNetlifyBackupFor } from '../../kinds/netlify/netlify-units.js';
import { renderScriptWrapper } from '../../kinds/script/script-backup.js';
import { ledgerDir, planCronTwins, planScriptTwins, planUnitTwins } from '../../daemon/compose.js';
import { loadInventory, unitsOfKind } from '../../daemon/inventory.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { connectIfRunning, type Context } from '../context.js';
import { displayPath, table } from '../format.js';

export interface TwinsOptions {
  write?: boolean;
  installCrontab?: boolean;
  dryRun?: boolean;
}

export async function twinsCommand(ctx: Context, opts: TwinsOptions): Promise<number> {
  const pm = await connectIfRunning();
  let broken: string | undefined;
  const units = await loadInventory(ctx.config, { pm, notes: (line) => ctx.say(line), broken: (line) => void (broken = line) }).finally(() => pm?.close());
  // Writing twins of a set of workflows one of which cannot be read would leave that one without.
  if (opts.write && broken) throw new RedundancyError('CONFIG_PARSE', broken);
  const { cwd } = ctx.config;
  const pm2Plans = planUnitTwins(ctx.config, units);
  const cronPlans = planCronTwins(ctx.config, units);
  const scriptPlans = planScriptTwins(ctx.config, units);
  const workflowPlans = planGithubTwins(ctx.config, unitsOfKind(units, 'github'));
  const functionPlans = planNetlifyTwins(ctx.config, unitsOfKind(units, 'netlify'));
  const pm2Rows = pm2Plans.map((p) => [
    p.unitId,
    p.twin.name,
    p.coldReason ? `cold (warm refused: ${p.coldReason})` : p.mode,
    String(p.twin.maxRestarts ?? '-'),
    `${p.twin.expBackoffRestartDelayMs ?? '-'}ms`,
    p.notes.join('; '),
  ]);
  const scheduleRows = [
    ...[...cronPlans, ...scriptPlans].map((p) => [p.unitId, p.twin.name, p.twin.schedule ?? 'on demand', p.notes.join('; ')]),
    ...workflowPlans.map(({ unit, twin }) =>
      twin.ok
        ? [unit.id, twin.fileName, twin.schedule.join('; ') || 'dispatch only', [...twin.notes, ...twin.warnings.map((w) => `WARNING: ${w}`)].join('; ')]
        : [unit.id, '-', '-', `cannot be twinned: ${twin.reason}`]),
    ...functionPlans.map((p) => [p.unitId, p.twin.name, p.twin.schedule ?? `local runner, ${p.twin.paths.join(' ')}`, p.notes.join('; ')]),
  ];
  const text = [
    pm2Rows.length > 0 ? table(['UNIT', 'TWIN', 'MODE', 'MAX_RESTARTS', 'BACKOFF', 'NOTES'], pm2Rows) : '',
    scheduleRows.length > 0 ? table(['UNIT', 'TWIN', 'TWIN SCHEDULE', 'NOTES'], scheduleRows) : '',
  ].filter(Boolean).join('\n\n');
  ctx.result(
    [
      ...pm2Plans.map((p) => ({ ...p, kind: 'pm2', twin: { ...p.twin, schedule: null } })),
      ...cronPlans.map(({ zoned: _zoned, ...p }) => p),
      ...scriptPlans,
      ...workflowPlans.map(({ unit, twin }) => ({
        unitId: unit.id,
        kind: 'github',
        primary: unit.name,
        twin: twin.ok ? { name: twin.fileName, schedule: twin.schedule.length === 1 ? twin.schedule[0] : twin.schedule.length > 1 ? twin.schedule : null, variable: twin.variable } : null,
        notes: twin.ok ? [...twin.notes, ...twin.warnings] : [`cannot be twinned: ${twin.reason}`],
      })),
      ...functionPlans.map(({ parsed: _parsed, ...p }) => p),
    ],
    text || 'no units: no twins to plan',
  );
  const cronUnits = unitsOfKind(units, 'cron');
  if (opts.write) {
    const writes: Array<{ file: string; text: string | (() => Promise<void>); what: string }> = [];
    const twinsFile = ctx.config.twinsFile;
    if (pm2Plans.length > 0) {
      const generatedFrom = [...new Set(unitsOfKind(units, 'pm2').map((u) => displayPath(cwd, u.source.file)))];
      writes.push({ file: twinsFile, text: renderTwinsFile(pm2Plans, { generatedFrom }), what: `${pm2Plans.length} twins` });
    }
    const entries = blockEntries(cronUnits, wrapPaths(ctx.config));
    if (entries.length > 0) {
      const file = join(cwd, 'automation', 'redundancy', 'crontab.wrapped');
      writes.push({ file, text: () => writeWrappedCrontab(file, entries), what: `${entries.length} wrapped lines` });
    }
    const module = new URL('../../kinds/script/script-backup.js', import.meta.url).pathname;
    for (const [i, plan] of scriptPlans.entries()) {
      const unit = unitsOfKind(units, 'script')[i]!;
      const wrapper = renderScriptWrapper({ unit: plan.unitId, script: unit.script, project: cwd, module, ledgerDir: ledgerDir(ctx.config), retry: plan.twin });
      writes.push({ file: plan.twin.file, text: wrapper, what: `twin of ${plan.unitId}` });
    }
    for (const { twin } of workflowPlans) {
      if (twin.ok) writes.push({ file: join(ctx.config.sources.github.workflows, twin.fileName), text: twin.text, what: 'twin workflow; commit it to the default branch' });
    }
    if (functionPlans.length > 0) {
      writes.push({ file: netlifyBackupFile(ctx.config), text: renderNetlifyBackupFor(ctx.config, functionPlans), what: `${functionPlans.length} function twins, run by the manager's local runner` });
    }
    for (const w of writes) {
      if (opts.dryRun) {
        ctx.say(`\nwould write ${displayPath(cwd, w.file)}${typeof w.text === 'string' ? `:\n${w.text}` : ''}`);
        continue;
      }
      if (typeof w.text === 'string') await (w.file === twinsFile ? writeTwinsFile(w.file, w.text) : writeFileAtomic(w.file, w.text));
      else await w.text();
      ctx.say(`wrote ${displayPath(cwd, w.file)} (${w.what})`);
    }
  }
  if (opts.installCrontab) {
    const change = await installCrontab({ config: ctx.config, units: cronUnits, backupDir: ctx.config.stateDir, dryRun: opts.dryRun === true });
    if (!change.changed) ctx.say('crontab: already up to date');
    else if (opts.dryRun) ctx.say(`crontab: would change:\n${change.diff}`);
    else ctx.say(`crontab: installed ${cronUnits.filter((u) => u.entry.user === undefined).length} wrapped lines (old crontab kept as ${displayPath(cwd, change.backup!)})`);
  }
  return 0;
}
