import { describe, expect, it } from 'vitest';
import { compileConfig } from './config.js';
import { isRedundancyError } from './errors.js';

const cwd = '/srv/app';
const file = 'redundancy.config.yaml';

function errorOf(host: unknown): string {
  try {
    compileConfig({ host }, { file, cwd });
  } catch (error) {
    if (isRedundancyError(error)) return error.message;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('host config', () => {
  it('is absent without a host section, and fills the lease defaults from the ttl', () => {
    expect(compileConfig({}, { file, cwd }).host).toBeUndefined();
    const host = compileConfig({ host: { name: 'a', cluster: 'shop', lease: { etcd: ['http://127.0.0.1:2379'], ttl: '3s' } } }, { file, cwd }).host;
    expect(host).toEqual({ name: 'a', cluster: 'shop', lease: { etcd: ['http://127.0.0.1:2379'], ttlMs: 3_000, renewEveryMs: 1_000, marginMs: 1_000, renewTimeoutMs: 500 }, units: 'all', stepDownAfter: 3 });
    expect(compileConfig({ host: { cluster: 'shop', lease: { etcd: 'http://e:2379' } } }, { file, cwd }).host?.lease).toMatchObject({ ttlMs: 10_000, renewEveryMs: 3_333 });
  });

  it('refuses bad input in one line naming the field', () => {
    expect(errorOf({ lease: { etcd: ['http://e:2379'] } })).toMatch(/^redundancy\.config\.yaml: host\.cluster: .*expected a cluster name/);
    expect(errorOf({ cluster: 'c' })).toMatch(/host\.lease\.etcd: .*expected a list of etcd client URLs/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['ftp://x'] } })).toMatch(/host\.lease\.etcd\[0\]|host\.lease\.etcd\.0/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['http://e'], ttl: '1500ms' } })).toMatch(/host\.lease\.ttl: .*whole seconds, at least 2s/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['http://e'], ttl: '3s', renewEvery: '2s', renewTimeout: '1s' } })).toMatch(/host\.lease\.renewEvery: .*renewEvery \+ 2 x renewTimeout \(1000ms\) <= ttl \(3000ms\)/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['http://e'], ttl: '3s', margin: '2s' } })).toMatch(/host\.lease\.margin/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['http://e'] }, units: ['api'] })).toMatch(/host\.units: .*all, or a list of unit ids/);
    expect(errorOf({ cluster: 'c', lease: { etcd: ['http://e'] }, leese: 1 })).toMatch(/host\.leese: .*did you mean "lease"/);
    for (const message of [errorOf({ cluster: 'c' }), errorOf({ cluster: 'c', lease: { etcd: ['http://e'], ttl: 'x' } })]) expect(message).not.toContain('\n');
  });
});
