import { monotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Pm2ProcessManager } from '../kinds/pm2/pm2-client.js';
import { isProcessAlive } from '../store/process-alive.js';
import { readHeartbeat } from './heartbeat.js';
import { WatchdogLook } from './watchdog.js';

/**
 * The host's watchdog: a separate process, so a manager that is frozen (SIGSTOP, a stalled event
 * loop) or killed still has its apps stopped when its lease can no longer be trusted.
 * `node watchdog-main.js <heartbeat file> <look every ms>`; PM2_HOME is the manager's.
 */
const [file, every] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: watchdog-main.js <heartbeat file> [look every ms]\n');
  process.exit(64);
}
const lookEveryMs = Number(every ?? 50);
const say = (line: string) => process.stdout.write(`${new Date().toISOString()} watchdog ${process.pid}: ${line}\n`);
let pm: Pm2ProcessManager | undefined;
const connect = async () => (pm ??= await Pm2ProcessManager.connect({ startDaemon: false, timeoutMs: 5_000 }));

const watchdog = new WatchdogLook({
  read: () => readHeartbeat(file),
  clock: monotonicClock,
  self: process.pid,
  say,
  alive: isProcessAlive,
  stop: async (apps) => {
    const handle = await connect();
    await Promise.all(apps.map((app) => handle.stop(app)));
  },
});

say(`watching ${file}`);
// Connected before it is needed: at a deadline every millisecond counts.
void connect().catch((error: unknown) => say(`PM2 not reached yet: ${errorMessage(error)}`));
for (;;) {
  const outcome = await watchdog.look().catch((error: unknown) => {
    say(`stopping the apps failed, tried again: ${errorMessage(error)}`);
    pm = undefined;
    return 'watch' as const;
  });
  if (outcome === 'leave') break;
  await new Promise((resolve) => setTimeout(resolve, lookEveryMs));
}
say('leaving: the manager is gone and nothing is left to stop, or another watchdog took over');
await pm?.close().catch(() => undefined);
process.exit(0);
