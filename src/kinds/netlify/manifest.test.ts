import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { manifestPath, parseManifest, readManifest } from './manifest.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/netlify/', import.meta.url));
const file = '/p/.netlify/functions/manifest.json';

describe('readManifest', () => {
  it('version 1: name, mainFile, runtime, schedule, background, displayName, routes, API version, line', async () => {
    const { manifest, notes } = await readManifest(`${fixtures}site`);
    expect(notes).toEqual([]);
    expect(manifest?.file).toBe(manifestPath(`${fixtures}site`));
    expect(manifest?.timestamp).toBe(1767225600000);
    expect(manifest?.functions).toEqual([
      { name: 'hello', mainFile: '/build/site/functions/hello.mts', runtime: 'js', background: false, paths: ['/api/hello'], apiVersion: 2, line: 7 },
      { name: 'digest', mainFile: '/build/site/functions/digest/index.mjs', runtime: 'js', schedule: '@daily', background: false, apiVersion: 2, line: 16 },
      { name: 'broken', mainFile: '/build/site/functions/broken.mjs', runtime: 'js', schedule: '0 3 * * *', background: false, apiVersion: 2, line: 24 },
      { name: 'ssr-handler', mainFile: '/build/site/.netlify/functions-internal/ssr-handler/ssr-handler.mjs', runtime: 'js', background: false, displayName: 'Server handler', paths: ['/*'], apiVersion: 2, line: 32 },
      { name: 'nightly-export', mainFile: '/build/site/.netlify/functions-internal/nightly-export.mjs', runtime: 'js', schedule: '30 2 * * *', background: true, apiVersion: 2, line: 42 },
    ]);
  });
  it('another version: a note, ignored', async () => {
    const { manifest, notes } = await readManifest(`${fixtures}manifest-v2`);
    expect(manifest).toBeUndefined();
    expect(notes).toEqual([`${manifestPath(`${fixtures}manifest-v2`)}: manifest version 2 not understood; ignored`]);
  });
  it('none: nothing, no note', async () => {
    expect(await readManifest(`${fixtures}legacy`)).toEqual({ notes: [] });
  });
});

describe('parseManifest', () => {
  it('malformed JSON: a note with the file and the parse error', () => {
    const { manifest, notes } = parseManifest('{ "version": 1, ', file);
    expect(manifest).toBeUndefined();
    expect(notes).toEqual([expect.stringMatching(/^\/p\/\.netlify\/functions\/manifest\.json: not JSON: .+; manifest ignored$/)]);
  });
  it('not an object, no version, no list', () => {
    expect(parseManifest('[]', file).notes).toEqual([`${file}: not a functions manifest (expected an object); manifest ignored`]);
    expect(parseManifest('{}', file).notes).toEqual([`${file}: manifest version undefined not understood; ignored`]);
    expect(parseManifest('{"version":1}', file).notes).toEqual([`${file}: no functions list; manifest ignored`]);
  });
  it('an entry without name or mainFile is left out, the others kept; a missing runtime is js', () => {
    const { manifest, notes } = parseManifest(JSON.stringify({ version: 1, functions: [{ name: 'a' }, { name: 'b', mainFile: '/b.mjs' }] }), file);
    expect(notes).toEqual([`${file}: functions[0] has no name or mainFile; left out`]);
    expect(manifest?.functions).toEqual([{ name: 'b', mainFile: '/b.mjs', runtime: 'js', background: false, line: 1 }]);
  });
});
