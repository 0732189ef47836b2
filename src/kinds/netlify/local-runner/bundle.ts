import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/** Changes when the bundle's shape changes, so older cached bundles are built again. */
const bundleFormat = 1;

/** `worker-main.ts` next to this file under vitest (src), `worker-main.js` in dist. */
const here = fileURLToPath(import.meta.url);
export const workerMainPath = path.join(path.dirname(here), `worker-main${path.extname(here)}`);

/** A function that does not bundle: a syntax error, an import that does not resolve. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  readonly code = 'BUNDLE_FAILED';
  constructor(
    message: string,
    readonly location: { file: string; line: number; column: number } | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface CacheRecord {
  key: string;
  /** Every file esbuild read, with what it looked like then. */
  inputs: Array<{ file: string; mtimeMs: number; size: number }>;
}

/**
 * Bundles a Netlify function with its worker loop into one self-contained `.mjs` under `outDir`
 * (runnable as `node <file>` with an IPC channel) and returns the file's path. The bundle is kept
 * and reused while no file it was built from changed (mtime and size). Rejects with a
 * `BundleError` whose message is one line, `file:line:col: text`.
 */
export async function bundleFunction(entry: string, outDir: string): Promise<string> {
  const absEntry = path.resolve(entry);
  const id = createHash('sha256').update(absEntry).digest('hex').slice(0, 12);
  const outFile = path.join(outDir, `${path.basename(absEntry).replace(/\.[^.]*$/, '')}-${id}.mjs`);
  const cacheFile = `${outFile}.inputs.json`;
  const key = JSON.stringify({ bundleFormat, esbuild: esbuild.version, worker: workerMainPath, entry: absEntry });
  if (await upToDate(outFile, cacheFile, key)) return outFile;

  const workDir = path.dirname(absEntry);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      stdin: {
        // The worker listens first, then loads the function (bundled in, loaded lazily).
        contents: `import { runWorker } from ${JSON.stringify(workerMainPath)};\nrunWorker(() => import(${JSON.stringify(absEntry)}));\n`,
        resolveDir: workDir,
        sourcefile: 'redundancy-function-entry.mjs',
        loader: 'js',
      },
      absWorkingDir: workDir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: outFile,
      // CommonJS packages inside an ESM bundle still call require() for node's own modules.
      banner: { js: "import { createRequire as __redundancyCreateRequire } from 'node:module';\nconst require = __redundancyCreateRequire(import.meta.url);" },
      plugins: [netlifyFunctionsShim],
    });
  } catch (error) {
    throw bundleError(error, workDir, absEntry);
  }
  const output = result.outputFiles.find((file) => file.path === outFile) ?? result.outputFiles[0];
  if (output === undefined) throw new BundleError(`${absEntry}: esbuild wrote no output`, undefined);
  const inputs = await Promise.all(
    Object.keys(result.metafile.inputs)
      // Namespaced inputs (the shim) and the generated entry are not files.
      .filter((name) => !/^[a-z-]+:/.test(name) && name !== 'redundancy-function-entry.mjs')
      .map(async (name) => {
        const file = path.resolve(workDir, name);
        const stat = await fsp.stat(file);
        return { file, mtimeMs: stat.mtimeMs, size: stat.size };
      }),
  );
  await fsp.mkdir(outDir, { recursive: true });
  await writeAtomic(outFile, output.contents);
  await writeAtomic(cacheFile, JSON.stringify({ key, inputs } satisfies CacheRecord));
  return outFile;
}

async function upToDate(outFile: string, cacheFile: string, key: string): Promise<boolean> {
  let record: CacheRecord;
  try {
    await fsp.access(outFile);
    record = JSON.parse(await fsp.readFile(cacheFile, 'utf8')) as CacheRecord;
  } catch {
    return false;
  }
  if (record.key !== key || !Array.isArray(record.inputs) || record.inputs.length === 0) return false;
  const same = await Promise.all(
    record.inputs.map(async (input) => {
      const stat = await fsp.stat(input.file).catch(() => undefined);
      return stat !== undefined && stat.mtimeMs === input.mtimeMs && stat.size === input.size;
    }),
  );
  return same.every(Boolean);
}

/** Writes a temporary file next to `file`, then renames it over: a reader never sees half a bundle. */
async function writeAtomic(file: string, contents: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, contents);
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
}

/**
 * `@netlify/functions` as the function's own node_modules has it, or, when it cannot be resolved
 * there, a shim of the one runtime helper a v1 function calls: `schedule(cron, handler)`, which
 * returns the handler (the manager does the scheduling). Its types need nothing at run time.
 */
const netlifyFunctionsShim: esbuild.Plugin = {
  name: 'redundancy-netlify-functions-shim',
  setup(build) {
    build.onResolve({ filter: /^@netlify\/functions$/ }, async (args) => {
      if (args.pluginData === 'resolving') return undefined;
      const real = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
      if (real.errors.length === 0) return { path: real.path, external: real.external, sideEffects: real.sideEffects };
      return { path: '@netlify/functions', namespace: 'redundancy-shim' };
    });
    build.onLoad({ filter: /.*/, namespace: 'redundancy-shim' }, () => ({
      loader: 'js',
      contents: [
        'export const schedule = (_cron, handler) => handler;',
        'export const stream = (handler) => handler;',
        'export default { schedule, stream };',
      ].join('\n'),
    }));
  },
};

function bundleError(error: unknown, workDir: string, entry: string): BundleError {
  const failure = error as Partial<esbuild.BuildFailure>;
  const first = failure.errors?.[0];
  if (first === undefined) return new BundleError(`${entry}: ${error instanceof Error ? error.message.replace(/\s+/g, ' ') : String(error)}`, undefined, { cause: error });
  const more = (failure.errors?.length ?? 1) - 1;
  const tail = more > 0 ? ` (and ${more} more error${more === 1 ? '' : 's'})` : '';
  const text = first.text.replace(/\s+/g, ' ');
  if (first.location === null || first.location === undefined) return new BundleError(`${entry}: ${text}${tail}`, undefined, { cause: error });
  const file = path.resolve(workDir, first.location.file);
  // esbuild counts columns from 0; editors and compilers from 1.
  const location = { file, line: first.location.line, column: first.location.column + 1 };
  return new BundleError(`${file}:${location.line}:${location.column}: ${text}${tail}`, location, { cause: error });
}
