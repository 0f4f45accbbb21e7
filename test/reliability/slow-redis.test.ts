/**
 * Scenario 2 — slow Redis. This file's own redis-server is frozen for 2.5 s with
 * `CLIENT PAUSE 2500 ALL` (every client's commands wait; `DEBUG SLEEP` is disabled by
 * default since Redis 7 and the suite does not turn it on). Meanwhile:
 * - a clean client's chats are handled and broadcast with normal latency (the hot path
 *   never waits for Redis), and its moves reach the others' state;
 * - offenses keep being detected and are recorded once Redis answers again;
 * - the join gate is bounded by storeTimeoutMs: "open" admits, "closed" refuses with 4503,
 *   both within storeTimeoutMs + margin, well before Redis wakes up.
 */
import { Client } from "@colyseus/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { historyLength, ownRedis, sleep, type OwnRedis, worldOver } from "./helpers/redis.js";
import { startFixtureServer, type ServerProcess } from "./helpers/server.js";
import {
  avatarIn,
  figure,
  join,
  JWT_SECRET,
  leave,
  memoryLogger,
  percentile,
  rejection,
  token,
  waitFor,
  WARDEN_SECRET,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";

const PAUSE_MS = 2500;
const STORE_TIMEOUT_MS = 500;
const MARGIN_MS = 700;
let redis: OwnRedis;
let world: World;
let closed: ServerProcess;
let sender: Player;
let receiver: Player;
let offender: Player;
let closedHost: Player;
const processErrors = watchProcessErrors();
const players: Player[] = [];

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, {
    prefix: "rel-slow-open",
    logger: memoryLogger(),
    storeTimeoutMs: STORE_TIMEOUT_MS,
    guard: { flood: { types: { chat: { rate: 50, burst: 100 } } } },
  });
  closed = await startFixtureServer({
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redis.url,
      prefix: "rel-slow-closed",
      failMode: "closed",
      storeTimeoutMs: STORE_TIMEOUT_MS,
    },
  });
  sender = await join(world.port, "slow-sender");
  receiver = await join(world.port, "slow-receiver", { roomId: sender.room.roomId });
  offender = await join(world.port, "slow-offender", { roomId: sender.room.roomId });
  closedHost = await join(closed.port, "slow-closed-host");
  players.push(sender, receiver, offender, closedHost);
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  for (const p of players) await leave(p);
  await closed?.kill("SIGTERM");
  await world?.close();
  await redis?.close();
});

/** Sends `count` chats `gapMs` apart; resolves with the receiver's latency for each. */
async function chatLatencies(label: string, count: number, gapMs: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const off = receiver.room.onMessage("chat", (chat: { text: string }) => {
    const t = sentAt.get(chat.text);
    if (t !== undefined) latencies.push(Date.now() - t);
  });
  for (let i = 0; i < count; i++) {
    const text = `${label} ${i}`;
    sentAt.set(text, Date.now());
    sender.room.send("chat", { text });
    await sleep(gapMs);
  }
  await waitFor(() => latencies.length === count, `${count} ${label} chats at the receiver`, 3000).catch(() => {});
  off();
  return latencies;
}

/** Moves the sender to x and measures until the receiver's state shows it. */
async function moveLatency(x: number): Promise<number> {
  const t = Date.now();
  sender.room.send("move", { x, y: 0 });
  await waitFor(
    () => avatarIn(receiver.room, sender.room.sessionId)?.x === x,
    `x = ${x} in the receiver's state`,
    3000,
  );
  return Date.now() - t;
}

describe(`Redis paused for ${PAUSE_MS} ms (CLIENT PAUSE ALL)`, () => {
  it("the hot path keeps its latency, the join gate is bounded by storeTimeoutMs, offenses wait and are recorded", async () => {
    const baseline = await chatLatencies("baseline", 40, 25);
    const baselineMoves = [await moveLatency(1), await moveLatency(2), await moveLatency(3)];
    const offensesBefore = world.warden.stats().offenses;

    await redis.admin.call("CLIENT", "PAUSE", String(PAUSE_MS), "ALL");
    const pausedAt = Date.now();

    // Joins while Redis sleeps (started at once, measured separately).
    const openJoin = (async () => {
      const t = Date.now();
      const p = await join(world.port, "slow-newcomer", { roomId: sender.room.roomId });
      players.push(p);
      return Date.now() - t;
    })();
    const closedJoin = (async () => {
      const c = new Client(`ws://127.0.0.1:${closed.port}`);
      c.auth.token = token("slow-closed-newcomer");
      const t = Date.now();
      const refused = await rejection(c.joinById(closedHost.room.roomId));
      return { ...refused, ms: Date.now() - t };
    })();
    // Offenses while Redis sleeps.
    for (let i = 0; i < 10; i++) offender.room.send("teleport", { i });
    const during = await chatLatencies("paused", 40, 25);
    const duringMoves = [await moveLatency(4), await moveLatency(5), await moveLatency(6)];
    const statsDuring = world.warden.stats();
    const openJoinMs = await openJoin;
    const closed4503 = await closedJoin;
    const measuredWithinPauseMs = Date.now() - pausedAt;

    await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()) + 100);
    expect(await world.warden.recorder.drain(5000)).toBe(true);
    const statsAfter = world.warden.stats();
    const offenderEvents = await historyLength(redis.admin, "rel-slow-open", world.warden.digitalId("slow-offender"));

    figure("slow-redis", "chat latency ms (receiver)", {
      baseline: { n: baseline.length, p50: percentile(baseline, 50), max: Math.max(...baseline) },
      paused: { n: during.length, p50: percentile(during, 50), p99: percentile(during, 99), max: Math.max(...during) },
    });
    figure("slow-redis", "move → other client's state ms", { baseline: baselineMoves, paused: duringMoves });
    figure("slow-redis", "join gate while paused ms", {
      open: openJoinMs,
      closed: closed4503.ms,
      closedCode: closed4503.code,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      pauseMs: PAUSE_MS,
    });

    // Everything above was measured while Redis was still paused.
    expect(measuredWithinPauseMs).toBeLessThan(PAUSE_MS);
    expect(during).toHaveLength(40);
    expect(percentile(during, 50)).toBeLessThan(Math.max(20, 3 * percentile(baseline, 50)));
    expect(Math.max(...during)).toBeLessThan(250);
    expect(Math.max(...duringMoves)).toBeLessThan(300);
    // The join gate: bounded by storeTimeoutMs, per failMode.
    expect(openJoinMs).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 20);
    expect(openJoinMs).toBeLessThan(STORE_TIMEOUT_MS + MARGIN_MS);
    expect(closed4503.code).toBe(4503);
    expect(closed4503.ms).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 20);
    expect(closed4503.ms).toBeLessThan(STORE_TIMEOUT_MS + MARGIN_MS);
    // Offenses were detected at once, written when Redis answered.
    expect(statsDuring.offenses - offensesBefore).toBe(10);
    expect(statsDuring.recorded).toBeLessThan(statsDuring.offenses);
    expect(statsAfter).toMatchObject({ buffered: 0, overflowed: 0 });
    expect(statsAfter.recorded).toBe(statsAfter.offenses);
    expect(offenderEvents).toBe(10);
    expect(sender.seen.notices).toEqual([]);
    expect(processErrors.errors).toEqual([]);
    expect(closed.alive()).toBe(true);
    expect(closed.crashLines()).toEqual([]);
  });
});
