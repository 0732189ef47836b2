import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

const pm2Bin = join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin/pm2');

/** PM2's own view, through its CLI (not our adapter): app name to status. */
export async function pm2List(env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const { stdout } = await execa('node', [pm2Bin, 'jlist'], { env });
  const apps = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; pm2_env: { status: string } }>;
  return new Map(apps.map((app) => [app.name, app.pm2_env.status]));
}
