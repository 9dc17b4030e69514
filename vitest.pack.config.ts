import { defineConfig } from "vitest/config"

// The pack-and-install check: slow (it builds, packs and installs the package), so it runs in CI
// through `npm run test:pack`, apart from the unit tests.
export default defineConfig({
  test: {
    include: ["test/pack/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000
  }
})
