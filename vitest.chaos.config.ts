import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:chaos`): real PM2 daemons, real processes, managers killed and
 * daemons lost on purpose. Each file has its own PM2_HOME, so files run side by side.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    // One slow machine is no reason to fail a run that is bounded anyway: no retries, no bail.
    retry: 0,
  },
});
