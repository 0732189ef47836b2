import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { type Clock, systemClock } from '../../core/clock.js';
import { errorMessage, RedundancyError } from '../../core/errors.js';
import type { ProcessManager } from '../../core/ports.js';
import type { Pm2AppSpec, ProcessEvent, ProcessView } from '../../core/types.js';
import { isProcessAlive } from '../../store/process-alive.js';
import { twinToEcosystemApp } from './app-options.js';
import { Generations } from './generations.js';
import { LaunchBatch } from './launch-batch.js';
import { type Pm2Entry, specFromPm2Entry } from './pm2-entry.js';
import { ProcessTable } from './process-table.js';
import { stopForGood } from './settled-stop.js';

type Callback<T> = (err: unknown, value?: T) => void;

interface Pm2Bus {
  on(event: 'process:event', listener: (packet: BusPacket) => void): void;
}

/** The slice of an axon client socket (pm2/modules/pm2-axon) that tells and ends a lost connection. */
interface AxonSocket {
  on(event: 'reconnect attempt', listener: () => void): void;
  set(option: 'retry timeout', value: number): void;
  retry?: number;
  close(): void;
}

/** A `process:event` packet (lib/Event.js): `process` is the app's pm2_env without `env`. */
interface BusPacket {
  event?: string;
  manually?: boolean;
  process?: BusProcess;
}

interface BusProcess {
  name?: string;
  pm_id?: unknown;
  status?: string;
  exit_code?: unknown;
  restart_time?: unknown;
  unstable_restarts?: unknown;
  pm_uptime?: unknown;
  pm_pid_path?: unknown;
  autorestart?: unknown;
  stop_exit_codes?: unknown;
}

/** One element of PM2's answer to a start: the launched process with its pm2_env. */
interface Launched {
  pid?: unknown;
  process?: { pid?: unknown };
  pm2_env?: BusProcess;
}

/** The slice of PM2's API class (lib/API.js) used here; pm2's typings only describe the default instance. */
interface Pm2Api {
  connect(cb: Callback<unknown>): void;
  disconnect(cb: Callback<unknown>): void;
  launchBus(cb: (err: unknown, bus?: Pm2Bus, socket?: AxonSocket) => void): void;
  start(config: { apps: Array<Record<string, unknown>> }, cb: Callback<unknown[]>): void;
  stop(id: number, cb: Callback<unknown>): void;
  delete(id: number, cb: Callback<unknown>): void;
  list(cb: Callback<Pm2Entry[]>): void;
  killDaemon(cb: Callback<unknown>): void;
  /** PM2's client: its RPC socket, its bus socket once launched, and the daemon's RPC methods (lib/Daemon.js). */
  Client?: { client_sock?: AxonSocket; sub_sock?: AxonSocket; executeRemote(method: string, arg: unknown, cb: Callback<unknown>): void };
}

export interface Pm2ConnectOptions {
  /** Spawn a daemon when none runs; with `false`, fail with PM2_UNAVAILABLE instead. @default true */
  startDaemon?: boolean;
  /** Deadline of every call to the daemon: a dead daemon otherwise leaves PM2's RPC waiting forever. @default 30s */
  timeoutMs?: number;
  /** Time stamps of events. @default systemClock */
  clock?: Clock;
}

/** Statuses where the app runs or is about to: `start` leaves it alone. */
const runningStatuses = new Set(['online', 'launching']);

/** PM2's answer to a stop (lib/God/Methods.js getFormatedProcess), or `{ error, message }` for an app without a pid. */
interface StopAnswer {
  pm2_env?: { restart_time?: unknown; pm_uptime?: unknown; status?: unknown };
}

/**
 * PM2 is loaded on first connect, not when this module is imported: `require('pm2')` reads
 * PM2_HOME once, so a caller (or a test) that sets PM2_HOME before `connect` gets that home.
 */
function loadPm2(): { Api: new () => Pm2Api; rpcSocket: string } {
  const require = createRequire(import.meta.url);
  const pm2 = require('pm2') as { custom: new () => Pm2Api };
  const constants = require('pm2/constants.js') as { DAEMON_RPC_PORT: string };
  return { Api: pm2.custom, rpcSocket: constants.DAEMON_RPC_PORT };
}

/** Whether a daemon listens on the RPC socket; PM2's own ping exits the process on EACCES. */
function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function pm2Message(err: unknown): string {
  if (Array.isArray(err)) return err.map(pm2Message).join('; '); // pm2.start reports failed apps as a list
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}

