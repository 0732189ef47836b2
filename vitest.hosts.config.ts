import { defineConfig } from 'vitest/config';

/**
 * The multi-host fault suite (`npm run test:hosts`): real etcd members, two managers standing for
 * hosts, faults on purpose. One file at a time: the figures are timings, and a loaded machine
 * would blur them.
 */
export default defineConfig({
  test: {
    include: ['test/hosts-chaos/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 900_000,
    hookTimeout: 120_000,
    retry: 0,
  },
});
