import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // PostgreSQL-only files run in `npm run test:pg` (vitest.pg.config.ts), against a server it starts
    exclude: ["test/pack/**", "node_modules/**", "test/conformance/postgres.test.ts", "test/**/*.pg.test.ts"],
    setupFiles: ["./test/setup.ts"],
    // Timeouts catch hangs; they are not performance bounds (bench/ measures those). On a busy
    // 2-core machine a test that takes 1 s alone can take 30, so they are generous.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Forks, one per core but one: on 2 cores the files run one after another in a single worker.
    pool: "forks"
  }
})
