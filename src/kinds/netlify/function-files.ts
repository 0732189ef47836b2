/**
 * The functions in a functions directory, found as zip-it-and-ship-it finds them
 * (`runtimes/node/finder.ts`, and the Go and Rust runtimes): names and entry files, nothing read.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** JavaScript and TypeScript entry extensions, highest precedence first (zip-it-and-ship-it `allowedExtensions`). */
export const entryExtensions = ['.js', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts'] as const;

export interface FunctionFile {
  /** the file name without its extension, or the folder name */
  name: string;
  /** absolute entry file (for Go and Rust: `main.go`, `go.mod` or `Cargo.toml`) */
  entry: string;
  runtime: 'js' | 'go' | 'rs';
  /** a `name/` folder rather than a `name.ext` file */
  folder: boolean;
  whyNot?: string;
}

export interface FunctionFiles {
  /** sorted by name */
  files: FunctionFile[];
  /** functions Netlify would not take as written, or files shadowed by another */
  notes: string[];
  /** the directory does not exist */
  missing: boolean;
}

const otherRuntime = (runtime: string): string => `runtime ${runtime}: the local runner runs JavaScript and TypeScript only`;

// zip-it-and-ship-it's order inside a folder: `name.js`, `index.js`, `name.ts`, `index.ts`, ...
const folderCandidates = (name: string): string[] =>
  ['.js', '.ts', '.mjs', '.cjs', '.tsx', '.mts', '.cts'].flatMap((ext) => [`${name}${ext}`, `index${ext}`]);

const extensionRank = (file: string): number => (entryExtensions as readonly string[]).indexOf(extname(file));
const isDeclaration = (file: string): boolean => /\.d\.[mc]?ts$/.test(file);

export async function listFunctionFiles(dir: string): Promise<FunctionFiles> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], notes: [], missing: true };
    throw error;
  }
  const found = await Promise.all(
    entries
      .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
      .map(async (e) => {
        const path = join(dir, e.name);
        const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isDirectory() === true);
        return isDir ? fromFolder(path, e.name) : fromFile(path, e.name);
      }),
  );
  const byName = new Map<string, FunctionFile>();
  const notes: string[] = [];
  // Folders first, then files by extension precedence: the first one seen for a name is the one Netlify bundles.
  const rank = (f: FunctionFile): number => (f.folder ? -1 : extensionRank(f.entry));
  for (const file of found.filter((f): f is FunctionFile => f !== undefined).sort((a, b) => rank(a) - rank(b))) {
    const kept = byName.get(file.name);
    if (kept) notes.push(`${file.entry}: function ${file.name} is already ${kept.entry}; Netlify deploys that one and ignores this file`);
    else byName.set(file.name, file);
  }
  const files = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, notes, missing: false };
}

function fromFile(path: string, fileName: string): FunctionFile | undefined {
  if (isDeclaration(fileName)) return undefined;
  const ext = extname(fileName);
  if (extensionRank(fileName) < 0) return undefined;
  return { name: fileName.slice(0, -ext.length), entry: path, runtime: 'js', folder: false };
}

async function fromFolder(path: string, name: string): Promise<FunctionFile | undefined> {
  const inside = new Set(await readdir(path).catch(() => [] as string[]));
  const main = folderCandidates(name).find((candidate) => inside.has(candidate));
  if (main !== undefined) return { name, entry: join(path, main), runtime: 'js', folder: true };
  const go = ['main.go', 'go.mod'].find((f) => inside.has(f));
  if (go !== undefined) return { name, entry: join(path, go), runtime: 'go', folder: true, whyNot: otherRuntime('go') };
  if (inside.has('Cargo.toml')) return { name, entry: join(path, 'Cargo.toml'), runtime: 'rs', folder: true, whyNot: otherRuntime('rs') };
  return undefined;
}
