/**
 * A function's in-source configuration, read statically as zip-it-and-ship-it reads it
 * (`runtimes/node/in_source_config/index.ts`, `parser/exports.ts`, `parser/imports.ts`): the handler
 * shape (v1 `handler`, v2 default export), the `config` export, and v1's `schedule("<cron>", fn)`.
 * Text in, facts out: the code is parsed, never run.
 */
import { parse, type ParserPlugin } from '@babel/parser';
import type { Expression, Node, ObjectExpression, Statement } from '@babel/types';
import { describeValue } from '../../core/errors.js';

/** The module that provides v1's `schedule` helper (and the `Config` type). */
export const functionsModule = '@netlify/functions';

export type StaticValue = string | number | boolean | null | StaticValue[] | { [key: string]: StaticValue };

/** The `config` keys the inventory uses, checked; lists are always lists (`path: "/a"` → `["/a"]`). */
export interface SourceFunctionConfig {
  schedule?: string;
  path?: string[];
  excludedPath?: string[];
  method?: string[];
  background?: boolean;
  name?: string;
  timeout?: number;
}

export interface InSourceConfig {
  /** 2: a default export and no `handler`; 1: a `handler` export; undefined: neither seen */
  apiVersion?: 1 | 2;
  /** line of the applied `config`, else of the handler or default export, else 1 */
  line: number;
  /** the `config` Netlify applies (v2 only), its static keys checked */
  config?: SourceFunctionConfig;
  /** the line of each key of `config` */
  configLines: Record<string, number>;
  /** v1: the cron of `handler = schedule("<cron>", fn)` */
  schedule?: string;
  /** what Netlify's build would reject in this file, `file:line: message` */
  invalid?: string;
  /** things read but not applied, or not static, `file:line: message` */
  notes: string[];
}

export type InSourceRead = { ok: true; value: InSourceConfig } | { ok: false; line: number; column: number; message: string };

const notStatic = Symbol('not static');
type Maybe = StaticValue | typeof notStatic;
const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'OPTIONS', 'DELETE', 'HEAD'];

/** Parses `text` as `file`'s extension says: TypeScript for `.ts`/`.mts`/`.cts` (+JSX for `.tsx`), else JavaScript, module or script. */
export function parseSource(text: string, file: string): Statement[] {
  const ts = /\.[mc]?tsx?$/.test(file);
  const plugins: ParserPlugin[] = ts ? (file.endsWith('.tsx') ? ['typescript', 'jsx'] : ['typescript']) : [];
  const sourceType = ts || file.endsWith('.mjs') ? 'module' : 'unambiguous';
  return parse(text, { sourceType, plugins, errorRecovery: false, tokens: false, ranges: false, attachComment: false, allowReturnOutsideFunction: !ts })
    .program.body;
}

export function readInSourceConfig(text: string, file: string): InSourceRead {
  let body: Statement[];
  try {
    body = parseSource(text, file);
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc;
    const message = (error as Error).message.replace(/ \(\d+:\d+\)$/, '');
    return { ok: false, line: loc?.line ?? 1, column: (loc?.column ?? 0) + 1, message };
  }
  return { ok: true, value: analyse(body, file) };
}

interface Export {
  line: number;
  /** the exported value, when written in this file */
  value?: Expression | undefined;
}

