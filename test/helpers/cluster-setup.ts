import type { TestProject } from "vitest/node";
import { startRedisCluster } from "../../scripts/redis-cluster.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    /** `host:port,…` of the local Redis Cluster (cluster suite only; "" elsewhere). */
    redisClusterNodes: string;
    /** `host:port,…` of its masters, as created (cluster suite only). */
    redisClusterMasters: string;
  }
}

/**
 * Global setup of the cluster suite (`npm run test:cluster`): a real local Redis Cluster of
 * 3 masters and 3 replicas, started for the run and torn down after it. The suite's files see
 * it as their Redis (`redisUrl()` answers `redis-cluster://…`), so that the same tests run
 * against a single Redis (`npm test`) and a cluster.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const cluster = await startRedisCluster({ masters: 3 });
  console.info(
    `[test] started a Redis Cluster (3 masters + 3 replicas) in ${Date.now() - started} ms: ${cluster.spec}`,
  );
  project.provide("redisUrl", `redis-cluster://${cluster.spec}`);
  project.provide("redisClusterNodes", cluster.spec);
  project.provide(
    "redisClusterMasters",
    cluster.nodes
      .slice(0, 3)
      .map((n) => `${n.host}:${n.port}`)
      .join(","),
  );
  return () => cluster.stop();
}
