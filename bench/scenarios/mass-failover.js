import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freePorts, waitForAllAnswers, whoAnswers } from '../lib/http.js';
import { readManagerLog } from '../lib/manager-log.js';
import { isolatedPm2 } from '../lib/pm2-home.js';
import { ecosystemText, fixtures, makeProject, startManager } from '../lib/project.js';
import { median, round, summary } from '../lib/stats.js';
import { now, sleep } from '../lib/time.js';
import { failoverConfig, waitForUnitsReady } from './twin-failover.js';

/** How many units fail at once (the crash storm of issue 12). */
export const massUnits = 50;

/** The 50 fixture services of a storm, each on its own port and with its own DIE_AT_BOOT_FILE. */
async function stormProject(label) {
  const ports = await freePorts(massUnits);
  const units = ports.map((port, i) => ({ name: `m${i}`, port }));
  const project = await makeProject(label);
  const apps = units.map((u) => ({
    name: u.name,
    script: join(fixtures, 'service.cjs'),
    env: { PORT: String(u.port), DIE_AT_BOOT_FILE: project.path(`die-${u.name}`) },
  }));
  await project.write('ecosystem.config.cjs', ecosystemText(apps));
  return { project, units, ports };
}

/** SIGKILLs every unit's current process at once; resolves the kill time and the 1-minute load then. */
async function killAll(units) {
  const pids = (await Promise.all(units.map((u) => whoAnswers(u.port)))).map((a) => a.pid);
  const killedAt = now();
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return { pids, killedAt };
}

/** Load average and its peak while a storm is waited for. */
function loadWatch() {
  let peak = loadavg()[0];
  const timer = setInterval(() => (peak = Math.max(peak, loadavg()[0])), 1_000);
  return { stop: () => (clearInterval(timer), round(Math.max(peak, loadavg()[0]), 2)) };
}

/**
 * pm2AutorestartMass50Ms: PM2 alone, the same 50 apps (which can boot) SIGKILLed at once, from the
 * kill to the last one answering from a new process. PM2's defaults: no restart delay.
 */
export const pm2AutorestartMass = {
  name: 'pm2-autorestart-mass-50',
  figures: [{ key: 'pm2AutorestartMass50Ms', label: 'PM2 autorestart of 50 apps killed at once, kill → last answering', unit: 'ms', baseline: 'pm2AutorestartMs' }],
  async run(ctx) {
    const pm2 = await isolatedPm2('mass-pm2');
    const { project, units, ports } = await stormProject('mass-pm2');
    const started = await pm2.pm2(['start', project.path('ecosystem.config.cjs')]);
    if (started.code !== 0) throw new Error(`pm2 start failed: ${started.stderr || started.stdout}`);
    await waitForAllAnswers(ports, { accept: () => true });
    const samples = [];
    const loads = [];
    for (let i = 0; i < ctx.trials(3, 1); i++) {
      await sleep(1_500); // past min_uptime: each restart is a stable one
      const load = loadWatch();
      const { pids, killedAt } = await killAll(units);
      const killed = new Set(pids);
      const answered = await waitForAllAnswers(ports, { accept: (_port, body) => !killed.has(body.pid) });
      samples.push(Math.max(...answered.values()) - killedAt);
      loads.push(load.stop());
    }
    await pm2.kill();
    await project.remove();
    return { figures: { pm2AutorestartMass50Ms: median(samples) }, details: { ms: summary(samples), peakLoad1m: loads } };
  },
};

/**
 * massFailover50Ms / warmMassFailover50Ms: the crash storm of issue 12 under the real manager.
 * 50 units (the fixture service, HTTP probes, the failover config of twin-failover), every primary
 * made unable to boot and SIGKILLed at once: kill to the last twin answering on its port. The
 * manager sets the 50 units up itself (primaries started, twins registered or parked).
 */
export function massFailoverScenario(mode) {
  const cold = mode === 'cold';
  const key = cold ? 'massFailover50Ms' : 'warmMassFailover50Ms';
  return {
    name: cold ? 'mass-failover-50' : 'warm-mass-failover-50',
    figures: [
      cold
        ? { key, label: '50 units crash-looping at once, kill → last cold twin answering', unit: 'ms', baseline: 'pm2AutorestartMass50Ms', goal: { ratioTo: 'pm2AutorestartMass50Ms', max: 1.5 } }
        : { key, label: '50 units crash-looping at once, kill → last warm twin answering', unit: 'ms', baseline: 'pm2AutorestartMass50Ms', goal: { ratioTo: 'pm2AutorestartMass50Ms', max: 1 } },
    ],
    async run(ctx) {
      const samples = [];
      const trials = [];
      for (let trial = 0; trial < ctx.trials(3, 1); trial++) {
        const pm2 = await isolatedPm2(`mass-${mode}`, { hardKill: true });
        const { project, units, ports } = await stormProject(`mass-${mode}`);
        await project.write('redundancy.config.yaml', failoverConfig(units, mode));
        const setupStarted = now();
        const manager = startManager(project, pm2.env);
        await waitForUnitsReady(project, massUnits, mode, 120_000);
        const setupMs = now() - setupStarted;
        await sleep(1_500);
        await Promise.all(units.map((u) => writeFile(project.path(`die-${u.name}`), '')));
        const load = loadWatch();
        const killedEpoch = Date.now();
        const { killedAt } = await killAll(units);
        const answered = await waitForAllAnswers(ports, { accept: (_port, body) => body.role === 'backup' });
        const times = ports.map((port) => answered.get(port) - killedAt);
        const ms = Math.max(...times);
        const peakLoad1m = load.stop();
        await manager.stop();
        const log = await readManagerLog(project.path('logs/redundancy.log'));
        await pm2.kill();
        await project.remove();
        samples.push(ms);
        trials.push({ ms: round(ms), firstMs: round(Math.min(...times)), medianMs: round(median(times)), peakLoad1m, setupMs: round(setupMs), ...stormSteps(log, killedEpoch) });
        ctx.log(`trial ${trial}: last twin answering ${round(ms)} ms after the kill (peak load ${peakLoad1m})`);
      }
      return { figures: { [key]: median(samples) }, details: { ms: summary(samples), trials, config: failoverConfig([{ name: '<unit>', port: '<port>' }], mode) } };
    },
  };
}

/** From the manager's log: when the last unit decided, stopped its primary, started its twin (ms after the kill), and failed effects. */
function stormSteps(log, fromEpochMs) {
  const after = log.filter((l) => l.time >= fromEpochMs - 1);
  const last = (pred) => {
    const times = after.filter(pred).map((l) => l.time - fromEpochMs);
    return times.length > 0 ? Math.max(...times) : null;
  };
  return {
    lastDecidedMs: last((l) => l.msg === 'transition' && l.to === 'failing-over'),
    lastPrimaryStoppedMs: last((l) => l.msg === 'effect done' && l.effect === 'stop-primary'),
    lastTwinStartedMs: last((l) => l.msg === 'effect done' && l.effect === 'start-twin'),
    effectsFailed: after.filter((l) => l.msg?.startsWith('effect failed')).length,
  };
}
