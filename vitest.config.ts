import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Generous: CI machines are small and several test files share two cores; speed is measured in bench/.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
