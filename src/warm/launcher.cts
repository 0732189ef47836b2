/**
 * Standby launcher of a warm twin. PM2 runs it in place of the app, with the app's args, env and cwd;
 * it boots, loads nothing of the app, writes `parked` to its status file and waits. On SIGUSR2 it
 * loads the app the way PM2's fork container would: CommonJS as the main module, ESM through import().
 * Kept to Node built-ins so a parked twin costs no more than an idle node.
 */
import fs = require('node:fs');
import path = require('node:path');
import Module = require('node:module');

type LauncherState = 'parked' | 'active' | 'failed';

const script = process.env.REDUNDANCY_WARM_SCRIPT;
const statusFile = process.env.REDUNDANCY_WARM_STATUS;
const pmx = process.env.REDUNDANCY_WARM_PMX === 'true';
// The app sees the env it would see under PM2: the role variables stay, the launcher's go.
delete process.env.REDUNDANCY_WARM_SCRIPT;
delete process.env.REDUNDANCY_WARM_STATUS;
delete process.env.REDUNDANCY_WARM_PMX;

let keepAlive: NodeJS.Timeout | undefined;
// PM2's fork container, read now: loading the app as the main module makes it `require.main`.
const container = require.main?.filename;

function writeStatus(state: LauncherState, reason?: string): void {
  if (!statusFile) return;
  const tmp = `${statusFile}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  fs.writeFileSync(tmp, JSON.stringify({ pid: process.pid, state, reason, at: Date.now() }));
  fs.renameSync(tmp, statusFile);
}

/** A failed load leaves the process up and saying so: exiting would only make PM2 restart it in a loop. */
function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  writeStatus('failed', `app failed to load: ${message.split('\n')[0]}`);
  process.stderr.write(`redundancy warm launcher: ${script} failed to load: ${error instanceof Error ? error.stack : message}\n`);
  keepAlive ??= setInterval(() => undefined, 2 ** 30);
}

/**
 * ESM or CommonJS as PM2's fork container decides it, not as Node would: `.mjs`, or any file under a
 * package.json with "type": "module" (even `.cjs`), is imported; the rest is loaded as the main module.
 */
function loadsAsEsm(file: string): boolean {
  if (path.extname(file) === '.mjs') return true;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && fs.statSync(manifest).isFile()) {
      try {
        return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(dir) === dir) return false;
  }
}

/** What PM2's fork container does at boot when `pmx` is on (PM2's lib/ProcessUtils.js), here after the app has started. */
function injectPm2Metrics(): void {
  if (!container) return;
  try {
    const io = require(path.join(path.dirname(container), '..', 'modules', 'pm2-io-bpm')) as { init(conf: object): void };
    if (typeof process.env.io !== 'string' && process.env.trace !== 'true') return;
    const conf = process.env.io ? ((JSON.parse(process.env.io) as { conf?: object }).conf ?? {}) : {};
    io.init({ tracing: process.env.trace === 'true', ...conf });
  } catch (error) {
    process.stderr.write(`redundancy warm launcher: PM2 metrics not loaded: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function activate(): void {
  if (!script) return fail(new Error('REDUNDANCY_WARM_SCRIPT is not set'));
  clearInterval(keepAlive);
  keepAlive = undefined;
  process.title = process.env.PROCESS_TITLE ?? `node ${script}`;
  // PM2 tells an app its own script here; the twin's PM2 entry names the launcher instead.
  if (process.env.pm_exec_path !== undefined) process.env.pm_exec_path = script;
  if (pmx) process.env.pmx = 'true';
  writeStatus('active');
  if (loadsAsEsm(script)) {
    import(require('node:url').pathToFileURL(script).href).then(afterLoad, fail);
    return;
  }
  try {
    // isMain: the app's `require.main === module` holds, as under PM2.
    (Module as unknown as { _load(request: string, parent: null, isMain: boolean): unknown })._load(script, null, true);
  } catch (error) {
    return fail(error);
  }
  afterLoad();
}

/**
 * PM2's metrics module costs 25-60 ms of a busy event loop to load: right after the app, it would hold
 * the app's first answers. Loaded once the app has been up METRICS_DELAY_MS instead; its HTTP metrics
 * wrap `http.Server.prototype`, so servers the app made before are counted too.
 */
const METRICS_DELAY_MS = 1000;

function afterLoad(): void {
  if (pmx) setTimeout(injectPm2Metrics, METRICS_DELAY_MS).unref();
}

keepAlive = setInterval(() => undefined, 2 ** 30);
process.once('SIGUSR2', activate);
writeStatus('parked');
