import { formatDuration } from '../../core/duration.js';
import { RedundancyError } from '../../core/errors.js';
import { askManager } from '../../daemon/control-client.js';
import { controlSocketPath } from '../../daemon/control-socket.js';
import { readCluster } from '../../hosts/cluster-view.js';
import { EtcdGateway } from '../../hosts/etcd-gateway.js';
import type { Context } from '../context.js';
import { table } from '../format.js';

/**
 * `host [status|promote|demote]`: status reads etcd itself (it answers with no manager running
 * here); promote and demote ask this host's manager, which switches through the lease.
 */
export async function hostCommand(ctx: Context, action: string): Promise<number> {
  const host = ctx.config.host;
  if (!host) throw new RedundancyError('USAGE', 'this project has no `host` section in its config: it runs on one host (see README, "Several hosts")');
  if (action === 'status') {
    const gateway = new EtcdGateway(host.lease.etcd, Math.max(host.lease.renewTimeoutMs, 2_000));
    const view = await readCluster(gateway, host.cluster, Date.now()).catch((error: unknown) => {
      throw new RedundancyError('MANAGER_UNREACHABLE', `etcd did not answer (${host.lease.etcd.join(', ')}): ${error instanceof Error ? error.message : String(error)}`);
    });
    const lines = [
      `cluster ${view.cluster}: ${view.leader ? `active ${view.leader.host} (epoch ${view.leader.epoch})` : 'NO ACTIVE HOST'}; this host: ${host.name}`,
      table(['HOST', 'ROLE', 'EPOCH', 'UNITS', 'HEALTHY', 'CRITICAL', 'MIRROR AGE', 'SEEN'], view.hosts.map((h) => [
        h.host,
        view.leader?.host === h.host ? 'active' : view.candidates.includes(h.host) ? 'standby' : h.role,
        h.epoch === null ? '-' : String(h.epoch),
        String(h.summary?.units ?? '-'),
        String(h.summary?.healthy ?? '-'),
        String(h.summary?.critical ?? '-'),
        h.mirrorAgeMs === null ? (h.mirror ? 'never' : '-') : formatDuration(h.mirrorAgeMs),
        `${formatDuration(h.ageMs)} ago`,
      ])),
    ];
    const missing = view.candidates.filter((c) => !view.hosts.some((h) => h.host === c));
    if (missing.length > 0) lines.push(`campaigning, not yet published: ${missing.join(', ')}`);
    ctx.result(view, lines.join('\n'));
    return view.leader ? 0 : 2;
  }
  if (action !== 'promote' && action !== 'demote') throw new RedundancyError('USAGE', `host ${action}: expected status, promote or demote`);
  const answer = await askManager(controlSocketPath(ctx.config.stateDir), 'POST', `/host/${action}`, 4 * host.lease.ttlMs + 5_000);
  if (!answer) throw new RedundancyError('MANAGER_UNREACHABLE', `no manager running here: start it (\`redundancy start\`) to ${action} this host`);
  const body = answer.body as { message?: string; error?: { message?: string } };
  if (answer.status !== 200) throw new RedundancyError('USAGE', body.error?.message ?? `manager answered ${answer.status}`);
  ctx.result({ action, host: host.name, message: body.message }, body.message ?? '');
  return 0;
}
