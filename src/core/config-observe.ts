import type { ChannelSpec, CompiledConfig } from './config-types.js';
import { Checker, httpUrl, isPlainMap, listenAddress, type Path } from './config-checker.js';
import { drillDefaults, type DrillConfig } from './drill.js';
import { parseDuration } from './duration.js';

const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** `http:` — the read-only listener; off loopback it needs a token. */
export function compileHttp(check: Checker, raw: unknown): CompiledConfig['http'] {
  if (raw === false) return { listen: false };
  const http = check.map(['http'], raw, ['listen', 'token']);
  const token = http.token === undefined ? undefined : check.secret(['http', 'token'], http.token, 'REDUNDANCY_HTTP_TOKEN');
  if (http.listen === false) return { listen: false, ...(token && { token }) };
  const listen = listenAddress(check, ['http', 'listen'], http.listen ?? '127.0.0.1:9797');
  if (!loopback.test(listen.host) && !token) check.fail(['http', 'listen'], http.listen, 'a loopback address (127.0.0.1, ::1), or http.token set to env:NAME for any other');
  return { listen, ...(token && { token }) };
}

const channelKeys: Record<ChannelSpec['type'], string[]> = {
  webhook: ['type', 'name', 'url', 'secret', 'timeout'],
  slack: ['type', 'name', 'url', 'timeout'],
  email: ['type', 'name', 'smtp', 'from', 'to', 'timeout'],
};

/** `notify:` — grouping, repeats and the channels; secrets stay references until the manager starts. */
export function compileNotify(check: Checker, raw: unknown): CompiledConfig['notify'] {
  const notify = check.map(['notify'], raw, ['groupWait', 'repeatInterval', 'channels', 'backoff']);
  const backoff = check.map(['notify', 'backoff'], notify.backoff, ['base', 'cap', 'maxAge']);
  const list = notify.channels ?? [];
  if (!Array.isArray(list)) check.fail(['notify', 'channels'], list, 'a list of channels ({ type: webhook | slack | email, ... })');
  const names = new Set<string>();
  const channels = list.map((item: unknown, i: number) => {
    const channel = compileChannel(check, ['notify', 'channels', i], item, i);
    if (names.has(channel.name)) check.fail(['notify', 'channels', i, 'name'], channel.name, 'a name no other channel has');
    names.add(channel.name);
    return channel;
  });
  return {
    groupWaitMs: check.duration(['notify', 'groupWait'], notify.groupWait, 5_000, { allowZero: true }),
    repeatIntervalMs: check.duration(['notify', 'repeatInterval'], notify.repeatInterval, 4 * 3_600_000, { allowZero: true }),
    backoff: {
      baseMs: check.duration(['notify', 'backoff', 'base'], backoff.base, 1_000),
      capMs: check.duration(['notify', 'backoff', 'cap'], backoff.cap, 300_000),
      maxAgeMs: check.duration(['notify', 'backoff', 'maxAge'], backoff.maxAge, 86_400_000),
    },
    channels,
  };
}

function compileChannel(check: Checker, path: Path, raw: unknown, index: number): ChannelSpec {
  if (!isPlainMap(raw) || typeof raw.type !== 'string' || !Object.hasOwn(channelKeys, raw.type)) {
    return check.fail([...path, 'type'], isPlainMap(raw) ? raw.type : raw, 'webhook, slack or email');
  }
  const type = raw.type as ChannelSpec['type'];
  const c = check.map(path, raw, channelKeys[type]);
  const at = (key: string): Path => [...path, key];
  const name = c.name === undefined ? `${type}-${index + 1}` : check.path(at('name'), c.name, undefined, 'a channel name');
  const timeoutMs = check.duration(at('timeout'), c.timeout, 10_000);
  switch (type) {
    case 'webhook':
      return {
        type,
        name,
        url: httpUrl(check, at('url'), c.url),
        ...(c.secret !== undefined && { secret: check.secret(at('secret'), c.secret, 'REDUNDANCY_WEBHOOK_SECRET') }),
        timeoutMs,
      };
    case 'slack':
      // An incoming-webhook URL is itself the secret: written as env:NAME, read at start.
      return { type, name, url: typeof c.url === 'string' && c.url.startsWith('env:') ? check.secret(at('url'), c.url, 'SLACK_WEBHOOK_URL') : httpUrl(check, at('url'), c.url), timeoutMs };
    case 'email': {
      const smtp = c.smtp;
      if (typeof smtp !== 'string' || !URL.canParse(smtp) || !/^smtps?:$/.test(new URL(smtp).protocol)) check.fail(at('smtp'), smtp, 'an smtp:// or smtps:// URL');
      const to = Array.isArray(c.to) ? c.to : [c.to];
      const address = (p: Path, v: unknown) => (typeof v === 'string' && /^[^\s@]+@[^\s@]+$/.test(v) ? v : check.fail(p, v, 'an email address'));
      return {
        type,
        name,
        smtp: smtp as string,
        from: address(at('from'), c.from),
        to: to.map((v, i) => address(Array.isArray(c.to) ? [...at('to'), i] : at('to'), v)),
        timeoutMs,
      };
    }
  }
}

/** `drills:` — how old a last drill may get before `status` flags it, and each drill's timings. */
export function compileDrills(check: Checker, raw: unknown): DrillConfig {
  const drills = check.map(['drills'], raw, ['maxAge', 'timeout', 'pause']);
  // An age is compared, never a timer: it may exceed setTimeout's 24 days.
  const maxAgeMs = drills.maxAge === undefined ? drillDefaults.maxAgeMs : parseDuration(drills.maxAge);
  if (maxAgeMs === undefined || maxAgeMs <= 0) check.fail(['drills', 'maxAge'], drills.maxAge, 'a duration > 0, like 7d or 30d');
  return {
    maxAgeMs: maxAgeMs!,
    timeoutMs: check.duration(['drills', 'timeout'], drills.timeout, drillDefaults.timeoutMs),
    pauseMs: check.duration(['drills', 'pause'], drills.pause, drillDefaults.pauseMs, { allowZero: true }),
  };
}
