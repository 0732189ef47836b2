import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliPath, ecosystem, freePorts, makeProject, type TestProject } from '../../helpers/project.js';
import { waitFor } from '../../helpers/wait-for.js';

export const chaosApp = join(import.meta.dirname, '../fixtures/chaos-app.cjs');
/** The CLI under test: the build in dist/, or CHAOS_CLI (a build of its own, out of reach of a concurrent `npm run build`). */
export const managerCli = process.env.CHAOS_CLI ?? cliPath;

export interface ChaosUnit {
  id: string;
  name: string;
  twin: string;
  port: number;
}

export interface ChaosProjectOptions {
  /** App names, one unit each. */
  names: string[];
  /** `policy:` keys of redundancy.config.yaml. */
  policy?: Record<string, string | number>;
  /** @default 250ms */
  checkInterval?: string;
  /** Extra env of every app (e.g. FLAP_MS). */
  appEnv?: Record<string, string>;
  /** App options beside name, script and env. @default { max_restarts: 5, min_uptime: 1000 } */
  appOptions?: Record<string, unknown>;
}

/** One line of the boot log the fixture writes. */
export interface Boot {
  unit: string;
  role: 'primary' | 'backup';
  pid: number;
  at: number;
  /** Set when the app could not listen: `EADDRINUSE` means both sides were up. */
  error?: string;
}

export interface SavedUnit {
  id: string;
  state: { kind: string; since: number; reason?: string; manual?: boolean };
  failovers: number;
  repeat: number;
  reason: string;
}

export interface SavedState {
  version: number;
  units: Record<string, SavedUnit>;
}

export type ManagerProcess = ResultPromise<{ reject: false }>;

/** Every manager started here, so a failed test still kills them all. */
const liveManagers = new Set<ManagerProcess>();

export async function killAllManagers(): Promise<void> {
  for (const m of liveManagers) m.kill('SIGKILL');
  await Promise.all([...liveManagers].map((m) => m.catch(() => undefined)));
  liveManagers.clear();
}

/**
 * A user's project of chaos units: each an HTTP app on its own port probed by the manager, with
 * switches (files) to make its primary fail, and a boot log of every process start.
 */
export class ChaosProject {
  readonly units: ChaosUnit[];

  private constructor(
    readonly project: TestProject,
    units: ChaosUnit[],
    private readonly opts: ChaosProjectOptions,
  ) {
    this.units = units;
  }

  get dir(): string {
    return this.project.dir;
  }

  get stateFile(): string {
    return join(this.dir, '.redundancy/state.json');
  }

  static async create(pm2Env: NodeJS.ProcessEnv, opts: ChaosProjectOptions): Promise<ChaosProject> {
    const project = await makeProject(pm2Env, {});
    const units: ChaosUnit[] = [];
    // Distinct ports: two units on one port would look like a primary and a twin up at once.
    const ports = await freePorts(opts.names.length);
    opts.names.forEach((name, i) => units.push({ id: `pm2:${name}`, name, twin: `${name}-backup`, port: ports[i]! }));
    await mkdir(join(project.dir, 'switches'), { recursive: true });
    const apps = units.map((u) => ({
      name: u.name,
      script: chaosApp,
      env: {
        CHAOS_UNIT: u.name,
        PORT: String(u.port),
        BOOT_LOG: join(project.dir, 'boots.log'),
        FAIL_FILE: join(project.dir, 'switches', `fail-${u.name}`),
        FAIL_ALL_FILE: join(project.dir, 'switches', 'fail-all'),
        DIE_AT_BOOT_FILE: join(project.dir, 'switches', `die-${u.name}`),
        ...opts.appEnv,
      },
      ...(opts.appOptions ?? { max_restarts: 5, min_uptime: 1000 }),
    }));
    await project.write('ecosystem.config.cjs', ecosystem(apps));
    const chaos = new ChaosProject(project, units, opts);
    await chaos.configure(opts.policy);
    return chaos;
  }

