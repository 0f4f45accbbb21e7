import { Cluster, Redis } from "ioredis";
import { CLUSTER_SCHEME, isClusterSpec, parseClusterNodes } from "../../util/redis-target.js";

export { CLUSTER_SCHEME, isClusterSpec, parseClusterNodes };

/**
 * Opens the connection a string names, lazily (nothing is sent before `connect()`):
 * `redis://` / `rediss://` → one `Redis`; `redis-cluster://h:p,h:p` → a `Cluster` seeded
 * with those nodes. Few retries per command, so that a call fails (and the warden goes on
 * from memory) instead of waiting for ever.
 */
export function openRedis(target: string, connectionName = "warden"): Redis | Cluster {
  if (isClusterSpec(target)) {
    return new Cluster(parseClusterNodes(target), {
      lazyConnect: true,
      redisOptions: { maxRetriesPerRequest: 2, connectionName },
      // A failover takes the cluster-node-timeout and a vote: retry MOVED/CLUSTERDOWN a while.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      maxRedirections: 16,
    });
  }
  return new Redis(target, { lazyConnect: true, maxRetriesPerRequest: 2, connectionName });
}

/** `REDIS_CLUSTER_NODES` (wins when set) or `REDIS_URL` as a store target; undefined when neither is set. */
export function redisTargetFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  if (nodes) {
    parseClusterNodes(nodes);
    return nodes.startsWith(CLUSTER_SCHEME) ? nodes : `${CLUSTER_SCHEME}${nodes}`;
  }
  return env.REDIS_URL || undefined;
}
