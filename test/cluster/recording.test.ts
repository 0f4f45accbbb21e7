/**
 * Recording and the live feed on a real Redis Cluster (issue 12, part 1): a batch spanning
 * many IDs is grouped by bucket, each group one script in one slot; the feed's shards are
 * merged with a composite cursor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { deriveDigitalId, RedisStore, WardenError } from "../../src/index.js";
import { Recorder } from "../../src/recorder/recorder.js";
import { RedisKeys } from "../../src/stores/redis/keys.js";
import { storeError } from "../../src/stores/redis/errors.js";
import { waitFor } from "../helpers/world.js";
import type { OffenseEvent, OffenseRecord } from "../../src/recorder/offense.js";
import { resolvePolicy } from "../../src/policy/ladder.js";
import { adminRedis, dropPrefix, onCluster, redisUrl, uniquePrefix } from "../helpers/redis.js";

const admin = adminRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(admin, p);
  admin.disconnect();
});

function store(prefix = uniquePrefix("crec")): RedisStore {
  prefixes.push(prefix);
  return new RedisStore({ connection: redisUrl(), prefix });
}

const ladder = resolvePolicy().tracks.get("spam")!.ladder;

function event(subject: string, i: number): OffenseRecord {
  const e: OffenseEvent = {
    at: Date.now(),
    did: deriveDigitalId("cluster-secret-0123456789", subject),
    room: { name: "world", id: "r1" },
    detector: "chat",
    kind: "abusive_text",
    track: "spam",
    severity: 1,
    evidence: { i },
    uid: `${subject}:${i}`,
  };
  return { event: e, halfLifeMs: 600_000, ladder };
}

describe("recording on a Redis Cluster", () => {
  it("runs on a cluster", () => {
    expect(onCluster()).toBe(true);
  });

  it("records a batch spanning 200 IDs (no CROSSSLOT), exactly once, and the merged feed gives every event once", async () => {
    const s = store();
    await s.connect();
    const batch = Array.from({ length: 400 }, (_, i) => event(`crec-${i % 200}`, i));
    const results = await s.recordOffenses(batch, Date.now(), 60_000);
    expect(results.filter((r) => r.status === "recorded")).toHaveLength(400);
    // The same batch again (a lost reply): nothing twice.
    const again = await s.recordOffenses(batch, Date.now(), 60_000);
    expect(again.every((r) => r.status === "duplicate")).toBe(true);

    const seen: OffenseEvent[] = [];
    let after = "0";
    for (let round = 0; round < 20 && seen.length < 400; round++) {
      const page = await s.readFeed(after, { count: 150, blockMs: 0 });
      for (const e of page) {
        seen.push(e);
        after = e.cursor ?? e.id ?? after;
      }
    }
    expect(seen).toHaveLength(400);
    expect(new Set(seen.map((e) => e.uid)).size).toBe(400);
    // Per ID, the feed keeps the order of recording.
    const history = await s.offensesOf(batch[0]!.event.did, { limit: 10 });
    expect(history.map((e) => e.evidence.i)).toEqual([200, 0]);
    await s.close();
  });

  it("classifies a real CROSSSLOT reply as STORE_SCRIPT, never as the store being unavailable", async () => {
    const error = await admin.eval("return 1", 2, "crossslot-a", "crossslot-b").catch((e: unknown) => e);
    const mapped = storeError("recordOffenses", error);
    expect(mapped).toBeInstanceOf(WardenError);
    expect(mapped.code).toBe("STORE_SCRIPT");
    expect(mapped.message).toMatch(/not in one Redis Cluster slot/);
  });

  it("a group the store refuses is dropped and counted (not retried for ever); the other groups of the batch are recorded", async () => {
    const prefix = uniquePrefix("cpoison");
    const s = store(prefix);
    await s.connect();
    const keys = new RedisKeys(prefix);
    const subjects = Array.from({ length: 40 }, (_, i) => `cpoison-${i}`);
    const poisoned = deriveDigitalId("cluster-secret-0123456789", subjects[0]!);
    // A points "hash" that is a string: the script of that ID's bucket fails (WRONGTYPE), as a
    // script bug or a hand-edited key would; nothing of that group is written.
    await admin.set(keys.points(poisoned), "not a hash");
    const poisonedBucket = keys.bucketOf(poisoned);
    const batch = subjects.map((subject, i) => event(subject, i));
    const inPoisoned = batch.filter((r) => keys.bucketOf(r.event.did) === poisonedBucket).length;
    expect(inPoisoned).toBeLessThan(batch.length);

    const failures: unknown[] = [];
    let acknowledged = 0;
    const r = new Recorder(
      s,
      60_000,
      { flushMs: 5, batchSize: 1000, maxBuffered: 10_000, maxInFlight: 2 },
      {
        halfLifeOf: () => 600_000,
        recorded: (events) => {
          acknowledged += events.length;
        },
        failed: (e) => failures.push(e),
        overflow: () => {},
      },
    );
    for (const { event: e } of batch) r.record({ ...e, uid: undefined });
    await waitFor(() => r.stats.recorded + r.stats.rejected === batch.length, "every event recorded or rejected");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.stats).toMatchObject({
      recorded: batch.length - inPoisoned,
      rejected: inPoisoned,
      buffered: 0,
      failedBatches: 1,
    });
    expect(acknowledged).toBe(batch.length - inPoisoned);
    expect(failures).toHaveLength(1);
    expect((failures[0] as WardenError).code).toBe("STORE_SCRIPT");
    await r.close();
    await s.close();
  });
});