// Cold connects at the same moment spawn one daemon each and can hang: run them one after another.
let connectQueue: Promise<unknown> = Promise.resolve();

function serialised<T>(work: () => Promise<T>): Promise<T> {
  const attempt = connectQueue.then(work);
  connectQueue = attempt.catch(() => undefined);
  return attempt;
}

/**
 * The manager's handle on one PM2 daemon, over PM2's programmatic API (the only module that loads
 * `pm2`). Each instance has its own RPC and bus connection; `close()` ends them, never the daemon.
 * When the daemon goes away (`pm2 kill`, a crash) the handle says so through `onLost`, fails calls
 * at once instead of letting them wait, and `reconnect()` opens a new connection with the same
 * event listeners.
 */
export class Pm2ProcessManager implements ProcessManager {
  private readonly listeners = new Set<(event: ProcessEvent) => void>();
  private readonly lostListeners = new Set<(reason: string) => void>();
  /** Apps whose next exits are stops, not crashes: PM2 7 sends every `exit` with `manually: false`. */
  private readonly stopping = new Set<string>();
  /** Rejects each call waiting on the current connection: a daemon that is gone never answers. */
  private readonly pending = new Set<(error: RedundancyError) => void>();
  private readonly table = new ProcessTable();
  /** Apps of a daemon found lost, waited for by the reconnect. */
  private orphans: number[] = [];
  private readonly generations = new Generations();
  /** The spec each pm_id was launched with by this handle: such an app can start again as it is. */
  private readonly launched = new Map<number, string>();
  /** Launches asked for in the same turn go to PM2 as one start (one list of the daemon, not one each). */
  private readonly launches = new LaunchBatch<Record<string, unknown>, Launched>({
    send: (apps) =>
      this.call<{ launched: Launched[]; error?: unknown }>('start', apps.length === 1 ? String(apps[0]!.name) : `${apps.length} apps`, (cb) =>
        this.api.start({ apps }, (err, value) => cb(null, { launched: Array.isArray(value) ? (value as Launched[]) : [], error: err ?? undefined })),
      ),
    nameOf: (app) => String(app.name),
    launchedName: (launched) => launched.pm2_env?.name,
  });
  private api: Pm2Api;
  private closed = false;
  /** Set while `killDaemon` runs: losing that daemon is the point, not news. */
  private ending = false;
  /** Why the connection was lost, until a reconnect succeeds. */
  private lostReason: string | undefined;
  /** Counts connections: events and losses of an older one are ignored. */
  private generation = 0;

  private constructor(
    private readonly pm2: { Api: new () => Pm2Api; rpcSocket: string },
    private readonly startDaemon: boolean,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.api = new pm2.Api();
  }

  static connect(opts: Pm2ConnectOptions = {}): Promise<Pm2ProcessManager> {
    return serialised(() => Pm2ProcessManager.open(opts));
  }

  private static async open(opts: Pm2ConnectOptions): Promise<Pm2ProcessManager> {
    const pm2 = loadPm2();
    const startDaemon = opts.startDaemon !== false;
    // pm2.connect(true) is PM2's in-process "no daemon" mode, not "do not start one": probe the socket.
    if (!startDaemon && !(await socketAccepts(pm2.rpcSocket))) throw noDaemon(pm2.rpcSocket);
    const manager = new Pm2ProcessManager(pm2, startDaemon, opts.clock ?? systemClock, opts.timeoutMs ?? 30_000);
    try {
      await manager.attach();
    } catch (error) {
      await manager.close().catch(() => undefined); // the connect error is the one to report
      throw new RedundancyError('PM2_UNAVAILABLE', (error as Error).message, { cause: error });
    }
    return manager;
  }

  /** Whether a daemon listens on the RPC socket now. */
  daemonAlive(): Promise<boolean> {
    return socketAccepts(this.pm2.rpcSocket);
  }

  /** True from a lost connection until `reconnect` succeeds. */
  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  /**
   * A new connection after a loss, starting a daemon when none runs (unless this handle was opened
   * with `startDaemon: false`). Event listeners carry over. Serialised with every other connect.
   */
  reconnect(): Promise<void> {
    return serialised(async () => {
      if (this.closed) throw new RedundancyError('PM2_UNAVAILABLE', 'the PM2 connection is closed');
      this.lostReason ??= 'reconnect asked';
      this.dropSockets();
      // The lost daemon's apps outlive it by a second or two and still hold their ports: a side
      // restored before they are gone would fail its first boot (a start too many).
      const orphans = [...this.orphans, ...this.appPids()];
      this.orphans = [];
      this.forgetProcesses();
      await waitForExit(orphans, orphanWaitMs);
      if (!this.startDaemon && !(await this.daemonAlive())) throw noDaemon(this.pm2.rpcSocket);
      this.api = new this.pm2.Api();
      try {
        await this.attach();
      } catch (error) {
        this.dropSockets();
        throw new RedundancyError('PM2_UNAVAILABLE', `reconnecting to PM2: ${errorMessage(error)}`, { cause: error });
      }
      this.lostReason = undefined;
    });
  }

