import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{packages,services,apps,e2e,deploy}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.e2e.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration suites share this machine's PostgreSQL and NATS; two workers match its cores.
    maxWorkers: 2,
    globalSetup: ['./vitest.global-setup.ts'],
  },
});
