// The scenarios, in the order they run. A scenario is one file: `{ name, figures, run(ctx) }`, where
// `figures` declares each figure it measures (key, label, unit, optional baseline and goal) and
// `run` returns `{ figures: { key: number }, details }`. Baselines must come from an earlier scenario.
import cronManager1000 from './cron-manager-1000.js';
import cronPlan1000 from './cron-plan-1000.js';
import decision from './decision.js';
import githubPlan1000 from './github-plan-1000.js';
import githubRequests1000 from './github-requests-1000.js';
import localRunnerCold from './local-runner-cold.js';
import manager1000 from './manager-1000.js';
import { massFailoverScenario, pm2AutorestartMass } from './mass-failover.js';
import metricsScrape1000 from './metrics-scrape-1000.js';
import netlifyPlan150 from './netlify-plan-150.js';
import nodeIdle from './node-idle.js';
import notifyLatency from './notify-latency.js';
import plan1000 from './plan-1000.js';
import primaryRestart from './primary-restart.js';
import pm2Autorestart from './pm2-autorestart.js';
import spawnFloor from './spawn-floor.js';
import start1000 from './start-1000.js';
import twinFailover, { failoverScenario } from './twin-failover.js';

export const scenarios = [nodeIdle, spawnFloor, pm2Autorestart, primaryRestart, twinFailover, failoverScenario('warm'), pm2AutorestartMass, massFailoverScenario('cold'), massFailoverScenario('warm'), decision, plan1000, start1000, manager1000, cronPlan1000, cronManager1000, githubPlan1000, githubRequests1000, netlifyPlan150, localRunnerCold, metricsScrape1000, notifyLatency];
