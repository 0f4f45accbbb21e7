/**
 * Due process, the operator's settings and the moderators' side, on a real demo world over
 * Redis with real clients and real HTTP:
 *
 * - `dueProcess.reportAction: "mute"`: reports that queue a case bring at most a short
 *   automatic mute (never more, however many reports follow), with a statement that says
 *   reports triggered it and no detector saw it; the option refuses more;
 * - evidence with a chat offense: kept as its own record with the room's last lines,
 *   visible to moderators only, each look audited;
 * - a reporter whose case ended in a sanction reports with more weight;
 * - a revoke marked wrongful forgives the policy step, a plain revoke does not.
 */
import type { Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { createWarden } from "../src/index.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, type Observed, observe, token, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const MODERATOR = "report-action-moderator-token-01";
const ANN = "report-action-ann-named-token-01";
const BOB = "report-action-bob-named-token-01";
const VIEWER = "report-action-viewer-token-01234";
const NEW_ID_MS = 300;
const prefix = uniquePrefix("repact");
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const actor = { face: "code" as const, who: "api:moderator:tess", role: "moderator" };

let world: World;
let redis: Redis;
let base: string;
let n = 0;
const players: { room: Room; seen: Observed; did: string; sub: string }[] = [];

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
      logger: quiet,
      guard: { flood: { types: { chat: { rate: 1, burst: 1 }, report: { rate: 100, burst: 100 } } } },
      policy: {
        tracks: {
          spam: {
            halfLifeMs: "1h",
            ladder: [
              { at: 1, kind: "warn" },
              { at: 3, kind: "mute", duration: "10m" },
              { at: 5, kind: "kick" },
            ],
          },
        },
      },
      reports: { threshold: 3, newIdMs: NEW_ID_MS, windowMs: 60_000, maxPerWindow: 50 },
      dueProcess: { reportAction: "mute", reportMuteMs: "5m", evidence: { enabled: true, lines: 4 } },
    },
    admin: {
      moderatorTokens: [MODERATOR, { name: "ann", token: ANN }, { name: "bob", token: BOB }],
      viewerTokens: [VIEWER],
    },
  });
  await world.warden.ready();
  base = `http://127.0.0.1:${world.port}`;
});

