/**
 * Scenario 1 — Redis outage under load. This file starts its own redis-server, kills it
 * (SIGKILL) for ~10 s while real clients keep playing and misbehaving, and starts it
 * again on the same port (empty: the suite's Redis keeps nothing on disk).
 *
 * Two servers share that Redis (each with its own key prefix):
 * - "open": the demo world in this process (failMode "open", storeTimeoutMs 1000), so
 *   that warden.stats() can be read directly;
 * - "closed": the demo world in a child process (failMode "closed", storeTimeoutMs 1000,
 *   recorder.maxBuffered 20), to see the 4503 join refusal and the bounded buffer overflow.
 * Both use local matchmaking (no RedisPresence): a Colyseus matchmaker on Redis cannot
 * seat anybody while Redis is down, whatever the warden does.
 *
 * The timeline runs once (beforeAll); each `it` then checks one guarantee against what
 * was observed.
 */
import { Client } from "@colyseus/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { createWarden, type Warden, type WardenStats } from "../../src/index.js";
import { feedLength, historyLength, ownRedis, sleep, type OwnRedis, worldOver } from "./helpers/redis.js";
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

const OPEN = "rel-outage-open";
const CLOSED = "rel-outage-closed";
const OUTAGE_MS = 10_000;
const STORE_TIMEOUT_MS = 1000;
const MAX_BUFFERED = 20;
const Z_OFFENSES = 12; // unknown-type messages per misbehaving client during the outage
const CLEAN_PLAYERS = 24; // moving 10/s and chatting every 1.5 s throughout
const silent = { info() {}, warn() {}, error() {} };

let redis: OwnRedis;
let world: World;
let closed: ServerProcess;
let openIssuer: Warden;
let closedIssuer: Warden;
const logger = memoryLogger();
const processErrors = watchProcessErrors();
const everyone: Player[] = [];
const timers: NodeJS.Timeout[] = [];

/** What the timeline observed; the tests below assert on it. */
const seen = {
  statsAtKill: undefined as WardenStats | undefined,
  statsAtRestart: undefined as WardenStats | undefined,
  bufferedPeak: 0,
  recordedDuringOutage: 0,
  storeErrorsDuringOutage: 0,
  closedAliveDuringOutage: false,
  joinOpen: { ok: false, ms: 0, error: "" },
  newcomerChatDelivered: false,
  bannedJoinOpen: { code: 0, ms: 0, message: "" },
  kickedReconnect: "",
  joinClosed: { code: 0, ms: 0, message: "" },
  bannedJoinClosed: { code: 0, ms: 0 },
  mutedChatsSent: 0,
  frozenMovesSent: 0,
  latency: { before: [] as number[], during: [] as number[], after: [] as number[] },
  restartAt: 0,
  drainedAfterMs: -1,
  zKickedAfterMs: [] as number[],
  reachableLogged: false,
  timelineError: "",
  closedPlayerOpenAtBurst: false,
};

let bystander: Player;
let clean: Player[] = [];
let muted: Player;
let frozen: Player;
let kicked: Player;
let misbehaving: Player[] = [];
let flooder: Player;
let newcomer: Player | undefined;
let closedPlayer: Player;
const sentAt = new Map<string, number>();
let phase: "before" | "during" | "after" = "before";

const openDid = (sub: string) => world.warden.digitalId(sub);

async function player(port: number, sub: string, roomId?: string): Promise<Player> {
  const p = await join(port, sub, roomId ? { roomId } : {});
  everyone.push(p);
  return p;
}

function every(ms: number, fn: () => void): void {
  timers.push(setInterval(fn, ms));
}

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(
    redis,
    { prefix: OPEN, logger, heartbeatMs: 500, storeTimeoutMs: STORE_TIMEOUT_MS },
    { reconnectSeconds: 20 },
  );
  closed = await startFixtureServer({
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 20,
    warden: {
      secret: WARDEN_SECRET,
      store: redis.url,
      prefix: CLOSED,
      failMode: "closed",
      storeTimeoutMs: STORE_TIMEOUT_MS,
      heartbeatMs: 500,
      recorder: { maxBuffered: MAX_BUFFERED },
    },
  });
  openIssuer = createWarden({ secret: WARDEN_SECRET, store: redis.url, prefix: OPEN, logger: silent });
  closedIssuer = createWarden({ secret: WARDEN_SECRET, store: redis.url, prefix: CLOSED, logger: silent });
  await Promise.all([world.warden.ready(), openIssuer.ready(), closedIssuer.ready()]);
  try {
    await timeline();
  } catch (e) {
    seen.timelineError = (e as Error).stack ?? String(e);
  } finally {
    for (const t of timers) clearTimeout(t);
    timers.length = 0;
  }
}, 120_000);

