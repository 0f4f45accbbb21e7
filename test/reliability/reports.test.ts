/**
 * Scenario 7 — report brigading, report spam, and hostile free text. A real world (in this
 * process), a real Redis started here, real SDK clients; every assertion reads what ended
 * up in Redis or what the clients saw.
 */
import type { Room } from "@colyseus/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { dumpValues, ownRedis, storedEvents, type OwnRedis, worldOver } from "./helpers/redis.js";
import {
  figure,
  join,
  leave,
  memoryLogger,
  rejection,
  sendRaw,
  token,
  waitFor,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";
import { Client } from "@colyseus/sdk";

const prefix = "rel-reports";
const NEW_ID_MS = 2000;
let redis: OwnRedis;
let world: World;
const processErrors = watchProcessErrors();
const players: Player[] = [];
let n = 0;
const fresh = (label: string) => `${label}-${++n}`;

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, {
    prefix,
    logger: memoryLogger(),
    // Reports are paced by the report rules here, not by the flood limiter.
    guard: { flood: { types: { report: { rate: 200, burst: 200 } } } },
    reports: { windowMs: 120_000, threshold: 3, newIdMs: NEW_ID_MS, maxPerWindow: 5 },
  });
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

/** Sends a report and waits for the room's ack. */
function report(room: Room, sessionId: string, reason = "griefing"): Promise<{ status: string; reason?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no report ack")), 5000);
    const off = room.onMessage("report:ack", (ack: { status: string; reason?: string; sessionId: string }) => {
      if (ack.sessionId !== sessionId) return;
      clearTimeout(timer);
      off();
      resolve(ack);
    });
    room.send("report", { sessionId, reason });
  });
}

async function policySanctions(sub: string): Promise<string[]> {
  return (await world.warden.sanctions.history(did(sub))).filter((s) => s.by === "policy").map((s) => s.kind);
}

describe("brigading", () => {
  it("20 brand-new IDs reporting one player, each many times, make one `reported` offense (a warn) — never a mute, kick or ban", async () => {
    const target = await player(fresh("brigade-target"));
    const brigade: Player[] = [];
    for (let i = 0; i < 20; i++) brigade.push(await player(fresh("brigader"), { roomId: target.room.roomId }));
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      for (const b of brigade) {
        const { status } = await report(b.room, target.room.sessionId, `round ${round}`);
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }
    }
    await world.warden.recorder.drain();
    await new Promise((r) => setTimeout(r, 300));
    await world.warden.recorder.drain();
    const events = await storedEvents(redis.admin, prefix, did(target.sub));
    const observed = {
      outcomes,
      reportedOffenses: events.filter((e) => e.kind === "reported").length,
      policySanctions: await policySanctions(target.sub),
      notices: target.seen.notices.map((n) => n.kind),
      closed: target.seen.leftCode,
    };
    figure("reports", "brigade of 20 new IDs × 3 reports", observed);
    // One report per reporter per target per window; 20 × ¼ = 5 of weight crosses the threshold of 3 once.
    expect(observed).toEqual({
      outcomes: { filed: 20, duplicate: 40 },
      reportedOffenses: 1,
      policySanctions: ["warn"],
      notices: ["warn"],
      closed: null,
    });
  });

  it("one reporter with sessions in two rooms counts once; reports from another room are rejected", async () => {
    const target = await player(fresh("multi-target"));
    const sub = fresh("multi-reporter");
    const inRoom = await player(sub, { roomId: target.room.roomId });
    const again = await player(sub, { roomId: target.room.roomId });
    const outsider = await player(fresh("outsider"));
    expect((await report(inRoom.room, target.room.sessionId)).status).toBe("filed");
    expect((await report(again.room, target.room.sessionId)).status).toBe("duplicate");
    expect((await report(outsider.room, target.room.sessionId)).status).toBe("rejected");
    expect(await redis.admin.zrange(`${prefix}:{${did(target.sub)}}:reports`, 0, -1)).toEqual([did(sub)]);
  });

  it("control: three established IDs (first seen > newIdMs ago) do make a `reported` offense on their own", async () => {
    const target = await player(fresh("established-target"));
    const reporters: Player[] = [];
    for (let i = 0; i < 3; i++) reporters.push(await player(fresh("established"), { roomId: target.room.roomId }));
    await new Promise((r) => setTimeout(r, NEW_ID_MS + 300));
    for (const r of reporters) expect((await report(r.room, target.room.sessionId)).status).toBe("filed");
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did(target.sub))).some((e) => e.kind === "reported"),
      "the reported offense",
    );
  });
});

