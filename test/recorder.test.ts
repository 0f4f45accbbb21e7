/**
 * The recorder against a Redis this test owns: killed and restarted for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveDigitalId, RedisStore } from "../src/index.js";
import { Recorder } from "../src/recorder/recorder.js";
import type { OffenseEvent } from "../src/recorder/offense.js";
import { startRedisServer } from "../scripts/redis.mjs";
import { waitFor } from "./helpers/world.js";

let redis: Awaited<ReturnType<typeof startRedisServer>>;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.stop());

function event(did: string, n: number): OffenseEvent {
  return {
    at: Date.now(),
    did,
    room: { name: "world", id: "r" },
    detector: "flood",
    kind: "rate",
    track: "spam",
    severity: 1,
    evidence: { n },
  };
}

function recorder(store: RedisStore, maxBuffered = 10_000) {
  const hooks = { failed: 0, overflows: [] as number[], recorded: 0 };
  const r = new Recorder(
    store,
    3_600_000,
    { flushMs: 10, batchSize: 1000, maxBuffered, maxInFlight: 2 },
    {
      halfLifeOf: () => 600_000,
      recorded: (events) => {
        hooks.recorded += events.length;
      },
      failed: () => {
        hooks.failed++;
      },
      overflow: (n) => hooks.overflows.push(n),
    },
  );
  return { r, hooks };
}

describe("recorder", () => {
  it("writes in batches in the background and hands back ids and points in order", async () => {
    const store = new RedisStore({ connection: redis.url, prefix: "rec1" });
    const { r, hooks } = recorder(store);
    const did = deriveDigitalId("recorder-secret-012345", "a");
    for (let i = 0; i < 2500; i++) r.record(event(did, i));
    expect(r.stats.buffered).toBeGreaterThan(0); // nothing was awaited
    expect(await r.drain()).toBe(true);
    expect(hooks.recorded).toBe(2500);
    expect(r.stats).toMatchObject({ recorded: 2500, duplicates: 0, buffered: 0, overflowed: 0, failedBatches: 0 });
    const history = await store.offensesOf(did, { limit: 10_000 });
    expect(history.map((e) => e.evidence.n)).toEqual(Array.from({ length: 2500 }, (_, i) => 2499 - i));
    await store.close();
  });

  it("keeps events while Redis is down and replays every one when it comes back", async () => {
    const store = new RedisStore({ connection: redis.url, prefix: "rec2" });
    await store.connect();
    const { r, hooks } = recorder(store);
    const did = deriveDigitalId("recorder-secret-012345", "b");
    redis.stop();
    await new Promise((res) => setTimeout(res, 100));
    for (let i = 0; i < 300; i++) r.record(event(did, i));
    await waitFor(() => hooks.failed > 0, "a failed batch while Redis is down");
    expect(r.stats.recorded).toBe(0);
    redis = await startRedisServer({ port: redis.port });
    expect(await r.drain(15_000)).toBe(true);
    expect(r.stats).toMatchObject({ recorded: 300, buffered: 0, overflowed: 0 });
    const history = await store.offensesOf(did, { limit: 1000 });
    expect(history).toHaveLength(300);
    expect(new Set(history.map((e) => e.evidence.n)).size).toBe(300);
    // Each event got a uid before its first (failed) write and is stored under it.
    expect(new Set(history.map((e) => e.uid)).size).toBe(300);
    expect(history.every((e) => typeof e.uid === "string" && e.uid.length > 0)).toBe(true);
    await store.close();
  });

  it("counts and reports overflow once when the bounded buffer is full", async () => {
    const store = new RedisStore({ connection: "redis://127.0.0.1:1", prefix: "rec3" });
    const { r, hooks } = recorder(store, 100);
    const did = deriveDigitalId("recorder-secret-012345", "c");
    let accepted = 0;
    for (let i = 0; i < 150; i++) if (r.record(event(did, i))) accepted++;
    expect(accepted).toBe(100);
    expect(r.stats.overflowed).toBeGreaterThanOrEqual(50);
    expect(hooks.overflows).toHaveLength(1);
    await r.close(100);
    await store.close();
  });
});
