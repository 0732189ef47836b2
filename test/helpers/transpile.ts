import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './project.js';

/**
 * Some of src/ as plain JS in a temp dir (ESM, node_modules linked), for child processes of a test:
 * they import the real modules without depending on a fresh `dist/` of the whole tree.
 * Type-only imports vanish in the transpile, so only the files that run need listing.
 */
export async function transpileSources(files: readonly string[], label: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `redundancy-${label}-build-`));
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  await symlink(join(repoRoot, 'node_modules'), join(out, 'node_modules'));
  for (const file of files) {
    const source = await readFile(join(repoRoot, 'src', file), 'utf8');
    const options = { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 };
    const target = join(out, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, ts.transpileModule(source, { compilerOptions: options }).outputText);
  }
  return out;
}
