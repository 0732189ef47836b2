// Runs in a child process whose PM2_HOME is the scenario's (pm2 reads it when it loads).
// Prints one JSON line: the per-trial decision times. See decision.js.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Pm2ProcessManager } from '../../dist/kinds/pm2/pm2-client.js';
import { systemClock } from '../../dist/core/clock.js';
import { loadConfig } from '../../dist/core/config-file.js';
import { openSupervisor } from '../../dist/daemon/compose.js';
import { loadInventory } from '../../dist/daemon/inventory.js';
import { silentLogger } from '../../dist/store/logger.js';
import { waitForAnswer, whoAnswers } from '../lib/http.js';
import { ecosystemText } from '../lib/project.js';
import { now, waitUntil } from '../lib/time.js';

const input = JSON.parse(process.env.RBENCH_INPUT);

/** The manager's own ProcessManager, with `stop(primary)` time-stamped: the first effect of a failover. */
function timedStops(pm, stops) {
  return new Proxy(pm, {
    get(target, prop) {
      if (prop === 'stop') {
        return (name) => {
          stops.push({ name, at: now() });
          return target.stop(name);
        };
      }
      const value = target[prop];
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function trial(pm, i) {
  const name = `dec${i}`;
  const port = input.ports[i];
  const dir = join(input.dir, name);
  await mkdir(dir, { recursive: true });
  const dieFile = join(dir, 'die');
  await writeFile(
    join(dir, 'ecosystem.config.cjs'),
    ecosystemText([{ name, script: input.service, env: { PORT: String(port), DIE_AT_BOOT_FILE: dieFile } }]),
  );
  // Default policy (window 10, minSamples 5, threshold 0.8); no rounds run, so bus crashes are the only samples.
  await writeFile(join(dir, 'redundancy.config.yaml'), 'checkInterval: 1h\npolicy: { holdDown: 1h }\nsources: { pm2: { live: false } }\n');
  const config = await loadConfig({ cwd: dir });
  const units = await loadInventory(config);
  const stops = [];
  const exits = [];
  const supervisor = openSupervisor({ config, units, pm: timedStops(pm, stops), logger: silentLogger(), clock: systemClock, startedAt: Date.now() });
  // Registered before the supervisor's listener, so it stamps each event just before the supervisor gets it.
  const offStamp = pm.onEvent((event) => {
    if (event.name === name && event.type === 'exit' && !event.manually) exits.push(now());
  });
  const offSupervisor = supervisor.listen();
  try {
    await supervisor.init(); // starts the primary PM2 does not know yet, registers the twin stopped
    await waitForAnswer(port, { intervalMs: 5, timeoutMs: 15_000 });
    await supervisor.drain();
    const { pid } = await whoAnswers(port);
    await writeFile(dieFile, '');
    const killedAt = now();
    process.kill(pid, 'SIGKILL'); // then PM2's restarts die at boot: a crash loop, each exit a failed sample
    const stop = await waitUntil(() => stops.find((s) => s.name === name), { timeoutMs: 20_000, intervalMs: 5, what: `failover of ${name}` });
    const tipping = exits[config.policy.minSamples - 1];
    await supervisor.drain();
    return { decisionMs: stop.at - tipping, exitsBeforeDecision: exits.filter((t) => t < stop.at).length, killToDecisionMs: stop.at - killedAt };
  } finally {
    offStamp();
    offSupervisor();
    await supervisor.drain().catch(() => undefined);
    await pm.remove(name).catch(() => undefined);
    await pm.remove(`${name}-backup`).catch(() => undefined);
  }
}

const pm = await Pm2ProcessManager.connect({ startDaemon: true });
const results = [];
try {
  for (let i = 0; i < input.trials; i++) results.push(await trial(pm, i));
} finally {
  await pm.close();
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
