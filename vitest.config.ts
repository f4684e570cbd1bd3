import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real daemons, socat and pymodbus: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
