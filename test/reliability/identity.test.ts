/**
 * Scenario 6 — identity spoofing. A real world (in this process), a real Redis started
 * here, real SDK clients. Whatever a client puts in its join options, its message fields,
 * its reconnection token or its JWT, its digital ID is the HMAC of the subject the server
 * verified — or it does not get in.
 */
import { Client } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { keysUnder, ownRedis, storedEvents, type OwnRedis, worldOver } from "./helpers/redis.js";
import {
  avatarIn,
  join,
  JWT_SECRET,
  leave,
  memoryLogger,
  rejection,
  sendRaw,
  token,
  waitFor,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";

const prefix = "rel-identity";
let redis: OwnRedis;
let world: World;
const processErrors = watchProcessErrors();
const players: Player[] = [];

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, { prefix, logger: memoryLogger(), heartbeatMs: 500 }, { reconnectSeconds: 20 });
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  for (const p of players) await leave(p);
  await world?.close();
  await redis?.close();
});

async function player(sub: string, options: Parameters<typeof join>[2] = {}): Promise<Player> {
  const p = await join(world.port, sub, options);
  players.push(p);
  return p;
}

const did = (sub: string) => world.warden.digitalId(sub);

/** Every key of an ID (its hash tag) under the prefix. */
async function keysOf(sub: string): Promise<string[]> {
  return keysUnder(redis.admin, prefix, `{${did(sub)}}:*`);
}

describe("join options", () => {
  it("cannot pick the digital ID: did, sub, subject, auth, token and name in the options are ignored", async () => {
    const victim = "victim-options";
    const victimToken = token(victim);
    const mallory = await player("mallory-options", {
      name: "Mallory",
      options: {
        did: did(victim),
        sub: victim,
        subject: victim,
        auth: { sub: victim },
        token: victimToken,
        _authToken: victimToken,
        name: "Victim",
        processId: "p0",
      },
    });
    await waitFor(
      async () => (await world.warden.sessions(did("mallory-options"))).length === 1,
      "the binding of the verified subject",
    );
    const [binding] = await world.warden.sessions(did("mallory-options"));
    expect(binding).toMatchObject({ sessionId: mallory.room.sessionId, processId: world.warden.processId });
    expect(await world.warden.sessions(did(victim))).toEqual([]);
    expect(await keysOf(victim)).toEqual([]);
    // What this session does counts against its own ID.
    mallory.room.send("teleport", {});
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did("mallory-options"))).length === 1,
      "the offense on the real ID",
    );
    expect(await keysOf(victim)).toEqual([]);
    expect(avatarIn(mallory.room, mallory.room.sessionId)?.name).toBe("Mallory");
  });
});

