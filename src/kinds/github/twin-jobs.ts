/**
 * The twin's copy of the primary's jobs, changed only where the twin must differ: every job gated on the
 * repository variable, concurrency groups of its own, and crons compared with `github.event.schedule`
 * replaced by the twin's. Works on a clone of the primary's yaml nodes, so content and most comments stay.
 */
import { isMap, isPair, isScalar, isSeq, Pair, Scalar, visit, type YAMLMap } from 'yaml';
import { balanced, comparedEvents, conditionOf, rewriteLiterals, rewriteTemplates, untrustedTemplates } from './workflow-expressions.js';

export interface TwinJobsContext {
  /** REDUNDANCY_ACTIVE_<STEM>: derived from the file name, only [A-Z0-9_] */
  variable: string;
  /** primary cron (normalised) -> twin cron */
  rewrite: ReadonlyMap<string, string>;
  /** prefix of the twin's concurrency groups */
  groupPrefix: string;
  isStringInput: (id: string) => boolean;
}

const TWIN_EVENTS = new Set(['schedule', 'workflow_dispatch']);

/**
 * The gate every twin job carries, alone or around the job's own condition. A condition holding '}}' (in a
 * string literal) goes without `${{ }}`, which GitHub also evaluates, so it cannot end the template early.
 */
export function gateExpression(variable: string, own?: string): string {
  const gate = `vars.${variable} == 'twin' || github.event_name == 'workflow_dispatch'`;
  if (own === undefined) return `\${{ ${gate} }}`;
  return own.includes('}}') ? `(${gate}) && (${own})` : `\${{ (${gate}) && (${own}) }}`;
}

/** Changes `jobs` in place; returns what a user should read about the changes. */
export function twinJobs(jobs: YAMLMap, ctx: TwinJobsContext): { notes: string[]; warnings: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  for (const pair of jobs.items) {
    const id = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const job = pair.value;
    if (!isMap(job)) {
      warnings.push(`job ${id} is not a map; copied as written and not gated`);
      continue;
    }
    const rewritten = rewriteCrons(job, ctx.rewrite);
    if (rewritten > 0) notes.push(`job ${id}: ${rewritten} comparison(s) with a primary cron now name the twin's cron`);
    warnings.push(...scanSteps(job, id, ctx));
    for (const event of conditionEvents(job)) {
      if (!TWIN_EVENTS.has(event)) notes.push(`job ${id}: a condition compares github.event_name with '${event}', which a twin run never is`);
    }
    const group = retarget(job, ctx.groupPrefix);
    if (group) notes.push(`job ${id}: concurrency group '${group.from}' -> '${group.to}' (groups are repository-wide: a shared one lets either side cancel the other's pending job)`);
    const written = conditionOf(job.get('if'));
    // unbalanced parentheses could close the gate's own and escape it
    const own = written.kind === 'expr' && !balanced(written.expr) ? { kind: 'invalid' as const } : written;
    if (own.kind === 'mixed') warnings.push(`job ${id}: if: mixes \${{ }} with other text, which GitHub reads as a non-empty string (always true); the twin keeps only the gate`);
    if (own.kind === 'invalid') warnings.push(`job ${id}: if: is not a well-formed expression; the twin keeps only the gate`);
    const gate = new Scalar(gateExpression(ctx.variable, own.kind === 'expr' ? own.expr : undefined));
    const current = job.items.find((p) => isScalar(p.key) && p.key.value === 'if');
    if (current) current.value = gate;
    else job.items.unshift(new Pair(new Scalar('if'), gate));
    if (job.has('uses')) notes.push(`job ${id} calls a reusable workflow: it runs with the twin's event (schedule or workflow_dispatch)`);
  }
  return { notes, warnings };
}

/** Literals equal to a primary cron, in `if:` values and in the `${{ }}` parts of any other string. */
function rewriteCrons(job: YAMLMap, rewrite: ReadonlyMap<string, string>): number {
  if (![...rewrite].some(([from, to]) => from !== to)) return 0;
  let count = 0;
  visit(job, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const parent = path[path.length - 1];
      const isIf = isPair(parent) && isScalar(parent.key) && parent.key.value === 'if';
      const text = node.value;
      const next = isIf && !text.includes('${{') ? rewriteLiterals(text, rewrite) : rewriteTemplates(text, rewrite);
      if (next !== text) {
        node.value = next;
        count++;
      }
    },
  });
  return count;
}

function stepsOf(job: YAMLMap): YAMLMap[] {
  const steps = job.get('steps', true);
  return isSeq(steps) ? steps.items.filter((s): s is YAMLMap => isMap(s)) : [];
}

/** Script injection in the primary's own `run:` steps, and crons a script names that the twin cannot rewrite. */
function scanSteps(job: YAMLMap, id: string, ctx: TwinJobsContext): string[] {
  const warnings: string[] = [];
  const changed = [...ctx.rewrite].filter(([from, to]) => from !== to);
  stepsOf(job).forEach((step, index) => {
    const run = step.get('run');
    if (typeof run !== 'string') return;
    const name = step.get('name');
    const where = `job ${id}, step ${typeof name === 'string' ? JSON.stringify(name) : index + 1}`;
    const untrusted = untrustedTemplates(run, ctx.isStringInput);
    if (untrusted.length > 0) {
      warnings.push(`${where}: run: pastes ${untrusted.join(', ')} into the script (script injection): pass it through env: and use the quoted variable`);
    }
    const outside = run.replace(/\$\{\{[\s\S]*?\}\}/g, '').split(/\s+/).join(' ');
    for (const [from, to] of changed) {
      if (outside.includes(from)) warnings.push(`${where}: run: names the primary's cron '${from}'; left as written (the twin fires on '${to}')`);
    }
  });
  return warnings;
}

function conditionEvents(job: YAMLMap): string[] {
  const events = [job.get('if'), ...stepsOf(job).map((s) => s.get('if'))].flatMap((value) => {
    const c = conditionOf(value);
    return c.kind === 'expr' ? comparedEvents(c.expr) : c.kind === 'mixed' ? comparedEvents(c.text) : [];
  });
  return [...new Set(events)];
}

/** A job-level concurrency group, prefixed so the twin never joins a group the primary uses. */
function retarget(job: YAMLMap, prefix: string): { from: string; to: string } | undefined {
  const concurrency = job.get('concurrency', true);
  const target = isMap(concurrency) ? concurrency.get('group', true) : concurrency;
  if (!isScalar(target) || target.value === null || target.value === undefined) return undefined;
  const from = String(target.value);
  const to = `${prefix}-${from}`;
  const scalar = new Scalar(to);
  if (isMap(concurrency)) concurrency.set('group', scalar);
  else job.set('concurrency', scalar);
  return { from, to };
}
