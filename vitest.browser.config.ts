import { defineConfig } from 'vitest/config';

/**
 * The dashboard in a real browser (`npm run test:browser`): Debian's chromium through
 * playwright-core, against a manager under a real PM2. Skipped, with the reason, without chromium.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
