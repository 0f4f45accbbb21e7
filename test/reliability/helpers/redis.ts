/**
 * A redis-server owned by one test file: started on a free port, killed for real
 * (SIGKILL) and started again on the same port. Plus the few Redis reads the
 * reliability assertions need (stream lengths, every key under a prefix).
 */
import { Redis } from "ioredis";
import { pingRedis, startRedisServer } from "../../../scripts/redis.mjs";
import { startWorld, type World } from "../../../rooms/app.js";
import type { AdminApiOptions, WardenOptions } from "../../../src/index.js";
import { JWT_SECRET, WARDEN_SECRET } from "../../helpers/world.js";
import { RedisKeys } from "../../../src/stores/redis/keys.js";

export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  /** pid of the redis-server running now. */
  readonly pid: number | undefined;
  /** SIGKILL the server; resolves once it no longer answers. */
  kill(): Promise<void>;
  /** Starts a new server on the same port (empty: the suite's servers keep nothing on disk). */
  restart(): Promise<void>;
  /** A connection for the test's own reads (reconnects by itself after a restart). */
  readonly admin: Redis;
  /** Kills the server and closes the admin connection. */
  close(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  let server = await startRedisServer();
  const admin = new Redis(server.url, { maxRetriesPerRequest: 3, connectionName: "reliability-admin" });
  admin.on("error", () => {});
  return {
    url: server.url,
    port: server.port,
    get pid() {
      return server.pid;
    },
    admin,
    async kill() {
      server.stop();
      const deadline = Date.now() + 5000;
      while (await pingRedis("127.0.0.1", server.port, 200)) {
        if (Date.now() > deadline) throw new Error("redis-server still answers after SIGKILL");
        await sleep(20);
      }
    },
    async restart() {
      server = await startRedisServer({ port: server.port });
    },
    async close() {
      admin.disconnect();
      server.stop();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every key under a prefix (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string, pattern = "*"): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:${pattern}`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** XLEN of the live feed of a prefix: the sum over its shards (one per recording bucket). */
export async function feedLength(redis: Redis, prefix: string): Promise<number> {
  const keys = new RedisKeys(prefix);
  const lengths = await Promise.all(Array.from({ length: keys.buckets }, (_, k) => redis.xlen(keys.feedShard(k))));
  return lengths.reduce((a, b) => a + b, 0);
}

/** XLEN of one ID's history. */
export function historyLength(redis: Redis, prefix: string, did: string): Promise<number> {
  return redis.xlen(new RedisKeys(prefix).events(did));
}

/** Every per-ID history stream under a prefix (`{b<k>}:<did>:events`). */
export async function historyKeys(redis: Redis, prefix: string): Promise<string[]> {
  return (await keysUnder(redis, prefix, "{b*}:*:events")).filter((k) => k.endsWith(":events"));
}

/** Sum of the XLEN of every per-ID history under a prefix, and the number of IDs with one. */
export async function historiesTotal(redis: Redis, prefix: string): Promise<{ events: number; ids: number }> {
  const keys = await historyKeys(redis, prefix);
  let events = 0;
  for (const key of keys) events += await redis.xlen(key);
  return { events, ids: keys.length };
}

/** Events of one ID as stored (parsed JSON of the `e` field), oldest first. */
export async function storedEvents(redis: Redis, prefix: string, did: string): Promise<Record<string, unknown>[]> {
  const entries = await redis.xrange(new RedisKeys(prefix).events(did), "-", "+");
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf("e") + 1] ?? "{}") as Record<string, unknown>);
}

/**
 * Every value stored under a prefix, whatever the key family (per-ID keys, review records,
 * the `{reviews}` queues, the `{stats}` counters, the name index…), as strings for content
 * checks: hash fields as `field=value`, stream entries as `f1=v1=f2=v2`, zset members.
 */
export async function dumpValues(redis: Redis, prefix: string): Promise<{ key: string; value: string }[]> {
  const out: { key: string; value: string }[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    const push = (value: string) => out.push({ key, value });
    if (type === "string") push((await redis.get(key)) ?? "");
    else if (type === "hash") for (const [f, v] of Object.entries(await redis.hgetall(key))) push(`${f}=${v}`);
    else if (type === "set") for (const m of await redis.smembers(key)) push(m);
    else if (type === "zset") for (const m of await redis.zrange(key, 0, -1)) push(m);
    else if (type === "list") for (const m of await redis.lrange(key, 0, -1)) push(m);
    else if (type === "stream") for (const [, fields] of await redis.xrange(key, "-", "+")) push(fields.join("="));
    // A key of another type would escape every content check: fail instead ("none": it expired meanwhile).
    else if (type !== "none") throw new Error(`dumpValues: ${key} is a ${type}, which this helper cannot read`);
  }
  return out;
}

/**
 * The demo world in this process, over a Redis of the test's own: port 0, the suite's
 * secrets, the given warden options on top; resolves once the warden receives sanctions.
 */
export async function worldOver(
  redis: OwnRedis,
  warden: Omit<WardenOptions, "secret" | "store">,
  options: { reconnectSeconds?: number; admin?: AdminApiOptions } = {},
): Promise<World> {
  const world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    reconnectSeconds: options.reconnectSeconds ?? 0,
    warden: { secret: WARDEN_SECRET, store: redis.url, ...warden },
    ...(options.admin ? { admin: options.admin } : {}),
  });
  await world.warden.ready();
  return world;
}
