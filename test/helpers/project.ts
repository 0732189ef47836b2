import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { execa, type ResultPromise } from 'execa';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliPath = join(repoRoot, 'dist/cli/main.js');
export const fixtures = join(repoRoot, 'test/fixtures');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A user's project in a temp dir: their ecosystem file, their config, their apps. */
export interface TestProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  cli(...args: string[]): Promise<CliResult>;
  /** The manager in the foreground, as a child process of the test. */
  spawnManager(extraEnv?: NodeJS.ProcessEnv): ResultPromise;
  write(file: string, text: string): Promise<void>;
  remove(): Promise<void>;
}

export async function makeProject(env: NodeJS.ProcessEnv, files: Record<string, string>): Promise<TestProject> {
  const dir = await mkdtemp(join(tmpdir(), 'redundancy-project-'));
  const write = async (file: string, text: string) => {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  };
  for (const [file, text] of Object.entries(files)) await write(file, text);
  return {
    dir,
    env,
    write,
    async cli(...args) {
      const result = await execa('node', [cliPath, '--cwd', dir, ...args], { env, reject: false, timeout: 60_000 });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    spawnManager(extraEnv = {}) {
      return execa('node', [cliPath, '--cwd', dir, 'start', '--foreground'], { env: { ...env, ...extraEnv }, reject: false });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** An ecosystem file for apps given as PM2 app objects. */
export function ecosystem(apps: Array<Record<string, unknown>>): string {
  return `module.exports = ${JSON.stringify({ apps }, null, 2)};\n`;
}

/**
 * Distinct ports that were free when asked. Each vitest worker takes its own block below Linux's
 * ephemeral range (32768 and up), so files running side by side, and the local ends of outgoing
 * connections, never get the same port; two `freePort()` calls can. `TEST_PORT_SLOT` (0-3) moves a
 * whole run to other blocks, so two checkouts can run their tests at once.
 */
export async function freePorts(count: number): Promise<number[]> {
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  const slot = Number(process.env.TEST_PORT_SLOT ?? 0);
  const blockStart = 20_000 + ((slot * 3 + worker - 1) % 12) * 1_000;
  nextPort ??= blockStart;
  const ports: number[] = [];
  while (ports.length < count) {
    if (nextPort >= blockStart + 1_000) throw new Error(`no free port left in ${blockStart}-${blockStart + 999} for worker ${worker}`);
    const port = nextPort++;
    if (await canListen(port)) ports.push(port);
  }
  return ports;
}

let nextPort: number | undefined;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

/** A port the OS just handed out and took back: free unless something grabs it in between. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}
