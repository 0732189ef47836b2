import type { Candidate, ElectionPort, LeaderKey } from './election-port.js';

/**
 * etcd's v3 JSON gateway (`/v3/...`, keys and values in base64, 64-bit numbers as strings) over
 * fetch. Calls go to the endpoint that last answered, and to the next one when it does not.
 */
export class EtcdGateway implements ElectionPort {
  private current = 0;
  /** Campaigns waiting, by the endpoint they wait on: a campaign has no timeout, so it is ended when its endpoint fails another call. */
  private readonly waiting = new Map<AbortController, number>();

  constructor(
    private readonly endpoints: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  async grant(ttlSeconds: number): Promise<string> {
    const body = await this.call<{ ID: string; error?: string }>('/v3/lease/grant', { TTL: ttlSeconds });
    if (!body.ID) throw new Error(`lease grant: ${body.error ?? 'no lease id'}`);
    return body.ID;
  }

  async keepAlive(lease: string): Promise<boolean> {
    // A stream in gRPC; one request body gets one answer. No TTL in it: the lease is gone.
    const body = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: lease });
    return Number(body.result?.TTL ?? 0) > 0;
  }

  async campaign(name: string, lease: string, value: string, signal: AbortSignal): Promise<LeaderKey> {
    const own = new AbortController();
    this.waiting.set(own, this.current);
    try {
      const body = await this.call<{ leader: RawLeaderKey }>('/v3/election/campaign', { name: b64(name), lease, value: b64(value) }, AbortSignal.any([signal, own.signal]), false, 1);
      return leaderKey(body.leader);
    } catch (error) {
      if (own.signal.aborted && !signal.aborted) throw new Error('campaign ended: its etcd endpoint stopped answering other calls');
      throw error;
    } finally {
      this.waiting.delete(own);
    }
  }

  async leader(name: string): Promise<{ key: LeaderKey; value: string } | undefined> {
    const body = await this.call<{ kv?: RawKv; error?: string }>('/v3/election/leader', { name: b64(name) }, undefined, true);
    if (!body.kv) return undefined;
    const kv = body.kv;
    return { key: { name, key: unb64(kv.key), rev: Number(kv.create_revision), lease: kv.lease ?? '0' }, value: unb64(kv.value ?? '') };
  }

  async candidates(name: string): Promise<Candidate[]> {
    const kvs = await this.range(`${name}/`);
    return kvs.map((kv) => ({ value: unb64(kv.value ?? ''), rev: Number(kv.create_revision), lease: kv.lease ?? '0' })).sort((a, b) => a.rev - b.rev);
  }

  async resign(leader: LeaderKey): Promise<void> {
    await this.call('/v3/election/resign', { leader: { name: b64(leader.name), key: b64(leader.key), rev: String(leader.rev), lease: leader.lease } });
  }

  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease });
  }

  async put(key: string, value: string, lease: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), lease });
  }

  async remove(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) });
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return (await this.range(prefix)).map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value ?? '') }));
  }

  private async range(prefix: string): Promise<RawKv[]> {
    const body = await this.call<{ kvs?: RawKv[] }>('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)) });
    return body.kvs ?? [];
  }

  /** POSTs to each endpoint in turn from the last that answered; an HTTP error answer is not retried elsewhere. */
  private async call<T>(path: string, request: unknown, signal?: AbortSignal, errorIsAnswer = false, tries = this.endpoints.length): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < tries; i++) {
      const index = (this.current + i) % this.endpoints.length;
      const timeout = signal ?? AbortSignal.timeout(this.timeoutMs);
      let response: Response;
      try {
        response = await fetch(new URL(path, this.endpoints[index]), { method: 'POST', body: JSON.stringify(request), headers: { 'content-type': 'application/json' }, signal: timeout });
      } catch (error) {
        if (signal?.aborted) throw error;
        lastError = error;
        for (const [campaign, at] of this.waiting) if (at === index) campaign.abort();
        continue;
      }
      this.current = index;
      // A campaign lives on the endpoint the other calls use: one left behind on another (which failed, maybe before the campaign registered) would wait forever.
      for (const [campaign, at] of this.waiting) if (at !== index && path !== '/v3/election/campaign') campaign.abort();
      const text = await response.text();
      const body = text === '' ? {} : (JSON.parse(text) as T & { error?: string; message?: string });
      if (!response.ok && !errorIsAnswer) throw new Error(`etcd ${path}: ${response.status} ${(body as { message?: string }).message ?? text}`);
      return body as T;
    }
    throw new Error(`no etcd endpoint answered (${this.endpoints.join(', ')}): ${lastError instanceof Error ? (lastError.cause instanceof Error ? lastError.cause.message : lastError.message) : String(lastError)}`);
  }
}

interface RawKv {
  key: string;
  value?: string;
  create_revision: string;
  lease?: string;
}

interface RawLeaderKey {
  name: string;
  key: string;
  rev: string;
  lease: string;
}

function leaderKey(raw: RawLeaderKey): LeaderKey {
  return { name: unb64(raw.name), key: unb64(raw.key), rev: Number(raw.rev), lease: raw.lease };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString();

/** The end of etcd's range of every key starting with `prefix`. */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1]! += 1;
  return bytes.toString();
}
