import { defineConfig } from "vitest/config";

/**
 * The cluster suite (`npm run test:cluster`, issue 12): the store contract, recording, the
 * live feed, multi-process propagation and a failover test against a real local Redis Cluster
 * (3 masters + 3 replicas, started by test/helpers/cluster-setup.ts). Files run one after
 * another: the failover test kills a master of the cluster the others use.
 */
export default defineConfig({
  test: {
    // Colyseus's tooling calls process.send, which crashes vitest's "forks" pool.
    pool: "threads",
    globalSetup: ["./test/helpers/cluster-setup.ts"],
    include: ["test/cluster/**/*.test.ts", "test/store-contract.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    retry: 0,
    reporters: ["default"],
  },
});
