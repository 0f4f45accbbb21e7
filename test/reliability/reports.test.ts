/**
 * Scenario 7 — report brigading, report spam, and hostile free text. A real world (in this
 * process), a real Redis started here, real SDK clients; every assertion reads what ended
 * up in Redis or what the clients saw.
 *
 * Due process (issue 10): reports never climb the ladder. They collect into one report case
 * per reported player, which enters the review queue once their weighted sum crosses the
 * threshold; a person decides. The per-reporter cap is counted by the store.
 */
import { randomBytes } from "node:crypto";
import { matchMaker } from "@colyseus/core";
import type { Room } from "@colyseus/sdk";
import { Client } from "@colyseus/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import type { Actor } from "../../src/admin/service.js";
import type { ReportCase, ReportOutcome, WardenPlugin } from "../../src/index.js";
import { MAX_REPORT_REASON } from "../../src/reviews/model.js";
import { RedisKeys } from "../../src/stores/redis/keys.js";
import {
  dumpValues,
  historyKeys,
  keysUnder,
  ownRedis,
  storedEvents,
  type OwnRedis,
  worldOver,
} from "./helpers/redis.js";
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

const prefix = "rel-reports";
const NEW_ID_MS = 2000;
const WINDOW_MS = 120_000;
let redis: OwnRedis;
let world: World;
const logger = memoryLogger();
const processErrors = watchProcessErrors();
const players: Player[] = [];
/** Every account subject this file used: none may end up in Redis. */
const subjects: string[] = [];
let n = 0;
/** A fresh account subject: long and distinctive, so that finding it anywhere means it was stored. */
const fresh = (label: string) => {
  const sub = `acct-${label}-${++n}-${randomBytes(4).toString("hex")}`;
  subjects.push(sub);
  return sub;
};
const MOD: Actor = { face: "code", who: "test:moderator", role: "moderator" };
/**
 * Every case that entered the review queue, as the warden's `case:queued` event handed it over
 * (the world runs in this process). Reporters' acks say nothing about queueing: this does.
 */
const queueings: ReportCase[] = [];
const queueingsOf = (sub: string) => queueings.filter((c) => c.did === did(sub));

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, {
    prefix,
    logger,
    // Reports are paced by the report rules here, not by the flood limiter.
    guard: { flood: { types: { report: { rate: 200, burst: 200 } } } },
    reports: { windowMs: WINDOW_MS, threshold: 3, newIdMs: NEW_ID_MS, maxPerWindow: 5 },
  });
  world.warden.on("case:queued", (record) => queueings.push(structuredClone(record)));
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  for (const p of players) await leave(p);
  await world?.close();
  await redis?.close();
});

/** Joins as `sub`; the display name never contains the subject (names are stored, subjects must not be). */
async function player(sub: string, options: Parameters<typeof join>[2] = {}): Promise<Player> {
  const p = await join(world.port, sub, { name: `Player ${players.length}`, ...options });
  players.push(p);
  return p;
}

const did = (sub: string) => world.warden.digitalId(sub);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the demo room acks a report with: the status, the receipt when filed, the reason when
 * rejected — never the outcome's weight or whether the case was queued (others' reports).
 */
type Ack = { sessionId: string; accepted: boolean; status: ReportOutcome["status"] } & {
  receipt?: string;
  reason?: string;
};
/** The keys of an ack, sorted: what a reporter's client was told. */
const keysOf = (ack: Ack) => Object.keys(ack).sort().join(",");
const FILED_KEYS = "accepted,receipt,sessionId,status";
const DUPLICATE_KEYS = "accepted,sessionId,status";

/** Sends a report and waits for the room's ack. */
function report(room: Room, sessionId: string, reason = "griefing"): Promise<Ack> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no report ack")), 5000);
    const off = room.onMessage("report:ack", (ack: Ack) => {
      if (ack.sessionId !== sessionId) return;
      clearTimeout(timer);
      off();
      resolve(ack);
    });
    room.send("report", { sessionId, reason });
  });
}

