import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The guest tests boot a VM: `npm run test:machine` (vitest.machine.config.ts), run by scripts/test after this.
    exclude: ['test/machine/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start real processes and cgroups must not race each other for the 2 cores of CI.
    fileParallelism: false,
  },
});
