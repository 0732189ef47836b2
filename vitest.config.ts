import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/chaos/**', 'test/browser/**', 'test/hosts-chaos/**', 'node_modules/**', 'dist/**'],
    pool: 'forks',
    // Most integration tests wait (on PM2, a child, a minute boundary): two files at once even on
    // 2 cores, where vitest would otherwise run one. Each file has its own PM2_HOME and ports.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
