import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Colyseus's tooling calls process.send, which crashes vitest's "forks" pool.
    pool: "threads",
    globalSetup: ["./test/helpers/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    exclude: ["test/reliability/**", "test/package/**", "test/cluster/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every file boots its own Colyseus server (the matchmaker is a per-thread singleton).
    fileParallelism: true,
    reporters: ["default"],
  },
});
