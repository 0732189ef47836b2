/**
 * The twin's copy of the primary's jobs, changed only where the twin must differ: every job gated on the
 * repository variable, concurrency groups of its own, and crons compared with `github.event.schedule`
 * replaced by the twin's. Shares the primary's yaml nodes where nothing changes, so content and most comments
 * stay; what changes is copied first, so the primary's document is never modified.
 */
import { isCollection, isMap, isPair, isScalar, isSeq, Pair, Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
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

/**
 * A collection whose items can change without changing `node`'s: fresh pairs and array, the same keys and
 * values. Copying only what the twin changes is far cheaper than a deep clone of every job.
 */
export function shallowCopy<T extends YAMLMap | YAMLSeq>(node: T): T {
  const copy = Object.create(Object.getPrototypeOf(node), Object.getOwnPropertyDescriptors(node)) as T;
  (copy as { items: unknown[] }).items = node.items.map((item: unknown) => (isPair(item) ? new Pair(item.key, item.value) : item));
  return copy;
}

/** The twin's `jobs`; `jobs` is left as it was. Returns what a user should read about the changes too. */
export function twinJobs(jobs: YAMLMap, ctx: TwinJobsContext): { jobs: YAMLMap; notes: string[]; warnings: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  const twin = shallowCopy(jobs);
  for (const pair of twin.items) {
    const id = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!isMap(pair.value)) {
      warnings.push(`job ${id} is not a map; copied as written and not gated`);
      continue;
    }
    const rewritten = rewriteCrons(pair.value, ctx.rewrite);
    const job = shallowCopy(rewritten.job);
    pair.value = job;
    if (rewritten.count > 0) notes.push(`job ${id}: ${rewritten.count} comparison(s) with a primary cron now name the twin's cron`);
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
  return { jobs: twin, notes, warnings };
}

/**
 * Literals equal to a primary cron, in `if:` values and in the `${{ }}` parts of any other string (not
 * in scalar keys). Only the scalars changed and the collections above them are copied.
 */
function rewriteCrons(job: YAMLMap, rewrite: ReadonlyMap<string, string>): { job: YAMLMap; count: number } {
  if (![...rewrite].some(([from, to]) => from !== to)) return { job, count: 0 };
  let count = 0;
  const edit = (node: Scalar, isIf: boolean): Scalar => {
    const text = node.value;
    if (typeof text !== 'string') return node;
    const next = isIf && !text.includes('${{') ? rewriteLiterals(text, rewrite) : rewriteTemplates(text, rewrite);
    if (next === text) return node;
    count++;
    const copy = node.clone() as Scalar;
    copy.value = next;
    return copy;
  };
  const walk = <T>(node: T): T => {
    if (!isCollection(node)) return node;
    let copy: typeof node | undefined;
    node.items.forEach((item: unknown, i: number) => {
      let next = item;
      if (isPair(item)) {
        const key = isScalar(item.key) ? item.key : walk(item.key);
        const isIf = isScalar(item.key) && item.key.value === 'if';
        const value = isScalar(item.value) ? edit(item.value, isIf) : walk(item.value);
        if (key !== item.key || value !== item.value) next = new Pair(key, value);
      } else next = isScalar(item) ? edit(item, false) : walk(item);
      if (next === item) return;
      copy ??= shallowCopy(node);
      (copy.items as unknown[])[i] = next;
    });
    return copy ?? node;
  };
  return { job: walk(job), count };
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
  if (isMap(concurrency)) {
    const group = shallowCopy(concurrency);
    group.set('group', scalar);
    job.set('concurrency', group);
  } else job.set('concurrency', scalar);
  return { from, to };
}
