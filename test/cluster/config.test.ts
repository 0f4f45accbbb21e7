/** Configuration on a Redis Cluster (issue 12, part 3): the string form, a Cluster passed in, a hash-tagged prefix. */
import { Cluster } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createWarden, deriveDigitalId, type RedisStore } from "../../src/index.js";
import { parseClusterNodes } from "../../src/stores/redis/connection.js";
import { adminRedis, dropPrefix, keysUnder, redisUrl, uniquePrefix } from "../helpers/redis.js";

const admin = adminRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(admin, p);
  admin.disconnect();
});
const quiet = { info() {}, warn() {}, error() {} };
const secret = "cluster-config-secret-0123";

describe("configuration on a cluster", () => {
  it("a Cluster passed to createWarden is used as it is and left open on close", async () => {
    const cluster = new Cluster(parseClusterNodes(redisUrl()));
    const prefix = uniquePrefix("ccfg");
    prefixes.push(prefix);
    const warden = createWarden({ secret, store: cluster, prefix, logger: quiet });
    await warden.ready();
    const did = warden.digitalId("config-1");
    const result = await warden.sanctions.issue({ did, kind: "mute", reason: "cfg", by: "test", duration: 60_000 });
    expect(result.status).toBe("issued");
    expect((await warden.store.sanctionsOf(did)).map((s) => s.kind)).toEqual(["mute"]);
    await warden.close();
    expect(cluster.status).toBe("ready");
    expect(await cluster.get(`${prefix}:nothing`)).toBeNull();
    cluster.disconnect();
  });

  it("a hash-tagged prefix ({…}) puts every key, recording included, in one slot", async () => {
    const prefix = `{${uniquePrefix("ctag")}}`;
    prefixes.push(prefix);
    const warden = createWarden({ secret, store: redisUrl(), prefix, logger: quiet });
    await warden.ready();
    const store = warden.store as RedisStore;
    const now = Date.now();
    const batch = Array.from({ length: 50 }, (_, i) => ({
      event: {
        at: now,
        did: deriveDigitalId(secret, `tag-${i}`),
        room: { name: "world", id: "r" },
        detector: "chat" as const,
        kind: "abusive_text",
        track: "spam",
        severity: 1,
        evidence: {},
      },
      halfLifeMs: 600_000,
    }));
    const results = await store.recordOffenses(batch, now, 60_000);
    expect(results.every((r) => r.status === "recorded")).toBe(true);
    const keys = await keysUnder(admin, prefix);
    expect(keys.length).toBeGreaterThan(50);
    const slots = new Set(await Promise.all(keys.map((k) => admin.cluster("KEYSLOT", k))));
    expect(slots.size).toBe(1);
    await warden.close();
  });
});
