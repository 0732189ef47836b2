/**
 * `.netlify/functions/manifest.json`, written by zip-it-and-ship-it's `createManifest` after a local
 * `netlify build` (a build on Netlify writes it to a temp dir, so it is often absent). Version 1 only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const manifestPath = (projectDir: string): string => join(projectDir, '.netlify', 'functions', 'manifest.json');

export interface ManifestFunction {
  name: string;
  /** absolute, as the build machine saw it */
  mainFile: string;
  runtime: string;
  schedule?: string;
  /** `invocationMode: "background"` */
  background: boolean;
  displayName?: string;
  /** the route patterns (the `config.path` as written) */
  paths?: string[];
  apiVersion?: 1 | 2;
  /** line of the entry's `name` in the manifest */
  line: number;
}

export interface NetlifyManifest {
  file: string;
  /** when the build wrote it (ms since the epoch) */
  timestamp?: number;
  functions: ManifestFunction[];
}

/** The manifest under `projectDir`, if any; anything unreadable is a note and the manifest is ignored. */
export async function readManifest(projectDir: string): Promise<{ manifest?: NetlifyManifest; notes: string[] }> {
  const file = manifestPath(projectDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { notes: [] };
    return { notes: [`${file}: cannot read: ${(error as Error).message}; manifest ignored`] };
  }
  return parseManifest(text, file);
}

export function parseManifest(text: string, file: string): { manifest?: NetlifyManifest; notes: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { notes: [`${file}: not JSON: ${(error as Error).message}; manifest ignored`] };
  }
  if (!isObject(doc)) return { notes: [`${file}: not a functions manifest (expected an object); manifest ignored`] };
  if (doc.version !== 1) return { notes: [`${file}: manifest version ${JSON.stringify(doc.version)} not understood; ignored`] };
  if (!Array.isArray(doc.functions)) return { notes: [`${file}: no functions list; manifest ignored`] };
  const notes: string[] = [];
  const functions: ManifestFunction[] = [];
  doc.functions.forEach((entry: unknown, i) => {
    if (!isObject(entry) || typeof entry.name !== 'string' || typeof entry.mainFile !== 'string') {
      notes.push(`${file}: functions[${i}] has no name or mainFile; left out`);
      return;
    }
    const fn: ManifestFunction = {
      name: entry.name,
      mainFile: entry.mainFile,
      runtime: typeof entry.runtime === 'string' ? entry.runtime : 'js',
      background: entry.invocationMode === 'background',
      line: lineOf(text, `"name": ${JSON.stringify(entry.name)}`) ?? lineOf(text, JSON.stringify(entry.name)) ?? 1,
    };
    if (typeof entry.schedule === 'string') fn.schedule = entry.schedule;
    if (typeof entry.displayName === 'string') fn.displayName = entry.displayName;
    if (Array.isArray(entry.routes)) {
      const paths = entry.routes.flatMap((r: unknown) => (isObject(r) && typeof r.pattern === 'string' ? [r.pattern] : []));
      if (paths.length > 0) fn.paths = paths;
    }
    const version = isObject(entry.buildData) ? entry.buildData.runtimeAPIVersion : undefined;
    if (version === 1 || version === 2) fn.apiVersion = version;
    functions.push(fn);
  });
  return { manifest: { file, ...(typeof doc.timestamp === 'number' && { timestamp: doc.timestamp }), functions }, notes };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function lineOf(text: string, needle: string): number | undefined {
  const at = text.indexOf(needle);
  if (at < 0) return undefined;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
