import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start real processes and cgroups must not race each other for the 2 cores of CI.
    fileParallelism: false,
  },
});