function analyse(body: Statement[], file: string): InSourceConfig {
  const notes: string[] = [];
  const at = (node: Node | undefined): number => node?.loc?.start.line ?? 1;
  const bindings = new Map<string, Expression>();
  const scheduleNames = new Set<string>();
  let handler: Export | undefined;
  let config: Export | undefined;
  let defaultExport: Export | undefined;
  let handlerInObject: Export | undefined;

  for (const node of body) {
    if (node.type === 'VariableDeclaration') {
      for (const d of node.declarations) {
        if (d.id.type === 'Identifier' && d.init) bindings.set(d.id.name, d.init);
        if (d.id.type === 'ObjectPattern' && isRequireOf(d.init)) {
          for (const p of d.id.properties) {
            if (p.type === 'ObjectProperty' && keyName(p.key) === 'schedule' && p.value.type === 'Identifier') scheduleNames.add(p.value.name);
          }
        }
      }
    } else if (node.type === 'ImportDeclaration' && node.source.value === functionsModule && node.importKind !== 'type') {
      for (const s of node.specifiers) {
        if (s.type === 'ImportSpecifier' && s.importKind !== 'type' && keyName(s.imported) === 'schedule') scheduleNames.add(s.local.name);
      }
    } else if (node.type === 'ExportDefaultDeclaration') {
      const declaration = node.declaration;
      defaultExport = { line: at(node), value: declaration.type === 'ObjectExpression' ? declaration : undefined };
    } else if (node.type === 'ExportNamedDeclaration' && node.exportKind !== 'type') {
      const declaration = node.declaration;
      if (declaration?.type === 'VariableDeclaration') {
        for (const d of declaration.declarations) {
          if (d.id.type !== 'Identifier') continue;
          if (d.id.name === 'handler') handler = { line: at(node), value: d.init ?? undefined };
          if (d.id.name === 'config') config = { line: at(node), value: d.init ?? undefined };
        }
      } else if (declaration?.type === 'FunctionDeclaration' && declaration.id?.name === 'handler') {
        handler = { line: at(node) };
      }
      for (const s of node.specifiers) {
        const exported = keyName(s.exported);
        // `export { config }`: zip-it-and-ship-it resolves the binding, as here.
        const local = s.type === 'ExportSpecifier' && node.source == null ? bindings.get(s.local.name) : undefined;
        const found: Export = { line: at(node), value: local };
        if (exported === 'default') defaultExport = found;
        if (exported === 'handler') handler = found;
        if (exported === 'config') config = found;
      }
    } else if (node.type === 'ExpressionStatement' && node.expression.type === 'AssignmentExpression' && node.expression.operator === '=') {
      const { left, right } = node.expression;
      const name = cjsExportName(left);
      if (name === 'handler') handler = { line: at(node), value: right };
      else if (name === 'config') config = { line: at(node), value: right };
      else if (name === 'default') defaultExport = { line: at(node), value: right };
      else if (name === '' && right.type === 'ObjectExpression') {
        // `module.exports = { handler }`: Lambda finds `handler`, but Netlify's build does not read this form.
        for (const p of right.properties) {
          if (p.type === 'SpreadElement' || keyName(p.key) !== 'handler') continue;
          const value = p.type === 'ObjectProperty' ? (p.shorthand ? bindings.get('handler') : (p.value as Expression)) : undefined;
          handlerInObject = { line: at(p), value };
        }
      }
    }
  }

  const out: InSourceConfig = { line: 1, configLines: {}, notes };
  const where = (line: number): string => `${file}:${line}`;
  const v1 = handler ?? handlerInObject;
  if (v1) out.apiVersion = 1;
  else if (defaultExport) out.apiVersion = 2;
  out.line = (v1 ?? defaultExport)?.line ?? 1;

  const defaultObject = defaultExport?.value?.type === 'ObjectExpression' ? defaultExport.value : undefined;
  const configOnDefault = defaultObject?.properties.find((p) => p.type !== 'SpreadElement' && keyName(p.key) === 'config');
  if (configOnDefault && !config) {
    notes.push(`${where(at(configOnDefault))}: \`config\` on the default export object is not read by Netlify's build; export it: \`export const config = {...}\``);
  }

  if (config && out.apiVersion === 2) {
    readConfig(config, out, file);
  } else if (config) {
    notes.push(`${where(config.line)}: \`config\` is read only for a function with a default export (API v2); this one exports \`handler\`, so Netlify ignores it`);
  }

  // v1 scheduled: `handler = schedule("<cron>", fn)`, the helper imported or required from @netlify/functions.
  if (scheduleNames.size > 0 && out.apiVersion === 1) {
    const call = handler?.value && unwrap(handler.value);
    if (call?.type === 'CallExpression' && call.callee.type === 'Identifier' && scheduleNames.has(call.callee.name)) {
      let cron = call.arguments[0];
      if (cron?.type === 'Identifier') cron = bindings.get(cron.name) ?? cron;
      const value = cron && cron.type !== 'SpreadElement' && cron.type !== 'ArgumentPlaceholder' ? staticValue(cron as Expression) : notStatic;
      if (typeof value === 'string') out.schedule = value;
      else out.invalid = `${where(at(call))}: the cron of schedule(...) must be a string written in this file; Netlify's build rejects this function`;
    } else {
      const hint = handlerInObject ? '`module.exports = { handler }` is not read for it; write `exports.handler = schedule("<cron>", fn)`' : 'write `handler = schedule("<cron>", fn)`';
      out.invalid = `${where(out.line)}: schedule is imported from ${functionsModule} but no \`handler\` export calls it; Netlify's build rejects this function (${hint})`;
    }
  }
  return out;
}

