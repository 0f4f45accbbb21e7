import { defineConfig } from "vitest/config";

// The packaging check (`npm run test:package`): packs the package, installs the tarball into a
// temporary project and runs a room from it. Apart from `npm test` because it installs
// dependencies (from the npm cache where it can), which takes tens of seconds.
export default defineConfig({
  test: {
    pool: "threads",
    include: ["test/package/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
