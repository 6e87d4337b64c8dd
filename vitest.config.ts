import { configDefaults, defineConfig } from 'vitest/config';

// Two projects, both in `npm test`:
// - unit: tests/unit, no global set-up, no services (no Temporal, no Postgres, no workflow bundle): seconds.
//   `npm run test:unit` runs it alone. A test that needs a service belongs to services.
// - services: everything else, with one Temporal dev server, one fresh Postgres database and one workflow
//   bundle per run (tests/support/global-setup.ts, started only when a services test is queued).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: more parallel files only queue behind the dev server and Postgres.
    maxWorkers: 2,
    // One closing line for the whole run, over both projects: "N passed, N failed, N skipped".
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'services',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'tests/unit/**'],
          globalSetup: ['tests/support/global-setup.ts'],
        },
      },
    ],
  },
});
