import { describe, expect, it } from 'vitest';
import { holdDownMs } from './failover.js';
import { recordFromLiveView } from './live-record.js';

describe('recordFromLiveView', () => {
  it('twin running, primary not: on the twin, with the first hold-down', () => {
    for (const primary of ['stopped', 'errored', 'waiting restart', undefined]) {
      const record = recordFromLiveView('pm2:api', 1_000, primary, 'online');
      expect(record.state).toEqual({ kind: 'backup', since: 1_000, reason: expect.stringMatching(/^rebuilt from PM2: twin online/), manual: false });
      expect(record).toMatchObject({ id: 'pm2:api', failovers: 1, repeat: 1, lastTransitionAt: 1_000 });
      expect(holdDownMs(record, { holdDownMs: 500, holdDownMaxMs: 10_000 } as never)).toBe(500);
    }
  });

  it('anything else: on the primary, as on a first start', () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      ['online', 'stopped'], ['online', 'online'], ['launching', 'online'], ['stopped', 'stopped'],
      [undefined, undefined], ['stopped', 'warm'], ['errored', 'missing'],
    ];
    for (const [primary, twin] of cases) {
      const record = recordFromLiveView('pm2:api', 7, primary, twin);
      expect(record.state).toEqual({ kind: 'primary', since: 7 });
      expect(record.failovers).toBe(0);
    }
  });
});