  async list(): Promise<ProcessView[]> {
    await this.entries();
    return this.table.all();
  }

  view(name: string): ProcessView | undefined {
    return this.table.latest(name);
  }

  /** Every app of the daemon as a spec (see `specFromPm2Entry` for what is recovered) beside its view. */
  async listAppSpecs(): Promise<Array<{ spec: Pm2AppSpec; view: ProcessView }>> {
    return (await this.entries()).map((entry) => ({ spec: specFromPm2Entry(entry), view: toView(entry) }));
  }

  async start(spec: Pm2AppSpec): Promise<void> {
    const found = await this.known(spec.name);
    if (found.some((view) => runningStatuses.has(view.status))) return;
    // Launched by this handle from this very spec: start it as PM2's own restart does, without
    // PM2's client listing every app to resolve the name.
    const own = found.length === 1 && this.launched.get(found[0]!.pmId) === specKey(spec) ? found[0]!.pmId : undefined;
    if (own !== undefined) {
      // A crash PM2 has yet to restart keeps its old pid, which PM2's start refuses: stopping it
      // clears both the pid and the pending restart.
      if (found[0]!.status !== 'stopped') await this.stop(spec.name);
      if (await this.startById(spec.name, own)) return;
    }
    // pm2.start on a known app restarts it with its old script and options and only merges env:
    // delete it so the spec applies as written.
    await this.removeAll(spec.name, found);
    await this.launch(spec, true);
  }

  /**
   * Adds the app stopped, never running it: PM2's `autostart: false` stores it with pid 0
   * (lib/God.js executeApp). A `cron_restart` is armed all the same and will start it.
   */
  async register(spec: Pm2AppSpec): Promise<void> {
    if ((await this.known(spec.name)).length > 0) return;
    await this.launch(spec, false);
  }

  async stop(name: string): Promise<void> {
    // Stopping a `waiting restart` or errored app also cancels PM2's pending restart.
    const targets = (await this.known(name)).filter((view) => view.status !== 'stopped');
    if (targets.length > 0) this.stopping.add(name);
    for (const { pmId } of targets) await this.stopById(name, pmId);
  }

  async remove(name: string): Promise<void> {
    await this.removeAll(name, await this.known(name));
  }

