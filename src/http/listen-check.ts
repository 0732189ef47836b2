import { isIP } from 'node:net';

/** Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The rule of DESIGN.md ("Configuration", `http:`): an address off loopback needs a token.
 * Returns the error to show, or undefined when the listen config is acceptable.
 */
export function checkListenConfig(opts: { host: string; port?: number; token?: string }): string | undefined {
  if (isLoopback(opts.host) || opts.token) return undefined;
  const address = opts.port === undefined ? opts.host : formatAddress(opts.host, opts.port);
  return `http.listen ${address} is not on loopback: set http.token (env:NAME)`;
}