/** The `config` export of a v2 function: its static keys, checked; its line becomes the function's line. */
function readConfig(config: Export, out: InSourceConfig, file: string): void {
  out.line = config.line;
  const where = (line: number): string => `${file}:${line}`;
  const written = config.value;
  const object = written && unwrap(written);
  if (object?.type !== 'ObjectExpression') {
    out.notes.push(`${where(config.line)}: \`config\` is not an object literal; nothing read from it (Netlify's build reads only a literal)`);
    return;
  }
  if (written !== object) {
    out.notes.push(`${where(config.line)}: \`config\` is wrapped (\`satisfies\`/\`as\`); read here, but Netlify's build reads only a plain object literal: write \`export const config: Config = {...}\``);
  }
  const { values, lines, skipped } = staticObject(object);
  out.configLines = lines;
  for (const key of skipped) out.notes.push(`${where(lines[key] ?? config.line)}: config.${key} is not static (only literals are read); Netlify's build ignores it`);
  const problems: string[] = [];
  const checked: SourceFunctionConfig = {};
  const wrong = (key: string, expected: string): void => {
    problems.push(`${where(lines[key] ?? config.line)}: config.${key}: expected ${expected}, got ${describeValue(values[key])}`);
  };
  const strings = (key: 'path' | 'excludedPath' | 'method', check: (s: string) => boolean, expected: string): void => {
    const value = values[key];
    if (value === undefined) return;
    const list = Array.isArray(value) ? value : [value];
    if (list.every((v): v is string => typeof v === 'string' && check(v))) checked[key] = list;
    else wrong(key, expected);
  };
  strings('path', (s) => s.startsWith('/'), "a path starting with '/' or a list of them");
  strings('excludedPath', (s) => s.startsWith('/'), "a path starting with '/' or a list of them");
  strings('method', (s) => httpMethods.includes(s.toUpperCase()), `an HTTP method (${httpMethods.join(', ')}) or a list of them`);
  const { schedule, background, name, timeout } = values;
  if (typeof schedule === 'string') checked.schedule = schedule;
  else if (schedule !== undefined) wrong('schedule', 'a string (a cron or @hourly, @daily, ...)');
  if (typeof background === 'boolean') checked.background = background;
  else if (background !== undefined) wrong('background', 'true or false');
  if (typeof name === 'string') checked.name = name;
  else if (name !== undefined) wrong('name', 'a string');
  if (typeof timeout === 'number' && timeout > 0) checked.timeout = timeout;
  else if (timeout !== undefined) wrong('timeout', 'a number of seconds');
  out.config = checked;
  if (problems.length > 0) out.invalid = problems.join('; ');
}

