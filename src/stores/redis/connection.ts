import { Cluster, Redis } from "ioredis";
import { WardenError } from "../../errors.js";

/** Scheme of the string form of a Redis Cluster: `redis-cluster://host:port,host:port,…` (seed nodes). */
export const CLUSTER_SCHEME = "redis-cluster://";

const NODE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/;

/**
 * The seed nodes of a cluster given as `host:port,host:port,…` (the `REDIS_CLUSTER_NODES`
 * form, with or without the `redis-cluster://` scheme). Throws `INVALID_OPTION` with a
 * sentence that names the bad part.
 */
export function parseClusterNodes(spec: string): { host: string; port: number }[] {
  const list = spec.startsWith(CLUSTER_SCHEME) ? spec.slice(CLUSTER_SCHEME.length) : spec;
  const parts = list
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0)
    throw new WardenError("INVALID_OPTION", "a Redis Cluster needs at least one seed node as host:port");
  return parts.map((part) => {
    const match = NODE.exec(part);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535)
      throw new WardenError(
        "INVALID_OPTION",
        `Redis Cluster node ${JSON.stringify(part.slice(0, 80))} is not host:port`,
      );
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
}

/** True for the string form of a cluster (`redis-cluster://…`). */
export function isClusterSpec(value: string): boolean {
  return value.startsWith(CLUSTER_SCHEME);
}

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