/** The report cases against a player, as stored (`{prefix}:{<did>}:review:<id>`, field `json`). */
async function casesOf(sub: string): Promise<ReportCase[]> {
  const d = did(sub);
  const out: ReportCase[] = [];
  for (const id of await redis.admin.zrange(`${prefix}:{${d}}:reviews`, 0, -1)) {
    const json = await redis.admin.hget(`${prefix}:{${d}}:review:${id}`, "json");
    const record = json === null ? null : (JSON.parse(json) as { type: string });
    if (record?.type === "case") out.push(record as ReportCase);
  }
  return out;
}

/** The ids of a player's cases waiting in the review queue (`{prefix}:{reviews}:queue:case`). */
async function queuedCasesOf(sub: string): Promise<string[]> {
  return (await redis.admin.zrange(`${prefix}:{reviews}:queue:case`, 0, -1)).filter((id) =>
    id.startsWith(`${did(sub)}.`),
  );
}

/** What reports did to a player: their history, points, sanctions (any issuer), notices, connection. */
async function consequences(p: Player) {
  return {
    events: (await storedEvents(redis.admin, prefix, did(p.sub))).map((e) => e.kind),
    points: await redis.admin.exists(new RedisKeys(prefix).points(did(p.sub))),
    sanctions: (await world.warden.sanctions.history(did(p.sub))).map((s) => `${s.by}:${s.kind}`),
    notices: p.seen.notices.map((x) => x.kind),
    closed: p.seen.leftCode,
  };
}
const NONE = { events: [], points: 0, sanctions: [], notices: [], closed: null };

/** Lets the recorder and the bus settle, so that a late offense or notice would show. */
async function settle(): Promise<void> {
  await world.warden.recorder.drain();
  await sleep(300);
  await world.warden.recorder.drain();
}