describe("message fields", () => {
  it("an offense is recorded against the sender, whatever IDs or session ids its message names", async () => {
    const victim = await player("victim-fields");
    const offender = await player("offender-fields", { roomId: victim.room.roomId });
    const spoof = {
      did: did("victim-fields"),
      sub: "victim-fields",
      from: victim.room.sessionId,
      sessionId: victim.room.sessionId,
      client: victim.room.sessionId,
    };
    offender.room.send("chat", { text: "fuck off", ...spoof });
    offender.room.send("teleport", spoof);
    offender.room.send("chat", { text: "marker after spoofs", ...spoof });
    await waitFor(() => victim.seen.chats.some((c) => c.text === "marker after spoofs"), "the marker");
    // The room stamps chats with the real sender, not the claimed one.
    expect(victim.seen.chats.find((c) => c.text === "marker after spoofs")?.from).toBe(offender.room.sessionId);
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did("offender-fields"))).length === 2,
      "two offenses on the sender",
    );
    const kinds = (await storedEvents(redis.admin, prefix, did("offender-fields"))).map((e) => e.kind).sort();
    expect(kinds).toEqual(["abusive_text", "unknown_type"]);
    expect(await storedEvents(redis.admin, prefix, did("victim-fields"))).toEqual([]);
  });

  it("a report is filed by the reporter's own ID, whatever reporter it claims", async () => {
    const target = await player("target-report");
    const reporter = await player("reporter-report", { roomId: target.room.roomId });
    const framed = await player("framed-report", { roomId: target.room.roomId });
    const ack = new Promise<{ status: string }>((resolve) => reporter.room.onMessage("report:ack", resolve));
    reporter.room.send("report", {
      sessionId: target.room.sessionId,
      reason: "griefing",
      reporter: did("framed-report"),
      from: framed.room.sessionId,
    });
    expect((await ack).status).toBe("filed");
    const reporters = await redis.admin.zrange(`${prefix}:{${did("target-report")}}:reports`, 0, -1);
    expect(reporters).toEqual([did("reporter-report")]);
    // The report case and the reporters' counts (issue 10) name the real reporter too.
    const [caseId, ...more] = await redis.admin.zrange(`${prefix}:{${did("target-report")}}:reviews`, 0, -1);
    expect(more).toEqual([]);
    const record = JSON.parse(
      (await redis.admin.hget(`${prefix}:{${did("target-report")}}:review:${caseId}`, "json")) ?? "{}",
    ) as { type?: string; reports?: { reporter: string }[] };
    expect({ type: record.type, reporters: record.reports?.map((r) => r.reporter) }).toEqual({
      type: "case",
      reporters: [did("reporter-report")],
    });
    expect(await redis.admin.zcard(`${prefix}:{${did("reporter-report")}}:reported-by`)).toBe(1);
    expect(await redis.admin.exists(`${prefix}:{${did("framed-report")}}:reported-by`)).toBe(0);
    expect(await redis.admin.zrange(`${prefix}:{${did("framed-report")}}:involved`, 0, -1)).toEqual([]);
  });

  it("a second JOIN_ROOM frame on a joined socket changes nothing", async () => {
    const first = await player("rejoin-frame");
    const other = await player("rejoin-other", { roomId: first.room.roomId });
    // JOIN_ROOM (10) followed by the other session's reconnection token.
    const otherToken = Buffer.from(other.room.reconnectionToken.split(":")[1]!);
    sendRaw(first.room, [10, otherToken.length, ...otherToken]);
    first.room.send("teleport", {});
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did("rejoin-frame"))).length === 1,
      "the offense on the first ID",
    );
    expect(await storedEvents(redis.admin, prefix, did("rejoin-other"))).toEqual([]);
    const [binding] = await world.warden.sessions(did("rejoin-frame"));
    expect(binding?.sessionId).toBe(first.room.sessionId);
  });
});

describe("reconnection tokens", () => {
  it("a reconnection with another account's JWT keeps the seat's digital ID: the other ID's ban does not apply, the seat's mute does", async () => {
    const alice = await player("alice-seat");
    const keeper = await player("keeper-seat", { roomId: alice.room.roomId });
    const sessionId = alice.room.sessionId;
    alice.room.connection.close(4999); // an abnormal drop: the room offers a reconnection seat
    await new Promise((r) => setTimeout(r, 150));
    const thief = new Client(`ws://127.0.0.1:${world.port}`);
    thief.auth.token = token("mallory-seat");
    const back = await thief.reconnect(alice.room.reconnectionToken);
    back.reconnection.enabled = false;
    const backSeen = { notices: [] as { kind: string }[], left: null as number | null };
    back.onMessage("warden:notice", (n: { kind: string }) => backSeen.notices.push(n));
    back.onMessage("*", () => {});
    back.onLeave((code: number) => {
      backSeen.left = code;
    });
    expect(back.sessionId).toBe(sessionId);
    await waitFor(
      async () => (await world.warden.sessions(did("alice-seat"))).some((b) => b.sessionId === sessionId),
      "the seat still bound to alice",
    );
    expect(await world.warden.sessions(did("mallory-seat"))).toEqual([]);

    await world.warden.sanctions.issue({
      did: did("mallory-seat"),
      kind: "ban",
      reason: "the other account",
      by: "test",
    });
    await world.warden.sanctions.issue({
      did: did("alice-seat"),
      kind: "mute",
      duration: 60_000,
      reason: "the seat's account",
      by: "test",
    });
    await waitFor(() => backSeen.notices.some((n) => n.kind === "mute"), "the seat's mute");
    back.send("chat", { text: "through the mute?" });
    back.send("teleport", {});
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did("alice-seat"))).length === 1,
      "the offense on the seat's ID",
    );
    expect(backSeen.left).toBeNull();
    expect(keeper.seen.chats.filter((c) => c.text === "through the mute?")).toEqual([]);
    expect(await keysOf("mallory-seat")).toEqual([expect.stringMatching(/:sanctions$/)]);
    await leave(back);
  });

  it("forged, foreign and replayed reconnection tokens are refused and bind nothing", async () => {
    const owner = await player("token-owner");
    await player("token-keeper", { roomId: owner.room.roomId });
    const [roomId, real] = owner.room.reconnectionToken.split(":") as [string, string];
    const attempts = [
      `${roomId}:${"A".repeat(real.length)}`, // forged
      `${roomId}:${real.slice(0, -1)}${real.endsWith("x") ? "y" : "x"}`, // one character off
      `nosuchroom:${real}`, // another room
    ];
    for (const attempt of attempts) {
      const c = new Client(`ws://127.0.0.1:${world.port}`);
      c.auth.token = token("token-thief");
      // Refused by Colyseus (its wording varies: "invalid or expired", "disposed"…): the join promise rejects.
      await rejection(c.reconnect(attempt));
    }
    // The consented leave gives no seat: its token cannot be replayed either.
    await leave(owner);
    await new Promise((r) => setTimeout(r, 100));
    const c = new Client(`ws://127.0.0.1:${world.port}`);
    c.auth.token = token("token-thief");
    await rejection(c.reconnect(owner.room.reconnectionToken));
    expect(await world.warden.sessions(did("token-thief"))).toEqual([]);
    expect(await keysOf("token-thief")).toEqual([]);
  });

  it("the token of a live session (Colyseus lets it take the socket over) carries the seat's ID, never the caller's", async () => {
    const holder = await player("live-holder");
    await player("live-keeper", { roomId: holder.room.roomId });
    const c = new Client(`ws://127.0.0.1:${world.port}`);
    c.auth.token = token("live-thief");
    const taken = await c.reconnect(holder.room.reconnectionToken).catch(() => undefined);
    if (taken !== undefined) {
      taken.reconnection.enabled = false;
      expect(taken.sessionId).toBe(holder.room.sessionId);
      taken.send("teleport", {});
      await waitFor(
        async () => (await storedEvents(redis.admin, prefix, did("live-holder"))).length === 1,
        "the offense on the seat's ID",
      );
      await leave(taken);
    }
    expect(await world.warden.sessions(did("live-thief"))).toEqual([]);
    expect(await keysOf("live-thief")).toEqual([]);
  });
});

