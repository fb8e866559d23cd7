import { defineConfig } from 'vitest/config';

// Browser tests: a real headless Chromium (Debian's) driven by
// playwright-core against a running stack (W2MEET_URL). One file at a time,
// steps in order.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
