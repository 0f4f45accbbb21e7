/**
 * The bus survives the loss of its node (issue 12, part 2): a real world server with live
 * clients, its warden on the local Redis Cluster; a second warden publishes a warn every
 * 5 ms while the node that carries the world's bus subscription is killed (SIGKILL). ioredis
 * moves the subscription quietly (`-node`, no `close`/`ready`); the store's watch must count
 * that as a gap and the resync deliver what was published meanwhile: every warn that was
 * stored reaches its live session, none is missing.
 */
import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../../rooms/app.js";
import { createWarden, RedisStore, type Warden } from "../../src/index.js";
import { Recorder } from "../../src/recorder/recorder.js";
import { adminRedis, dropPrefix, redisUrl, uniquePrefix } from "../helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "../helpers/world.js";

const PLAYERS = 30;
const PUBLISH_MS = 5;
const RUN_MS = 4000;
const KILL_AT_MS = 1000;

const admin = adminRedis();
const prefix = uniquePrefix("cfail");
const quiet = { info() {}, warn() {}, error() {} };
let world: World;
let issuer: Warden;
const enforced = new Set<string>();

beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix, logger: quiet },
  });
  world.warden.on("sanction:enforced", (e) => enforced.add(e.sanction.id));
  issuer = createWarden({ secret: WARDEN_SECRET, store: redisUrl(), prefix, logger: quiet });
  await issuer.ready();
}, 60_000);

afterAll(async () => {
  await issuer?.close();
  await world?.close();
  await dropPrefix(admin, prefix).catch(() => {});
  admin.disconnect();
});

/** The node connection that carries the world warden's bus subscription (ioredis's ClusterSubscriber). */
function carrier(): Redis {
  const subscriber = (world.warden.store as unknown as { subscriber: Cluster }).subscriber;
  const instance = (subscriber as unknown as { subscriber: { getInstance(): Redis | null } }).subscriber.getInstance();
  if (instance === null) throw new Error("no subscription carrier");
  return instance;
}

