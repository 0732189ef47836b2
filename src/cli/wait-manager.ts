import type { HealthReport } from '../core/report-types.js';
import { askManager } from '../daemon/control-client.js';

/** Polls the control socket until the manager answers, or gives up after `timeoutMs`. */
export async function waitForManager(socketPath: string, timeoutMs: number, alive: () => Promise<boolean>): Promise<HealthReport | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await askManager(socketPath, 'GET', '/status', 2_000).catch(() => undefined);
    if (answer?.status === 200) return answer.body as HealthReport;
    if (!(await alive())) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}