  onEvent(listener: (event: ProcessEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once per connection lost (daemon killed or crashed), with the reason. */
  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Deletes every app and ends the daemon (`stop --cleanup` style); this handle is closed after. */
  async killDaemon(): Promise<void> {
    this.ensureOpen();
    this.ending = true;
    // PM2 closes its RPC and bus itself once the daemon is gone.
    await this.call('killDaemon', 'daemon', (cb) => this.api.killDaemon(cb));
    this.closed = true;
    this.dropSockets();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // PM2's disconnect would wait on sockets whose daemon is gone.
    if (this.lostReason !== undefined) return this.dropSockets();
    await this.call('disconnect', 'daemon', (cb) => this.api.disconnect(cb), true);
  }

  /** Connects the current API object and subscribes to its bus. */
  private async attach(): Promise<void> {
    const generation = ++this.generation;
    const socket = this.pm2.rpcSocket;
    await this.call('connect', socket, (cb) => this.api.connect(cb), true);
    const bus = await this.call<{ bus: Pm2Bus; socket?: AxonSocket }>('launchBus', socket, (cb) =>
      this.api.launchBus((err, bus, sub) => cb(err, { bus: bus!, socket: sub })), true);
    // The bus is up before connect resolves, so no event after it is missed.
    bus.bus.on('process:event', (packet) => {
      if (generation === this.generation) this.dispatch(packet);
    });
    // axon retries a dropped socket forever; its first retry is the sign that the daemon went away.
    const lost = (which: string) => () => {
      if (generation === this.generation) this.markLost(`the PM2 ${which} connection closed`);
    };
    bus.socket?.on('reconnect attempt', lost('bus'));
    this.api.Client?.client_sock?.on('reconnect attempt', lost('RPC'));
  }

  private markLost(reason: string): void {
    if (this.closed || this.ending || this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.stopping.clear();
    this.orphans = this.appPids();
    this.forgetProcesses();
    this.dropSockets();
    const error = new RedundancyError('PM2_UNAVAILABLE', `connection to the PM2 daemon lost (${reason})`);
    for (const reject of this.pending) reject(error);
    this.pending.clear();
    for (const listener of this.lostListeners) listener(reason);
  }

  /** The pids of the apps the daemon ran as last seen: they may outlive a lost daemon for a moment. */
  private appPids(): number[] {
    return this.table.all().map((view) => view.pid).filter((pid) => pid > 0);
  }

  /** A new daemon numbers its processes afresh: nothing learnt of the old one holds. */
  private forgetProcesses(): void {
    this.table.clear();
    this.launched.clear();
    this.generations.clear();
  }

  /**
   * Ends the current sockets for good. PM2's own disconnect skips a socket that lost its daemon,
   * which then retries forever and would latch on to the next daemon.
   */
  private dropSockets(): void {
    const client = this.api.Client;
    for (const socket of [client?.client_sock, client?.sub_sock]) {
      if (socket === undefined) continue;
      socket.set('retry timeout', 0);
      socket.retry = 0;
      socket.close();
    }
  }

  private async launch(spec: Pm2AppSpec, run: boolean): Promise<void> {
    // PM2 looks every kill_retry_time (100 ms) for a stopped app to be gone: a failover waits on
    // that look between stopping the primary and starting the twin. An app's own value wins.
    const app = { kill_retry_time: 10, ...twinToEcosystemApp(spec), autostart: run };
    this.ensureOpen();
    let started: Launched[];
    try {
      started = await this.launches.launch(app);
    } catch (error) {
      if (error instanceof RedundancyError) throw error;
      throw new RedundancyError('PM2_OPERATION', `pm2 start ${spec.name}: ${pm2Message(error)}`, { cause: error });
    }
    // PM2 logs a failed `prepare` and answers without that app instead of an error.
    if (started.length === 0) throw new RedundancyError('PM2_OPERATION', `pm2 start ${spec.name}: PM2 launched no process`);
    for (const launched of started) {
      const pmId = this.learnLaunched(spec.name, launched, run);
      if (pmId !== undefined) this.launched.set(pmId, specKey(spec));
    }
  }

  /** False when the daemon no longer knows the id; the caller then launches the app afresh. */
  private async startById(name: string, pmId: number): Promise<boolean> {
    const client = this.api.Client;
    if (!client) return false;
    let started: unknown;
    // PM2's restart of an app that is not running is its start; `current_conf` lifts the
    // `autostart: false` the app was registered with, as `pm2 restart <app config>` does.
    const opts = { id: pmId, env: { current_conf: { autostart: true } } };
    const known = await this.byId('start', name, pmId, (cb) =>
      client.executeRemote('restartProcessId', opts, (err, value) => {
        started = value;
        cb(err);
      }),
    );
    if (known) this.learnLaunched(name, started as Launched, true);
    return known;
  }

  private learnLaunched(name: string, launched: Launched | undefined, running: boolean): number | undefined {
    const env = launched?.pm2_env;
    const pmId = env?.pm_id;
    if (typeof pmId !== 'number') return undefined;
    const pid = num(launched!.process?.pid) || num(launched!.pid);
    this.table.update(pmId, { ...factOf(env!, name), status: running ? env!.status ?? 'launching' : 'stopped', pid: running ? pid : 0 });
    if (running) this.generations.learn(pmId, num(env!.restart_time), num(env!.pm_uptime));
    return pmId;
  }

  private async removeAll(name: string, views: ProcessView[]): Promise<void> {
    if (views.length > 0) this.stopping.add(name);
    // By id: a name like `all`, `3` or `x.json` means something else to PM2.
    for (const { pmId, status } of views) {
      // Stopped for good first: a restart under way would otherwise put the deleted app back.
      if (status === 'stopped' || (await this.stopById(name, pmId))) await this.byId('delete', name, pmId, (cb) => this.remote('deleteProcessId', pmId, cb));
      this.table.drop(pmId);
      this.launched.delete(pmId);
      this.generations.forget(pmId);
    }
  }

  /** Stops one app by id for good (see `stopForGood`); false when the daemon no longer knows the id. */
  private async stopById(name: string, pmId: number): Promise<boolean> {
    const stopped = await stopForGood({
      name,
      pmId,
      generations: this.generations,
      stop: async () => {
        let answer: StopAnswer | undefined;
        const found = await this.byId('stop', name, pmId, (cb) =>
          this.remote<StopAnswer>('stopProcessId', pmId, (err, value) => {
            answer = value;
            cb(err);
          }),
        );
        const env = answer?.pm2_env;
        if (!found) return 'gone';
        if (typeof env?.restart_time !== 'number') return undefined;
        return { restarts: env.restart_time, startedAt: num(env.pm_uptime), notStopped: typeof env.status === 'string' && env.status !== 'stopped' };
      },
    });
    if (!stopped) return false;
    this.table.update(pmId, { name, status: 'stopped', pid: 0 });
    // What PM2's API adds to a stop: a `stop` event on the bus (`pm2 logs --json` shows it). Not waited for.
    if (!this.closed && !this.lost) this.api.Client?.executeRemote('notifyByProcessId', { id: pmId, action_name: 'stop', manually: true }, () => undefined);
    return true;
  }

  /**
   * One RPC of PM2's daemon by pm_id (lib/Daemon.js), as PM2's own API makes it after resolving
   * the id. The API's stop and delete first list every app twice, with a CPU and memory sweep of
   * each process, to find out whether the id is a name (lib/API.js _operate): two full lists per
   * stop into a daemon that a crash storm already starves. The client's executeRemote also turns
   * off a `watch` of the app on a stop or delete, as the API does.
   */
  private remote<T>(method: string, pmId: number, cb: Callback<T>): void {
    const client = this.api.Client;
    if (client) return client.executeRemote(method, pmId, cb as Callback<unknown>);
    if (method === 'stopProcessId') return this.api.stop(pmId, cb as Callback<unknown>);
    return this.api.delete(pmId, cb as Callback<unknown>);
  }

  /** The apps of that name as this handle knows them; the first call lists them. */
  private async known(name: string): Promise<ProcessView[]> {
    if (!this.table.complete) await this.entries();
    return this.table.byName(name);
  }

  /**
   * One operation on a pm_id learnt earlier. False when the daemon no longer knows the id (deleted
   * behind this handle's back): the process is gone, which is what stop and delete want.
   */
  private async byId(op: string, name: string, pmId: number, run: (cb: Callback<unknown>) => void): Promise<boolean> {
    try {
      await this.call(op, name, run);
      return true;
    } catch (error) {
      if (!/id unknown/.test(errorMessage(error))) throw error;
      this.table.drop(pmId);
      return false;
    }
  }

  /** A full list, which also refreshes the table. */
  private async entries(): Promise<Pm2Entry[]> {
    const issued = this.table.begin();
    const list = (await this.call<Pm2Entry[]>('list', 'all', (cb) => this.api.list(cb))) ?? [];
    this.table.applySnapshot(list.map(toView), issued);
    for (const entry of list) if (forked(entry)) this.generations.learn(entry.pm_id ?? -1, entry.pm2_env?.restart_time ?? 0, entry.pm2_env?.pm_uptime ?? 0);
    return list;
  }

  private dispatch(packet: BusPacket): void {
    const proc = packet.process;
    const name = proc?.name;
    if (typeof name !== 'string') return;
    const at = this.clock.now();
    let event: ProcessEvent | undefined;
    // Not `start`: PM2's client also sends that for an app registered stopped.
    if (packet.event === 'online') {
      this.stopping.delete(name); // a new generation: its exits are crashes again
      this.learn(proc!, { status: 'online', pid: readPid(proc!.pm_pid_path) });
      event = { type: 'online', name, at };
    } else if (packet.event === 'restart overlimit') {
      this.learn(proc!, { status: 'errored', pid: 0 });
      event = { type: 'restart-overlimit', name, at };
    } else if (packet.event === 'exit') {
      // A stop sends `exit` twice, as `stopping` then as `stopped`; a crash once, as `stopped` or `errored`.
      if (proc!.status === 'stopping') this.stopping.add(name);
      const manually = packet.manually === true || this.stopping.has(name);
      const code = proc!.exit_code;
      // PM2 shows a crashed app `stopped` until its restart timer fires: not stopped for good.
      const status = !manually && proc!.status === 'stopped' && willRestart(proc!, code) ? 'waiting restart' : proc!.status;
      this.learn(proc!, { status: status ?? 'stopped', pid: 0 });
      // PM2 keeps no signal: a killed app shows exit code 0.
      event = { type: 'exit', name, at, manually, exitCode: typeof code === 'number' ? code : null };
    }
    if (event) for (const listener of this.listeners) listener(event);
  }

  private learn(proc: BusProcess, fact: Pick<ProcessView, 'status' | 'pid'>): void {
    if (typeof proc.pm_id !== 'number' || typeof proc.name !== 'string') return;
    this.table.update(proc.pm_id, { ...factOf(proc, proc.name), ...fact });
    // Every packet of `process:event` is about a process that was forked: online, exited, given up.
    this.generations.learn(proc.pm_id, num(proc.restart_time), num(proc.pm_uptime));
  }

  private ensureOpen(): void {
    // PM2 respawns a daemon for any call made after disconnect.
    if (this.closed) throw new RedundancyError('PM2_UNAVAILABLE', 'the PM2 connection is closed');
    if (this.lostReason !== undefined) {
      throw new RedundancyError('PM2_UNAVAILABLE', `connection to the PM2 daemon lost (${this.lostReason}); not reconnected yet`);
    }
  }

  /** One PM2 call as a promise with a deadline; every failure becomes PM2_OPERATION. `force` skips the open check. */
  private call<T>(op: string, target: string, run: (cb: Callback<T>) => void, force = false): Promise<T> {
    if (!force) this.ensureOpen();
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.pending.delete(lost);
      };
      const lost = (error: RedundancyError) => {
        settle();
        reject(error);
      };
      const fail = (message: string, cause?: unknown) => {
        settle();
        reject(new RedundancyError('PM2_OPERATION', `pm2 ${op} ${target}: ${message}`, { cause }));
      };
      const timer = setTimeout(() => fail(`no answer after ${this.timeoutMs}ms`), this.timeoutMs);
      this.pending.add(lost);
      try {
        run((err, value) => {
          settle();
          if (err) fail(pm2Message(err), err);
          else resolve(value as T);
        });
      } catch (error) {
        fail(pm2Message(error), error);
      }
    });
  }
}

