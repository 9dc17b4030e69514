import { defineConfig } from "vitest/config"

// The suites that must hold on every backend, on PostgreSQL: the store's conformance suite, the
// PostgreSQL-only tests (many workers), and the session and compaction suites, whose stores come
// from test/support/backend.ts. `npm run test:pg` starts a throwaway server for them
// (scripts/with-postgres.sh sets MNESIS_TEST_DATABASE_URL).
export default defineConfig({
  test: {
    include: [
      "test/conformance/postgres.test.ts",
      "test/postgres/**/*.test.ts",
      "test/Session.test.ts",
      "test/session/**/*.test.ts",
      "test/compaction/**/*.test.ts",
      "test/Compactor.test.ts"
    ],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks"
  }
})
