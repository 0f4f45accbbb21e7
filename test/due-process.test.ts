/**
 * Due process (issue 10), end to end: one demo world (rooms/app.ts) on a real Redis, real
 * SDK clients, real HTTP to the admin API (`/warden/api`, moderator token) and to the player
 * API (`/warden/player`, bearer = the player's own demo JWT).
 *
 * A policy ban reaches the player with its statement of reasons; the banned player appeals
 * over HTTP, a second moderator upholds it, the player is back and their points are forgiven.
 * The moderator who issued a sanction cannot decide its appeal. The player API refuses what
 * it must. Brigades of reports sanction nobody: they open a case for a person. A person's
 * decision on a case reaches the reporters; repeated unfounded reports suspend a reporter.
 * The player's own export redacts other people; the staff export does not. Evidence
 * snapshots carry the room's last chat lines and lose a forgotten participant's. The
 * transparency report counts all of it and names nobody.
 *
 * Moderators: each person ("ann", "bob"…) has a named token of their own, so the actor comes
 * from the credential (`api:moderator:<name>`); the X-Warden-Actor header is ignored.
 */
import type { Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import type { WardenNotice } from "../src/index.js";
import type { ReportCase } from "../src/reviews/model.js";
import { dayOf } from "../src/reviews/transparency.js";
import { isActive, type Sanction } from "../src/sanctions/model.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, type Observed, observe, token, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const DAY = 86_400_000;
const MODERATOR = "due-process-moderator-token-0123";
const VIEWER = "due-process-viewer-token-0123456";
/** Reports from an ID first seen less than this long ago weigh a quarter. */
const NEW_ID_MS = 1500;
const prefix = uniquePrefix("due");
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let world: World;
let redis: Redis;
let base: string;
/** The UTC day the file started: the transparency report covers it up to the day it ends. */
let firstDay: string;
let account = 0;
const nextAccount = () => `due-${++account}-${prefix}`;

/** Everyone who joined (to close them all), and every digital ID and account the file used. */
const everyone: Player[] = [];
const dids = new Set<string>();
const subs = new Set<string>();

/** What the file did that the transparency report must count (reports and cases; sanctions are read back from the store). */
const tally = {
  received: 0,
  byCategory: {} as Record<string, number>,
  opened: 0,
  actioned: 0,
  dismissed: 0,
  refusedSuspended: 0,
  appeals: { filed: 0, upheld: 0, rejected: 0, withdrawn: 0 },
};
/** The transparency report when the file started (the prefix is the file's own: zeros, but not assumed). */
let before: any;
/**
 * Every case that entered the review queue, as `case:queued` handed it over (the world runs
 * in this process). The server's outcome knows whether a report queued a case; the reporter's
 * ack does not, so this is how the file counts queueings.
 */
const queuedCases: ReportCase[] = [];
const queueingsOf = (did: string) => queuedCases.filter((c) => c.did === did);

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
      // Chat flood: one line a second, no burst: a client sending chats fast collects `rate` offenses (spam track).
      guard: { flood: { types: { chat: { rate: 1, burst: 1 } } } },
      policy: {
        tracks: {
          spam: {
            halfLifeMs: "1h",
            ladder: [
              { at: 1, kind: "warn" },
              { at: 3, kind: "mute", duration: "10m" },
              { at: 5, kind: "ban", duration: "1h" },
            ],
          },
        },
      },
      reports: { threshold: 3, newIdMs: NEW_ID_MS, windowMs: 60_000, maxPerWindow: 5 },
      dueProcess: { evidence: { enabled: true, lines: 5 } },
    },
    admin: {
      moderatorTokens: [MODERATOR, ...Object.entries(NAMED).map(([name, token]) => ({ name, token }))],
      viewerTokens: [VIEWER],
      rateLimit: { perMinute: 100_000, expensivePerMinute: 100_000 },
    },
  });
  world.warden.on("case:queued", (record) => {
    queuedCases.push(structuredClone(record));
    tally.opened++;
  });
  await world.warden.ready();
  base = `http://127.0.0.1:${world.port}`;
  firstDay = dayOf(Date.now());
  before = (await api("GET", `/transparency?from=${firstDay}&to=${firstDay}`)).body;
});

