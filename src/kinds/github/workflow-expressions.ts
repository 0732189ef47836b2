/**
 * Small readings of GitHub expressions (`${{ }}`) in a copied workflow: a job's own condition, string
 * literals naming a primary cron, and untrusted contexts pasted into scripts (docs: script-injections).
 */

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}/g;
const LITERAL = /'((?:[^']|'')*)'/g;

export type Condition = { kind: 'none' } | { kind: 'expr'; expr: string } | { kind: 'mixed'; text: string } | { kind: 'invalid' };

/**
 * An `if:` value as an expression. GitHub reads `if:` without `${{ }}` as an expression too; text that
 * mixes `${{ }}` with anything else is a template whose non-empty result is always true.
 */
export function conditionOf(value: unknown): Condition {
  if (value === undefined || value === null) return { kind: 'none' };
  if (typeof value === 'boolean' || typeof value === 'number') return { kind: 'expr', expr: String(value) };
  if (typeof value !== 'string') return { kind: 'invalid' };
  const text = value.trim();
  if (text === '') return { kind: 'none' };
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
  if (whole && !whole[1]!.includes('${{') && !whole[1]!.includes('}}')) return { kind: 'expr', expr: whole[1]!.trim() };
  if (text.includes('${{')) return { kind: 'mixed', text };
  return { kind: 'expr', expr: text };
}

/** Parentheses outside string literals close in order and all close. */
export function balanced(expr: string): boolean {
  let depth = 0;
  for (const char of expr.replace(LITERAL, "''")) {
    if (char === '(') depth++;
    if (char === ')' && --depth < 0) return false;
  }
  return depth === 0 && (expr.match(/'/g)?.length ?? 0) % 2 === 0;
}

const normalise = (cron: string): string => cron.trim().split(/\s+/).join(' ');

/** Single-quoted literals equal to a primary cron, replaced by its twin cron, in an expression. */
export function rewriteLiterals(expr: string, rewrite: ReadonlyMap<string, string>): string {
  return expr.replace(LITERAL, (whole, body: string) => {
    const twin = rewrite.get(normalise(body.replace(/''/g, "'")));
    return twin === undefined ? whole : `'${twin}'`;
  });
}

/** The same, only inside the `${{ }}` parts of a string. */
export function rewriteTemplates(text: string, rewrite: ReadonlyMap<string, string>): string {
  return text.replace(TEMPLATE, (_whole, inner: string) => `\${{${rewriteLiterals(inner, rewrite)}}}`);
}

const UNTRUSTED_TAIL = /(body|default_branch|email|head_ref|label|message|name|page_name|ref|title)$/i;
const EVENT_PATH = /\bgithub\s*\.\s*event((?:\s*\.\s*(?:[\w-]+|\*)|\s*\[\s*(?:'[^']*'|\d+|\*)\s*\])+)/gi;
const SEGMENT = /\.\s*([\w-]+)|\[\s*'([^']*)'\s*\]/g;

/**
 * `${{ }}` parts of a script that paste attacker-controllable text: github.event fields ending in a name
 * from the docs' list, github.head_ref, and string inputs (`inputs.x`, `github.event.inputs.x`).
 */
export function untrustedTemplates(script: string, isStringInput: (id: string) => boolean): string[] {
  const found: string[] = [];
  for (const [whole, inner] of script.matchAll(TEMPLATE)) {
    if (isUntrusted(inner!, isStringInput)) found.push(whole.replace(/\s+/g, ' '));
  }
  return [...new Set(found)];
}

function isUntrusted(expr: string, isStringInput: (id: string) => boolean): boolean {
  if (/\bgithub\s*\.\s*head_ref\b/i.test(expr)) return true;
  for (const [, path] of expr.matchAll(EVENT_PATH)) {
    const names = [...path!.matchAll(SEGMENT)].map((m) => m[1] ?? m[2] ?? '');
    if (names[0]?.toLowerCase() === 'inputs') return names[1] === undefined || isStringInput(names[1]);
    if (UNTRUSTED_TAIL.test(names[names.length - 1] ?? '')) return true;
  }
  for (const [, id] of expr.matchAll(/(?<![\w.])inputs\s*\.\s*([\w-]+)/gi)) if (isStringInput(id!)) return true;
  return false;
}

/** Event names an expression compares github.event_name with. */
export function comparedEvents(expr: string): string[] {
  const out = new Set<string>();
  for (const m of expr.matchAll(/github\s*\.\s*event_name\s*[!=]=\s*'([^']*)'|'([^']*)'\s*[!=]=\s*github\s*\.\s*event_name/gi)) out.add((m[1] ?? m[2])!);
  return [...out];
}
