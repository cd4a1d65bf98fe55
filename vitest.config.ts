import { defineConfig } from 'vitest/config';

const everything = '{packages,services,apps,examples,e2e,deploy}/**/*.test.ts';
const faults = 'e2e/faults/**/*.test.ts';

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration suites share this machine's PostgreSQL and NATS; two workers match its cores.
    maxWorkers: 2,
    globalSetup: ['./vitest.global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suites', include: [everything], exclude: [faults, '**/node_modules/**'] },
      },
      {
        // The cluster under faults runs a dozen processes: alone, after the rest, so it neither
        // starves the browser suites nor is starved by them.
        extends: true,
        test: { name: 'faults', include: [faults], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