describe("report spam", () => {
  it("one ID reporting everyone, over and over: 5 reports filed, the rest rejected, report abuse recorded once", async () => {
    const spammer = await player(fresh("spammer"));
    const targets: Player[] = [];
    for (let i = 0; i < 10; i++) targets.push(await player(fresh("spam-target"), { roomId: spammer.room.roomId }));
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 5; round++) {
      for (const t of targets) {
        const { status } = await report(spammer.room, t.room.sessionId);
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }
    }
    await world.warden.recorder.drain();
    expect(outcomes).toEqual({ filed: 5, rejected: 45 });
    const kinds = (await storedEvents(redis.admin, prefix, did(spammer.sub))).map((e) => e.kind);
    expect(kinds).toEqual(["report_abuse"]);
    let filedAgainst = 0;
    for (const t of targets) filedAgainst += await redis.admin.zcard(`${prefix}:{${did(t.sub)}}:reports`);
    expect(filedAgainst).toBe(5);
    for (const t of targets) expect(await storedEvents(redis.admin, prefix, did(t.sub))).toEqual([]);
    figure("reports", "report spam: 50 reports from one ID", {
      outcomes,
      reportAbuseEvents: kinds.length,
      storedReports: filedAgainst,
    });
  });
});

describe("hostile free text is stored bounded and clean", () => {
  // What boundText() and normalizeName() strip: C0/C1 controls, zero-width, bidi overrides and isolates.
  const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/;
  // BMP only here (the cut of astral characters has its own test below).
  const hostile = (length: number) =>
    `<script>alert("x")</script><img src=x onerror=alert(1)>\u0000\u0007\u001b[31m\r\n\u202egnp.exe\u200b\u2066\u0085` +
    "ÿ€<".repeat(length);
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/;

  it("report reasons, display names, unknown message types and moderator reasons: nothing unbounded or unsafe lands in Redis", async () => {
    const bigName = hostile(1500); // ~9 KB of JWT: much more does not pass the HTTP header limit
    const target = await player(fresh("hostile-target"), { name: bigName });
    const reporters: Player[] = [];
    for (let i = 0; i < 3; i++)
      reporters.push(await player(fresh("hostile-reporter"), { roomId: target.room.roomId, name: hostile(40) }));
    await new Promise((r) => setTimeout(r, NEW_ID_MS + 300));
    for (const r of reporters)
      expect((await report(r.room, target.room.sessionId, hostile(100).slice(0, 500))).status).toBe("filed");
    // A reason over the room's schema limit (500) is refused by validate(): recorded as invalid, the text is not kept.
    const longReason = await player(fresh("hostile-long"), { roomId: target.room.roomId });
    longReason.room.send("report", { sessionId: target.room.sessionId, reason: hostile(0) + "x".repeat(700) });
    await waitFor(() => longReason.seen.leftCode !== null, "the invalid report to close its sender");
    // A message type full of control and bidi characters (unknown type: dropped and recorded).
    const typer = await player(fresh("hostile-type"), { roomId: target.room.roomId });
    typer.room.send("\u202e\u0000<b>evil</b>\u200b\u0007type", { x: 1 });
    // Moderator path: a 10 KB reason and issuer.
    const issued = await world.warden.sanctions.issue({
      did: did(typer.sub),
      kind: "kick",
      reason: hostile(5000),
      by: hostile(1000),
    });
    expect(issued.status).toBe("issued");
    await waitFor(() => typer.seen.leftCode !== null, "the kick with a hostile reason");
    expect(typer.seen.leftCode).toBe(4401);
    await world.warden.sanctions.issue({
      did: did(longReason.sub),
      kind: "ban",
      duration: 60_000,
      reason: hostile(5000),
      by: "mod",
    });
    const c = new Client(`ws://127.0.0.1:${world.port}`);
    c.auth.token = token(longReason.sub);
    const refused = await rejection(c.joinOrCreate("world"));
    expect(refused.code).toBe(4403);
    expect(refused.message.length).toBeLessThan(700);
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did(target.sub))).some((e) => e.kind === "reported"),
      "the reported offense",
    );
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did(typer.sub))).length === 1,
      "the unknown-type offense",
    );
    await world.warden.recorder.drain();

    const values = await dumpValues(redis.admin, prefix);
    const strings: { key: string; text: string }[] = [];
    const walk = (key: string, v: unknown) => {
      if (typeof v === "string") strings.push({ key, text: v });
      else if (Array.isArray(v)) for (const x of v) walk(key, x);
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          walk(key, k);
          walk(key, x);
        }
      }
    };
    for (const { key, value } of values) {
      const eq = value.indexOf("=");
      const [field, raw] = eq >= 0 ? [value.slice(0, eq), value.slice(eq + 1)] : ["", value];
      walk(key, field);
      try {
        walk(key, JSON.parse(raw));
      } catch {
        walk(key, raw);
      }
    }
    const unsafe = strings
      .filter((s) => UNSAFE.test(s.text))
      .map((s) => `${s.key.slice(prefix.length)}: ${JSON.stringify(s.text.slice(0, 60))}`);
    const longest = strings.reduce((a, s) => (s.text.length > a.text.length ? s : a), { key: "", text: "" });
    const largestValue = Math.max(...values.map((v) => Buffer.byteLength(v.value)));
    figure("reports", "hostile text: what landed in Redis", {
      values: values.length,
      strings: strings.length,
      largestValueBytes: largestValue,
      longestString: longest.text.length,
      longestKey: longest.key.slice(prefix.length),
      unsafe,
    });
    expect(unsafe).toEqual([]);
    expect(longest.text.length).toBeLessThanOrEqual(500);
    // Strings of up to 15 000 characters went in; no stored value holds more than a bounded record.
    expect(largestValue).toBeLessThan(4096);

    const reported = (await storedEvents(redis.admin, prefix, did(target.sub))).find((e) => e.kind === "reported") as {
      evidence: { reason: string };
    };
    expect(reported.evidence.reason.length).toBeLessThanOrEqual(120);
    expect(reported.evidence.reason).toContain("<script>"); // HTML is kept as inert text: whoever renders it must escape it
    const [kick] = await world.warden.sanctions.history(did(typer.sub));
    expect(kick!.reason.length).toBeLessThanOrEqual(500);
    expect(kick!.by.length).toBeLessThanOrEqual(100);
    expect(processErrors.errors).toEqual([]);
  });

  it("text cut inside an emoji: a moderator's long reason is stored and enforced, the ID stays sanctionable, no half character lands in Redis", async () => {
    const emoji = "😀".repeat(400); // 800 UTF-16 units: every bound (64, 120, 500) falls inside a pair
    // One ASCII character first: the bounds then fall between the two halves of an emoji.
    const target = await player(fresh("astral-target"), { name: `n${emoji}` });
    const reporters: Player[] = [];
    for (let i = 0; i < 3; i++) reporters.push(await player(fresh("astral-reporter"), { roomId: target.room.roomId }));
    await new Promise((r) => setTimeout(r, NEW_ID_MS + 300));
    for (const r of reporters) await report(r.room, target.room.sessionId, `r${emoji.slice(0, 400)}`);
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did(target.sub))).some((e) => e.kind === "reported"),
      "the reported offense",
    );
    const outcome = (p: Promise<{ status: string }>) =>
      p.then(
        (r) => r.status,
        (e: Error) => `threw: ${e.message.slice(0, 120)}`,
      );
    const mute = await outcome(
      world.warden.sanctions.issue({
        did: did(target.sub),
        kind: "mute",
        duration: 60_000,
        reason: `x${emoji}`,
        by: "mod",
      }),
    );
    const muteNotice = await waitFor(
      () => target.seen.notices.some((n) => n.kind === "mute" && n.reason.startsWith("x😀")),
      "the moderator's mute notice",
      2000,
    ).then(
      () => true,
      () => false,
    );
    // Afterwards, a plain ban of the same ID.
    const ban = await outcome(
      world.warden.sanctions.issue({
        did: did(target.sub),
        kind: "ban",
        duration: 60_000,
        reason: "plain reason",
        by: "mod",
      }),
    );
    const banClosed = await waitFor(() => target.seen.leftCode === 4403, "the ban closing the session", 2000).then(
      () => true,
      () => false,
    );
    const reported = (await storedEvents(redis.admin, prefix, did(target.sub))).find((e) => e.kind === "reported") as {
      evidence: { reason: string };
    };
    const name = await redis.admin.hget(`${prefix}:{${did(target.sub)}}:profile`, "name");
    expect({
      mute,
      muteNotice,
      ban,
      banClosed,
      reportedReasonIsWhole: !LONE_SURROGATE.test(reported.evidence.reason),
      nameIsWhole: name === null || !LONE_SURROGATE.test(name),
    }).toEqual({
      mute: "issued",
      muteNotice: true,
      ban: "issued",
      banClosed: true,
      reportedReasonIsWhole: true,
      nameIsWhole: true,
    });
  });

  it("a raw report frame with a 1.9 KB reason of control bytes is refused by validate(), and the room keeps serving", async () => {
    const a = await player(fresh("raw-a"));
    const b = await player(fresh("raw-b"), { roomId: a.room.roomId });
    const { pack } = await import("msgpackr");
    const body = pack({ sessionId: a.room.sessionId, reason: "\u0000\u0001\u0002\u001b".repeat(475) });
    sendRaw(b.room, Uint8Array.from([13, 0xa6, ...Buffer.from("report"), ...body]));
    await waitFor(() => b.seen.leftCode !== null, "the sender closed");
    a.room.send("chat", { text: "still here" });
    await waitFor(() => a.seen.chats.some((c) => c.text === "still here"), "the room still serves");
    expect(await redis.admin.zcard(`${prefix}:{${did(a.sub)}}:reports`)).toBe(0);
  });
});
