import { defineConfig } from "vitest/config"

// The pack-and-install check: slow (it builds, packs and installs the package), so it runs in CI
// through `npm run test:pack`, apart from the unit tests.
export default defineConfig({
  test: {
    include: ["test/pack/**/*.test.ts"],
    // generous: a hang fails, a busy machine does not (npm pack builds, npm install downloads)
    testTimeout: 600_000,
    hookTimeout: 600_000
  }
})