describe("JWTs", () => {
  const victim = "jwt-victim";
  const now = Math.floor(Date.now() / 1000);
  const [header, payload] = token("jwt-attacker").split(".") as [string, string];
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const cases: [string, string][] = [
    ["signed with another secret", jwt.sign({ sub: victim }, "not-the-jwt-secret-0123456789", { algorithm: "HS256" })],
    ['alg "none"', `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: victim, iat: now })}.`],
    [
      "payload swapped, signature kept",
      `${header}.${b64({ sub: victim, iat: now })}.${token("jwt-attacker").split(".")[2]}`,
    ],
    [
      "HS512 with the right secret (algorithm not allowed)",
      jwt.sign({ sub: victim }, JWT_SECRET, { algorithm: "HS512" }),
    ],
    ["expired", jwt.sign({ sub: victim, exp: now - 60 }, JWT_SECRET, { algorithm: "HS256" })],
    ["not valid yet (nbf)", jwt.sign({ sub: victim, nbf: now + 3600 }, JWT_SECRET, { algorithm: "HS256" })],
    ["no sub", jwt.sign({ name: victim }, JWT_SECRET, { algorithm: "HS256" })],
    ["empty sub", jwt.sign({ sub: "" }, JWT_SECRET, { algorithm: "HS256" })],
    ["numeric sub", jwt.sign({ sub: 42 } as object, JWT_SECRET, { algorithm: "HS256" })],
    ["object sub", `${header}.${b64({ sub: { toString: victim } })}.x`],
    ["not a JWT", "definitely-not-a-jwt"],
    ["truncated", token(victim).slice(0, -10)],
    ["8 KB of garbage", "e".repeat(8192)],
    [
      "payload of the attacker's token with a victim header",
      `${b64({ alg: "HS256", typ: "JWT", kid: victim })}.${payload}.sig`,
    ],
  ];

  for (const [name, jwtText] of cases) {
    it(`token ${name}: refused (525), nothing in the store`, async () => {
      const c = new Client(`ws://127.0.0.1:${world.port}`);
      c.auth.token = jwtText;
      const refused = await rejection(c.joinOrCreate("world"));
      expect(refused.code).toBe(525);
      expect(await world.warden.sessions(did(victim))).toEqual([]);
      expect(await keysOf(victim)).toEqual([]);
    });
  }

  it("a valid token still works after all that (control), and nothing crashed", async () => {
    const ok = await player(victim);
    await waitFor(async () => (await world.warden.sessions(did(victim))).length === 1, "the control binding");
    await leave(ok);
    expect(processErrors.errors).toEqual([]);
  });
});
