import { describe, expect, it } from 'vitest';
import { LaunchBatch } from './launch-batch.js';

interface App {
  name: string;
  bad?: boolean;
}

/** A fake PM2 start: launches every app not marked bad, and errs when one is; records each call's apps. */
function fakePm2(opts: { maxBatch?: number; maxInFlight?: number; fail?: Error } = {}) {
  const calls: string[][] = [];
  let inFlight = 0;
  let peak = 0;
  const batch = new LaunchBatch<App, { name: string }>({
    ...opts,
    nameOf: (app) => app.name,
    launchedName: (result) => result.name,
    async send(apps) {
      calls.push(apps.map((a) => a.name));
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      if (opts.fail) throw opts.fail;
      const bad = apps.filter((a) => a.bad);
      return { launched: apps.filter((a) => !a.bad).map((a) => ({ name: a.name })), ...(bad.length > 0 && { error: new Error('invalid app') }) };
    },
  });
  return { batch, calls, peak: () => peak };
}

describe('LaunchBatch', () => {
  it('sends the launches of one turn as one call, each caller getting its own app', async () => {
    const { batch, calls } = fakePm2();
    const results = await Promise.all(['a', 'b', 'c'].map((name) => batch.launch({ name })));
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(results).toEqual([[{ name: 'a' }], [{ name: 'b' }], [{ name: 'c' }]]);
  });

  it('cuts a crowd into batches of maxBatch with at most maxInFlight calls at once', async () => {
    const { batch, calls, peak } = fakePm2({ maxBatch: 3, maxInFlight: 2 });
    const names = Array.from({ length: 10 }, (_, i) => `app${i}`);
    const results = await Promise.all(names.map((name) => batch.launch({ name })));
    expect(calls.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(calls.flat()).toEqual(names);
    expect(peak()).toBe(2);
    expect(results.map((r) => r[0]?.name)).toEqual(names);
  });

  it('gives PM2 error to the app it is about: the others of the batch are launched once', async () => {
    const { batch, calls } = fakePm2();
    const outcomes = await Promise.allSettled([batch.launch({ name: 'ok1' }), batch.launch({ name: 'broken', bad: true }), batch.launch({ name: 'ok2' })]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('invalid app');
    expect(calls).toEqual([['ok1', 'broken', 'ok2'], ['broken']]);
  });

  it('rejects every launch of a call that got no answer, without retrying it', async () => {
    const { batch, calls } = fakePm2({ fail: new Error('no answer after 30000ms') });
    const outcomes = await Promise.allSettled([batch.launch({ name: 'a' }), batch.launch({ name: 'b' })]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(calls).toEqual([['a', 'b']]);
  });

  it('resolves an empty list for an app PM2 answered without (a failed prepare)', async () => {
    const batch = new LaunchBatch<App, { name: string }>({ nameOf: (a) => a.name, launchedName: (r) => r.name, send: async () => ({ launched: [] }) });
    await expect(batch.launch({ name: 'x' })).resolves.toEqual([]);
  });
});
