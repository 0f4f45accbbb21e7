/** The cluster suite's own set-up (issue 12, part 5): a real 3 + 3 Redis Cluster, in state ok, used through the store. */
import type { Cluster } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { deriveDigitalId, RedisStore } from "../../src/index.js";
import { draftSanction } from "../../src/sanctions/model.js";
import { adminRedis, dropPrefix, onCluster, redisUrl, uniquePrefix } from "../helpers/redis.js";

const admin = adminRedis();
const prefix = uniquePrefix("csetup");
afterAll(async () => {
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

describe("the local Redis Cluster", () => {
  it("has 3 masters and 3 replicas and covers every slot", async () => {
    expect(onCluster()).toBe(true);
    const cluster = admin as unknown as Cluster;
    const info = await cluster.cluster("INFO");
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_slots_assigned:16384/);
    expect(info).toMatch(/cluster_known_nodes:6/);
    const shards = (await cluster.cluster("SHARDS")) as unknown[];
    expect(shards).toHaveLength(3);
  });

  it("a store given `redis-cluster://…` saves and reads a sanction in its ID's slot", async () => {
    const store = new RedisStore({ connection: redisUrl(), prefix });
    await store.connect();
    const did = deriveDigitalId("cluster-secret-0123456789", "setup-1");
    const s = draftSanction({ did, kind: "mute", reason: "cluster", by: "test", duration: 60_000 }, Date.now());
    await store.saveSanction(s, { sanctionsMs: 60_000, bindingsMs: 60_000 });
    expect((await store.sanctionsOf(did)).map((x) => x.id)).toEqual([s.id]);
    await store.close();
  });
});
