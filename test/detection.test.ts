/**
 * Detection and recording, end to end: real server, real SDK clients, real Redis.
 * A short ladder keeps escalation tests quick; the default ladder is tested in policy.test.ts.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import type { OffenseEvent } from "../src/recorder/offense.js";
import type { ReportCase } from "../src/reviews/model.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";
import type { Room } from "@colyseus/sdk";

let world: World;
let redis: Redis;
const prefix = uniquePrefix("detect");
const keys = new RedisKeys(prefix);
let account = 0;
const nextAccount = () => `det-${++account}-${prefix}`;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 0,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix,
      logger: { info() {}, warn() {}, error() {} },
      guard: { flood: { types: { move: { rate: 20, burst: 20 }, chat: { rate: 5, burst: 10 } } } },
      policy: {
        tracks: {
          spam: {
            halfLifeMs: "10m",
            ladder: [
              { at: 1, kind: "warn" },
              { at: 2, kind: "mute", duration: "1m" },
              { at: 3, kind: "kick" },
            ],
          },
          malformed: {
            halfLifeMs: "10m",
            ladder: [
              { at: 2, kind: "warn" },
              { at: 50, kind: "kick" },
            ],
          },
          abuse: { halfLifeMs: "10m", ladder: [{ at: 100, kind: "warn" }] },
        },
      },
      reports: { windowMs: 60_000, threshold: 3, newIdMs: 300, maxPerWindow: 4 },
    },
  });
  await world.warden.ready();
});

afterAll(async () => {
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

async function join(sub: string, roomId?: string) {
  const c = client(world.port, sub);
  const room = roomId ? await c.joinById(roomId) : await c.create("world");
  const seen = observe(room);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return { room, seen, did: world.warden.digitalId(sub) };
}

async function events(did: string): Promise<OffenseEvent[]> {
  return world.warden.store.offensesOf(did, { limit: 1000 });
}

/** Sends raw protocol bytes on the client's socket, bypassing the SDK's encoder. */
function sendRaw(room: Room, bytes: number[] | Uint8Array): void {
  room.connection.send(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

describe("flood", () => {
  it("a flooding client is warned, then muted, then kicked, as the ladder says", async () => {
    const { room, seen, did } = await join(nextAccount());
    const flood = setInterval(() => {
      for (let i = 0; i < 10; i++) room.send("move", { x: i, y: i });
    }, 20);
    try {
      await waitFor(() => seen.leftCode !== null, "the kick", 10_000);
    } finally {
      clearInterval(flood);
    }
    expect(seen.leftCode).toBe(4401);
    expect(seen.notices.map((n) => n.kind)).toEqual(["warn", "mute", "kick"]);
    const recorded = await events(did);
    expect(recorded.length).toBeGreaterThanOrEqual(3);
    expect(recorded[0]).toMatchObject({
      did,
      detector: "flood",
      kind: "rate",
      track: "spam",
      room: { name: "world", id: room.roomId },
    });
    expect(recorded[0]!.evidence).toMatchObject({ type: "move", rate: 20, burst: 20 });
    const sanctions = await world.warden.sanctions.history(did);
    expect(sanctions.map((s) => `${s.kind}:${s.by}`)).toEqual(["warn:policy", "mute:policy", "kick:policy"]);
  });

  it("a client that sends normal traffic at a normal rate is never sanctioned", async () => {
    const { room, seen, did } = await join(nextAccount());
    for (let i = 0; i < 40; i++) {
      room.send("move", { x: i, y: i });
      if (i % 10 === 0) room.send("chat", { text: `hello number ${i}, nice castle` });
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => seen.chats.filter((c) => c.from === room.sessionId).length === 4, "own chats echoed");
    await world.warden.recorder.drain();
    expect(seen.notices).toEqual([]);
    expect(await events(did)).toEqual([]);
    expect(await world.warden.sanctions.history(did)).toEqual([]);
    await room.leave();
  });

  it("limits per ID, not per session: two sessions of one ID share one bucket", async () => {
    const sub = nextAccount();
    const a = await join(sub);
    const b = await join(sub);
    // 15 + 15 moves in a burst: each session alone is under the burst of 20, together they are not.
    for (let i = 0; i < 15; i++) {
      a.room.send("move", { x: i, y: 0 });
      b.room.send("move", { x: i, y: 0 });
    }
    await waitFor(async () => (await events(a.did)).some((e) => e.kind === "rate"), "a flood event for the shared ID");
    await a.room.leave();
    await b.room.leave().catch(() => {});
  });
});

describe("chat", () => {
  it("catches abusive chat through the usual evasions, records the term (not the message), and drops it", async () => {
    const speaker = await join(nextAccount());
    const listener = await join(nextAccount(), speaker.room.roomId);
    const evasions = ["FUCK you", "f\u200bu\u200bc\u200bk", "fück off", "sh1t head", "fuuuuuck", "\u0455hit"];
    for (const text of evasions) speaker.room.send("chat", { text });
    speaker.room.send("chat", { text: "clean marker" });
    await waitFor(() => listener.seen.chats.some((c) => c.text === "clean marker"), "the clean marker");
    expect(listener.seen.chats.map((c) => c.text)).toEqual(["clean marker"]);
    await waitFor(
      async () => (await events(speaker.did)).filter((e) => e.kind === "abusive_text").length === evasions.length,
      "one event per abusive message",
    );
    const recorded = await events(speaker.did);
    for (const e of recorded) {
      expect(e).toMatchObject({ detector: "chat", kind: "abusive_text", track: "abuse" });
      expect(typeof e.evidence.term).toBe("string");
      expect(JSON.stringify(e)).not.toContain("you");
      expect(JSON.stringify(e)).not.toContain("head");
    }
    await speaker.room.leave();
    await listener.room.leave();
  });
});

describe("malformed input", () => {
  it("unknown, oversized, undecodable and invalid messages are recorded; the room keeps serving everyone else", async () => {
    const bystander = await join(nextAccount());
    const offender = await join(nextAccount(), bystander.room.roomId);

    offender.room.send("teleport", { x: 1 });
    offender.room.send("chat", { text: "x".repeat(3000) });
    await waitFor(async () => (await events(offender.did)).length === 2, "unknown and oversized events");
    // The offender is still in: these were dropped, not fatal.
    offender.room.send("chat", { text: "still here" });
    await waitFor(() => bystander.seen.chats.some((c) => c.text === "still here"), "chat after dropped frames");

    // ROOM_DATA (13), type "chat" (0xa4 "chat"), then a msgpack array16 header that
    // announces 65535 elements and carries none: truncated, undecodable.
    sendRaw(offender.room, [13, 0xa4, 0x63, 0x68, 0x61, 0x74, 0xdc, 0xff, 0xff]);
    await waitFor(() => offender.seen.leftCode !== null, "Colyseus closing the undecodable sender");
    expect(offender.seen.leftCode).toBe(4002);

    const second = await join(nextAccount(), bystander.room.roomId);
    second.room.send("move", { x: "north", y: 1 });
    await waitFor(() => second.seen.leftCode !== null, "Colyseus closing the invalid sender");

    await waitFor(
      async () => (await events(offender.did)).length === 3 && (await events(second.did)).length === 1,
      "all malformed events",
    );
    const kinds = (await events(offender.did)).map((e) => e.kind).sort();
    expect(kinds).toEqual(["oversized", "undecodable", "unknown_type"]);
    const [invalid] = await events(second.did);
    expect(invalid).toMatchObject({
      detector: "payload",
      kind: "invalid",
      track: "malformed",
      evidence: { type: "move" },
    });
    expect(String(invalid!.evidence.detail)).toMatch(/x/);
    const unknown = (await events(offender.did)).find((e) => e.kind === "unknown_type")!;
    expect(unknown.evidence).toMatchObject({ type: "teleport" });

    bystander.room.send("chat", { text: "the room still serves" });
    await waitFor(() => bystander.seen.chats.some((c) => c.text === "the room still serves"), "the bystander's chat");
    await bystander.room.leave();
  });

  it("junk cannot flood the recorder: unknown-type spam is rate-limited like any other traffic", async () => {
    const { room, did } = await join(nextAccount());
    for (let i = 0; i < 300; i++) room.send(`junk-${i % 7}`, {});
    await waitFor(async () => (await events(did)).some((e) => e.kind === "rate"), "the flood event for junk");
    await world.warden.recorder.drain();
    const recorded = await events(did);
    // The default bucket (burst 30) lets ~30 junk frames be recorded one by one, then one flood event a second.
    expect(recorded.filter((e) => e.kind === "unknown_type").length).toBeLessThanOrEqual(35);
    // The junk bucket trips first (burst 30); 300 frames in a burst also pass the frame budget (burst 240).
    expect(recorded.filter((e) => e.kind === "rate").map((e) => e.evidence.type)).toContain("(malformed)");
  });

  it("a frame over the transport's maxPayload is recorded (oversized_frame)", async () => {
    const { room, did } = await join(nextAccount());
    sendRaw(room, new Uint8Array(8 * 1024).fill(13));
    await waitFor(
      async () => (await events(did)).some((e) => e.kind === "oversized_frame"),
      "the oversized frame event",
    );
  });
});

describe("recording layout and retention", () => {
  it("writes the feed, the ID's history and its points under the documented keys, with TTLs", async () => {
    const { room, did } = await join(nextAccount());
    room.send("teleport", {});
    await waitFor(async () => (await events(did)).length === 1, "one event");
    const [history] = await redis.xrange(keys.events(did), "-", "+");
    const event = JSON.parse(history![1][1]!) as OffenseEvent;
    expect(event).toMatchObject({
      did,
      detector: "payload",
      kind: "unknown_type",
      room: { name: "world", id: room.roomId },
    });
    expect(await redis.xrange(keys.feedShard(keys.bucketOf(did)), history![0], history![0])).toHaveLength(1);
    expect(await redis.hget(keys.points(did), "malformed")).toBe("1");
    expect(await redis.hget(keys.points(did), "malformed:n")).toBe("1");
    const thirtyDays = 30 * 86_400_000;
    for (const key of [keys.events(did), keys.points(did)]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(thirtyDays - 60_000);
      expect(ttl).toBeLessThanOrEqual(thirtyDays);
    }
    const raw = JSON.stringify(await redis.hgetall(keys.points(did))) + JSON.stringify(history);
    expect(raw).not.toContain("det-");
    await room.leave();
  });

  it("offenses in two rooms add up on one ID", async () => {
    const sub = nextAccount();
    const a = await join(sub);
    const b = await join(sub);
    expect(a.room.roomId).not.toBe(b.room.roomId);
    a.room.send("teleport", {});
    await waitFor(async () => (await events(a.did)).length === 1, "first event");
    expect(a.seen.notices).toEqual([]);
    b.room.send("teleport", {});
    // malformed ladder: warn at 2 points — reached only by the two rooms together.
    await waitFor(
      () => a.seen.notices.some((n) => n.kind === "warn") && b.seen.notices.some((n) => n.kind === "warn"),
      "the warn from combined points",
    );
    expect(new Set((await events(a.did)).map((e) => e.room.id))).toEqual(new Set([a.room.roomId, b.room.roomId]));
    await a.room.leave();
    await b.room.leave();
  });
});

describe("reports", () => {
  /** Every case that entered the review queue (`case:queued`: the world runs in this process). */
  const queuedCases: ReportCase[] = [];
  beforeAll(() => {
    world.warden.on("case:queued", (record) => queuedCases.push(structuredClone(record)));
  });
  const queueingsOf = (did: string) => queuedCases.filter((c) => c.did === did);

  async function reportFrom(
    room: Room,
    sessionId: string,
  ): Promise<{ sessionId: string; accepted: boolean; status: string }> {
    return new Promise((resolve) => {
      room.onMessage("report:ack", (ack: { sessionId: string; accepted: boolean; status: string }) => resolve(ack));
      room.send("report", { sessionId, reason: "griefing" });
    });
  }

  it("reports from outside the room, repeated reports and low-standing reporters do not open a case for review; established reporters do — and nobody is sanctioned", async () => {
    const target = await join(nextAccount());
    const outsider = await join(nextAccount());
    expect((await reportFrom(outsider.room, target.room.sessionId)).status).toBe("rejected");

    // Three brand-new reporters: weight ¼ each, below the threshold of 3.
    const fresh = [];
    for (let i = 0; i < 3; i++) fresh.push(await join(nextAccount(), target.room.roomId));
    for (const r of fresh) expect((await reportFrom(r.room, target.room.sessionId)).status).toBe("filed");
    // Repeating a report changes nothing.
    expect((await reportFrom(fresh[0]!.room, target.room.sessionId)).status).toBe("duplicate");
    await world.warden.recorder.drain();
    expect(await events(target.did)).toEqual([]);
    expect(target.seen.notices).toEqual([]);

    // Once the reporters are established (newIdMs = 300 ms here) their reports weigh 1.
    await new Promise((r) => setTimeout(r, 400));
    const established = [];
    for (let i = 0; i < 3; i++) established.push(await join(nextAccount(), target.room.roomId));
    await new Promise((r) => setTimeout(r, 400));
    expect(queueingsOf(target.did)).toEqual([]);
    const acks = [];
    const queueings: number[] = [];
    for (const r of established) {
      acks.push(await reportFrom(r.room, target.room.sessionId));
      // `case:queued` is emitted before the report's outcome is returned, so before the ack.
      queueings.push(queueingsOf(target.did).length);
    }
    expect(acks.map((a) => a.status)).toEqual(["filed", "filed", "filed"]);
    // The report that crossed the threshold put the case into the review queue: a person decides.
    expect(queueings).toEqual([0, 0, 1]);
    const actor = { face: "code" as const, who: "test" };
    const inQueue = (await world.warden.admin.caseQueue(actor, 500)).filter((c) => c.did === target.did);
    expect(inQueue).toHaveLength(1);
    const queued = inQueue[0]!;
    expect(queueingsOf(target.did)).toEqual([expect.objectContaining({ id: queued.id, state: "open", count: 6 })]);
    // Three fresh reports of weight ¼, three established of weight 1: 3.75, past the threshold (3).
    expect(queued).toMatchObject({ state: "open", count: 6, weight: 3.75 });
    expect(queued.reports.map((r) => r.weight)).toEqual([0.25, 0.25, 0.25, 1, 1, 1]);
    expect(queued.reports.map((r) => r.reason)).toEqual(Array(6).fill("griefing"));
    // Reports alone never climb the ladder: no offense, no sanction, no notice for the target.
    await world.warden.recorder.drain();
    expect(await events(target.did)).toEqual([]);
    expect(await world.warden.sanctions.history(target.did)).toEqual([]);
    expect(target.seen.notices).toEqual([]);
  });

  it("report abuse (too many reports from one ID) is itself an offense", async () => {
    const spammer = await join(nextAccount());
    const targets = [];
    for (let i = 0; i < 6; i++) targets.push(await join(nextAccount(), spammer.room.roomId));
    const outcomes = [];
    for (const t of targets) outcomes.push((await reportFrom(spammer.room, t.room.sessionId)).status);
    expect(outcomes.slice(0, 4)).toEqual(["filed", "filed", "filed", "filed"]);
    expect(outcomes.slice(4)).toEqual(["rejected", "rejected"]);
    await waitFor(
      async () => (await events(spammer.did)).some((e) => e.kind === "report_abuse"),
      "the report-abuse offense",
    );
  });
});