afterAll(async () => {
  await Promise.all(
    everyone
      .filter((p) => p.seen.leftCode === null)
      .map((p) => Promise.race([p.room.leave().catch(() => {}), sleep(2000)])),
  );
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

interface Player {
  sub: string;
  did: string;
  room: Room;
  seen: Observed;
  reportAcks: any[];
  appealAcks: any[];
}

/** A player joined to a new room, or to `roomId`; `sub` to come back as an account that was here before. */
async function join(options: { roomId?: string; sub?: string } = {}): Promise<Player> {
  const sub = options.sub ?? nextAccount();
  const c = client(world.port, sub);
  const room = options.roomId ? await c.joinById(options.roomId) : await c.create("world");
  const seen = observe(room);
  const player: Player = { sub, did: world.warden.digitalId(sub), room, seen, reportAcks: [], appealAcks: [] };
  room.onMessage("report:ack", (ack: any) => player.reportAcks.push(ack));
  room.onMessage("appeal:ack", (ack: any) => player.appealAcks.push(ack));
  everyone.push(player);
  dids.add(player.did);
  subs.add(sub);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return player;
}

interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function http(
  url: string,
  method: string,
  bearer: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Each moderator's own named token. */
const NAMED: Record<string, string> = Object.fromEntries(
  // "ANN" and " ann " are named tokens of their own: the same person whatever the case or spaces.
  ["ann", "bob", "carol", "dora", "ANN", " ann "].map((name, i) => [name, `named-moderator-${i}-0123456789`]),
);

/** The admin API as the staff member `actor` (their own named token), else with the shared moderator token. */
function api(method: string, path: string, options: { actor?: string; body?: unknown; bearer?: string } = {}) {
  const bearer = options.bearer ?? (options.actor === undefined ? MODERATOR : NAMED[options.actor]);
  if (bearer === undefined) throw new Error(`no token for ${options.actor}`);
  return http(`${base}/warden/api${path}`, method, bearer, options.body, {});
}

/** The player API with the account's own demo JWT (or with the given bearer, or none). */
function mine(who: { sub: string } | { bearer: string | null }, method: string, path: string, body?: unknown) {
  const bearer = "sub" in who ? token(who.sub) : who.bearer;
  return http(`${base}/warden/player${path}`, method, bearer, body);
}

/** Files a report in the room and waits for its ack; counts what the transparency report must count. */
async function report(from: Player, target: Player, reason: string, category?: string): Promise<any> {
  const n = from.reportAcks.length;
  const sessionId = target.room.sessionId;
  from.room.send("report", { sessionId, reason, ...(category === undefined ? {} : { category }) });
  await waitFor(() => from.reportAcks.slice(n).some((a) => a.sessionId === sessionId), "the report's ack");
  const ack = from.reportAcks.slice(n).find((a) => a.sessionId === sessionId);
  if (ack.status === "filed") {
    tally.received++;
    const shown = category ?? "other";
    tally.byCategory[shown] = (tally.byCategory[shown] ?? 0) + 1;
  } else if (ack.status === "rejected" && /suspended/.test(ack.reason)) {
    tally.refusedSuspended++;
  }
  return ack;
}

/** Says one chat line and waits until `witness` saw it broadcast (so that lines are taped in order). */
async function say(p: Player, text: string, witness: Player): Promise<void> {
  const n = witness.seen.chats.length;
  p.room.send("chat", { text });
  await waitFor(
    () => witness.seen.chats.slice(n).some((c) => c.from === p.room.sessionId && c.text === text),
    `chat line ${JSON.stringify(text)}`,
  );
}

const history = (did: string): Promise<Sanction[]> => world.warden.sanctions.history(did as never);
const offenses = (did: string) => world.warden.store.offensesOf(did as never, { limit: 1000 });
const notices = (p: Player, kind: WardenNotice["kind"]) => p.seen.notices.filter((n) => n.kind === kind);
const receiptPattern = /^r[a-z2-7]{12}$/;

/**
 * The ack of a filed report holds the reporter's own receipt and status, nothing else: never
 * a weight, never whether the case was queued (that would tell them others reported the player).
 */
function expectFiledAck(ack: any, target: Player): void {
  expect(Object.keys(ack).sort()).toEqual(["accepted", "receipt", "sessionId", "status"]);
  expect(ack).toEqual({
    sessionId: target.room.sessionId,
    accepted: true,
    status: "filed",
    receipt: expect.any(String),
  });
  expect(ack).not.toHaveProperty("weight");
  expect(ack).not.toHaveProperty("queued");
}

/** The open case against an ID in the review queue. */
async function openCaseOf(did: string): Promise<any> {
  const queue = await api("GET", "/cases?limit=500", { actor: "bob" });
  expect(queue.status).toBe(200);
  return queue.body.cases.find((c: any) => c.did === did);
}

/**
 * The "hall": one room of players who joined together and are older than `newIdMs` by the
 * time they report (full-weight reporters). Built once; each scenario takes its own players.
 */
let hallReady: Promise<{ roomId: string; take(n: number): Player[] }> | undefined;
function hall() {
  hallReady ??= (async () => {
    const first = await join();
    const rest = await Promise.all(Array.from({ length: 39 }, () => join({ roomId: first.room.roomId })));
    await sleep(NEW_ID_MS + 300);
    const players = [first, ...rest];
    let used = 0;
    return {
      roomId: first.room.roomId,
      take(n: number): Player[] {
        if (used + n > players.length) throw new Error("the hall has too few players for this test");
        const out = players.slice(used, used + n);
        used += n;
        return out;
      },
    };
  })();
  return hallReady;
}

// ---------------------------------------------------------------------------------------
// 1. The headline flow
// ---------------------------------------------------------------------------------------

describe("a policy ban, appealed over HTTP while banned, upheld by a second moderator", () => {
  it("statement, refused join, appeal, decision, back in the game, points forgiven", async () => {
    const p = await join();
    // Chats far faster than one a second: `rate` offenses, one a second, until the ban.
    const flood = setInterval(() => {
      if (p.seen.leftCode !== null) return;
      try {
        p.room.send("chat", { text: "cheap gold, cheap gold" });
      } catch {}
    }, 40);
    try {
      await waitFor(() => p.seen.leftCode !== null, "the policy ban (warn at 1, mute at 3, ban at 5 offenses)", 15_000);
    } finally {
      clearInterval(flood);
    }
    expect((await p.seen.left).code).toBe(4403);

    // Warned, muted, banned — each sanction told once or more (a muted player is reminded), in that order.
    const sanctionIds = [
      ...new Set(p.seen.notices.filter((n) => n.sanctionId !== undefined).map((n) => `${n.kind}:${n.sanctionId}`)),
    ];
    expect(sanctionIds.map((s) => s.split(":")[0])).toEqual(["warn", "mute", "ban"]);
    const banNotice = notices(p, "ban")[0]!;
    expect(p.seen.notices.at(-1)).toBe(banNotice); // delivered before the socket closed, nothing after
    const stored = (await history(p.did)).find((s) => s.kind === "ban")!;
    expect(stored.id).toBe(banNotice.sanctionId);
    expect(stored.by).toBe("policy");
    expect(banNotice.until).toBe(stored.end);
    expect(banNotice.statement).toMatchObject({
      scope: { capabilities: ["join"], rooms: "all" },
      rule: { id: "spam" },
      automated: { detection: true, decision: true },
      decidedBy: "policy",
      appeal: { handle: stored.id },
      ladder: { track: "spam", step: 2 },
    });
    expect(banNotice.statement!.rule!.title.length).toBeGreaterThan(0);
    const fact = banNotice.statement!.facts.events.find((e) => e.kind === "rate");
    expect(fact).toMatchObject({ detector: "flood", kind: "rate", track: "spam", evidence: { type: "chat" } });
    expect(banNotice.statement!.facts.reports).toBe(0);
    // The offenses that led to the ban (5 points at one per event), not only the last one — bounded to 5.
    const facts = banNotice.statement!.facts.events;
    expect(facts.length).toBeGreaterThanOrEqual(3);
    expect(facts.length).toBeLessThanOrEqual(5);
    expect(facts.every((e) => e.track === "spam")).toBe(true);
    expect(facts.map((e) => e.at)).toEqual([...facts.map((e) => e.at)].sort((a, b) => a - b));
    expect(banNotice.statement!.appeal.until - stored.start).toBeGreaterThanOrEqual(183 * DAY);
    expect(banNotice.message).toMatch(/banned/i);
    expect(banNotice.message).toContain(stored.id);

    // Banned: joining again is refused.
    await expect(client(world.port, p.sub).joinOrCreate("world")).rejects.toMatchObject({ code: 4403 });

    // While banned, the player reads why over HTTP with their own game credential.
    const listed = await mine(p, "GET", "/sanctions");
    expect(listed.status).toBe(200);
    const banView = listed.body.sanctions.find((s: any) => s.id === stored.id);
    expect(banView).toMatchObject({
      kind: "ban",
      start: stored.start,
      end: stored.end,
      statement: { rule: { id: "spam" }, decidedBy: "policy", appeal: { handle: stored.id } },
    });
    expect(banView.statement.facts.events.some((e: any) => e.kind === "rate")).toBe(true);
    expect(banView.message).toMatch(/banned/i);
    expect(banView.message).toContain(stored.id);
    expect(banView.message).not.toMatch(/[{}]/);
    expect(listed.body.sanctions.map((s: any) => s.kind).sort()).toEqual(["ban", "mute", "warn"]);
    expect(listed.body.sanctions.every((s: any) => s.by === undefined)).toBe(true);

    // …and appeals, while banned.
    const text = "I pasted the same line twice by accident, my keyboard repeated it. Sorry!";
    const filed = await mine(p, "POST", "/appeals", { sanctionId: stored.id, text });
    expect(filed.status).toBe(201);
    expect(filed.body.appeal).toMatchObject({ id: `${stored.id}.a`, sanctionId: stored.id, state: "filed", text });
    tally.appeals.filed++;
    const appealId = filed.body.appeal.id as string;

    // A moderator sees it in the queue.
    const queue = await api("GET", "/appeals", { actor: "bob" });
    expect(queue.status).toBe(200);
    expect(queue.body.appeals.map((a: any) => a.id)).toContain(appealId);
    expect(queue.body.appeals.find((a: any) => a.id === appealId)).toMatchObject({
      state: "filed",
      issuedBy: "policy",
      did: p.did,
    });

    // Bob takes it and upholds it.
    const taken = await api("POST", `/appeals/${appealId}/review`, { actor: "bob" });
    expect(taken.status).toBe(200);
    expect(taken.body.appeal).toMatchObject({ state: "in_review", reviewer: "api:moderator:bob" });
    const reason = "the repeats came from a stuck key, not spam";
    const decided = await api("POST", `/appeals/${appealId}/decide`, {
      actor: "bob",
      body: { outcome: "upheld", reason },
    });
    expect(decided.status).toBe(200);
    expect(decided.body.appeal).toMatchObject({
      state: "upheld",
      decidedBy: "api:moderator:bob",
      decision: { reason, remedy: "revoked" },
    });
    tally.appeals.upheld++;

    // The ban is revoked.
    const revoked = (await history(p.did)).find((s) => s.id === stored.id)!;
    expect(revoked.revoked).toMatchObject({ by: "api:moderator:bob" });
    expect(revoked.revoked!.reason).toContain(reason);
    expect((await world.warden.sanctions.active(p.did as never)).map((s) => s.kind)).not.toContain("ban");

    // The player reads the outcome: upheld, with the reason, without the staff member's name.
    const outcome = await mine(p, "GET", "/appeals");
    expect(outcome.status).toBe(200);
    expect(outcome.body.appeals).toHaveLength(1);
    expect(outcome.body.appeals[0]).toMatchObject({
      id: appealId,
      state: "upheld",
      decision: { reason, remedy: "revoked" },
    });
    expect(outcome.text).not.toMatch(/bob/i);
    expect(outcome.text).not.toContain("api:moderator");

    // The ladder step is forgiven: the spam points are at most the mute's threshold (3).
    const points = (await world.warden.store.pointsOf(p.did as never)).spam!;
    expect(points.points).toBeLessThanOrEqual(3 + 1e-9);
    const summary = await api("GET", `/identities/${p.did}`, { actor: "bob" });
    expect(summary.status).toBe(200);
    expect(summary.body.points.spam.points).toBeLessThanOrEqual(3);

    // Back in the game.
    const back = await join({ sub: p.sub });
    expect(back.seen.leftCode).toBeNull();

    // ONE more offense does not bring the ban back (at worst the forgiven step, never the one after).
    await sleep(1100); // the chat bucket is full again, and a flood event is due
    const eventsBefore = (await offenses(p.did)).length;
    const sanctionsBefore = new Set((await history(p.did)).map((s) => s.id));
    back.room.send("chat", { text: "one" });
    back.room.send("chat", { text: "two" }); // over the limit: one `rate` offense
    await waitFor(async () => (await offenses(p.did)).length === eventsBefore + 1, "one more rate offense");
    await world.warden.recorder.drain();
    await sleep(300);
    expect((await offenses(p.did)).length).toBe(eventsBefore + 1);
    expect((await offenses(p.did))[0]).toMatchObject({ kind: "rate", track: "spam" });
    const since = (await history(p.did)).filter((s) => !sanctionsBefore.has(s.id));
    expect(since.filter((s) => s.kind === "ban" || s.kind === "kick")).toEqual([]);
    expect(since.every((s) => s.kind === "warn" || s.kind === "mute")).toBe(true);
    expect(back.seen.leftCode).toBeNull();
    expect(notices(back, "ban")).toEqual([]);
    const after = (await world.warden.store.pointsOf(p.did as never)).spam!;
    expect(after.points).toBeLessThan(5 - 0.005);

    // Time to decision is recorded: the only decided appeal so far is this one.
    const today = dayOf(Date.now());
    let transparency: any;
    await waitFor(async () => {
      transparency = (await api("GET", `/transparency?from=${firstDay}&to=${today}`)).body;
      return transparency.appeals.upheld === before.appeals.upheld + 1;
    }, "the upheld appeal counted");
    expect(transparency.appeals.medianDecisionMs).toBe(
      outcome.body.appeals[0].decidedAt - outcome.body.appeals[0].filedAt,
    );
  });
});

// ---------------------------------------------------------------------------------------
// 2. Four-eyes
// ---------------------------------------------------------------------------------------

describe("four-eyes", () => {
  it("the issuer cannot decide the appeal; another moderator rejects it and the player is told in the room", async () => {
    const p = await join();
    const issued = await api("POST", `/identities/${p.did}/sanctions`, {
      actor: "ann",
      body: { kind: "mute", duration: "10m", reason: "insults in chat", rule: "abuse" },
    });
    expect(issued.status).toBe(201);
    const mute = issued.body.sanction;
    expect(mute).toMatchObject({ kind: "mute", by: "api:moderator:ann" });
    expect(mute.statement).toMatchObject({
      rule: { id: "abuse" },
      automated: { detection: false, decision: false },
      decidedBy: "moderator",
    });
    await waitFor(() => notices(p, "mute").length > 0, "the mute notice");
    expect(JSON.stringify(notices(p, "mute")[0])).not.toMatch(/ann/i);

    // The muted player appeals in the room.
    p.room.send("appeal", { sanctionId: mute.id, text: "I was quoting someone else, not insulting anyone." });
    await waitFor(() => p.appealAcks.length === 1, "appeal:ack");
    expect(p.appealAcks[0]).toEqual({ status: "filed", appealId: `${mute.id}.a`, state: "filed" });
    tally.appeals.filed++;
    const appealId = p.appealAcks[0].appealId as string;
    await waitFor(() => notices(p, "appeal").some((n) => n.state === "filed"), "the appeal's receipt notice");

    // Ann issued the mute: she may neither take nor decide its appeal (whatever the case of her name).
    for (const actor of ["ann", "ANN", " ann "]) {
      const take = await api("POST", `/appeals/${appealId}/review`, { actor });
      expect({ actor, status: take.status, code: take.body?.error?.code }).toEqual({
        actor,
        status: 403,
        code: "FOUR_EYES",
      });
    }
    const annDecides = await api("POST", `/appeals/${appealId}/decide`, {
      actor: "ann",
      body: { outcome: "upheld", reason: "fine, I was wrong" },
    });
    expect(annDecides.status).toBe(403);
    expect(annDecides.body.error.code).toBe("FOUR_EYES");
    expect((await api("GET", `/appeals/${appealId}`, { actor: "bob" })).body.appeal.state).toBe("filed");

    // Bob rejects it with a reason; the player, still connected, is told.
    const reason = "the chat log shows the insults were your own words";
    const rejected = await api("POST", `/appeals/${appealId}/decide`, {
      actor: "bob",
      body: { outcome: "rejected", reason },
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.appeal).toMatchObject({ state: "rejected", decidedBy: "api:moderator:bob" });
    tally.appeals.rejected++;
    await waitFor(() => notices(p, "appeal").some((n) => n.state === "rejected"), "the rejection notice");
    const told = notices(p, "appeal").find((n) => n.state === "rejected")!;
    expect(told).toMatchObject({ kind: "appeal", topic: "appeal", state: "rejected", ref: appealId, reason });
    expect(told.sanctionId).toBe(mute.id);
    expect(told.message).toContain(reason);
    expect(JSON.stringify(told)).not.toMatch(/bob|ann/i);

    // The mute stays.
    const active = await world.warden.sanctions.active(p.did as never);
    expect(active.map((s) => s.id)).toContain(mute.id);
    expect(active.find((s) => s.id === mute.id)!.revoked).toBeUndefined();
    expect(p.seen.leftCode).toBeNull();
    expect(notices(p, "lifted")).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 3. Appeal hostility
// ---------------------------------------------------------------------------------------

describe("appeal hostility", () => {
  it("refuses missing and bad credentials, others' sanctions, oversized texts, a second appeal; withdraws", async () => {
    const h = await join();
    const issued = await api("POST", `/identities/${h.did}/sanctions`, {
      actor: "ann",
      body: { kind: "mute", duration: "10m", reason: "posting links" },
    });
    expect(issued.status).toBe(201);
    const sanctionId = issued.body.sanction.id as string;
    const body = { sanctionId, text: "That link was the game's own wiki." };

    // No credential, a forged one, an expired one, one without a subject: 401, nothing filed.
    const refusedTokens: [string, string | null][] = [
      ["none", null],
      ["garbage", "not-a-jwt"],
      ["forged", token(h.sub, h.sub, "some-other-secret-0123456789")],
      ["expired", token(h.sub, h.sub, JWT_SECRET, { expiresIn: -60 })],
      ["no sub", jwt.sign({ name: h.sub }, JWT_SECRET, { algorithm: "HS256" })],
      ["alg none", jwt.sign({ sub: h.sub }, "", { algorithm: "none" })],
    ];
    for (const [what, bearer] of refusedTokens) {
      for (const [method, path] of [
        ["POST", "/appeals"],
        ["GET", "/sanctions"],
        ["GET", "/export"],
      ] as const) {
        const res = await mine({ bearer }, method, path, method === "POST" ? body : undefined);
        expect({ what, path, status: res.status, code: res.body?.error?.code }).toEqual({
          what,
          path,
          status: 401,
          code: "UNAUTHORIZED",
        });
      }
    }

    // Another player's sanction is "not found", like one that does not exist.
    const otherSub = nextAccount();
    const otherDid = world.warden.digitalId(otherSub);
    dids.add(otherDid);
    subs.add(otherSub);
    const others = await api("POST", `/identities/${otherDid}/sanctions`, {
      actor: "ann",
      body: { kind: "warn", reason: "rude" },
    });
    expect(others.status).toBe(201);
    for (const id of [others.body.sanction.id, `${h.did}.aaaaaaaa`, "nonsense"]) {
      const res = await mine(h, "POST", "/appeals", { sanctionId: id, text: "not mine" });
      expect({ id, status: res.status, code: res.body?.error?.code }).toEqual({
        id,
        status: 404,
        code: "SANCTION_NOT_FOUND",
      });
    }
    // …in the room too.
    h.room.send("appeal", { sanctionId: others.body.sanction.id, text: "not mine" });
    await waitFor(() => h.appealAcks.length === 1, "appeal:ack");
    expect(h.appealAcks[0]).toMatchObject({ status: "rejected", code: "SANCTION_NOT_FOUND" });

    // Bounded texts: over 2000 characters is refused, not cut; an empty one too.
    for (const text of ["x".repeat(2001), "", "   "]) {
      const res = await mine(h, "POST", "/appeals", { sanctionId, text });
      expect({ length: text.length, status: res.status, code: res.body?.error?.code }).toEqual({
        length: text.length,
        status: 400,
        code: "INVALID_REQUEST",
      });
    }
    const extra = await mine(h, "POST", "/appeals", { ...body, more: 1 });
    expect(extra.status).toBe(400);
    expect((await mine(h, "GET", "/appeals")).body.appeals).toEqual([]);

    // Exactly 2000 characters is fine.
    const text = `${body.text} ${"y".repeat(2000 - body.text.length - 1)}`;
    expect(text).toHaveLength(2000);
    const filed = await mine(h, "POST", "/appeals", { sanctionId, text });
    expect(filed.status).toBe(201);
    expect(filed.body.appeal.text).toBe(text);
    tally.appeals.filed++;
    const appealId = filed.body.appeal.id as string;

    // One appeal per sanction, over HTTP and in the room.
    const again = await mine(h, "POST", "/appeals", body);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("APPEAL_NOT_ALLOWED");
    h.room.send("appeal", body);
    await waitFor(() => h.appealAcks.length === 2, "second appeal:ack");
    expect(h.appealAcks[1]).toMatchObject({ status: "rejected", code: "APPEAL_NOT_ALLOWED" });

    // Another player cannot withdraw it.
    const stranger = await mine({ sub: otherSub }, "POST", `/appeals/${appealId}/withdraw`);
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe("APPEAL_NOT_FOUND");

    // The player withdraws it; a withdrawn appeal cannot be decided, nor withdrawn again.
    const withdrawn = await mine(h, "POST", `/appeals/${appealId}/withdraw`);
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.appeal).toMatchObject({ id: appealId, state: "withdrawn" });
    tally.appeals.withdrawn++;
    const decide = await api("POST", `/appeals/${appealId}/decide`, {
      actor: "bob",
      body: { outcome: "upheld", reason: "too late" },
    });
    expect(decide.status).toBe(409);
    expect(decide.body.error.code).toBe("APPEAL_NOT_ALLOWED");
    const take = await api("POST", `/appeals/${appealId}/review`, { actor: "bob" });
    expect(take.status).toBe(409);
    expect((await mine(h, "POST", `/appeals/${appealId}/withdraw`)).status).toBe(409);
    expect((await api("GET", "/appeals", { actor: "bob" })).body.appeals.map((a: any) => a.id)).not.toContain(appealId);
    const still = (await history(h.did)).find((s) => s.id === sanctionId)!;
    expect(still.revoked).toBeUndefined();

    // More than 30 player API requests a minute: 429 (a fresh player, never joined).
    const fresh = nextAccount();
    dids.add(world.warden.digitalId(fresh));
    subs.add(fresh);
    for (let i = 0; i < 30; i++) {
      const res = await mine({ sub: fresh }, "GET", "/sanctions");
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
    }
    const limited = await mine({ sub: fresh }, "GET", "/sanctions");
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const limitedPost = await mine({ sub: fresh }, "POST", "/appeals", { sanctionId, text: "spam" });
    expect(limitedPost.status).toBe(429);
    // The limit is per player: h is not affected.
    expect((await mine(h, "GET", "/sanctions")).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------
// 4. Brigades sanction nobody
// ---------------------------------------------------------------------------------------

describe("brigades sanction nobody", () => {
  /** The target was neither sanctioned, nor recorded, nor told anything. */
  async function untouched(target: Player): Promise<void> {
    await world.warden.recorder.drain();
    await sleep(300);
    expect(await history(target.did)).toEqual([]);
    expect(await offenses(target.did)).toEqual([]);
    expect(target.seen.notices).toEqual([]);
    expect(target.seen.leftCode).toBeNull();
    expect(await world.warden.sanctions.active(target.did as never)).toEqual([]);
  }

  function receiptsAreBlind(acks: any[], target: Player): void {
    for (const ack of acks) {
      expect(ack.receipt).toMatch(receiptPattern);
      expect(ack.receipt).not.toContain(target.did);
      expect(ack.receipt).not.toContain(target.room.sessionId);
      expect(JSON.stringify(ack)).not.toContain(target.did);
    }
    expect(new Set(acks.map((a) => a.receipt)).size).toBe(acks.length);
  }

  let fresh: Player[] = [];
  let freshTarget: Player;

  /**
   * The cases against a target, from the store (staff view): every record, collecting or queued.
   * A brigade must make ONE case, queued once, holding every report.
   */
  async function casesAgainst(did: string): Promise<any[]> {
    return (await world.warden.store.reviewsOf(did as never)).filter((r) => r.type === "case");
  }

  /**
   * Checks a brigade's outcome: nobody sanctioned, recorded or told; ONE case with every
   * report in it, queued once (one `case:queued`); every reporter told "filed" (concurrent
   * first reports meet on one case record: CaseService.collect). Weights are the server's: each report's weight as its case holds it (acks carry none).
   */
  async function brigadeOutcome(
    target: Player,
    reporters: Player[],
    acks: any[],
    weight: number,
    category: string,
  ): Promise<void> {
    const n = reporters.length;
    const filed = acks.filter((a) => a.status === "filed");
    expect(
      acks.map((a) => a.status),
      "every report filed",
    ).toEqual(Array(n).fill("filed"));
    expect(filed.length).toBeGreaterThan(0);
    // Every ack is emitted after its report's `case:queued` (if any): the brigade queued exactly once.
    expect(queueingsOf(target.did).length, "case:queued events for the brigade").toBe(1);
    for (const ack of filed) expectFiledAck(ack, target);
    receiptsAreBlind(filed, target);
    // A reporter told "rejected" (other than for a limit) may send the report again and have it filed.
    for (const [i, ack] of acks.entries()) {
      if (ack.status === "filed") continue;
      const retry = await report(reporters[i]!, target, "sending it again", category);
      expect(retry.status, `a report sent again after "${ack.reason}"`).toBe("filed");
    }

    await untouched(target);

    const queue = (await api("GET", "/cases?limit=500", { actor: "bob" })).body.cases as any[];
    const queued = queue.filter((c) => c.did === target.did);
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.every((c) => c.state === "open")).toBe(true);
    expect(queued.length, "cases in the queue for one brigade").toBe(1);
    const all = await casesAgainst(target.did);
    expect(all.length, "case records against the target").toBe(1);
    expect(all[0], "the one case").toMatchObject({ type: "case", state: "open", count: n, weight: n * weight });
    // Still one queueing after any report sent again, and it is the case in the queue.
    expect(
      queueingsOf(target.did).map((c) => [c.id, c.state]),
      "case:queued events",
    ).toEqual([[queued[0].id, "open"]]);
    const reported = all.flatMap((c) => c.reports);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.map((r: any) => r.weight)).toEqual(Array(reported.length).fill(weight));
    expect
      .soft(new Set(reported.map((r: any) => r.reporter)), "reporters in the case(s)")
      .toEqual(new Set(reporters.map((r) => r.did)));
    expect(reported.every((r: any) => r.category === category)).toBe(true);
  }

  it("30 fresh accounts reporting at once: no sanction, no offense, no notice — a case for a person", async () => {
    freshTarget = await join();
    const roomId = freshTarget.room.roomId;
    const filed = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const reporter = await join({ roomId });
        const ack = await report(reporter, freshTarget, "he is cheating, ban him now", "harassment");
        return { reporter, ack };
      }),
    );
    fresh = filed.map((f) => f.reporter);
    // Fresh IDs weigh a quarter: 7.5 in all, past the threshold (3).
    await brigadeOutcome(
      freshTarget,
      fresh,
      filed.map((f) => f.ack),
      0.25,
      "harassment",
    );
  });

  it("15 accounts older than newIdMs reporting at once: the same — nothing but a case", async () => {
    const [target, ...reporters] = (await hall()).take(16);
    const acks = await Promise.all(reporters.map((r) => report(r, target!, "aimbot, obviously", "cheating")));
    // Old enough: full weight, 15 in all.
    await brigadeOutcome(target!, reporters, acks, 1, "cheating");
  });

  it("a reporter at maxPerWindow who leaves and rejoins another room is still refused", async () => {
    expect(fresh.length).toBe(30);
    // One report filed in the brigade (and not sent again); four more against other players of the room: five in the window.
    const reporter = fresh.find((f) => f.reportAcks.length === 1 && f.reportAcks[0].status === "filed");
    const others = fresh.filter((f) => f !== reporter);
    for (const target of others.slice(0, 4)) {
      const ack = await report(reporter!, target, "also suspicious", "spam");
      expect(ack.status).toBe("filed");
    }
    await reporter!.room.leave();

    // A new session, in another room.
    const stranger = await join();
    const again = await join({ roomId: stranger.room.roomId, sub: reporter!.sub });
    expect(again.room.roomId).not.toBe(freshTarget.room.roomId);
    const refused = await report(again, stranger, "and this one too", "spam");
    expect(refused.status).toBe("rejected");
    expect(refused.reason).toMatch(/too many reports/);
    expect(refused.receipt).toBeUndefined();
    // Passing the limit is report abuse, itself an offense of the reporter — not of the player reported.
    await waitFor(
      async () => (await offenses(reporter!.did)).some((e) => e.kind === "report_abuse"),
      "the report_abuse offense",
    );
    expect(await world.warden.store.reviewsOf(stranger.did as never)).toEqual([]);
    expect(stranger.seen.notices).toEqual([]);
    expect(await history(stranger.did)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// 5. A person decides a case; reporters are told; repeated unfounded reports suspend
// ---------------------------------------------------------------------------------------

/** Set by scenario 5, read by scenario 7: the player sanctioned after a case, and what was said about them. */
const decided = {
  target: undefined as Player | undefined,
  reporters: [] as Player[],
  reasons: [] as string[],
  lines: [] as string[],
};

describe("a case decided by a person, and reporter feedback", () => {
  it("a sanction from a case carries the report count and a person's decision; every reporter is told", async () => {
    const [target, ...reporters] = (await hall()).take(4);
    decided.target = target!;
    decided.reporters = reporters;
    // Said in the room before the reports: the case's evidence snapshot.
    decided.lines = reporters.map((_, i) => `line ${i} from a reporter, about the castle`);
    for (const [i, r] of reporters.entries()) await say(r, decided.lines[i]!, target!);
    await say(target!, "my own line, nothing to see here", target!);

    decided.reasons = reporters.map((_, i) => `reason ${i}: kept following me and insulting my mother`);
    const acks: any[] = [];
    const queueings: number[] = [];
    for (const [i, r] of reporters.entries()) {
      acks.push(await report(r, target!, decided.reasons[i]!, "hate"));
      // `case:queued` is emitted before the report's outcome is returned, so before its ack.
      queueings.push(queueingsOf(target!.did).length);
    }
    expect(acks.map((a) => a.status)).toEqual(["filed", "filed", "filed"]);
    // The reporter learns their receipt and status only: not their weight, not that the third report queued the case.
    for (const ack of acks) expectFiledAck(ack, target!);
    expect(queueings).toEqual([0, 0, 1]);
    expect(target!.seen.notices).toEqual([]);

    const open = await openCaseOf(target!.did);
    expect(open).toMatchObject({ state: "open", count: 3, weight: 3 });
    expect(open.reports.map((r: any) => [r.reporter, r.receipt, r.weight])).toEqual(
      reporters.map((r, i) => [r.did, acks[i].receipt, 1]),
    );
    expect(queueingsOf(target!.did)).toEqual([expect.objectContaining({ id: open.id, state: "open", count: 3 })]);
    const caseId = open.id as string;
    const mutedFor = 5 * 60_000;
    const decision = await api("POST", `/cases/${caseId}/decide`, {
      actor: "bob",
      body: {
        action: "sanction",
        kind: "mute",
        duration: "5m",
        rule: "reports",
        reason: "harassment confirmed by the chat log",
      },
    });
    expect(decision.status).toBe(200);
    expect(decision.body.case).toMatchObject({
      id: caseId,
      state: "actioned",
      decidedBy: "api:moderator:bob",
      outcome: { action: "sanctioned", reason: "harassment confirmed by the chat log" },
    });
    tally.actioned++;
    const sanctionId = decision.body.case.outcome.sanctionId as string;
    expect(typeof sanctionId).toBe("string");

    // The target: a mute with its statement — three reports (never who), decided by a person.
    await waitFor(() => notices(target!, "mute").length > 0, "the mute notice");
    const muted = notices(target!, "mute")[0]!;
    expect(muted.sanctionId).toBe(sanctionId);
    expect(muted.statement).toMatchObject({
      scope: { capabilities: ["chat"], rooms: "all" },
      rule: { id: "reports" },
      facts: { events: [], reports: 3 },
      automated: { detection: false, decision: false },
      decidedBy: "moderator",
      appeal: { handle: sanctionId },
    });
    const stored = (await history(target!.did)).find((s) => s.id === sanctionId)!;
    expect(stored.end! - stored.start).toBe(mutedFor);
    const noticeText = JSON.stringify(muted);
    for (const r of reporters) expect(noticeText).not.toContain(r.did);
    expect(noticeText).not.toMatch(/bob/i);

    // Every reporter (all connected) is told: actioned, under their own receipt.
    for (const [i, r] of reporters.entries()) {
      await waitFor(() => notices(r, "report").some((n) => n.state === "actioned"), `reporter ${i} told`);
      const told = notices(r, "report").find((n) => n.state === "actioned")!;
      expect(told).toMatchObject({ kind: "report", topic: "report", ref: acks[i].receipt, state: "actioned" });
      expect(JSON.stringify(told)).not.toContain(target!.did);
      expect(JSON.stringify(told)).not.toContain(target!.room.sessionId);
    }

    // …and can look it up: their receipt, actioned, nothing about the other player.
    const receipts = await mine(reporters[0]!, "GET", "/reports");
    expect(receipts.status).toBe(200);
    expect(receipts.body.reports).toEqual([
      { receipt: acks[0].receipt, at: expect.any(Number), category: "hate", status: "actioned" },
    ]);
    for (const secret of [target!.did, target!.sub, target!.room.sessionId, sanctionId, caseId])
      expect(receipts.text).not.toContain(secret);

    // Decided: no longer in the queue.
    expect(await openCaseOf(target!.did)).toBeUndefined();
  });

  it("three cases dismissed as unfounded suspend a reporter's reports (Art. 23)", async () => {
    const [reporter, ...rest] = (await hall()).take(13);
    const helpers = rest.slice(0, 8);
    const targets = rest.slice(8, 12);
    const groups = [helpers.slice(0, 2), helpers.slice(2, 5), helpers.slice(5, 8)];
    const expectedWeights = [1, 0.5, 0.5]; // one unfounded case halves a reporter's weight
    for (const [i, group] of groups.entries()) {
      const target = targets[i]!;
      const first = await report(reporter!, target, `made up ${i}`);
      expect(first).toMatchObject({ status: "filed" });
      expect(first).not.toHaveProperty("weight");
      for (const helper of group) expect((await report(helper, target, `made up too ${i}`)).status).toBe("filed");
      const open = await openCaseOf(target.did);
      expect(open).toMatchObject({ state: "open" });
      expect(queueingsOf(target.did).map((c) => c.id)).toEqual([open.id]);
      // The reporter's weight, as the case holds it; helpers (no unfounded case yet) weigh 1.
      expect(open.reports.map((r: any) => [r.reporter, r.weight])).toEqual([
        [reporter!.did, expectedWeights[i]],
        ...group.map((h) => [h.did, 1]),
      ]);
      expect(open.reports[0].receipt).toBe(first.receipt);
      const dismissed = await api("POST", `/cases/${open.id}/decide`, {
        actor: "bob",
        body: { action: "dismiss", reason: "nothing happened, the log is clean", unfounded: true },
      });
      expect(dismissed.status).toBe(200);
      expect(dismissed.body.case).toMatchObject({ state: "dismissed", outcome: { action: "dismissed" } });
      tally.dismissed++;
      await waitFor(
        () => notices(reporter!, "report").some((n) => n.ref === first.receipt && n.state === "not_actioned"),
        "the reporter told: no action",
      );
      expect(await history(target.did)).toEqual([]);
    }
    await waitFor(() => notices(reporter!, "report").some((n) => n.state === "suspended"), "the suspension notice");

    const refused = await report(reporter!, targets[3]!, "this time it is true");
    expect(refused.status).toBe("rejected");
    expect(refused.reason).toMatch(/suspended/);
    expect(await world.warden.store.reviewsOf(targets[3]!.did as never)).toEqual([]);
    // Helpers were in one unfounded case each: not suspended.
    const helperAck = await report(helpers[0]!, targets[3]!, "one report");
    expect(helperAck.status).toBe("filed");

    const mineNow = await mine(reporter!, "GET", "/reports");
    expect(mineNow.body.reports.map((r: any) => r.status)).toEqual(["not_actioned", "not_actioned", "not_actioned"]);
  });
});

// ---------------------------------------------------------------------------------------
// 7. Subject's copy vs staff copy
// ---------------------------------------------------------------------------------------

describe("the subject's copy and the staff copy of an export", () => {
  it("the reported player's own export redacts reporters, their reasons, their lines and staff names", async () => {
    const { target, reporters, reasons, lines } = decided;
    expect(target).toBeDefined();
    const own = await mine(target!, "GET", "/export");
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ did: target!.did, copy: "subject" });
    for (const r of reporters) {
      expect(own.text).not.toContain(r.did);
      expect(own.text).not.toContain(r.sub);
    }
    for (const reason of reasons) expect(own.text).not.toContain(reason);
    for (const line of lines) expect(own.text).not.toContain(line);
    expect(own.text).not.toMatch(/\bbob\b|\bann\b|api:moderator/i);

    expect(own.body.cases).toHaveLength(1);
    const theCase = own.body.cases[0];
    expect(theCase.reports).toHaveLength(3);
    expect(theCase.reports.every((r: any) => r.reporter === "(redacted)" && r.reason === "(redacted)")).toBe(true);
    expect(theCase.decidedBy).toBe("moderator");
    // Their own line stays in the evidence; nobody else's.
    expect(theCase.evidence.lines.map((l: any) => l.did)).toEqual([target!.did]);
    expect(theCase.evidence.lines[0].text).toBe("my own line, nothing to see here");
    expect(own.body.sanctions.map((s: any) => [s.kind, s.by, s.statement.decidedBy])).toEqual([
      ["mute", "moderator", "moderator"],
    ]);
    expect(own.body.reportsAgainst.every((r: any) => r.reporter === undefined)).toBe(true);
    expect(own.body.audit.length).toBeGreaterThan(0);
    expect(own.body.audit.every((e: any) => !String(e.actor).includes(":"))).toBe(true);

    // The staff copy is full, and audited.
    const staff = await api("GET", `/identities/${target!.did}/export`, { actor: "carol" });
    expect(staff.status).toBe(200);
    expect(staff.body.copy).toBe("staff");
    const staffCase = staff.body.cases[0];
    expect(staffCase.reports.map((r: any) => r.reporter)).toEqual(reporters.map((r) => r.did));
    expect(staffCase.reports.map((r: any) => r.reason)).toEqual(reasons);
    expect(staffCase.decidedBy).toBe("api:moderator:bob");
    expect(staffCase.evidence.lines.map((l: any) => l.text)).toEqual([...lines, "my own line, nothing to see here"]);
    expect(staff.body.sanctions[0].by).toBe("api:moderator:bob");

    const audit = (await api("GET", "/audit?limit=100")).body.entries as any[];
    const exports = audit.filter((e) => e.action === "export" && e.target === target!.did);
    expect(exports.map((e) => [e.actor, e.detail.copy])).toEqual(
      expect.arrayContaining([
        ["api:moderator:carol", "staff"],
        ["player:self", "subject"],
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------
// 8. Evidence snapshots
// ---------------------------------------------------------------------------------------

describe("evidence snapshots", () => {
  it("a case carries the room's last chat lines, pseudonymous and bounded; viewing is audited; forget erases a participant's", async () => {
    const [target, b1, b2, b3, e1, e2, e3] = (await hall()).take(7);
    const speakers = [b1!, b2!, b3!, e1!, e2!, e3!, target!];
    const said = speakers.map((_, i) => `evidence line ${i}: meet at the north gate`);
    for (const [i, p] of speakers.entries()) await say(p, said[i]!, target!);
    const reporters = [e1!, e2!, e3!];
    const reasons = reporters.map((_, i) => `evidence reason ${i}: threatened to dox me`);
    for (const [i, r] of reporters.entries()) await report(r, target!, reasons[i]!, "harassment");

    const open = await openCaseOf(target!.did);
    expect(open).toBeDefined();
    const viewed = await api("GET", `/cases/${open.id}`, { actor: "dora" });
    expect(viewed.status).toBe(200);
    const evidence = viewed.body.case.evidence;
    expect(evidence.room).toEqual({ name: "world", id: target!.room.roomId });
    // At most five lines (`lines: 5`): the last five said, in order, by digital ID only.
    expect(evidence.lines.map((l: any) => l.text)).toEqual(said.slice(-5));
    expect(evidence.lines.map((l: any) => l.did)).toEqual(speakers.slice(-5).map((p) => p.did));
    expect(evidence.lines.every((l: any) => /^[a-z2-7]{26}$/.test(l.did) && typeof l.at === "number")).toBe(true);
    const evidenceText = JSON.stringify(evidence);
    for (const p of speakers) expect(evidenceText).not.toContain(p.sub); // names and accounts are not there
    for (const p of speakers) expect(evidenceText).not.toContain(p.room.sessionId);

    // The view is audited (it holds reporters' words and other players' lines).
    const audit = (await api("GET", "/audit?limit=50")).body.entries as any[];
    expect(
      audit.find(
        (e) =>
          e.actor === "api:moderator:dora" &&
          e.action === "view" &&
          e.target === target!.did &&
          e.detail.what === "case" &&
          e.detail.caseId === open.id,
      ),
    ).toMatchObject({ detail: { evidence: true } });

    // A reporter whose line is in the snapshot is forgotten: their lines and their report leave the case.
    await e1!.room.leave();
    const forgot = await api("DELETE", `/identities/${e1!.did}`, { actor: "dora", body: { why: "erasure request" } });
    expect(forgot.status).toBe(200);
    const after = (await api("GET", `/cases/${open.id}`, { actor: "dora" })).body.case;
    expect(after.evidence.lines.map((l: any) => l.did)).toEqual([b3!.did, e2!.did, e3!.did, target!.did]);
    expect(after.reports.map((r: any) => r.reporter)).toEqual([e2!.did, e3!.did]);
    const afterText = JSON.stringify(after);
    expect(afterText).not.toContain(e1!.did);
    expect(afterText).not.toContain(said[3]!);
    expect(afterText).not.toContain(reasons[0]!);
    expect(afterText).toContain(said[4]!);
    expect(afterText).toContain(reasons[1]!);
  });
});

// ---------------------------------------------------------------------------------------
// 6. Transparency (last: it counts what the whole file did)
// ---------------------------------------------------------------------------------------

describe("the transparency report", () => {
  it("counts what the file did, and names nobody", async () => {
    const lastDay = dayOf(Date.now());
    const query = `/transparency?from=${firstDay}&to=${lastDay}`;

    // What the sanctions say, read back from the store (every ID the file used).
    const now = Date.now();
    const actions = { total: 0, byKind: {} as Record<string, number>, bySource: {} as Record<string, number> };
    const automation = { detection: { automated: 0, human: 0 }, decision: { automated: 0, human: 0 } };
    const active: Record<string, number> = {};
    const add = (into: Record<string, number>, key: string) => {
      into[key] = (into[key] ?? 0) + 1;
    };
    for (const did of dids) {
      for (const s of await history(did)) {
        const st = s.statement!;
        actions.total++;
        add(actions.byKind, s.kind);
        add(
          actions.bySource,
          st.ladder?.track ?? (st.facts.reports > 0 ? "reports" : st.automated.decision ? "policy" : "moderator"),
        );
        automation.detection[st.automated.detection ? "automated" : "human"]++;
        automation.decision[st.automated.decision ? "automated" : "human"]++;
        if (isActive(s, now)) add(active, s.kind);
      }
    }
    // The file's own sanctions, at least: policy (spam track), moderators, a case.
    expect(actions.bySource).toMatchObject({ spam: expect.any(Number), moderator: expect.any(Number), reports: 1 });

    const plus = (a: Record<string, number>, b: Record<string, number>) => {
      const out = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    let report: any;
    const expected = () => ({
      period: { from: firstDay, to: lastDay, days: firstDay === lastDay ? 1 : 2 },
      generatedAt: expect.any(String),
      notices: {
        received: before.notices.received + tally.received,
        byCategory: plus(before.notices.byCategory, tally.byCategory),
        casesOpened: before.notices.casesOpened + tally.opened,
        casesActioned: before.notices.casesActioned + tally.actioned,
        casesDismissed: before.notices.casesDismissed + tally.dismissed,
        refusedSuspended: before.notices.refusedSuspended + tally.refusedSuspended,
      },
      actions: {
        total: before.actions.total + actions.total,
        byKind: plus(before.actions.byKind, actions.byKind),
        bySource: plus(before.actions.bySource, actions.bySource),
      },
      automation: {
        detection: {
          automated: before.automation.detection.automated + automation.detection.automated,
          human: before.automation.detection.human + automation.detection.human,
        },
        decision: {
          automated: before.automation.decision.automated + automation.decision.automated,
          human: before.automation.decision.human + automation.decision.human,
        },
      },
      medianMs: { offenseToAction: expect.any(Number), reportToDecision: expect.any(Number) },
      appeals: {
        filed: before.appeals.filed + tally.appeals.filed,
        decided: before.appeals.decided + tally.appeals.upheld + tally.appeals.rejected,
        upheld: before.appeals.upheld + tally.appeals.upheld,
        rejected: before.appeals.rejected + tally.appeals.rejected,
        withdrawn: before.appeals.withdrawn + tally.appeals.withdrawn,
        medianDecisionMs: expect.any(Number),
      },
      misuseSuspensions: before.misuseSuspensions + 1,
      activeSanctions: active,
    });
    // Counting is in the background of each act: wait until it settles, then compare exactly.
    const settled = () => {
      try {
        expect(report).toEqual(expected());
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(async () => {
      report = (await api("GET", query, { bearer: VIEWER })).body;
      return settled();
    }, "the report to count everything").catch(() => {});
    // Section by section (softly: every section is compared, the test fails if any differs).
    const wanted = expected();
    expect(Object.keys(report).sort()).toEqual(Object.keys(wanted).sort());
    for (const section of Object.keys(wanted))
      expect.soft(report[section], `transparency ${section}`).toEqual((wanted as any)[section]);

    // What the file did, in figures (so a wrong tally cannot pass unnoticed).
    expect.soft(tally, "what the players were told").toMatchObject({
      received: 30 + 15 + 4 + 3 + 11 + 1 + 3,
      opened: 1 + 1 + 1 + 3 + 1,
      actioned: 1,
      dismissed: 3,
      refusedSuspended: 1,
      appeals: { filed: 3, upheld: 1, rejected: 1, withdrawn: 1 },
    });
    expect.soft(report.notices.byCategory).toMatchObject({ harassment: 33, cheating: 15, spam: 4, hate: 3, other: 12 });
    expect(report.automation.decision.automated).toBeGreaterThanOrEqual(4); // warn, mute, ban; the report_abuse warn
    expect(report.activeSanctions.ban ?? 0).toBe(0); // the only ban was upheld on appeal

    // No personal data: not one digital ID or account of the file.
    const text = JSON.stringify(report);
    for (const did of dids) expect(text).not.toContain(did);
    for (const sub of subs) expect(text).not.toContain(sub);

    // CSV.
    const csv = await http(`${base}/warden/api${query}&format=csv`, "GET", MODERATOR);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const rows = csv.text.trim().split("\n");
    expect(rows[0]).toBe("section,metric,value");
    expect(rows).toContain(`appeals,upheld,${report.appeals.upheld}`);
    expect(rows).toContain(`notices,byCategory.harassment,${report.notices.byCategory.harassment}`);
    expect(rows).toContain(`misuseSuspensions,,${report.misuseSuspensions}`);
    expect(rows.every((r) => r.split(",").length === 3)).toBe(true);
    for (const did of dids) expect(csv.text).not.toContain(did);

    // Bad dates: 400.
    for (const bad of [
      "from=2025-13-01&to=2025-13-02",
      "from=2025-02-30&to=2025-03-01",
      "from=yesterday&to=today",
      `from=${lastDay}`,
      "from=2025-03-02&to=2025-03-01",
      "from=2020-01-01&to=2025-01-01",
      `from=${firstDay}&to=${lastDay}&format=xml`,
    ]) {
      const res = await api("GET", `/transparency?${bad}`);
      expect({ bad, status: res.status, code: res.body?.error?.code }).toEqual({
        bad,
        status: 400,
        code: "INVALID_REQUEST",
      });
    }
  });
});