afterAll(async () => {
  await Promise.all(players.map((p) => Promise.race([p.room.leave().catch(() => {}), sleep(1000)])));
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

async function join(roomId?: string) {
  const sub = `ra-${++n}-${prefix}`;
  const c = client(world.port, sub, `Player${n}`);
  const room = roomId ? await c.joinById(roomId) : await c.create("world");
  const player = { room, seen: observe(room), did: world.warden.digitalId(sub), sub };
  players.push(player);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar");
  return player;
}

function report(room: Room, sessionId: string): Promise<any> {
  return new Promise((resolve) => {
    room.onMessage("report:ack", resolve);
    room.send("report", { sessionId, reason: "griefing", category: "harassment" });
  });
}

async function api(
  method: string,
  path: string,
  token = MODERATOR,
  body?: unknown,
  actorHeader = "tess",
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/warden/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "x-warden-actor": actorHeader,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

describe("reportAction: mute", () => {
  it("refuses more than a warn or a 15-minute mute", () => {
    expect(() =>
      createWarden({ secret: WARDEN_SECRET, logger: quiet, dueProcess: { reportAction: "ban" as never } }),
    ).toThrow(/dueProcess\.reportAction/);
    expect(() => createWarden({ secret: WARDEN_SECRET, logger: quiet, dueProcess: { reportMuteMs: "16m" } })).toThrow(
      /at most 15 minutes/,
    );
    expect(() => createWarden({ secret: WARDEN_SECRET, logger: quiet, dueProcess: { appealWindowMs: "30d" } })).toThrow(
      /at least 183 days/,
    );
  });

  it("a queued case brings one short automatic mute, with reports as its facts; twenty more reports bring nothing more", async () => {
    const target = await join();
    const reporters = [];
    for (let i = 0; i < 23; i++) reporters.push(await join(target.room.roomId));
    await sleep(NEW_ID_MS + 100); // established reporters: weight 1 each
    for (const r of reporters.slice(0, 3)) expect((await report(r.room, target.room.sessionId)).status).toBe("filed");
    await waitFor(() => target.seen.notices.some((x) => x.kind === "mute"), "the interim mute");
    const mute = target.seen.notices.find((x) => x.kind === "mute")!;
    expect(mute.statement).toMatchObject({
      rule: { id: "reports" },
      facts: { events: [], reports: 3 },
      automated: { detection: false, decision: true },
      decidedBy: "policy",
    });
    const [stored] = await world.warden.sanctions.history(target.did as never);
    expect(stored!.end! - stored!.start).toBe(5 * 60_000);
    // The case still waits for a person.
    const queued = (await world.warden.admin.caseQueue(actor, 100)).filter((c) => c.did === target.did);
    expect(queued).toHaveLength(1);

    for (const r of reporters.slice(3)) await report(r.room, target.room.sessionId);
    await sleep(300);
    const kinds = (await world.warden.sanctions.history(target.did as never)).map((s) => s.kind);
    expect(kinds).toEqual(["mute"]);
    expect(target.seen.leftCode).toBeNull();
  });
});

describe("evidence with a chat offense", () => {
  it("keeps the room's last lines with the offense; moderators only, each look audited", async () => {
    const speaker = await join();
    const other = await join(speaker.room.roomId);
    other.room.send("chat", { text: "hello there" });
    await sleep(1100);
    speaker.room.send("chat", { text: "what the fuck is this" });
    await waitFor(async () => (await world.warden.admin.evidence(speaker.did as never, actor)).length > 0, "evidence");
    const [record] = await world.warden.admin.evidence(speaker.did as never, actor);
    expect(record).toMatchObject({ type: "evidence", did: speaker.did, kind: "abusive_text" });
    expect(record!.snapshot.lines.map((l) => l.did)).toEqual([other.did, speaker.did]);
    expect(record!.snapshot.lines.map((l) => l.text)).toEqual(["hello there", "what the fuck is this"]);

    expect((await api("GET", `/identities/${speaker.did}/evidence`, VIEWER)).status).toBe(403);
    const seen = await api("GET", `/identities/${speaker.did}/evidence`);
    expect(seen.status).toBe(200);
    expect(seen.body.evidence).toHaveLength(1);
    const audit = (await api("GET", "/audit?limit=20")).body.entries;
    expect(
      audit.some(
        (e: any) => e.target === speaker.did && e.detail.what === "evidence" && e.actor === "api:moderator:tess",
      ),
    ).toBe(true);
    // The other speaker's own export holds nothing of it; their lines are in the speaker's record only.
    const exported = await world.warden.admin.export(other.did as never, actor);
    expect(JSON.stringify(exported)).not.toContain("hello there");
  });
});

describe("reporters' track record", () => {
  it("a reporter whose case ended in a sanction reports with more weight next time", async () => {
    const target = await join();
    const reporters = [await join(target.room.roomId), await join(target.room.roomId), await join(target.room.roomId)];
    await sleep(NEW_ID_MS + 100);
    for (const r of reporters) await report(r.room, target.room.sessionId);
    const [queued] = (await world.warden.admin.caseQueue(actor, 100)).filter((c) => c.did === target.did);
    expect(queued!.reports.map((r) => r.weight)).toEqual([1, 1, 1]);
    await world.warden.admin.decideCase(queued!.id, { action: "sanction", kind: "warn", reason: "confirmed" }, actor);
    await waitFor(
      async () => (await world.warden.store.reporterStanding(reporters[0]!.did as never)).upheld === 1,
      "the reporter's record",
    );

    const next = await join(reporters[0]!.room.roomId);
    await report(reporters[0]!.room, next.room.sessionId);
    const [open] = (await world.warden.admin.due.cases.against(next.did as never)).filter(
      (c) => c.state !== "dismissed",
    );
    expect(open!.reports[0]!.weight).toBe(1.25);
  });
});

describe("a revoke marked wrongful", () => {
  async function mutedByPolicy() {
    const p = await join();
    // Flood events come at most one a second per bucket: flood until the third brings the mute.
    for (let i = 0; i < 40 && !p.seen.notices.some((x) => x.kind === "mute"); i++) {
      p.room.send("chat", { text: `line ${i}` });
      p.room.send("chat", { text: `again ${i}` });
      await sleep(250);
    }
    await waitFor(() => p.seen.notices.some((x) => x.kind === "mute"), "the policy mute");
    const mute = (await world.warden.sanctions.history(p.did as never)).find((s) => s.kind === "mute")!;
    return { p, mute };
  }

  it("forgives the step (points back to the warn's threshold); a plain revoke does not", async () => {
    const wrongful = await mutedByPolicy();
    const plain = await mutedByPolicy();
    const body = (wrong: boolean) => ({ reason: "mistake", wrongful: wrong });
    expect((await api("POST", `/sanctions/${wrongful.mute.id}/revoke`, MODERATOR, body(true))).status).toBe(200);
    expect((await api("POST", `/sanctions/${plain.mute.id}/revoke`, MODERATOR, body(false))).status).toBe(200);
    const points = async (did: string) => (await world.warden.store.pointsOf(did as never)).spam!.points;
    expect(await points(wrongful.p.did)).toBeLessThanOrEqual(1);
    expect(await points(plain.p.did)).toBeGreaterThan(2.9); // 3 points, decayed by a few seconds of a 1 h half-life
    const audit = (await api("GET", "/audit?limit=50")).body.entries;
    expect(audit.some((e: any) => e.target === wrongful.mute.id && e.detail.forgiven === "spam")).toBe(true);
    expect(audit.some((e: any) => e.target === plain.mute.id && e.detail.forgiven !== undefined)).toBe(false);
  });
});

describe("named staff tokens and four-eyes", () => {
  it("the credential is the actor, whatever X-Warden-Actor says; the issuer cannot decide on any face", async () => {
    const p = await join();
    const issued = await api(
      "POST",
      `/identities/${p.did}/sanctions`,
      ANN,
      { kind: "mute", duration: "10m", reason: "spam" },
      "bob",
    );
    expect(issued.status).toBe(201);
    expect(issued.body.sanction.by).toBe("api:moderator:ann");
    await waitFor(() => p.seen.notices.some((x) => x.kind === "mute"), "the mute");
    // The shared token naming itself "ann" in the header is only the role: no header names a person.
    const shared = await api("POST", `/identities/${p.did}/sanctions`, MODERATOR, { kind: "warn", reason: "x" }, "ann");
    expect(shared.body.sanction.by).toBe("api:moderator");
    const appeal = await world.warden.admin.due.appeals.file(p.did as never, issued.body.sanction.id, "not me", "http");
    const decide = (token: string, header: string, reason = "reviewed") =>
      api("POST", `/appeals/${appeal.id}/decide`, token, { outcome: "rejected", reason }, header);
    // Ann's own token claiming to be bob, ann on the CLI: both refused.
    expect((await decide(ANN, "bob")).body.error?.code).toBe("FOUR_EYES");
    await expect(
      world.warden.admin.decideAppeal(appeal.id, { outcome: "rejected", reason: "x" }, { face: "cli", who: "cli:ann" }),
    ).rejects.toMatchObject({ code: "FOUR_EYES" });
    // Bob decides, with a reason longer than a notice var: the player is told anyway (cut), the appeal keeps it whole.
    const long = `not upheld: ${"the logs show the messages were sent by this account. ".repeat(6)}`;
    const decided = await decide(BOB, "ann", long);
    expect(decided.status).toBe(200);
    expect(decided.body.appeal).toMatchObject({ state: "rejected", decidedBy: "api:moderator:bob" });
    expect(decided.body.appeal.decision.reason.length).toBeGreaterThan(200);
    await waitFor(
      () => p.seen.notices.some((x) => x.kind === "appeal" && x.state === "rejected"),
      "the outcome notice",
    );
    const told = p.seen.notices.find((x) => x.kind === "appeal" && x.state === "rejected")!;
    expect(told.message).toContain("the logs show");
  });
});

describe("a case whose sanction is vetoed", () => {
  it("tells the reporters no action was taken and credits nobody", async () => {
    const target = await join();
    const reporters = [await join(target.room.roomId), await join(target.room.roomId), await join(target.room.roomId)];
    await sleep(NEW_ID_MS + 100);
    for (const r of reporters) await report(r.room, target.room.sessionId);
    const [queued] = (await world.warden.admin.caseQueue(actor, 100)).filter((c) => c.did === target.did);
    const veto = ({ sanction, cancel }: { sanction: { reason: string }; cancel(reason: string): void }) => {
      if (sanction.reason === "veto me") cancel("not in this game");
    };
    world.warden.on("sanction:before", veto);
    try {
      await world.warden.admin.decideCase(queued!.id, { action: "sanction", kind: "warn", reason: "veto me" }, actor);
    } finally {
      world.warden.off("sanction:before", veto);
    }
    for (const r of reporters)
      await waitFor(() => r.seen.notices.some((x) => x.kind === "report" && x.state !== "received"), "the outcome");
    expect(
      reporters.map((r) => r.seen.notices.find((x) => x.kind === "report" && x.state !== "received")!.state),
    ).toEqual(["not_actioned", "not_actioned", "not_actioned"]);
    expect((await world.warden.store.reporterStanding(reporters[0]!.did as never)).upheld).toBe(0);
    // (This world's reportAction gives the interim mute; the vetoed warn was never issued.)
    expect((await world.warden.sanctions.history(target.did as never)).map((x) => x.kind)).toEqual(["mute"]);
  });
});

describe("the transparency report read back from the store", () => {
  it("takes counter and sample names only as keys (an insider's __proto__ changes nothing)", async () => {
    const { summarize } = await import("../src/reviews/transparency.js");
    const day = {
      day: "2026-12-01",
      counts: JSON.parse('{"__proto__": 5, "appeals.filed": 2}'),
      samples: JSON.parse('{"__proto__": [5], "appealDecision": [10, 30, "x"]}'),
    };
    const report = summarize("2026-12-01", "2026-12-01", 1, [day], {}, "now");
    expect(report.appeals.filed).toBe(2);
    expect(report.appeals.medianDecisionMs).toBe(20);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("the player's own export", () => {
  it("a player gets a few an hour: it reads far more than any other route", async () => {
    const p = await join();
    const get = () =>
      fetch(`${base}/warden/player/export`, { headers: { authorization: `Bearer ${token(p.sub, `Player`)}` } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get()).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await get();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
  });
});

describe("review records an insider broke", () => {
  it("read as none: the player's export, the queue listing and a new report go on", async () => {
    const target = await join();
    const keys = new RedisKeys(prefix);
    const id = `${target.did}.aaaaaaab.c`;
    const broken = {
      type: "case",
      id,
      did: target.did,
      rev: 1,
      openedAt: Date.now(),
      state: "open",
      count: 1,
      weight: 1,
      reports: null,
    };
    await redis.hset(keys.review(target.did as never, id), { rev: "1", json: JSON.stringify(broken), inv: "[]" });
    await redis.zadd(keys.reviews(target.did as never), Date.now(), id);
    await redis.zadd(keys.reviewQueue("case"), Date.now(), id);
    expect(await world.warden.store.review(id)).toBeNull();
    expect((await world.warden.admin.caseQueue(actor, 500)).some((c) => c.id === id)).toBe(false);
    const exported = await fetch(`${base}/warden/player/export`, {
      headers: { authorization: `Bearer ${token(target.sub, "Player")}` },
    });
    expect(exported.status).toBe(200);
  });
});

describe("an upheld appeal whose sanction cannot be lifted", () => {
  it("goes back to where it was, to be decided again — never 'upheld' over a sanction in force", async () => {
    const p = await join();
    const issued = await api("POST", `/identities/${p.did}/sanctions`, ANN, { kind: "mute", reason: "spam" });
    const appeals = world.warden.admin.due.appeals;
    const appeal = await appeals.file(p.did as never, issued.body.sanction.id, "it was not me", "http");
    await expect(
      appeals.decide(appeal.id, { outcome: "upheld", reason: "ok" }, { who: "api:moderator:bob" }, async () => {
        throw new Error("the store is down");
      }),
    ).rejects.toThrow("the store is down");
    expect(await appeals.get(appeal.id)).toMatchObject({ state: "filed" });
    // And it can be decided again, for real this time.
    const decided = await api("POST", `/appeals/${appeal.id}/decide`, BOB, { outcome: "upheld", reason: "ok" });
    expect(decided.body.appeal).toMatchObject({ state: "upheld", decision: { remedy: "revoked" } });
  });
});
