import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";

/** URL of the real Redis found by the global setup. */
export function redisUrl(): string {
  return inject("redisUrl");
}

/** A key prefix of its own for one test file or test. */
export function uniquePrefix(label: string): string {
  return `wt-${label}-${randomBytes(4).toString("hex")}`;
}

/** Every key under a prefix (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
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
  if (keys.length > 0) await redis.del(...keys);
}

/**
 * For one test file: a connection for the file's own reads and writes, and unique key
 * prefixes whose keys are all dropped after the file (afterAll).
 */
export function prefixesForFile(): { admin: Redis; prefix(label: string): string } {
  const admin = new Redis(redisUrl());
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
