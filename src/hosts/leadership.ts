import type { LeaderKey } from './election-port.js';

/** The lease timings of `host.lease`, in ms. */
export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  marginMs: number;
  renewTimeoutMs: number;
}

/** A lease this host holds; `okAt` is when the last grant or renewal that etcd confirmed was sent (monotonic ms). */
export interface HeldLease {
  id: string;
  okAt: number;
}

/**
 * Where this host stands in the election. Times are this host's monotonic clock only: expiry is
 * judged from what this host saw, never by comparing clocks across hosts.
 */
export type Leadership =
  | { role: 'standby'; lease?: HeldLease }
  | { role: 'leader'; lease: HeldLease; key: LeaderKey; epoch: number };

/** What the host must do after a step: start its units (it leads now) or stop them (it no longer may). */
export type RoleChange = { type: 'lead'; epoch: number } | { type: 'fence'; epoch: number; reason: string };

export interface Step {
  state: Leadership;
  change?: RoleChange;
}

export const standby: Leadership = { role: 'standby' };

/**
 * Whether a lease may still be acted on: etcd times a lease from when it received the renewal,
 * later than `okAt` (when it was sent), so acting stops `margin` before etcd can expire it anywhere.
 */
export function leaseUsable(lease: HeldLease, now: number, t: LeaseTiming): boolean {
  return now - lease.okAt <= t.ttlMs - t.marginMs;
}

/** True only for a leader whose lease is still usable now: the test every effect passes first. */
export function acting(state: Leadership, now: number, t: LeaseTiming): boolean {
  return state.role === 'leader' && leaseUsable(state.lease, now, t);
}

export function renewDue(lease: HeldLease, now: number, t: LeaseTiming): boolean {
  return now - lease.okAt >= t.renewEveryMs;
}

/** A new lease granted (asked at `sentAt`). */
export function granted(state: Leadership, id: string, sentAt: number): Leadership {
  return state.role === 'standby' && state.lease === undefined ? { role: 'standby', lease: { id, okAt: sentAt } } : state;
}

/** etcd confirmed a renewal asked at `sentAt`; an answer for a lease this host dropped meanwhile changes nothing. */
export function renewed(state: Leadership, id: string, sentAt: number): Leadership {
  if (state.lease?.id !== id) return state;
  const lease = { id, okAt: Math.max(state.lease.okAt, sentAt) };
  return state.role === 'leader' ? { ...state, lease } : { role: 'standby', lease };
}

/** etcd says the lease is gone: a leader fences at once. */
export function leaseLost(state: Leadership, id: string): Step {
  if (state.lease?.id !== id) return { state };
  return drop(state, 'etcd says the lease is gone');
}

/** The monotonic check: a lease not confirmed for `ttl - margin` is dropped, and a leader fences itself. */
export function expire(state: Leadership, now: number, t: LeaseTiming): Step {
  if (!state.lease || leaseUsable(state.lease, now, t)) return { state };
  return drop(state, `lease not renewed for ${now - state.lease.okAt}ms (ttl ${t.ttlMs}ms - margin ${t.marginMs}ms)`);
}

/**
 * A campaign answered: this lease leads. Taken only if the lease is the one held and still usable
 * (an answer that arrives after a freeze is stale); otherwise the caller resigns the key.
 */
export function elected(state: Leadership, key: LeaderKey, now: number, t: LeaseTiming): Step & { accepted: boolean } {
  if (state.role !== 'standby' || state.lease?.id !== key.lease || !leaseUsable(state.lease, now, t)) return { state, accepted: false };
  return { state: { role: 'leader', lease: state.lease, key, epoch: key.rev }, change: { type: 'lead', epoch: key.rev }, accepted: true };
}

/** Stepping down by choice (`host demote`, health): the units stop first, then the key is resigned; the lease stays for the next campaign. */
export function stepDown(state: Leadership, reason: string): Step {
  if (state.role !== 'leader') return { state };
  return { state: { role: 'standby', lease: state.lease }, change: { type: 'fence', epoch: state.epoch, reason } };
}

function drop(state: Leadership, reason: string): Step {
  if (state.role === 'leader') return { state: standby, change: { type: 'fence', epoch: state.epoch, reason } };
  return { state: standby };
}
