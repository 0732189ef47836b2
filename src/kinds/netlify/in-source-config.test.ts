import { describe, expect, it } from 'vitest';
import { readInSourceConfig, type InSourceConfig } from './in-source-config.js';

function read(text: string, file = '/fns/f.mts'): InSourceConfig {
  const r = readInSourceConfig(text, file);
  if (!r.ok) throw new Error(`${r.line}:${r.column} ${r.message}`);
  return r.value;
}
const lines = (...l: string[]): string => l.join('\n');

describe('v2: a default export', () => {
  it('arrow, function, identifier and `export { x as default }`', () => {
    expect(read('export default async (req) => new Response("hi");')).toMatchObject({ apiVersion: 2, line: 1 });
    expect(read('\nexport default async function handle(req) { return new Response("hi"); }')).toMatchObject({ apiVersion: 2, line: 2 });
    expect(read('const h = async () => new Response("x");\nexport default h;')).toMatchObject({ apiVersion: 2, line: 2 });
    expect(read('const h = async () => new Response("x");\nexport { h as default };')).toMatchObject({ apiVersion: 2 });
    expect(read('exports.default = async () => new Response("x");', '/fns/f.cjs')).toMatchObject({ apiVersion: 2 });
  });
  it('`export const config: Config = {...}`: its line, path as a list', () => {
    const isc = read(lines('import type { Config } from "@netlify/functions";', '', 'export default async () => new Response("hi");', '', 'export const config: Config = {', '  path: "/api/hello",', '};'));
    expect(isc).toMatchObject({ apiVersion: 2, line: 5, config: { path: ['/api/hello'] }, configLines: { path: 6 }, notes: [] });
  });
  it('every key the inventory uses, and lists kept as lists', () => {
    const isc = read(lines(
      'export default async () => new Response("x");',
      'export const config = {',
      '  schedule: `@hourly`,',
      '  path: ["/a", "/b"],',
      '  excludedPath: "/a/skip",',
      '  method: ["get", "POST"],',
      '  background: !0,',
      '  name: "Nice name",',
      '  timeout: 30,',
      '  rateLimit: { windowLimit: 10, windowSize: 60, aggregateBy: ["ip", "domain"] },',
      '};',
    ));
    expect(isc.config).toEqual({ schedule: '@hourly', path: ['/a', '/b'], excludedPath: ['/a/skip'], method: ['get', 'POST'], background: true, name: 'Nice name', timeout: 30 });
    expect(isc.invalid).toBeUndefined();
  });
  it('`satisfies Config` and `as const` are read, with a note that Netlify reads only a plain literal', () => {
    const isc = read(lines('export default async () => new Response("x");', 'export const config = { schedule: "@daily" } satisfies Config;'));
    expect(isc.config).toEqual({ schedule: '@daily' });
    expect(isc.notes).toEqual([expect.stringMatching(/^\/fns\/f\.mts:2: `config` is wrapped .*plain object literal/)]);
    expect(read('export default () => new Response("x");\nexport const config = { path: "/x" as const, schedule: <string>"@daily" };').config).toEqual({ path: ['/x'], schedule: '@daily' });
  });
  it('`export { config }` resolves the binding, as Netlify does', () => {
    expect(read('const config = { schedule: "@weekly" };\nexport default () => new Response("x");\nexport { config };').config).toEqual({ schedule: '@weekly' });
  });
  it('CommonJS `exports.config` with `exports.default`', () => {
    expect(read('exports.default = async () => new Response("x");\nexports.config = { path: "/c" };', '/fns/f.js').config).toEqual({ path: ['/c'] });
  });
  it('a key that is not static is left out and noted; the others are kept', () => {
    const isc = read(lines('const CRON = "@daily";', 'export default () => new Response("x");', 'export const config = {', '  schedule: CRON,', '  path: `/api/${"x"}`,', '  name: "kept",', '  ...extra,', '};'));
    expect(isc.config).toEqual({ name: 'kept' });
    expect(isc.notes).toEqual([
      '/fns/f.mts:4: config.schedule is not static (only literals are read); Netlify\'s build ignores it',
      '/fns/f.mts:5: config.path is not static (only literals are read); Netlify\'s build ignores it',
      '/fns/f.mts:3: config....spread is not static (only literals are read); Netlify\'s build ignores it',
    ]);
  });
  it('a config that is not an object literal is noted, nothing read', () => {
    const isc = read('import base from "./base.js";\nexport default () => new Response("x");\nexport const config = base;');
    expect(isc.config).toBeUndefined();
    expect(isc.notes).toEqual(['/fns/f.mts:3: `config` is not an object literal; nothing read from it (Netlify\'s build reads only a literal)']);
  });
  it('wrong types are invalid, naming file:line and the key', () => {
    const isc = read(lines('export default () => new Response("x");', 'export const config = {', '  schedule: 5,', '  path: "api/x",', '  background: "yes",', '};'));
    expect(isc.invalid).toBe(
      "/fns/f.mts:4: config.path: expected a path starting with '/' or a list of them, got \"api/x\"; " +
        '/fns/f.mts:3: config.schedule: expected a string (a cron or @hourly, @daily, ...), got 5; ' +
        '/fns/f.mts:5: config.background: expected true or false, got "yes"',
    );
  });
  it('`config` on the default export object is not read by Netlify: a note, no config', () => {
    const isc = read('export default {\n  async fetch() { return new Response("x"); },\n  config: { schedule: "@daily" },\n};');
    expect(isc).toMatchObject({ apiVersion: 2, line: 1 });
    expect(isc.config).toBeUndefined();
    expect(isc.notes).toEqual([expect.stringMatching(/^\/fns\/f\.mts:3: `config` on the default export object is not read/)]);
  });
});

