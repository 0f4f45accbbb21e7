import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { isClusterSpec, parseClusterNodes } from "../../src/stores/redis/connection.js";
import { afterAll, inject } from "vitest";

/** URL of the real Redis found by the global setup. */
export function redisUrl(): string {
  return inject("redisUrl");
}

/**
 * The suite's Redis, database `db`: for files that run Colyseus's RedisPresence and
 * RedisDriver, whose room listing is one unprefixed hash (`roomcaches`) — in a database of
 * its own, a file's rooms never show up in another file's matchmaking (a room of a process
 * another file killed would be offered, and its seat reservation fail). Single Redis only.
 */
export function redisUrlWithDb(db: number): string {
  const url = new URL(redisUrl());
  url.pathname = `/${db}`;
  return url.toString();
}

/** True when the suite runs against a Redis Cluster (`npm run test:cluster`). */
export function onCluster(): boolean {
  return isClusterSpec(redisUrl());
}

/**
 * A connection of the test's own to the suite's Redis: a `Redis`, or on the cluster suite a
 * `Cluster` (typed as `Redis`: the commands the tests use route by key on both).
 */
export function adminRedis(): Redis {
  const url = redisUrl();
  if (!isClusterSpec(url)) return new Redis(url);
  return new Cluster(parseClusterNodes(url)) as unknown as Redis;
}

/** A key prefix of its own for one test file or test. */
export function uniquePrefix(label: string): string {
  return `wt-${label}-${randomBytes(4).toString("hex")}`;
}

/** Every key under a prefix (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  // A Cluster's SCAN sees one node: scan every master.
  const either = redis as Redis | Cluster;
  if (either instanceof Cluster) {
    const all = await Promise.all(either.nodes("master").map((node) => keysUnder(node, prefix)));
    return all.flat();
  }
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** Deletes every key under a prefix. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  // One DEL per key: on a cluster they live in many slots.
  if ((redis as Redis | Cluster) instanceof Cluster) await Promise.all(keys.map((key) => redis.del(key)));
  else if (keys.length > 0) await redis.del(...keys);
}

/**
 * For one test file: a connection for the file's own reads and writes, and unique key
 * prefixes whose keys are all dropped after the file (afterAll).
 */
export function prefixesForFile(): { admin: Redis; prefix(label: string): string } {
  const admin = adminRedis();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(admin, p);
    admin.disconnect();
  });
  return {
    admin,
    prefix(label: string): string {
      const p = uniquePrefix(label);
      prefixes.push(p);
      return p;
    },
  };
}