afterAll(async () => {
  processErrors.stop();
  for (const t of timers) clearTimeout(t);
  for (const p of everyone) await leave(p);
  await openIssuer?.close();
  await closedIssuer?.close();
  await closed?.kill("SIGTERM");
  await world?.close();
  await redis?.close();
});

async function timeline(): Promise<void> {
  // ---- before: players, and sanctions decided while Redis is up -----------------------
  bystander = await player(world.port, "out-bystander");
  const roomId = bystander.room.roomId;
  bystander.room.onMessage("chat", (chat: { text: string }) => {
    const t = sentAt.get(chat.text);
    if (t !== undefined) seen.latency[phase].push(Date.now() - t);
  });
  clean = [];
  for (let i = 0; i < CLEAN_PLAYERS; i++) clean.push(await player(world.port, `out-clean-${i}`, roomId));
  muted = await player(world.port, "out-muted", roomId);
  frozen = await player(world.port, "out-frozen", roomId);
  kicked = await player(world.port, "out-kicked", roomId);
  const banned = await player(world.port, "out-banned", roomId);
  misbehaving = [];
  for (let i = 0; i < 4; i++) misbehaving.push(await player(world.port, `out-z-${i}`, roomId));
  flooder = await player(world.port, "out-flooder", roomId);
  closedPlayer = await player(closed.port, "out-closed-p");
  const closedBanned = await player(closed.port, "out-closed-banned", closedPlayer.room.roomId);

  const issue = (w: Warden, sub: string, kind: "mute" | "freeze" | "kick" | "ban", duration?: number) =>
    w.sanctions.issue({
      did: w.digitalId(sub),
      kind,
      reason: `before the outage: ${kind}`,
      by: "test",
      ...(duration ? { duration } : {}),
    });
  await issue(world.warden, "out-muted", "mute", 600_000);
  await issue(world.warden, "out-frozen", "freeze", 600_000);
  await issue(world.warden, "out-kicked", "kick");
  await issue(world.warden, "out-banned", "ban");
  await issue(closedIssuer, "out-closed-banned", "ban");
  await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
  await waitFor(() => frozen.seen.notices.some((n) => n.kind === "freeze"), "the freeze notice");
  await waitFor(
    () => kicked.seen.leftCode === 4401 && banned.seen.leftCode === 4403 && closedBanned.seen.leftCode === 4403,
    "kick and bans closing their sessions",
  );

  // Clean players keep playing through everything: moves at 10/s, a chat every 1.5 s.
  let n = 0;
  for (const [i, p] of clean.entries()) {
    every(100, () => p.room.send("move", { x: ++n % 100, y: 1 }));
    // Staggered, so that the chats do not all leave on the same tick.
    timers.push(
      setTimeout(
        () => {
          every(1500, () => {
            const text = `clean ${p.sub} ${++n}`;
            sentAt.set(text, Date.now());
            p.room.send("chat", { text });
          });
        },
        Math.floor((i * 1500) / clean.length),
      ),
    );
  }
  await sleep(2000);

  // ---- during: Redis is killed ------------------------------------------------------------
  await redis.kill();
  phase = "during";
  const killedAt = Date.now();
  every(100, () => {
    const s = world.warden.stats();
    seen.bufferedPeak = Math.max(seen.bufferedPeak, s.buffered);
  });
  await sleep(300);
  seen.statsAtKill = world.warden.stats();

  // The muted player keeps chatting, the frozen one keeps moving.
  every(1000, () => {
    seen.mutedChatsSent++;
    muted.room.send("chat", { text: `muted chat ${seen.mutedChatsSent}` });
  });
  every(200, () => frozen.room.send("move", { x: 50 + (++seen.frozenMovesSent % 40), y: 50 }));
  // Misbehaving: unknown message types, a known number of them.
  for (let i = 0; i < Z_OFFENSES; i++) {
    for (const z of misbehaving) z.room.send("teleport", { to: i });
    await sleep(40);
  }
  // A flooder, for most of the outage.
  const flood = setInterval(() => {
    for (let i = 0; i < 5; i++) flooder.room.send("move", { x: i, y: i });
  }, 50);
  timers.push(flood);

  // The join gate, open world: a newcomer gets in; the ID banned before the outage does not.
  let t = Date.now();
  try {
    newcomer = await player(world.port, "out-newcomer", roomId);
    seen.joinOpen = { ok: true, ms: Date.now() - t, error: "" };
    const text = "newcomer says hi during the outage";
    sentAt.set(text, Date.now());
    newcomer.room.send("chat", { text });
    await waitFor(() => bystander.seen.chats.some((c) => c.text === text), "the newcomer's chat", 3000)
      .then(() => (seen.newcomerChatDelivered = true))
      .catch(() => {});
  } catch (e) {
    seen.joinOpen = { ok: false, ms: Date.now() - t, error: (e as Error).message };
  }
  const bannedClient = new Client(`ws://127.0.0.1:${world.port}`);
  bannedClient.auth.token = token("out-banned");
  t = Date.now();
  const refusedBan = await rejection(bannedClient.joinById(roomId)).catch((e: Error) => ({
    code: 0,
    message: e.message,
  }));
  seen.bannedJoinOpen = { code: refusedBan.code, ms: Date.now() - t, message: refusedBan.message };
  const reconnecting = new Client(`ws://127.0.0.1:${world.port}`);
  reconnecting.auth.token = token("out-kicked");
  seen.kickedReconnect = await reconnecting.reconnect(kicked.room.reconnectionToken).then(
    () => "reconnected",
    (e: Error) => `refused: ${e.message}`,
  );

  // The join gate, closed world: a newcomer is refused with 4503; the known ban still says 4403.
  const closedNewcomer = new Client(`ws://127.0.0.1:${closed.port}`);
  closedNewcomer.auth.token = token("out-closed-newcomer");
  t = Date.now();
  const refusedClosed = await rejection(closedNewcomer.joinById(closedPlayer.room.roomId)).catch((e: Error) => ({
    code: 0,
    message: e.message,
  }));
  seen.joinClosed = { code: refusedClosed.code, ms: Date.now() - t, message: refusedClosed.message };
  const closedBannedAgain = new Client(`ws://127.0.0.1:${closed.port}`);
  closedBannedAgain.auth.token = token("out-closed-banned");
  t = Date.now();
  const refusedClosedBan = await rejection(closedBannedAgain.joinById(closedPlayer.room.roomId)).catch(() => ({
    code: 0,
    message: "",
  }));
  seen.bannedJoinClosed = { code: refusedClosedBan.code, ms: Date.now() - t };
  seen.closedPlayerOpenAtBurst = closedPlayer.room.connection.isOpen && closedPlayer.seen.leftCode === null;
  // More offenses than the closed server may buffer, paced under the junk-frame flood bucket
  // (burst 30, 15/s) so that each of them is one event.
  for (let i = 0; i < MAX_BUFFERED + 30; i++) {
    closedPlayer.room.send("teleport", { i });
    await sleep(40);
  }

  await sleep(Math.max(0, killedAt + OUTAGE_MS - 1500 - Date.now()));
  clearInterval(flood);
  await sleep(Math.max(0, killedAt + OUTAGE_MS - Date.now()));
  seen.closedAliveDuringOutage = closed.alive();
  const atRestart = world.warden.stats();
  seen.statsAtRestart = atRestart;
  seen.recordedDuringOutage = atRestart.recorded - seen.statsAtKill.recorded;
  seen.storeErrorsDuringOutage = atRestart.storeErrors - seen.statsAtKill.storeErrors;

  // ---- after: Redis comes back on the same port -------------------------------------------
  await redis.restart();
  phase = "after";
  seen.restartAt = Date.now();
  for (const [i, z] of misbehaving.entries()) {
    void z.seen.left.then(() => (seen.zKickedAfterMs[i] = Date.now() - seen.restartAt));
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const s = world.warden.stats();
    if (
      s.buffered === 0 &&
      s.recorded === s.offenses &&
      (await feedLength(redis.admin, OPEN).catch(() => -1)) === s.recorded - seen.statsAtKill.recorded
    ) {
      seen.drainedAfterMs = Date.now() - seen.restartAt;
      break;
    }
    await sleep(25);
  }
  await waitFor(
    () => misbehaving.every((z) => z.seen.leftCode !== null),
    "the policy's kicks after recovery",
    15_000,
  ).catch(() => {});
  await sleep(1500); // clean traffic after recovery, for the latency figures
  seen.reachableLogged = logger.lines.some((l) => l.message.includes("store reachable again"));
}