/** The static keys of an object literal, the line of every key, and the keys that are not static. */
export function staticObject(node: ObjectExpression): { values: Record<string, StaticValue>; lines: Record<string, number>; skipped: string[] } {
  const values: Record<string, StaticValue> = {};
  const lines: Record<string, number> = {};
  const skipped: string[] = [];
  for (const p of node.properties) {
    const key = p.type === 'SpreadElement' ? undefined : propertyKey(p);
    if (key === undefined) {
      skipped.push(p.type === 'SpreadElement' ? '...spread' : '[computed]');
      continue;
    }
    lines[key] = p.loc?.start.line ?? 1;
    const value = p.type === 'ObjectProperty' ? staticValue(p.value as Expression) : notStatic;
    if (value === notStatic) skipped.push(key);
    else values[key] = value;
  }
  return { values, lines, skipped };
}

/** A literal's value: strings, numbers, booleans, null, lists, objects, `${}`-free templates; TS wrappers looked through. */
function staticValue(node: Expression): Maybe {
  const n = unwrap(node);
  switch (n.type) {
    case 'StringLiteral':
    case 'NumericLiteral':
    case 'BooleanLiteral':
      return n.value;
    case 'NullLiteral':
      return null;
    case 'TemplateLiteral':
      return n.expressions.length === 0 ? (n.quasis[0]?.value.cooked ?? notStatic) : notStatic;
    case 'UnaryExpression':
      if (n.argument.type !== 'NumericLiteral') return notStatic;
      // Minifiers write `!0` for true; zip-it-and-ship-it reads it too.
      return n.operator === '-' ? -n.argument.value : n.operator === '!' ? !n.argument.value : notStatic;
    case 'ArrayExpression': {
      const items: StaticValue[] = [];
      for (const item of n.elements) {
        const value = item === null || item.type === 'SpreadElement' ? notStatic : staticValue(item);
        if (value === notStatic) return notStatic;
        items.push(value);
      }
      return items;
    }
    case 'ObjectExpression': {
      const { values, skipped } = staticObject(n);
      return skipped.length > 0 ? notStatic : values;
    }
    default:
      return notStatic;
  }
}

function unwrap(node: Expression): Expression {
  let n = node;
  while (n.type === 'TSAsExpression' || n.type === 'TSSatisfiesExpression' || n.type === 'TSTypeAssertion' || n.type === 'TSNonNullExpression' || n.type === 'ParenthesizedExpression') {
    n = n.expression;
  }
  return n;
}

function propertyKey(p: Exclude<ObjectExpression['properties'][number], { type: 'SpreadElement' }>): string | undefined {
  if (p.computed) return p.key.type === 'StringLiteral' ? p.key.value : undefined;
  return keyName(p.key);
}

function keyName(key: Node): string | undefined {
  if (key.type === 'Identifier') return key.name;
  if (key.type === 'StringLiteral') return key.value;
  if (key.type === 'NumericLiteral') return String(key.value);
  return undefined;
}

/** `require("@netlify/functions")` */
function isRequireOf(init: Expression | null | undefined): boolean {
  return (
    init?.type === 'CallExpression' &&
    init.callee.type === 'Identifier' &&
    init.callee.name === 'require' &&
    init.arguments[0]?.type === 'StringLiteral' &&
    init.arguments[0].value === functionsModule
  );
}

/** `exports.X` / `module.exports.X` → `X`; `module.exports` → `''`; anything else → undefined. */
function cjsExportName(left: Node): string | undefined {
  if (left.type !== 'MemberExpression') return undefined;
  const property = left.computed ? (left.property.type === 'StringLiteral' ? left.property.value : undefined) : keyName(left.property);
  if (property === undefined) return undefined;
  const isIdent = (n: Node, name: string): boolean => n.type === 'Identifier' && n.name === name;
  if (isIdent(left.object, 'module') && property === 'exports') return '';
  if (isIdent(left.object, 'exports')) return property;
  if (left.object.type === 'MemberExpression' && isIdent(left.object.object, 'module') && keyName(left.object.property) === 'exports') return property;
  return undefined;
}
