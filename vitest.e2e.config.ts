import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: a real Chromium and a real Redis against the built package (dist/), so it runs after the build.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    // One file at a time: 8 worker processes and 4 browser tabs on a 2-core machine must not starve each other.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
