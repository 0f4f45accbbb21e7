import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Runs test/cluster/failover.test.ts last: it kills a master, and the cluster it leaves has one node less. */
class FailoverLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (f: TestSpecification) => (f.moduleId.endsWith("failover.test.ts") ? 1 : 0);
    return sorted.sort((a, b) => last(a) - last(b));
  }
}

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
    sequence: { sequencer: FailoverLast },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    retry: 0,
    reporters: ["default"],
  },
});