describe('v1: a handler export', () => {
  it('export const, export async function, exports.handler, module.exports.handler, module.exports = { handler }', () => {
    expect(read('export const handler = async () => ({ statusCode: 200, body: "x" });', '/fns/f.mjs')).toMatchObject({ apiVersion: 1, line: 1 });
    expect(read('\nexport async function handler() { return { statusCode: 200 }; }', '/fns/f.mjs')).toMatchObject({ apiVersion: 1, line: 2 });
    expect(read('exports.handler = async () => ({ statusCode: 200 });', '/fns/f.js')).toMatchObject({ apiVersion: 1 });
    expect(read('module.exports.handler = async () => ({ statusCode: 200 });', '/fns/f.cjs')).toMatchObject({ apiVersion: 1 });
    expect(read('async function handler() {}\n\nmodule.exports = { handler };', '/fns/f.cjs')).toMatchObject({ apiVersion: 1, line: 3 });
    expect(read('const handler = async () => ({});\nexport { handler };', '/fns/f.mjs')).toMatchObject({ apiVersion: 1 });
  });
  it('a handler and a default export: v1, as Netlify decides', () => {
    expect(read('export const handler = () => ({});\nexport default () => new Response("x");').apiVersion).toBe(1);
  });
  it('a v1 config is not applied (Netlify reads config for v2 only)', () => {
    const isc = read('export const handler = () => ({});\nexport const config = { path: "/x" };', '/fns/f.mjs');
    expect(isc.config).toBeUndefined();
    expect(isc.notes).toEqual([expect.stringMatching(/^\/fns\/f\.mjs:2: `config` is read only for a function with a default export/)]);
  });
  it('neither form: no apiVersion', () => {
    expect(read('module.exports = require("./impl");', '/fns/f.cjs').apiVersion).toBeUndefined();
  });
  it('a .js file in script mode (sloppy syntax) still parses', () => {
    expect(read('with (Math) { x = PI; }\nexports.handler = async () => ({ statusCode: 200 });', '/fns/f.js').apiVersion).toBe(1);
  });
});

describe('v1 scheduled: handler = schedule("<cron>", fn)', () => {
  it('required, exports.handler', () => {
    const isc = read(lines('const { schedule } = require("@netlify/functions");', 'const handler = async () => ({ statusCode: 200 });', 'exports.handler = schedule("*/15 * * * *", handler);'), '/fns/f.js');
    expect(isc).toMatchObject({ apiVersion: 1, schedule: '*/15 * * * *', line: 3 });
    expect(isc.invalid).toBeUndefined();
  });
  it('imported and renamed, the cron in a const', () => {
    const isc = read(lines('import { schedule as every } from "@netlify/functions";', 'const CRON = "@hourly";', 'export const handler = every(CRON, async () => ({ statusCode: 200 }));'), '/fns/f.mjs');
    expect(isc).toMatchObject({ apiVersion: 1, schedule: '@hourly' });
  });
  it('a schedule() from another module is not Netlify\'s', () => {
    expect(read('import { schedule } from "./mine.js";\nexport const handler = schedule("@hourly", () => ({}));', '/fns/f.mjs').schedule).toBeUndefined();
  });
  it('a cron that is not a literal, or schedule imported and unused: invalid, as Netlify\'s build fails', () => {
    const dynamic = read('import { schedule } from "@netlify/functions";\nexport const handler = schedule(process.env.CRON, () => ({}));', '/fns/f.mjs');
    expect(dynamic.invalid).toBe("/fns/f.mjs:2: the cron of schedule(...) must be a string written in this file; Netlify's build rejects this function");
    const unused = read('const { schedule } = require("@netlify/functions");\nmodule.exports = { handler: schedule("@daily", () => ({})) };', '/fns/f.cjs');
    expect(unused.schedule).toBeUndefined();
    expect(unused.invalid).toMatch(/^\/fns\/f\.cjs:2: schedule is imported from @netlify\/functions but no `handler` export calls it; .*`module\.exports = \{ handler \}` is not read/);
  });
});

describe('a file that does not parse', () => {
  it('gives line, 1-based column and the message without its position', () => {
    expect(readInSourceConfig('export default () => {\n  return new Response("x";\n};', '/fns/f.mjs')).toEqual({ ok: false, line: 2, column: 26, message: 'Unexpected token, expected ","' });
  });
  it('TypeScript only where the extension says so; JSX in .tsx', () => {
    expect(readInSourceConfig('export const config: Config = {};', '/fns/f.mjs').ok).toBe(false);
    expect(readInSourceConfig('export default () => <div/>;', '/fns/f.ts').ok).toBe(false);
    expect(readInSourceConfig('export default () => <div/>;', '/fns/f.tsx').ok).toBe(true);
  });
});
