import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unitConfig, type CompiledConfig } from '../../core/config-types.js';
import type { UnitBase } from '../../core/types.js';
import { parseWorkflow, type WorkflowInfo } from './workflow-file.js';

/** Files parsed between two turns of the event loop. */
const FILES_PER_TURN = 16;

export interface GithubUnit extends UnitBase {
  kind: 'github';
  /** The workflow's file name, e.g. `nightly.yml`. */
  name: string;
  triggers: string[];
  workflow: WorkflowInfo;
  /** The parsed YAML document, for the twin's generator. */
  doc: unknown;
}

export interface GithubInventory {
  units: GithubUnit[];
  /** Workflows listed but not supervised, and why; files that cannot be read, with file:line:column. */
  notes: string[];
  /** The first broken file, for commands that must not go on without it (`twins --write`). */
  broken?: string;
}

/**
 * Every `*.yml`/`*.yaml` in `sources.github.workflows`. Offline: no token, no repository. A file
 * that cannot be read is said with file:line:column and the others are kept.
 */
export async function inventoryGithub(config: CompiledConfig): Promise<GithubInventory> {
  const dir = config.sources.github.workflows;
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const units: GithubUnit[] = [];
  const notes: string[] = [];
  let broken: string | undefined;
  // Read in step with the parse: for a small file an async read (four trips to the thread pool) costs
  // more than the read itself. The event loop still turns every few files, so a reloading manager answers.
  for (const [i, fileName] of names.filter((n) => /\.ya?ml$/i.test(n)).sort().entries()) {
    if (i > 0 && i % FILES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    const file = join(dir, fileName);
    const parsed = parseWorkflow(readFileSync(file, 'utf8'), file);
    if (!parsed.ok) {
      const line = `${parsed.error.file}:${parsed.error.line}:${parsed.error.column}: ${parsed.error.message}`;
      broken ??= line;
      notes.push(`${line}; workflow left out`);
      continue;
    }
    const wf = parsed.workflow;
    for (const p of wf.problems) notes.push(`${file}:${p.line}:${p.column}: ${p.message}`);
    if (wf.isTwin) continue;
    const id = `github:${fileName}`;
    if (!wf.supervised) {
      notes.push(`${id}: not supervised: ${wf.whyNot ?? 'no schedule and no workflow_dispatch'}`);
      continue;
    }
    if (unitConfig(config, id).ignore) continue;
    const crons = wf.schedules.map((s) => s.cron);
    units.push({
      id,
      kind: 'github',
      name: fileName,
      source: { file, line: wf.line },
      ...(crons.length > 0 && { schedule: crons.length === 1 ? crons[0]! : crons }),
      triggers: wf.triggers,
      workflow: wf,
      doc: parsed.doc,
    });
  }
  return { units, notes, ...(broken && { broken }) };
}
