import { WardenError } from "../errors.js";

// The string forms of a Redis target, read without opening anything: options validation,
// the demo server and the CLI share them (src/stores/redis/connection.ts opens one).

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