function noDaemon(rpcSocket: string): RedundancyError {
  return new RedundancyError('PM2_UNAVAILABLE', `no PM2 daemon is running (nothing listens on ${rpcSocket})`);
}

function specKey(spec: Pm2AppSpec): string {
  return JSON.stringify(twinToEcosystemApp(spec));
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** What a bus packet or a start answer says of a process beside its status and pid. */
function factOf(env: BusProcess, name: string): Pick<ProcessView, 'name' | 'restarts' | 'unstableRestarts' | 'startedAt'> {
  return { name, restarts: num(env.restart_time), unstableRestarts: num(env.unstable_restarts), startedAt: num(env.pm_uptime) };
}

/** PM2 writes the pid file at fork, before it says `online`; the bus packet carries no pid. */
function readPid(path: unknown): number {
  if (typeof path !== 'string') return 0;
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}

/** lib/God.js handleExit: an exit PM2 will follow with a restart. */
function willRestart(env: BusProcess, exitCode: unknown): boolean {
  if (env.autorestart === false || env.autorestart === 'false') return false;
  const raw = env.stop_exit_codes;
  const stopCodes: unknown[] = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  return !stopCodes.map((c) => (typeof c === 'string' ? Number.parseInt(c, 10) : c)).includes(exitCode);
}

/**
 * Whether a listed app's restart count and start time are those of a process that was forked: it
 * runs, or PM2 gave up on it. A stopped or crashed app is left out: its count may already include
 * a restart not forked yet.
 */
function forked(entry: Pm2Entry): boolean {
  const status = entry.pm2_env?.status;
  return status === 'online' || status === 'launching' || status === 'stopping' || status === 'errored';
}

function toView(entry: Pm2Entry): ProcessView {
  const env = entry.pm2_env ?? {};
  return {
    name: entry.name ?? env.name ?? '',
    pmId: entry.pm_id ?? env.pm_id ?? -1,
    status: env.status ?? 'unknown',
    pid: entry.pid ?? 0,
    restarts: env.restart_time ?? 0,
    unstableRestarts: env.unstable_restarts ?? 0,
    startedAt: env.pm_uptime ?? 0,
    memoryBytes: entry.monit?.memory ?? 0,
    cpuPercent: entry.monit?.cpu ?? 0,
  };
}

/** How long a reconnect waits for the lost daemon's apps to go before restoring anything. */
const orphanWaitMs = 5_000;

/** Resolves when none of `pids` runs any more, or after `timeoutMs` (never kills: a pid may be reused). */
async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isProcessAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(isProcessAlive);
  }
}
