import { describe, expect, it } from 'vitest';
import { CommandProbe } from './command-probe.js';
import { HttpProbe } from './http-probe.js';
import { makeProbe } from './make-probe.js';

describe('makeProbe', () => {
  it('makes an HTTP probe', () => {
    const probe = makeProbe({ kind: 'http', url: 'http://127.0.0.1:1/health', expectStatus: 204, timeoutMs: 100 }, '/');
    expect(probe).toBeInstanceOf(HttpProbe);
  });

  it('makes a command probe that runs in the given directory', async () => {
    const probe = makeProbe({ kind: 'command', command: 'test "$(pwd)" = /', timeoutMs: 5_000 }, '/');
    expect(probe).toBeInstanceOf(CommandProbe);
    expect(await probe.check()).toEqual({ ok: true, reason: 'exit code 0' });
  });
});