  /** Writes redundancy.config.yaml with these policy keys (read by the next manager started). */
  async configure(policyKeys: Record<string, string | number> = {}): Promise<void> {
    // startGrace: a loaded machine takes seconds from PM2's `online` to the app listening.
    const policy = { window: 5, minSamples: 3, failbackAfter: 2, holdDown: '1s', startGrace: '5s', ...policyKeys };
    await this.project.write(
      'redundancy.config.yaml',
      [
        `checkInterval: ${this.opts.checkInterval ?? '250ms'}`,
        'policy:',
        ...Object.entries(policy).map(([k, v]) => `  ${k}: ${v}`),
        'sources: { pm2: { live: false } }',
        // Managers of tests run side by side: none takes the default listener port from another.
        'http: false',
        'units:',
        ...this.units.flatMap((u) => [`  ${u.id}:`, `    probe: { http: "http://127.0.0.1:${u.port}/health", timeout: 1s }`]),
        '',
      ].join('\n'),
    );
  }

  /** Makes a unit's primary answer 500 (or every unit's, with `all`), or heals it. */
  async setFailing(name: string | 'all', failing: boolean): Promise<void> {
    const file = join(this.dir, 'switches', name === 'all' ? 'fail-all' : `fail-${name}`);
    if (failing) await writeFile(file, '');
    else await rm(file, { force: true });
  }

  /** The manager in the foreground, as a child process; killed by `killAllManagers` if still running. */
  startManager(extraEnv: NodeJS.ProcessEnv = {}): ManagerProcess {
    const child = execa('node', [managerCli, '--cwd', this.dir, 'start', '--foreground'], {
      env: { ...this.project.env, ...extraEnv },
      reject: false,
    });
    liveManagers.add(child);
    void child.finally(() => liveManagers.delete(child));
    return child;
  }

  /**
   * Waits for the manager's first health report: its SIGTERM handler is in place from then on
   * (a SIGTERM before that ends it the default way, as for any process still starting).
   */
  async ready(child: ManagerProcess, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const text = await readFile(join(this.dir, 'logs/redundancy-health.json'), 'utf8').catch(() => '{}');
        return (JSON.parse(text) as { manager?: { pid?: number } }).manager?.pid === child.pid;
      },
      { timeoutMs, what: `manager ${child.pid} ready` },
    );
  }

  /** SIGTERM once ready; it must exit 0. */
  async stopManager(child: ManagerProcess): Promise<void> {
    await this.ready(child);
    child.kill('SIGTERM');
    const result = await child;
    if (result.exitCode !== 0) throw new Error(`manager exited with ${result.exitCode ?? result.signal}: ${String(result.stderr).slice(-2000)}`);
  }

  /** One CLI command on this project; never rejects. */
  async cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const result = await execa('node', [managerCli, '--cwd', this.dir, ...args], { env: this.project.env, reject: false, timeout: 60_000 });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** The saved state, or undefined when there is no file yet. Throws if the file is not valid JSON. */
  async readState(): Promise<SavedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return JSON.parse(text) as SavedState;
  }

  async bootLog(): Promise<Boot[]> {
    const text = await readFile(join(this.dir, 'boots.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [unit, role, pid, at, error] = line.split(' ');
        const boot: Boot = { unit: unit!, role: role as Boot['role'], pid: Number(pid), at: Number(at) };
        if (error) boot.error = error;
        return boot;
      });
  }

  /** Starts of each side of `unit` in the boot log (failed listens excluded). */
  async boots(unit: string): Promise<{ primary: number; backup: number }> {
    const mine = (await this.bootLog()).filter((b) => b.unit === unit && !b.error);
    return { primary: mine.filter((b) => b.role === 'primary').length, backup: mine.filter((b) => b.role === 'backup').length };
  }

  /** What answers on the unit's port: `{ role, pid }`, or undefined when nothing listens. */
  async answer(unit: ChaosUnit): Promise<{ role: string; pid: number; status: number } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${unit.port}/health`, { signal: AbortSignal.timeout(2_000) });
      return { ...((await res.json()) as { role: string; pid: number }), status: res.status };
    } catch {
      return undefined;
    }
  }

  async readLog(): Promise<Array<Record<string, unknown>>> {
    const text = await readFile(join(this.dir, 'logs/redundancy.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  remove(): Promise<void> {
    return this.project.remove();
  }
}