describe("brigading", () => {
  it("30 brand-new IDs reporting one player, three times each: one case enters the review queue, nobody is sanctioned", async () => {
    const target = await player(fresh("brigade-target"));
    const brigade: Player[] = [];
    for (let i = 0; i < 30; i++) brigade.push(await player(fresh("brigader"), { roomId: target.room.roomId }));
    const outcomes: Record<string, number> = {};
    const ackKeys = new Set<string>();
    const queuedBy: number[] = [];
    let filed = 0;
    for (let round = 0; round < 3; round++) {
      for (const b of brigade) {
        const before = queueingsOf(target.sub).length;
        const ack = await report(b.room, target.room.sessionId, `round ${round}`);
        outcomes[ack.status] = (outcomes[ack.status] ?? 0) + 1;
        ackKeys.add(keysOf(ack));
        if (ack.status !== "filed") continue;
        filed++;
        // `case:queued` is emitted before the outcome is returned, so before the ack.
        if (queueingsOf(target.sub).length > before) queuedBy.push(filed);
      }
    }
    await settle();
    const cases = await casesOf(target.sub);
    let brigadeConsequences = 0;
    for (const b of brigade) {
      const c = await consequences(b);
      brigadeConsequences += c.events.length + c.points + c.sanctions.length;
    }
    const observed = {
      outcomes,
      ackKeys: [...ackKeys].sort(),
      weights: [...new Set(cases.flatMap((c) => c.reports.map((r) => r.weight)))],
      queuedBy,
      queueings: queueingsOf(target.sub).map((c) => ({ id: c.id, state: c.state, count: c.count, weight: c.weight })),
      cases: cases.map((c) => ({
        id: c.id,
        state: c.state,
        count: c.count,
        weight: c.weight,
        quoted: c.reports.length,
      })),
      queued: await queuedCasesOf(target.sub),
      target: await consequences(target),
      brigadeConsequences,
    };
    figure("reports", "brigade of 30 new IDs × 3 reports", observed);
    // One report per reporter per target per window, each of weight ¼: the 12th reaches the
    // threshold of 3 and queues the case; the rest are added to it. Reports alone sanction nobody.
    // The reporters' acks carry a receipt (filed) or nothing (duplicate): no weight, no queueing.
    const caseId = cases[0]?.id;
    expect(observed).toEqual({
      outcomes: { filed: 30, duplicate: 60 },
      ackKeys: [FILED_KEYS, DUPLICATE_KEYS],
      weights: [0.25],
      queuedBy: [12],
      queueings: [{ id: caseId, state: "open", count: 12, weight: 3 }],
      cases: [{ id: expect.any(String), state: "open", count: 30, weight: 7.5, quoted: 30 }],
      queued: [caseId],
      target: NONE,
      brigadeConsequences: 0,
    });
  });

  it("15 established IDs (first seen > newIdMs ago) reporting one player: still one case in the queue, still no sanction", async () => {
    const target = await player(fresh("established-brigade-target"));
    const brigade: Player[] = [];
    for (let i = 0; i < 15; i++)
      brigade.push(await player(fresh("established-brigader"), { roomId: target.room.roomId }));
    await sleep(NEW_ID_MS + 300);
    const outcomes: Record<string, number> = {};
    const ackKeys = new Set<string>();
    const queuedBy: number[] = [];
    let filed = 0;
    for (let round = 0; round < 2; round++) {
      for (const b of brigade) {
        const before = queueingsOf(target.sub).length;
        const ack = await report(b.room, target.room.sessionId, `established round ${round}`);
        outcomes[ack.status] = (outcomes[ack.status] ?? 0) + 1;
        ackKeys.add(keysOf(ack));
        if (ack.status !== "filed") continue;
        filed++;
        if (queueingsOf(target.sub).length > before) queuedBy.push(filed);
      }
    }
    await settle();
    const cases = await casesOf(target.sub);
    const observed = {
      outcomes,
      ackKeys: [...ackKeys].sort(),
      weights: [...new Set(cases.flatMap((c) => c.reports.map((r) => r.weight)))],
      queuedBy,
      queueings: queueingsOf(target.sub).map((c) => ({ id: c.id, state: c.state, count: c.count, weight: c.weight })),
      cases: cases.map((c) => ({
        id: c.id,
        state: c.state,
        count: c.count,
        weight: c.weight,
        quoted: c.reports.length,
      })),
      queued: await queuedCasesOf(target.sub),
      target: await consequences(target),
    };
    figure("reports", "brigade of 15 established IDs × 2 reports", observed);
    const caseId = cases[0]?.id;
    expect(observed).toEqual({
      outcomes: { filed: 15, duplicate: 15 },
      ackKeys: [FILED_KEYS, DUPLICATE_KEYS],
      weights: [1],
      queuedBy: [3],
      queueings: [{ id: caseId, state: "open", count: 3, weight: 3 }],
      cases: [{ id: expect.any(String), state: "open", count: 15, weight: 15, quoted: 15 }],
      queued: [caseId],
      target: NONE,
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
    const cases = await casesOf(target.sub);
    expect(cases.map((c) => ({ state: c.state, count: c.count, reporters: c.reports.map((r) => r.reporter) }))).toEqual(
      [{ state: "collecting", count: 1, reporters: [did(sub)] }],
    );
    expect(await queuedCasesOf(target.sub)).toEqual([]);
  });

  it("control: three established IDs queue the case; only a person's decision sanctions, and the reporters' receipts reveal nothing about the target", async () => {
    const targetName = "ControlTarget";
    const target = await player(fresh("established-target"), { name: targetName });
    const reporters: Player[] = [];
    for (let i = 0; i < 3; i++) reporters.push(await player(fresh("established"), { roomId: target.room.roomId }));
    await sleep(NEW_ID_MS + 300);
    const acks: Ack[] = [];
    const queuedAfter: number[] = [];
    for (const r of reporters) {
      acks.push(await report(r.room, target.room.sessionId));
      queuedAfter.push(queueingsOf(target.sub).length);
    }
    // Each reporter is told "filed" and a receipt, nothing more; the third report queued the case.
    expect(acks.map((a) => [a.status, keysOf(a)])).toEqual(Array(3).fill(["filed", FILED_KEYS]));
    expect(queuedAfter).toEqual([0, 0, 1]);
    await settle();
    // Queued, and nothing happened to the target.
    const [caseId, ...more] = await queuedCasesOf(target.sub);
    expect(more).toEqual([]);
    expect(caseId).toBeDefined();
    expect(queueingsOf(target.sub).map((c) => [c.id, c.count, c.weight])).toEqual([[caseId, 3, 3]]);
    const [queuedCase, ...otherCases] = await casesOf(target.sub);
    expect(otherCases).toEqual([]);
    expect(queuedCase!.reports.map((r) => [r.reporter, r.receipt, r.weight])).toEqual(
      reporters.map((r, i) => [did(r.sub), acks[i]!.receipt, 1]),
    );
    expect(await consequences(target)).toEqual(NONE);

    // A person decides.
    const decided = await world.warden.admin.decideCase(
      caseId!,
      { action: "sanction", kind: "warn", reason: "confirmed by a moderator" },
      MOD,
    );
    await waitFor(() => target.seen.notices.some((x) => x.kind === "warn"), "the target's warn notice");
    for (const r of reporters)
      await waitFor(
        () => r.seen.notices.some((x) => x.kind === "report" && x.state === "actioned"),
        "the reporter told of the outcome",
      );
    const [warn] = target.seen.notices;
    const history = await world.warden.sanctions.history(did(target.sub));
    expect({
      case: { state: decided.state, sanctionId: decided.outcome?.sanctionId },
      history: history.map((s) => ({ id: s.id, kind: s.kind, by: s.by })),
      statement: {
        reports: warn!.statement?.facts.reports,
        automated: warn!.statement?.automated,
        decidedBy: warn!.statement?.decidedBy,
      },
      queued: await queuedCasesOf(target.sub),
      events: await storedEvents(redis.admin, prefix, did(target.sub)),
    }).toEqual({
      case: { state: "actioned", sanctionId: history[0]?.id },
      history: [{ id: expect.any(String), kind: "warn", by: MOD.who }],
      statement: { reports: 3, automated: { detection: false, decision: false }, decidedBy: "moderator" },
      queued: [],
      events: [],
    });

    // What each reporter learns: a receipt, then the outcome under that receipt — nothing about the target.
    const secrets = [did(target.sub), target.sub, target.room.sessionId, targetName, caseId!, caseId!.split(".")[1]!];
    const leaks: string[] = [];
    for (const [i, r] of reporters.entries()) {
      const receipt = acks[i]!.receipt!;
      expect(receipt).toMatch(/^r[a-z2-7]{12}$/);
      const notices = r.seen.notices.filter((x) => x.kind === "report");
      expect(notices.map((x) => [x.state, x.ref, x.sanctionId, x.statement])).toEqual([
        ["received", receipt, undefined, undefined],
        ["actioned", receipt, undefined, undefined],
      ]);
      const mine = await world.warden.admin.export(did(r.sub), MOD, { copy: "subject" });
      expect(mine.reportsFiled).toEqual([{ receipt, at: expect.any(Number), category: "other", status: "actioned" }]);
      const told = JSON.stringify({ receipt, notices, filed: mine.reportsFiled });
      for (const s of secrets) if (told.toLowerCase().includes(s.toLowerCase())) leaks.push(`${i}: ${s}`);
    }
    expect(new Set(acks.map((a) => a.receipt)).size).toBe(3);
    expect(leaks).toEqual([]);
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
    await settle();
    expect(outcomes).toEqual({ filed: 5, rejected: 45 });
    const kinds = (await storedEvents(redis.admin, prefix, did(spammer.sub))).map((e) => e.kind);
    expect(kinds).toEqual(["report_abuse"]);
    let filedAgainst = 0;
    const cases: string[] = [];
    for (const t of targets) {
      filedAgainst += await redis.admin.zcard(`${prefix}:{${did(t.sub)}}:reports`);
      for (const c of await casesOf(t.sub)) cases.push(`${c.state}:${c.count}`);
      expect(await queuedCasesOf(t.sub)).toEqual([]);
      expect(await consequences(t)).toEqual(NONE);
    }
    expect(filedAgainst).toBe(5);
    // One collecting case (a ¼ report, below the threshold) for each of the 5 reported.
    expect(cases).toEqual(Array(5).fill("collecting:1"));
    figure("reports", "report spam: 50 reports from one ID", {
      outcomes,
      reportAbuseEvents: kinds.length,
      storedReports: filedAgainst,
      cases: cases.length,
    });
  });

  it("the cap is counted by the store: after leaving and rejoining, and from another room, the sixth report is rejected", async () => {
    const targets: Player[] = [await player(fresh("cap-target"))];
    const roomA = targets[0]!.room.roomId;
    for (let i = 0; i < 6; i++) targets.push(await player(fresh("cap-target"), { roomId: roomA }));
    const sub = fresh("cap-spammer");
    const first = await player(sub, { roomId: roomA });
    const filed: string[] = [];
    for (let i = 0; i < 5; i++) filed.push((await report(first.room, targets[i]!.room.sessionId)).status);
    expect(filed).toEqual(Array(5).fill("filed"));
    // Every session of the ID leaves: nothing of it stays bound in this process.
    await leave(first);
    await waitFor(async () => (await world.warden.sessions(did(sub))).length === 0, "the spammer's unbinding");
    const rejoined = await player(sub, { roomId: roomA });
    const afterRejoin = await report(rejoined.room, targets[5]!.room.sessionId);
    // Another room, with a player in it (so that only the cap can refuse the report).
    const elsewhere = await player(fresh("cap-elsewhere"));
    expect(elsewhere.room.roomId).not.toBe(roomA);
    const inB = await player(sub, { roomId: elsewhere.room.roomId });
    const fromB = await report(inB.room, elsewhere.room.sessionId);
    await settle();
    const pick = (a: Ack) => ({ status: a.status, reason: a.reason });
    const ttl = await redis.admin.pttl(`${prefix}:{${did(sub)}}:reported-by`);
    const observed = {
      afterRejoin: pick(afterRejoin),
      fromB: pick(fromB),
      abuse: (await storedEvents(redis.admin, prefix, did(sub))).map((e) => e.kind),
      reportsAgainst: {
        sixth: await redis.admin.zcard(`${prefix}:{${did(targets[5]!.sub)}}:reports`),
        elsewhere: await redis.admin.zcard(`${prefix}:{${did(elsewhere.sub)}}:reports`),
      },
      cases: { sixth: (await casesOf(targets[5]!.sub)).length, elsewhere: (await casesOf(elsewhere.sub)).length },
      countedFor: ttl > 0 && ttl <= WINDOW_MS,
    };
    figure("reports", "report cap across leave/rejoin and rooms", observed);
    const tooMany = { status: "rejected", reason: "too many reports: try again later" };
    expect(observed).toEqual({
      afterRejoin: tooMany,
      fromB: tooMany,
      abuse: ["report_abuse"],
      reportsAgainst: { sixth: 0, elsewhere: 0 },
      cases: { sixth: 0, elsewhere: 0 },
      countedFor: true,
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
  /** Marks the report reasons: found anywhere but in the case, a reason leaked. */
  const MARK = `QZXREASON${randomBytes(4).toString("hex").toUpperCase()}`;

  it("report reasons (huge, control chars, NUL, emoji, RTL, JSON-ish), names, unknown types and moderator reasons: bounded in the case, never in the feed, a history or a log", async () => {
    const bigName = hostile(1500); // ~9 KB of JWT: much more does not pass the HTTP header limit
    const target = await player(fresh("hostile-target"), { name: bigName });
    const reporters: Player[] = [];
    for (let i = 0; i < 4; i++)
      reporters.push(await player(fresh("hostile-reporter"), { roomId: target.room.roomId, name: hostile(40) }));
    await sleep(NEW_ID_MS + 300);
    const jsonish = `{"status":"actioned","reporter":"${did(target.sub)}","weight":1e9,"reports":[]}","state":"dismissed"}]}\\u0000`;
    // A ZWJ family (zero-width joiners inside) and a flag: astral, multi-unit graphemes.
    const family = "\u{1F469}\u200d\u{1F469}\u200d\u{1F467}\u{1F1EB}\u{1F1F7}";
    // Up to the room's schema limit (500): what a client can send through the demo room.
    const reasons = [
      `${MARK}0 ${hostile(100)}`.slice(0, 500),
      `${MARK}1 ${jsonish}\u0000\u202e\u2066${"😀".repeat(100)}${jsonish}`.slice(0, 500),
      `${MARK}2 ${"\u0000".repeat(150)}${"\u202e".repeat(50)}${family.repeat(40)}`.slice(0, 500),
    ];
    const acks: Ack[] = [];
    const queuedAfter: number[] = [];
    for (const [i, r] of reasons.entries()) {
      acks.push(await report(reporters[i]!.room, target.room.sessionId, r));
      queuedAfter.push(queueingsOf(target.sub).length);
    }
    expect(acks.map((a) => [a.status, keysOf(a)])).toEqual(Array(3).fill(["filed", FILED_KEYS]));
    expect(queuedAfter).toEqual([0, 0, 1]);
    // Huge: a room without a schema limit hands the plugin whatever it got (100 000 characters).
    const huge = `${MARK}3 ${`${hostile(10)}${jsonish}😀\u202e\u0000`.repeat(1000)}`.slice(0, 100_000);
    const room = matchMaker.getLocalRoomById(target.room.roomId) as unknown as {
      plugins: { warden: WardenPlugin };
      clients: { getById(id: string): unknown };
    };
    const hugeOutcome = await room.plugins.warden.report(
      room.clients.getById(reporters[3]!.room.sessionId) as Parameters<WardenPlugin["report"]>[0],
      { sessionId: target.room.sessionId, reason: huge },
    );
    // The server's outcome still says whether this report queued the case (it did not: already open).
    expect(hugeOutcome).toMatchObject({ status: "filed", queued: false });
    expect(queueingsOf(target.sub)).toHaveLength(1);
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
    c.auth.token = token(longReason.sub, "Banned player");
    const refused = await rejection(c.joinOrCreate("world"));
    expect(refused.code).toBe(4403);
    expect(refused.message.length).toBeLessThan(700);
    await waitFor(
      async () => (await storedEvents(redis.admin, prefix, did(typer.sub))).length === 1,
      "the unknown-type offense",
    );
    await settle();

    // The case: four reports, their reasons cut to MAX_REPORT_REASON and cleaned, the record intact.
    const [theCase, ...otherCases] = await casesOf(target.sub);
    expect(otherCases).toEqual([]);
    expect(theCase).toMatchObject({ state: "open", count: 4, weight: 4 });
    expect(theCase!.reports.map((r) => ({ reporter: r.reporter, weight: r.weight }))).toEqual(
      reporters.map((r) => ({ reporter: did(r.sub), weight: 1 })),
    );
    const kept = theCase!.reports.map((r) => r.reason);
    expect({
      lengths: kept.map((r) => r.length <= MAX_REPORT_REASON),
      marked: kept.map((r, i) => r.startsWith(`${MARK}${i} `)),
      unsafe: kept.filter((r) => UNSAFE.test(r)),
      halves: kept.filter((r) => LONE_SURROGATE.test(r)),
      cut: kept[3]!.length >= MAX_REPORT_REASON - 1,
    }).toEqual({
      lengths: [true, true, true, true],
      marked: [true, true, true, true],
      unsafe: [],
      halves: [],
      cut: true,
    });
    expect(kept[0]).toContain("<script>"); // HTML is kept as inert text: whoever renders it must escape it
    expect(kept[1]).toContain('"reporter":'); // JSON-ish text is kept as text, not merged into the record

    // Nothing of the reasons outside the case: the feed, every history (the target's first), the
    // target's sanctions and notices, the target's own copy of its data, the audit log, the warden's log.
    const streamText = async (key: string) =>
      (await redis.admin.xrange(key, "-", "+")).map(([id, fields]) => `${id} ${fields.join("=")}`).join("\n");
    const histories: string[] = [];
    for (const key of await historyKeys(redis.admin, prefix)) histories.push(await streamText(key));
    const targetCopy = await world.warden.admin.export(did(target.sub), MOD, { copy: "subject" });
    const places = {
      feed: (
        await Promise.all(
          Array.from({ length: new RedisKeys(prefix).buckets }, (_, k) =>
            streamText(new RedisKeys(prefix).feedShard(k)),
          ),
        )
      ).join("\n"),
      targetHistory: await streamText(new RedisKeys(prefix).events(did(target.sub))),
      histories: histories.join("\n"),
      targetSanctions: JSON.stringify(await world.warden.sanctions.history(did(target.sub))),
      targetNotices: JSON.stringify(target.seen.notices),
      reporterNotices: JSON.stringify(reporters.map((r) => r.seen.notices)),
      targetCopy: JSON.stringify(targetCopy),
      audit: await streamText(`${prefix}:{audit}:log`),
      log: logger.lines.map((l) => `${l.level} ${l.message}`).join("\n"),
    };
    const leakedTo = Object.entries(places)
      .filter(([, text]) => text.includes(MARK))
      .map(([where]) => where);
    expect(targetCopy.cases.flatMap((x) => x.reports.map((r) => r.reason))).toEqual(Array(4).fill("(redacted)"));

    // Everything in Redis: no unsafe character, no unbounded string, no unbounded value.
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
    const isReview = (key: string) => /:review:[^:]+$/.test(key);
    const largest = (vs: typeof values) => Math.max(0, ...vs.map((v) => Buffer.byteLength(v.value)));
    const largestValue = largest(values.filter((v) => !isReview(v.key)));
    const largestReview = largest(values.filter((v) => isReview(v.key)));
    figure("reports", "hostile text: what landed in Redis", {
      values: values.length,
      strings: strings.length,
      largestValueBytes: largestValue,
      largestReviewBytes: largestReview,
      longestString: longest.text.length,
      longestKey: longest.key.slice(prefix.length),
      keptReasons: kept.map((r) => r.length),
      unsafe,
      leakedTo,
    });
    expect(leakedTo).toEqual([]);
    expect(unsafe).toEqual([]);
    expect(longest.text.length).toBeLessThanOrEqual(500);
    // Strings of up to 100 000 characters went in; no stored value holds more than a bounded record:
    // a case is its reports (each reason ≤ 300 UTF-16 units, ≤ 900 bytes) and a little bookkeeping.
    expect(largestValue).toBeLessThan(4096);
    expect(largestReview).toBeLessThan(1024 + 4 * (3 * MAX_REPORT_REASON + 400));

    const [kick] = await world.warden.sanctions.history(did(typer.sub));
    expect(kick!.reason.length).toBeLessThanOrEqual(500);
    expect(kick!.by.length).toBeLessThanOrEqual(100);
    expect(processErrors.errors).toEqual([]);
  });

  it("text cut inside an emoji: a moderator's long reason is stored and enforced, the ID stays sanctionable, no half character lands in Redis", async () => {
    const emoji = "😀".repeat(400); // 800 UTF-16 units: every bound (64, 120, 300, 500) falls inside a pair
    // One ASCII character first: the bounds then fall between the two halves of an emoji.
    const target = await player(fresh("astral-target"), { name: `n${emoji}` });
    const reporters: Player[] = [];
    for (let i = 0; i < 3; i++) reporters.push(await player(fresh("astral-reporter"), { roomId: target.room.roomId }));
    await sleep(NEW_ID_MS + 300);
    for (const r of reporters) await report(r.room, target.room.sessionId, `r${emoji.slice(0, 400)}`);
    await waitFor(async () => (await queuedCasesOf(target.sub)).length === 1, "the case in the review queue");
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
    const reasons = (await casesOf(target.sub)).flatMap((c) => c.reports.map((r) => r.reason));
    const name = await redis.admin.hget(`${prefix}:{${did(target.sub)}}:profile`, "name");
    expect({
      mute,
      muteNotice,
      ban,
      banClosed,
      // "r" + 200 emoji is 401 units: cut at 300, which falls inside a pair, so 299 units stay.
      caseReasons: reasons.map((r) => ({ whole: !LONE_SURROGATE.test(r), length: r.length })),
      nameIsWhole: name === null || !LONE_SURROGATE.test(name),
    }).toEqual({
      mute: "issued",
      muteNotice: true,
      ban: "issued",
      banClosed: true,
      caseReasons: Array(3).fill({ whole: true, length: MAX_REPORT_REASON - 1 }),
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
    expect(await casesOf(a.sub)).toEqual([]);
  });
});

describe("Redis never holds a raw account subject", () => {
  it("every key and value under the prefix — review records, queues, stats, reporters' counts and standing included — names no subject and no IP", async () => {
    await settle();
    const keys = await keysUnder(redis.admin, prefix);
    const values = await dumpValues(redis.admin, prefix);
    // The families issue 10 added must be here, or the scan proves nothing about them.
    const families: Record<string, RegExp> = {
      review: /^rel-reports:\{[a-z2-7]{26}\}:review:[a-z2-7]{26}\.[a-z2-7]{8}\.c$/,
      reviews: /^rel-reports:\{[a-z2-7]{26}\}:reviews$/,
      queue: /^rel-reports:\{reviews\}:queue:case$/,
      stats: /^rel-reports:\{stats\}:day:\d{4}-\d{2}-\d{2}$/,
      statsActive: /^rel-reports:\{stats\}:active$/,
      reportedBy: /^rel-reports:\{[a-z2-7]{26}\}:reported-by$/,
      reporter: /^rel-reports:\{[a-z2-7]{26}\}:reporter$/,
      involved: /^rel-reports:\{[a-z2-7]{26}\}:involved$/,
      reports: /^rel-reports:\{[a-z2-7]{26}\}:reports$/,
      reportWeights: /^rel-reports:\{[a-z2-7]{26}\}:report-weights$/,
      events: /^rel-reports:\{b\d{1,3}\}:[a-z2-7]{26}:events$/,
      profile: /^rel-reports:\{[a-z2-7]{26}\}:profile$/,
      names: /^rel-reports:name:\{.*\}$/,
      feed: /^rel-reports:\{b\d{1,3}\}:feed$/,
    };
    const present = Object.fromEntries(
      Object.entries(families).map(([family, re]) => [family, keys.some((k) => re.test(k))]),
    );
    const haystack = [...keys, ...values.map((v) => `${v.key} ${v.value}`)].join("\n").toLowerCase();
    const found = [...subjects, "127.0.0.1", "::ffff:127."].filter((s) => haystack.includes(s.toLowerCase()));
    figure("reports", "Redis scanned for subjects", {
      keys: keys.length,
      values: values.length,
      bytes: haystack.length,
      subjects: subjects.length,
      found: found.length,
    });
    expect(present).toEqual(Object.fromEntries(Object.keys(families).map((f) => [f, true])));
    expect(found).toEqual([]);
  });
});