describe("Redis killed for 10 s under load, then restarted on the same port", () => {
  it("the timeline ran to its end", () => {
    expect(seen.timelineError).toBe("");
  });

  it("no crash, no unhandled rejection: this process, and the child server", () => {
    expect(processErrors.errors).toEqual([]);
    expect(seen.closedAliveDuringOutage).toBe(true);
    expect(closed.alive()).toBe(true);
    expect(closed.crashLines()).toEqual([]);
  });

  it("the hot path is untouched: clean chats keep being delivered during the outage, with normal latency", () => {
    const { before, during, after } = seen.latency;
    figure("outage", "clean chat latency ms (bystander receipt)", {
      before: { n: before.length, p50: percentile(before, 50), max: Math.max(...before) },
      during: { n: during.length, p50: percentile(during, 50), p99: percentile(during, 99), max: Math.max(...during) },
      after: { n: after.length, p50: percentile(after, 50), max: Math.max(...after) },
    });
    // CLEAN_PLAYERS chatting every 1.5 s for 10 s.
    expect(during.length).toBeGreaterThanOrEqual(CLEAN_PLAYERS * 5);
    expect(percentile(during, 50)).toBeLessThan(Math.max(50, 2 * percentile(before, 50)));
    expect(Math.max(...during)).toBeLessThan(500);
    for (const p of clean) expect(p.seen.notices).toEqual([]);
  });

  it("sanctions decided before the outage are enforced from memory: mute, freeze, kick (no reconnection), ban", () => {
    expect(seen.mutedChatsSent).toBeGreaterThanOrEqual(8);
    expect(bystander.seen.chats.filter((c) => c.from === muted.room.sessionId)).toEqual([]);
    expect(seen.frozenMovesSent).toBeGreaterThanOrEqual(40);
    expect(avatarIn(bystander.room, frozen.room.sessionId)?.x).toBe(0);
    expect(seen.kickedReconnect).toMatch(/^refused/);
    expect(seen.bannedJoinOpen.code).toBe(4403);
    expect(seen.bannedJoinOpen.message).toMatch(/banned permanently: before the outage/);
  });

  it('join gate, failMode "open": a newcomer gets in within storeTimeoutMs + margin and plays', () => {
    figure("outage", "join during the outage (ms)", {
      open: seen.joinOpen.ms,
      openBanned: seen.bannedJoinOpen.ms,
      closed: seen.joinClosed.ms,
      closedBanned: seen.bannedJoinClosed.ms,
      storeTimeoutMs: STORE_TIMEOUT_MS,
    });
    expect(seen.joinOpen).toMatchObject({ ok: true, error: "" });
    expect(seen.joinOpen.ms).toBeLessThan(STORE_TIMEOUT_MS + 1500);
    expect(seen.newcomerChatDelivered).toBe(true);
    expect(seen.bannedJoinOpen.ms).toBeLessThan(STORE_TIMEOUT_MS + 1500);
  });

  it('join gate, failMode "closed": a newcomer is refused with 4503 within storeTimeoutMs + margin; a known ban still says 4403', () => {
    expect(seen.joinClosed.code).toBe(4503);
    expect(seen.joinClosed.message).toMatch(/store unavailable/);
    expect(seen.joinClosed.ms).toBeLessThan(STORE_TIMEOUT_MS + 1500);
    expect(seen.bannedJoinClosed.code).toBe(4403);
  });

  it("offenses detected during the outage are buffered, and every one of them is in Redis after recovery", async () => {
    const atKill = seen.statsAtKill!;
    const atRestart = seen.statsAtRestart!;
    const final = world.warden.stats();
    const detectedDuringOutage = atRestart.offenses - atKill.offenses;
    const feed = await feedLength(redis.admin, OPEN);
    figure("outage", "offense events (open server)", {
      detectedDuringOutage,
      bufferedPeak: seen.bufferedPeak,
      recordedDuringOutage: seen.recordedDuringOutage,
      storeErrorsDuringOutage: seen.storeErrorsDuringOutage,
      failedBatches: final.failedBatches,
      inRedisAfterRecovery: feed,
      drainedAfterRestartMs: seen.drainedAfterMs,
    });
    expect(seen.recordedDuringOutage).toBe(0);
    expect(seen.bufferedPeak).toBeGreaterThanOrEqual(misbehaving.length * Z_OFFENSES);
    expect(detectedDuringOutage).toBeGreaterThanOrEqual(misbehaving.length * Z_OFFENSES);
    expect(final).toMatchObject({ buffered: 0, overflowed: 0 });
    expect(final.recorded).toBe(final.offenses);
    // Redis came back empty: it holds exactly what was not acknowledged before the kill.
    expect(feed).toBe(final.offenses - atKill.recorded);
    for (const z of misbehaving) expect(await historyLength(redis.admin, OPEN, openDid(z.sub))).toBe(Z_OFFENSES);
    for (const p of clean) expect(await historyLength(redis.admin, OPEN, openDid(p.sub))).toBe(0);
    expect(seen.drainedAfterMs).toBeGreaterThanOrEqual(0);
    expect(seen.drainedAfterMs).toBeLessThan(10_000);
    expect(seen.reachableLogged).toBe(true);
  });

  it("the bounded buffer overflows when it must: counted in stats, logged once, the rest replayed", async () => {
    expect(await closed.drain()).toBe(true);
    const stats = await closed.stats();
    const feed = await feedLength(redis.admin, CLOSED);
    const overflowLines = closed.output
      .join("")
      .split("\n")
      .filter((l) => l.includes("offense buffer full"));
    figure("outage", "bounded buffer (closed server, maxBuffered 20)", {
      offenses: stats.offenses,
      overflowed: stats.overflowed,
      inRedisAfterRecovery: feed,
      overflowLogLines: overflowLines.length,
    });
    expect(seen.closedPlayerOpenAtBurst).toBe(true);
    expect(stats.offenses).toBe(MAX_BUFFERED + 30);
    expect(stats.overflowed).toBeGreaterThanOrEqual(30);
    expect(stats.buffered).toBe(0);
    expect(feed + stats.overflowed).toBe(stats.offenses);
    expect(feed).toBeGreaterThan(0);
    expect(overflowLines).toHaveLength(1);
  });

  it("the plugin reconnects by itself: the policy's sanctions for offenses of the outage reach the players after recovery", () => {
    figure("outage", "policy kicks after restart (ms)", seen.zKickedAfterMs);
    for (const z of misbehaving) expect(z.seen.leftCode).toBe(4401);
    expect(flooder.seen.notices.map((n) => n.kind).slice(0, 2)).toEqual(["warn", "mute"]);
  });

  it("a sanction issued by another process after recovery reaches a live session", async () => {
    const target = newcomer!;
    const t = Date.now();
    await openIssuer.sanctions.issue({
      did: openDid(target.sub),
      kind: "mute",
      duration: 60_000,
      reason: "after recovery",
      by: "test",
    });
    await waitFor(
      () => target.seen.notices.some((n) => n.kind === "mute" && n.reason === "after recovery"),
      "the mute after recovery",
      5000,
    );
    figure("outage", "mute from another process after recovery (ms)", Date.now() - t);
    const text = "muted after recovery";
    target.room.send("chat", { text });
    await sleep(300);
    expect(bystander.seen.chats.filter((c) => c.text === text)).toEqual([]);
  });

  it("the closed server admits newcomers again once Redis is back", async () => {
    // (its room of the outage is gone: the policy kicked its last player after recovery)
    const p = await player(closed.port, "out-closed-after");
    expect(p.room.sessionId).toBeTruthy();
  });

  it("a session that joined during the outage is bound in Redis once Redis is back", async () => {
    const session = newcomer!;
    const bound = async () =>
      (await world.warden.sessions(openDid(session.sub))).some((b) => b.sessionId === session.room.sessionId);
    // Three heartbeats (500 ms) and some margin.
    await waitFor(bound, "the newcomer's binding", 4000).catch(() => {});
    expect(session.seen.leftCode).toBeNull();
    expect(await bound()).toBe(true);
  });

  it("a sanction published while this process's subscription is reconnecting still reaches its live session", async () => {
    const target = await player(world.port, "out-sub-gap", bystander.room.roomId);
    const control = await player(world.port, "out-sub-gap-control", bystander.room.roomId);
    // Drop every pub/sub connection (Redis does this itself to a subscriber over its
    // client-output-buffer-limit), then publish at once: the subscriber is reconnecting.
    const killed = await redis.admin.client("KILL", "TYPE", "pubsub");
    await openIssuer.sanctions.issue({
      did: openDid(target.sub),
      kind: "ban",
      duration: 60_000,
      reason: "issued while the subscription was down",
      by: "test",
    });
    expect(Number(killed)).toBeGreaterThanOrEqual(1);
    // Control: once the subscription is back, new sanctions arrive again.
    await sleep(1000);
    await openIssuer.sanctions.issue({ did: openDid(control.sub), kind: "warn", reason: "control", by: "test" });
    await waitFor(() => control.seen.notices.some((n) => n.kind === "warn"), "the control warn", 5000);
    await waitFor(
      () => target.seen.leftCode !== null,
      "the ban issued during the gap to close the session",
      5000,
    ).catch(() => {});
    expect(target.seen.leftCode).toBe(4403);
  });
});