describe("bus failover on a Redis Cluster", () => {
  it("kill -9 of the subscription's node while a warn is published every 5 ms: 0 stored warns missing in live sessions", async () => {
    const subjects = Array.from({ length: PLAYERS }, (_, i) => `cfail-${i}`);
    const rooms = [];
    for (const sub of subjects) {
      const room = await client(world.port, sub).joinOrCreate("world");
      observe(room);
      rooms.push(room);
    }
    const dids = subjects.map((s) => world.warden.digitalId(s));
    await waitFor(async () => (await issuer.sessions(dids[PLAYERS - 1]!)).length === 1, "the last binding");

    // The subscription must sit on a master (ioredis picks any node): move it until it does,
    // and give the move time to settle (it is itself a gap the watch resyncs).
    const roleOf = async (port: number) => {
      const target = (admin as unknown as Cluster).nodes("all").find((n) => n.options.port === port)!;
      return { target, role: String(((await target.call("ROLE")) as unknown[])[0]) };
    };
    for (let i = 0; i < 30 && (await roleOf(carrier().options.port!)).role !== "master"; i++) {
      const inner = (world.warden.store as unknown as { subscriber: { subscriber: { selectSubscriber(): void } } })
        .subscriber.subscriber;
      inner.selectSubscriber();
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const node = carrier().options;
    const { target, role } = await roleOf(node.port!);
    expect(role).toBe("master");
    const info = await target.info("server");
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    expect(pid).toBeGreaterThan(0);

    // Beside the bus: a recorder writing offense events for 100 IDs through the same kill.
    const recordingStore = new RedisStore({ connection: redisUrl(), prefix });
    await recordingStore.connect();
    const recorder = new Recorder(
      recordingStore,
      3_600_000,
      { flushMs: 10, batchSize: 200, maxBuffered: 100_000, maxInFlight: 2 },
      { halfLifeOf: () => 600_000, recorded: () => {}, failed: () => {}, overflow: () => {} },
    );
    const recordIds = Array.from({ length: 100 }, (_, i) => world.warden.digitalId(`cfail-rec-${i}`));
    const submitted = new Map<string, number>();
    let events = 0;

    let published = 0;
    let failed = 0;
    const pending: Promise<unknown>[] = [];
    const started = Date.now();
    let killedAt = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - started;
        if (killedAt === 0 && elapsed >= KILL_AT_MS) {
          killedAt = Date.now();
          process.kill(pid, "SIGKILL");
        }
        if (elapsed >= RUN_MS) {
          clearInterval(timer);
          resolve();
          return;
        }
        for (let i = 0; i < 4; i++) {
          const rid = recordIds[events++ % recordIds.length]!;
          submitted.set(rid, (submitted.get(rid) ?? 0) + 1);
          recorder.record({
            at: Date.now(),
            did: rid,
            room: { name: "world", id: "failover" },
            detector: "chat",
            kind: "abusive_text",
            track: "spam",
            severity: 1,
            evidence: { n: events },
          });
        }
        const did = dids[published % PLAYERS]!;
        published++;
        pending.push(
          issuer.sanctions.issue({ did, kind: "warn", reason: `w${published}`, by: "test" }).catch(() => {
            failed++;
          }),
        );
      }, PUBLISH_MS);
    });
    await Promise.all(pending);

    let lastError = "";
    // What counts: every warn the store holds (one whose write failed during the failover was never issued).
    await waitFor(
      async () => {
        try {
          await Promise.all(dids.map((d) => issuer.store.sanctionsOf(d)));
          return true;
        } catch (e) {
          lastError = String(e);
          return false;
        }
      },
      "the cluster to answer again",
      20_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}: ${lastError}`);
    });
    const stored = (await Promise.all(dids.map((d) => issuer.store.sanctionsOf(d))))
      .flat()
      .filter((s) => s.kind === "warn");
    const missing = () => stored.filter((s) => !enforced.has(s.id));
    const waitStarted = Date.now();
    await waitFor(
      () => missing().length === 0,
      `every stored warn enforced (${missing().length} missing)`,
      20_000,
    ).catch(() => {});
    console.info(
      `[figures] failover: carrier ${node.host}:${node.port} (${String(role)}) killed at ${killedAt - started} ms; ` +
        `${published} warns published every ${PUBLISH_MS} ms, ${stored.length} stored, ${failed} refused during the failover; ` +
        `missing in live sessions: ${missing().length}; last caught up ${Date.now() - waitStarted} ms after publishing ended`,
    );
    expect(stored.length).toBeGreaterThan(published / 2);
    expect(missing()).toEqual([]);

    // Recording through the failover: every event written exactly once (replayed after the
    // outage of its group, never twice), nothing refused, nothing left in the buffer.
    expect(await recorder.drain(30_000)).toBe(true);
    let inHistory = 0;
    let distinct = 0;
    for (const rid of recordIds) {
      const history = await recordingStore.offensesOf(rid as never, { limit: 10_000 });
      inHistory += history.length;
      distinct += new Set(history.map((e) => e.uid)).size;
      expect(history.length, rid).toBe(submitted.get(rid));
    }
    console.info(
      `[figures] failover: recording ${events} events for 100 IDs through the kill: ${recorder.stats.recorded} acknowledged, ` +
        `${recorder.stats.failedBatches} failed calls retried, ${recorder.stats.duplicates} duplicates skipped, ` +
        `${recorder.stats.rejected} rejected; ${inHistory} in the histories (${distinct} distinct)`,
    );
    expect(recorder.stats).toMatchObject({ recorded: events, rejected: 0, overflowed: 0, buffered: 0 });
    expect(inHistory).toBe(events);
    expect(distinct).toBe(events);
    await recorder.close();
    await recordingStore.close();
    for (const room of rooms) await room.leave().catch(() => {});
  });
});
