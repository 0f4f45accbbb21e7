/**
 * Scenario 3 — crash. Two real server processes (rooms/server.ts, the `npm start` entry:
 * RedisPresence + RedisDriver + the warden, all on a redis-server this file starts) are
 * killed with SIGKILL at the same moment, while sanctions are in force and offense events
 * are being recorded; a sanction is issued while both are down; both are started again.
 *
 * After the restart: every ban still refuses (in both new processes), mutes and freezes
 * are re-applied to the IDs when they come back (in the *other* process), the bindings of
 * the dead processes are swept, and what reached Redis is consistent (no half batch).
 */
import { Client } from "@colyseus/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarden, type Warden } from "../../src/index.js";
import {
  feedLength,
  historiesTotal,
  historyLength,
  keysUnder,
  ownRedis,
  sleep,
  type OwnRedis,
} from "./helpers/redis.js";
import { startNpmServer, type ServerProcess } from "./helpers/server.js";
import {
  avatarIn,
  figure,
  join,
  JWT_SECRET,
  leave,
  rejection,
  token,
  waitFor,
  WARDEN_SECRET,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";

const prefix = "rel-crash";
const HEARTBEAT_MS = 300;
let redis: OwnRedis;
let env: Record<string, string>;
let a: ServerProcess;
let b: ServerProcess;
let issuer: Warden;
const processErrors = watchProcessErrors();
const players: Player[] = [];
const dead = { a: "", b: "" };
let boundBeforeCrash: string[] = [];
let burst = { sent: 0, subjects: [] as string[] };
let killedAt = 0;
let restartedAt = 0;
/** Resolves with the time (epoch ms) when no binding of a dead process is left. */
let swept: Promise<number> = Promise.resolve(0);

beforeAll(async () => {
  redis = await ownRedis();
  env = {
    REDIS_URL: redis.url,
    WARDEN_SECRET,
    JWT_SECRET,
    WARDEN_PREFIX: prefix,
    WARDEN_HEARTBEAT_MS: String(HEARTBEAT_MS),
  };
  [a, b] = await Promise.all([startNpmServer(env), startNpmServer(env)]);
  // The issuer beats once an hour: the sweeping after the crash is the new servers' work.
  issuer = createWarden({
    secret: WARDEN_SECRET,
    store: redis.url,
    prefix,
    heartbeatMs: 3_600_000,
    logger: { info() {}, warn() {}, error() {} },
  });
  await issuer.ready();
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  for (const p of players) await leave(p);
  await Promise.all([a?.kill("SIGTERM"), b?.kill("SIGTERM")]);
  await issuer?.close();
  await redis?.close();
});

async function player(port: number, sub: string, roomId?: string): Promise<Player> {
  const p = await join(port, sub, roomId ? { roomId } : {});
  players.push(p);
  return p;
}

const did = (sub: string) => issuer.digitalId(sub);

async function issue(sub: string, kind: "mute" | "freeze" | "ban", duration?: number) {
  const r = await issuer.sanctions.issue({
    did: did(sub),
    kind,
    reason: `crash test ${kind}`,
    by: "test",
    ...(duration ? { duration } : {}),
  });
  if (r.status !== "issued") throw new Error("not issued");
}

/** Bindings (of the IDs bound at the crash) that still name a dead process. */
async function lingeringBindings(): Promise<string[]> {
  const out: string[] = [];
  for (const sub of boundBeforeCrash) {
    for (const s of await issuer.sessions(did(sub)))
      if (s.processId === dead.a || s.processId === dead.b) out.push(`${sub}@${s.processId}`);
  }
  return out;
}

async function joinRefusal(port: number, sub: string) {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = token(sub);
  return rejection(c.create("world"));
}

describe("kill -9 of every server process, sanctions in force, events in flight", () => {
  it("before the crash: sanctions in force and bindings in Redis", async () => {
    const hostA = await player(a.port, "crash-host-a");
    const hostB = await player(b.port, "crash-host-b");
    const muted = await player(b.port, "crash-muted", hostB.room.roomId);
    const frozen = await player(a.port, "crash-frozen", hostA.room.roomId);
    const bannedLive = await player(a.port, "crash-banned-live", hostA.room.roomId);
    await issue("crash-muted", "mute", 600_000);
    await issue("crash-frozen", "freeze", 600_000);
    await issue("crash-banned-live", "ban");
    await issue("crash-banned-offline", "ban", 3_600_000);
    await waitFor(
      () => muted.seen.notices.some((n) => n.kind === "mute") && frozen.seen.notices.some((n) => n.kind === "freeze"),
      "mute and freeze notices",
    );
    await waitFor(() => bannedLive.seen.leftCode === 4403, "the live ban");

    // Flooders in both processes: the policy mutes them (spam ladder: warn at 1, mute at 3).
    const flooders = [
      await player(a.port, "crash-flooder-a", hostA.room.roomId),
      await player(b.port, "crash-flooder-b", hostB.room.roomId),
    ];
    const flood = setInterval(() => {
      for (const f of flooders) for (let i = 0; i < 5; i++) f.room.send("move", { x: i, y: i });
    }, 50);
    try {
      await waitFor(
        () => flooders.every((f) => f.seen.notices.some((n) => n.kind === "mute")),
        "the policy's mute of both flooders",
        15_000,
      );
      // Offenders whose events are being recorded at the moment of the kill: 8 unknown-type
      // messages each (under the malformed ladder's kick at 10), sent in the last instant.
      const burstPlayers: Player[] = [];
      for (let i = 0; i < 10; i++)
        burstPlayers.push(
          await player(i % 2 ? b.port : a.port, `crash-burst-${i}`, i % 2 ? hostB.room.roomId : hostA.room.roomId),
        );
      const live = [hostA, hostB, muted, frozen, ...flooders, ...burstPlayers];
      await waitFor(
        async () => {
          for (const p of live) if ((await issuer.sessions(did(p.sub))).length !== 1) return false;
          return true;
        },
        "every live session bound",
        5000,
      );
      boundBeforeCrash = live.map((p) => p.sub);
      dead.a = a.processId;
      dead.b = b.processId;
      expect((await issuer.sessions(did("crash-muted")))[0]?.processId).toBe(b.processId);

      // Half of them early enough to be recorded, half at the very moment of the kill.
      for (let round = 0; round < 4; round++) for (const p of burstPlayers) p.room.send("teleport", { round });
      await sleep(30);
      for (let round = 4; round < 8; round++) for (const p of burstPlayers) p.room.send("teleport", { round });
      burst = { sent: 8 * burstPlayers.length, subjects: burstPlayers.map((p) => p.sub) };
      await sleep(2);
      killedAt = Date.now();
      await Promise.all([a.kill("SIGKILL"), b.kill("SIGKILL")]);
    } finally {
      clearInterval(flood);
    }
    expect(a.alive() || b.alive()).toBe(false);
  });

  it("a ban issued while every server is down is stored all the same", async () => {
    await issue("crash-banned-while-down", "ban", 3_600_000);
    [a, b] = await Promise.all([startNpmServer(env), startNpmServer(env)]);
    restartedAt = Date.now();
    swept = (async () => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        if ((await lingeringBindings()).length === 0) return Date.now();
        await sleep(25);
      }
      return -1;
    })();
    expect([a.processId, b.processId]).not.toContain(dead.a);
    expect([a.processId, b.processId]).not.toContain(dead.b);
  });

  it("every ban still refuses, in both new processes", async () => {
    for (const port of [a.port, b.port]) {
      for (const sub of ["crash-banned-live", "crash-banned-offline", "crash-banned-while-down"]) {
        const refused = await joinRefusal(port, sub);
        expect(refused.code, `${sub} on ${port}`).toBe(4403);
      }
    }
    expect((await joinRefusal(a.port, "crash-banned-live")).message).toMatch(/banned permanently: crash test ban/);
  });

  it("mute, freeze and the policy's mutes are re-applied when the IDs come back (in the other process)", async () => {
    const host = await player(a.port, "crash-host-after");
    const muted = await player(a.port, "crash-muted", host.room.roomId); // was in B
    const frozen = await player(b.port, "crash-frozen"); // was in A
    const frozenWatcher = await player(b.port, "crash-watcher-after", frozen.room.roomId);
    const flooderA = await player(b.port, "crash-flooder-a", frozen.room.roomId);
    const flooderB = await player(a.port, "crash-flooder-b", host.room.roomId);
    await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute re-applied");
    await waitFor(() => frozen.seen.notices.some((n) => n.kind === "freeze"), "the freeze re-applied");
    await waitFor(
      () =>
        flooderA.seen.notices.some((n) => n.kind === "mute") && flooderB.seen.notices.some((n) => n.kind === "mute"),
      "the policy mutes re-applied",
    );
    await waitFor(
      () => avatarIn(host.room, muted.room.sessionId)?.restriction === "muted",
      "muted in the others' state",
    );
    await waitFor(
      () => avatarIn(frozenWatcher.room, frozen.room.sessionId)?.restriction === "frozen",
      "frozen in the others' state",
    );
    muted.room.send("chat", { text: "muted after the crash" });
    flooderB.room.send("chat", { text: "flooder after the crash" });
    frozen.room.send("move", { x: 42, y: 42 });
    host.room.send("chat", { text: "marker" });
    await waitFor(() => host.seen.chats.some((c) => c.text === "marker"), "the marker");
    await sleep(200);
    expect(host.seen.chats.map((c) => c.text)).toEqual(["marker"]);
    expect(avatarIn(frozenWatcher.room, frozen.room.sessionId)?.x).toBe(0);
  });

  it("no binding of a dead process lingers: the new processes sweep them", async () => {
    const sweptAt = await swept;
    expect(await lingeringBindings()).toEqual([]);
    expect(sweptAt).toBeGreaterThan(0);
    expect(await keysUnder(redis.admin, prefix, `{procs}:sessions:${dead.a}`)).toEqual([]);
    expect(await keysUnder(redis.admin, prefix, `{procs}:sessions:${dead.b}`)).toEqual([]);
    const alive = await redis.admin.zrange(`${prefix}:{procs}:alive`, 0, -1);
    expect(alive).not.toContain(dead.a);
    expect(alive).not.toContain(dead.b);
    expect(alive).toEqual(expect.arrayContaining([a.processId, b.processId])); // (and the issuer of this test)
    // Every binding now names a live process.
    for (const sub of ["crash-muted", "crash-frozen"]) {
      const bindings = await issuer.sessions(did(sub));
      expect(bindings).toHaveLength(1);
      expect([a.processId, b.processId]).toContain(bindings[0]!.processId);
    }
    figure("crash", "bindings swept", {
      boundAtCrash: boundBeforeCrash.length,
      restartTookMs: restartedAt - killedAt,
      sweptMsAfterRestart: sweptAt - restartedAt,
      sweptMsAfterKill: sweptAt - killedAt,
      heartbeatMs: HEARTBEAT_MS,
    });
  });

  it("what reached Redis is consistent: every feed event has its per-ID copy and points (no half batch)", async () => {
    const feed = await feedLength(redis.admin, prefix);
    const histories = await historiesTotal(redis.admin, prefix);
    expect(histories.events).toBe(feed);
    const pointKeys = await keysUnder(redis.admin, prefix, "{b*}:*:points");
    expect(pointKeys.length).toBeGreaterThan(0);
    for (const key of pointKeys) {
      const points = await redis.admin.hgetall(key);
      const counted = Object.entries(points)
        .filter(([f]) => f.endsWith(":n"))
        .reduce((sum, [, v]) => sum + Number(v), 0);
      const historyKey = key.replace(/:points$/, ":events");
      expect(counted, key).toBe(await redis.admin.xlen(historyKey));
    }
    let burstRecorded = 0;
    for (const sub of burst.subjects) burstRecorded += await historyLength(redis.admin, prefix, did(sub));
    figure("crash", "offense events around the kill", {
      feed,
      burstSent: burst.sent,
      burstRecorded,
      burstLost: burst.sent - burstRecorded,
    });
    expect(burstRecorded).toBeLessThanOrEqual(burst.sent);
  });

  it("the new processes are healthy", () => {
    expect(a.alive() && b.alive()).toBe(true);
    expect([...a.crashLines(), ...b.crashLines()]).toEqual([]);
    expect(processErrors.errors).toEqual([]);
  });
});
