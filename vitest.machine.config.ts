import { defineConfig } from 'vitest/config';

/** `npm run test:machine`: the tests that run inside the Debian 12 guest (test/machine/, one boot per file). */
export default defineConfig({
  test: {
    include: ['test/machine/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
