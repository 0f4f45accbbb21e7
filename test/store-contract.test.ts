import { randomBytes } from "node:crypto";
import { auditEntry } from "./helpers/audit.js";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  deriveDigitalId,
  MemoryStore,
  RedisStore,
  type BusMessage,
  type Sanction,
  type WardenStore,
} from "../src/index.js";
import { draftSanction, type PlayerNotice } from "../src/sanctions/model.js";
import type { Appeal, EvasionRecord, EvidenceRecord, ReportCase, ReviewRecord } from "../src/reviews/model.js";
import type { Signal, SignalType } from "../src/signals/model.js";
import type { OffenseRecord, RecordedOffense } from "../src/recorder/offense.js";
import { resolvePolicy } from "../src/policy/ladder.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { adminRedis, dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { waitFor } from "./helpers/world.js";

const retention = { sanctionsMs: 60_000, bindingsMs: 60_000 };
const secret = "contract-secret-0123456789";
let n = 0;
const did = () => deriveDigitalId(secret, `contract-${++n}-${Math.random()}`);

function sanction(kind: Sanction["kind"], duration?: number, subject = did()): Sanction {
  return draftSanction(
    { did: subject, kind, reason: `contract ${kind}`, by: "test", ...(duration ? { duration } : {}) },
    Date.now(),
  );
}

/** A result that must be a recorded event (not a duplicate). */
function recorded(result: RecordedOffense | undefined): Extract<RecordedOffense, { status: "recorded" }> {
  if (result?.status !== "recorded") throw new Error(`expected a recorded event, got ${JSON.stringify(result)}`);
  return result;
}

/** 8 base32 characters, as the ids of sanctions and review records end. */
const suffix = () => Array.from(randomBytes(8), (b) => "abcdefghijklmnopqrstuvwxyz234567"[b & 31]).join("");

function appeal(subject: string, over: Partial<Appeal> = {}): Appeal {
  const sanctionId = `${subject}.${suffix()}`;
  return {
    id: `${sanctionId}.a`,
    did: subject,
    rev: 1,
    openedAt: Date.now(),
    type: "appeal",
    state: "filed",
    sanctionId,
    issuedBy: "policy",
    text: "I did not spam",
    via: "http",
    ...over,
  };
}

function reportCase(subject: string, over: Partial<ReportCase> = {}): ReportCase {
  return {
    id: `${subject}.${suffix()}.c`,
    did: subject,
    rev: 1,
    openedAt: Date.now(),
    type: "case",
    state: "collecting",
    weight: 1,
    count: 0,
    reports: [],
    ...over,
  };
}

function evidence(subject: string, over: Partial<EvidenceRecord> = {}): EvidenceRecord {
  return {
    id: `${subject}.${suffix()}.e`,
    did: subject,
    rev: 1,
    openedAt: Date.now(),
    type: "evidence",
    state: "kept",
    kind: "flood",
    snapshot: { room: { name: "world", id: "r1" }, takenAt: Date.now(), lines: [] },
    ...over,
  };
}

function evasion(subject: string, over: Partial<EvasionRecord> = {}): EvasionRecord {
  const banned = did();
  const now = Date.now();
  return {
    id: `${subject}.${suffix()}.v`,
    did: subject,
    rev: 1,
    openedAt: now,
    type: "evasion",
    state: "open",
    bannedDid: banned,
    banSanctionId: `${banned}.${suffix()}`,
    link: {
      did: banned,
      signals: [{ type: "device", firstSeen: now - 1000, lastSeen: now, sharedBy: 2, crowded: false }],
      strength: 1,
      level: "strong",
      dismissed: false,
    },
    ...over,
  };
}

/** A signal as stored: a type and a keyed hash (26 base32 characters), random. */
const signal = (type: SignalType): Signal => ({
  type,
  hash: Array.from(randomBytes(26), (b) => "abcdefghijklmnopqrstuvwxyz234567"[b & 31]).join(""),
});

/** The next revision of a record, as a service writes it over `expectedRev = record.rev`. */
function next<T extends ReviewRecord>(record: T, over: Partial<T> = {}): T {
  return { ...record, ...over, rev: record.rev + 1 };
}

const ids = (records: readonly ReviewRecord[]) => records.map((r) => r.id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
  store: WardenStore;
  /** Remaining TTL in ms of the record that holds an ID's sanctions: -1 none, -2 missing. Redis only. */
  ttl?: (did: string) => Promise<number>;
  /** The store's key layout. Redis only. */
  keys?: RedisKeys;
  cleanup(): Promise<void>;
}

const admin = adminRedis();
afterAll(() => admin.disconnect());

const harnesses: Record<string, () => Promise<Harness>> = {
  MemoryStore: async () => {
    const store = new MemoryStore();
    return { store, cleanup: () => store.close() };
  },
  RedisStore: async () => {
    const prefix = uniquePrefix("contract");
    const store = new RedisStore({ connection: redisUrl(), prefix });
    await store.connect();
    return {
      store,
      ttl: (d) => admin.pttl(new RedisKeys(prefix).sanctions(d)),
      keys: new RedisKeys(prefix),
      cleanup: async () => {
        await store.close();
        await dropPrefix(admin, prefix);
      },
    };
  },
};

for (const [name, make] of Object.entries(harnesses)) {
  describe(`store contract: ${name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("stores sanctions per ID, oldest first, and returns copies", async () => {
      const id = did();
      const first = sanction("warn", undefined, id);
      const second = { ...sanction("mute", 60_000, id), start: first.start + 1 };
      await h.store.saveSanction(second, retention);
      await h.store.saveSanction(first, retention);
      const stored = await h.store.sanctionsOf(id);
      expect(stored).toEqual([first, second]);
      stored[0]!.reason = "changed";
      expect((await h.store.sanctionsOf(id))[0]!.reason).toBe("contract warn");
      expect(await h.store.sanctionsOf(did())).toEqual([]);
    });

    it("publishes issued sanctions and revocations to every subscriber", async () => {
      const seen: BusMessage[] = [];
      const unsubscribe = await h.store.subscribe((m) => seen.push(m));
      const s = sanction("ban", 60_000);
      await h.store.saveSanction(s, retention);
      await waitFor(() => seen.length === 1, "the issued message");
      expect(seen[0]).toEqual({ type: "issued", sanction: s });
      const revocation = { at: Date.now(), by: "mod", reason: "appeal" };
      await h.store.revokeSanction(s.id, revocation, retention);
      await waitFor(() => seen.length === 2, "the revoked message");
      expect(seen[1]).toEqual({ type: "revoked", did: s.did, sanctionId: s.id, revocation });
      await unsubscribe();
      await h.store.saveSanction(sanction("warn"), retention);
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toHaveLength(2);
    });

    it("refuses a malformed sanction (INVALID_SANCTION), stores and publishes nothing: what a read would skip is never written", async () => {
      const s = sanction("ban", 60_000);
      const seen: BusMessage[] = [];
      const unsubscribe = await h.store.subscribe((m) => seen.push(m));
      for (const bad of [
        { ...s, end: 8.64e15 + 1 },
        { ...s, kind: "nuke" },
        { ...s, id: "not-an-id" },
        { ...s, end: s.start - 1 },
      ]) {
        await expect(h.store.saveSanction(bad as Sanction, retention)).rejects.toMatchObject({
          code: "INVALID_SANCTION",
        });
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([]);
      expect(await h.store.sanctionsOf(s.did)).toEqual([]);
      await unsubscribe();
    });

    it("revokes once: revoked, then already_revoked; unknown ids are not_found", async () => {
      const s = sanction("mute", 60_000);
      await h.store.saveSanction(s, retention);
      const rev = { at: Date.now(), by: "mod", reason: "ok" };
      expect(await h.store.revokeSanction(s.id, rev, retention)).toEqual({
        status: "revoked",
        sanction: { ...s, revoked: rev },
      });
      const again = await h.store.revokeSanction(s.id, { ...rev, by: "other" }, retention);
      expect(again).toEqual({ status: "already_revoked", sanction: { ...s, revoked: rev } });
      expect((await h.store.sanctionsOf(s.did))[0]?.revoked).toEqual(rev);
      expect(await h.store.revokeSanction(`${s.did}.aaaaaaaa`, rev, retention)).toEqual({ status: "not_found" });
      expect(await h.store.revokeSanction("garbage", rev, retention)).toEqual({ status: "not_found" });
    });

    it("keeps a permanent active ban without expiry, and applies retention once everything has ended", async () => {
      const id = did();
      const ban = sanction("ban", undefined, id);
      await h.store.saveSanction(ban, retention);
      if (h.ttl) expect(await h.ttl(id)).toBe(-1);
      await h.store.revokeSanction(ban.id, { at: Date.now(), by: "mod", reason: "lifted" }, retention);
      if (h.ttl) {
        const ttl = await h.ttl(id);
        expect(ttl).toBeGreaterThan(55_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    });

    it("forgets sanctions once their retention is over", async () => {
      const short = { sanctionsMs: 150, bindingsMs: 150 };
      const s = sanction("warn");
      await h.store.saveSanction(s, short);
      expect(await h.store.sanctionsOf(s.did)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(await h.store.sanctionsOf(s.did)).toEqual([]);
    });

    it("binds and unbinds sessions; lists them per ID across processes", async () => {
      const id = did();
      const base = { did: id, roomName: "world", roomId: "r1", since: Date.now() };
      await h.store.bindSession({ ...base, sessionId: "s1", processId: "pA" }, retention);
      await h.store.bindSession({ ...base, sessionId: "s2", processId: "pB" }, retention);
      const sessions = await h.store.sessionsOf(id);
      expect(sessions.map((s) => s.sessionId).sort()).toEqual(["s1", "s2"]);
      await h.store.unbindSession(id, "s1", "pA");
      expect((await h.store.sessionsOf(id)).map((s) => s.sessionId)).toEqual(["s2"]);
    });

    it("records offense batches: ids in order, decaying points per ID and track, history newest first, the live feed", async () => {
      const id = did();
      const other = did();
      const now = Date.now();
      const event = (d: string, kind: string, track = "spam"): OffenseRecord => ({
        event: {
          at: now,
          did: d,
          room: { name: "world", id: "r1" },
          detector: "flood",
          kind,
          track,
          severity: 1,
          evidence: { n: 1 },
        },
        halfLifeMs: 600_000,
      });
      const start = await h.store.lastFeedId();
      const results = (
        await h.store.recordOffenses(
          [event(id, "a"), event(other, "b"), event(id, "c"), event(id, "d", "abuse")],
          now,
          3_600_000,
        )
      ).map(recorded);
      expect(results.map((r) => [r.before, r.after])).toEqual([
        [0, 1],
        [0, 1],
        [1, 2],
        [0, 1],
      ]);
      expect(results.map((r) => r.step)).toEqual([null, null, null, null]); // no ladder passed: no step decided
      const ids = results.map((r) => r.id);
      // In order per ID (a store may record other IDs' events in other groups, in parallel).
      const own = [ids[0]!, ids[2]!, ids[3]!];
      expect([...own].sort((x, y) => (x < y ? -1 : 1))).toEqual(own);
      const later = recorded((await h.store.recordOffenses([event(id, "e")], now + 600_000, 3_600_000))[0]);
      expect(later.before).toBeCloseTo(1, 6); // 2 points halved after one half-life
      expect(later.after).toBeCloseTo(2, 6);
      await h.store.recordOffenses([event(id, "f")], now + 600_000, 3_600_000);

      const history = await h.store.offensesOf(id, { limit: 10 });
      expect(history.map((e) => e.kind)).toEqual(["f", "e", "d", "c", "a"]);
      expect(history[2]).toMatchObject({ id: ids[3], did: id, room: { name: "world", id: "r1" }, evidence: { n: 1 } });
      expect((await h.store.offensesOf(id, { limit: 2, before: history[2]!.id })).map((e) => e.kind)).toEqual([
        "c",
        "a",
      ]);

      const feed = await h.store.readFeed(start, { count: 100, blockMs: 0 });
      // Every event once, each ID's in the order recorded (two IDs' events recorded in the
      // same millisecond may come in either order from a sharded feed).
      expect(feed.map((e) => e.kind).sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
      expect(feed.filter((e) => e.did === id).map((e) => e.kind)).toEqual(["a", "c", "d", "e", "f"]);
      // Resuming from an event's position gives exactly what came after it.
      const third = feed[2]!;
      const rest = await h.store.readFeed(third.cursor ?? third.id!, { count: 100, blockMs: 0 });
      expect(rest.map((e) => e.kind)).toEqual(feed.slice(3).map((e) => e.kind));
      const waiting = h.store.readFeed(await h.store.lastFeedId(), { count: 10, blockMs: 2000 });
      await new Promise((r) => setTimeout(r, 50));
      await h.store.recordOffenses([event(other, "live")], Date.now(), 3_600_000);
      expect((await waiting).map((e) => e.kind)).toEqual(["live"]);
    });

    it("decides and marks the ladder step of each offense as it records it, and skips an event (uid) it recorded already", async () => {
      const id = did();
      const now = Date.now();
      const ladder = resolvePolicy().tracks.get("spam")!.ladder; // 1 warn, 3 mute, 6 kick, 10 ban
      let n = 0;
      const event = (uid: string | undefined, severity = 1, track = "spam"): OffenseRecord => ({
        event: {
          at: now,
          did: id,
          room: { name: "world", id: "r1" },
          detector: "flood",
          kind: `k${++n}`,
          track,
          severity,
          evidence: {},
          ...(uid === undefined ? {} : { uid }),
        },
        halfLifeMs: 600_000,
        ladder,
      });
      // Several events of one ID in one batch: each sees the step the one before it marked.
      const first = await h.store.recordOffenses(
        [event("u1"), event("u2"), event("u3"), event("u4"), event("u5")],
        now,
        3_600_000,
      );
      expect(first.map((r) => r.step)).toEqual([0, null, 1, null, null]);
      // Jumping several rungs at once issues only the highest; a duplicate uid writes nothing
      // and hands back the step its first write decided (u3: mute); a new uid in the same batch is recorded.
      const second = await h.store.recordOffenses(
        [event("u3"), event("u6", 5), event("u1"), event(undefined)],
        now,
        3_600_000,
      );
      expect(second).toEqual([
        { status: "duplicate", step: 1 },
        expect.objectContaining({ status: "recorded", before: 5, after: 10, step: 3 }),
        { status: "duplicate", step: 0 },
        expect.objectContaining({ status: "recorded", before: 10, after: 11, step: null }),
      ]);
      expect((await h.store.pointsOf(id)).spam).toMatchObject({ points: 11, count: 7 });
      expect(await h.store.offensesOf(id, { limit: 100 })).toHaveLength(7);
      // Decayed below the ban's 10 but by less than HYSTERESIS: the ban is still held, not issued again…
      const held = await h.store.recordOffenses([event("u7")], now + 127_000, 3_600_000); // 11 → 9.50, +1
      expect(held[0]).toMatchObject({ status: "recorded", step: null });
      expect(recorded(held[0]).before).toBeCloseTo(9.5, 2);
      // …once it fell further than that, crossing 10 again issues the ban again.
      const again = await h.store.recordOffenses([event("u8", 3)], now + 427_000, 3_600_000); // 10.50 → 7.42, +3
      expect(again[0]).toMatchObject({ status: "recorded", step: 3 });
    });

    it("expires offense records after their retention", async () => {
      const id = did();
      const now = Date.now();
      const record: OffenseRecord = {
        event: {
          at: now,
          did: id,
          room: { name: "w", id: "r" },
          detector: "payload",
          kind: "x",
          track: "malformed",
          severity: 1,
          evidence: {},
        },
        halfLifeMs: 1000,
      };
      await h.store.recordOffenses([record], now, 200);
      expect(await h.store.offensesOf(id, { limit: 10 })).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 350));
      expect(await h.store.offensesOf(id, { limit: 10 })).toEqual([]);
      // The feed drops events older than the retention on the next write.
      const start = Date.now();
      await h.store.recordOffenses([{ ...record, event: { ...record.event, at: start, kind: "fresh" } }], start, 200);
      const feed = await h.store.readFeed("0", { count: 1000, blockMs: 0 });
      expect(feed.every((e) => e.at >= start - 200)).toBe(true);
      expect(feed.map((e) => e.kind)).toContain("fresh");
    });

    it("files reports once per reporter per window and sums their weights; remembers first sighting", async () => {
      const target = did();
      const now = Date.now();
      expect(await h.store.fileReport(target, "r1", 0.25, now, 1000)).toEqual({ status: "filed", total: 0.25 });
      expect(await h.store.fileReport(target, "r1", 1, now + 10, 1000)).toEqual({ status: "duplicate" });
      expect(await h.store.fileReport(target, "r2", 1, now + 20, 1000)).toEqual({ status: "filed", total: 1.25 });
      // After the window, r1's report has gone and r1 may report again.
      expect(await h.store.fileReport(target, "r1", 1, now + 1015, 1000)).toEqual({ status: "filed", total: 2 });
      await h.store.clearReports(target);
      // Cleared weights, but the same reporters cannot report again within the window.
      expect(await h.store.fileReport(target, "r2", 1, now + 1020, 1000)).toEqual({ status: "duplicate" });
      expect(await h.store.fileReport(target, "r3", 1, now + 1020, 1000)).toEqual({ status: "filed", total: 1 });

      const first = await h.store.touchProfile(target, now, 60_000);
      expect(first).toBe(now);
      expect(await h.store.touchProfile(target, now + 5000, 60_000)).toBe(now);
    });

    it("remembers last-seen names (case-insensitively, within retention) and forgets an ID whole but for the kept bans", async () => {
      const id = did();
      const now = Date.now();
      await h.store.touchProfile(id, now - 5000, 60_000);
      await h.store.recordName(id, "Ａlice\u200b", now, 60_000);
      expect(await h.store.didsByName("alice", now, 60_000)).toEqual([{ did: id, lastSeen: now }]);
      expect(await h.store.didsByName("alice", now + 120_000, 60_000)).toEqual([]);
      await h.store.recordName(id, "Bob", now + 1, 60_000);
      expect(await h.store.didsByName("alice", now + 1, 60_000)).toEqual([]);
      expect(await h.store.profileOf(id)).toEqual({ firstSeen: now - 5000, name: "Bob", nameSeen: now + 1 });

      const ban = sanction("ban", 60_000, id);
      await h.store.saveSanction(ban, retention);
      await h.store.saveSanction(sanction("warn", undefined, id), retention);
      await h.store.recordOffenses(
        [
          {
            event: {
              at: now,
              did: id,
              room: { name: "w", id: "r" },
              detector: "flood",
              kind: "rate",
              track: "spam",
              severity: 1,
              evidence: {},
            },
            halfLifeMs: 1000,
          },
        ],
        now,
        60_000,
      );
      await h.store.fileReport(id, "someone", 1, now, 60_000);
      await h.store.bindSession(
        { did: id, sessionId: "s", processId: "p", roomName: "w", roomId: "r", since: now },
        retention,
      );
      const minimal = { ...ban, reason: "(erased)", by: "(erased)" };
      await h.store.forget(id, [minimal], retention);
      expect(await h.store.sanctionsOf(id)).toEqual([minimal]);
      expect(await h.store.offensesOf(id, { limit: 10 })).toEqual([]);
      expect(await h.store.profileOf(id)).toBeNull();
      expect(await h.store.pointsOf(id)).toEqual({});
      expect(await h.store.reportsAgainst(id)).toEqual([]);
      expect(await h.store.sessionsOf(id)).toEqual([]);
      expect(await h.store.didsByName("bob", now + 1, 60_000)).toEqual([]);
      expect((await h.store.readFeed("0", { count: 1000, blockMs: 0 })).some((e) => e.did === id)).toBe(false);
    });

    it("saves review records by compare-and-set on their revision, whole (empty lists included)", async () => {
      const subject = did();
      const a = appeal(subject);
      expect(await h.store.saveReview(a, null, 60_000, [])).toBe("saved");
      expect(await h.store.review(a.id)).toEqual(a);
      // Expecting a new record when one exists, or any revision when none exists: conflict.
      expect(await h.store.saveReview(a, null, 60_000, [])).toBe("conflict");
      const other = appeal(subject);
      expect(await h.store.saveReview({ ...other, rev: 2 }, 1, 60_000, [])).toBe("conflict");
      expect(await h.store.review(other.id)).toBeNull();

      const inReview = next(a, { state: "in_review", reviewer: "mod", reviewedAt: a.openedAt + 1 });
      expect(await h.store.saveReview(inReview, 1, 60_000, [])).toBe("saved");
      // A second moderator who read revision 1 loses: nothing of theirs is written.
      expect(await h.store.saveReview(next(a, { state: "withdrawn" }), 1, 60_000, [])).toBe("conflict");
      expect(await h.store.saveReview({ ...inReview, rev: 6, state: "upheld" }, 5, 60_000, [])).toBe("conflict");
      expect(await h.store.review(a.id)).toEqual(inReview);
      const copy = await h.store.review(a.id);
      copy!.state = "upheld";
      expect((await h.store.review(a.id))!.state).toBe("in_review");

      // Empty lists stay lists (no re-encoding on the way).
      const c = reportCase(subject);
      const e = evidence(subject);
      await h.store.saveReview(c, null, 60_000, []);
      await h.store.saveReview(e, null, 60_000, []);
      expect(await h.store.review(c.id)).toEqual(c);
      expect(await h.store.review(e.id)).toEqual(e);
      expect(await h.store.review("garbage")).toBeNull();
      expect(await h.store.review(`${did()}.${suffix()}.c`)).toBeNull();
    });

    it("refuses review writes that cannot be right (STORE_SCRIPT), and writes nothing", async () => {
      const subject = did();
      const a = appeal(subject);
      const refused = [
        h.store.saveReview({ ...a, rev: 2 }, null, 60_000, []), // rev must be expectedRev + 1
        h.store.saveReview({ ...a, did: did() }, null, 60_000, []), // the id is not in the subject's slot
        h.store.saveReview({ ...a, state: undefined } as unknown as Appeal, null, 60_000, []),
        h.store.saveReview({ ...a, type: "ticket" } as unknown as Appeal, null, 60_000, []),
        h.store.saveReview({ ...a, id: "not-an-id" }, null, 60_000, []),
        h.store.saveReview(a, null, 0, []),
        h.store.saveReview(a, null, 60_000, ["{other}"]),
        h.store.saveReview({ ...a, text: "x".repeat(300_000) }, null, 60_000, []),
        h.store.forgive(subject, "spam", -1, null, Date.now(), 600_000),
        h.store.forgive(subject, "spam", 1, null, Date.now(), 0),
        h.store.countStats("yesterday", { a: 1 }, {}, 60_000),
        h.store.countStats("2026-12-01", { a: Number.NaN }, {}, 60_000),
        h.store.trackActive(`${subject}.${suffix()}`, "mute|ban", null),
        h.store.noteReporter(subject, "maybe" as "upheld", 60_000),
      ];
      for (const call of refused)
        await expect(call).rejects.toMatchObject({ name: "WardenError", code: "STORE_SCRIPT" });
      expect(await h.store.review(a.id)).toBeNull();
      expect(await h.store.reviewsOf(subject)).toEqual([]);
    });

    it("keeps each type's review queue in step with isQueued, oldest openedAt first, and bounds the limit", async () => {
      const t = Date.now();
      const late = appeal(did(), { openedAt: t + 20 });
      const early = appeal(did(), { openedAt: t + 10 });
      const c = reportCase(did(), { openedAt: t });
      const e = evidence(did(), { openedAt: t });
      for (const r of [late, early, c, e]) expect(await h.store.saveReview(r, null, 60_000, [])).toBe("saved");
      expect(ids(await h.store.reviewQueue("appeal", 10))).toEqual([early.id, late.id]);
      expect(await h.store.reviewQueue("case", 10)).toEqual([]); // collecting: not queued yet
      expect(await h.store.reviewQueue("evidence", 10)).toEqual([]);

      const open = next(c, { state: "open", queuedAt: t + 1 });
      await h.store.saveReview(open, 1, 60_000, []);
      expect(await h.store.reviewQueue("case", 10)).toEqual([open]);
      await h.store.saveReview(next(early, { state: "in_review", reviewer: "mod" }), 1, 60_000, []);
      expect(ids(await h.store.reviewQueue("appeal", 10))).toEqual([early.id, late.id]); // in review: still queued
      await h.store.saveReview(next(next(early), { state: "upheld", decidedAt: t + 30 }), 2, 60_000, []);
      expect(ids(await h.store.reviewQueue("appeal", 10))).toEqual([late.id]);
      await h.store.saveReview(next(open, { state: "dismissed" }), 2, 60_000, []);
      expect(await h.store.reviewQueue("case", 10)).toEqual([]);

      const more = [appeal(did(), { openedAt: t + 15 }), appeal(did(), { openedAt: t + 25 })];
      for (const r of more) await h.store.saveReview(r, null, 60_000, []);
      expect(ids(await h.store.reviewQueue("appeal", 2))).toEqual([more[0]!.id, late.id]);
      expect(await h.store.reviewQueue("appeal", 1e12)).toHaveLength(3);
      expect(await h.store.reviewQueue("appeal", 0)).toEqual([]);
      expect(await h.store.reviewQueue("appeal", Number.NaN)).toEqual([]);
      expect(await h.store.reviewQueue("ticket" as "appeal", 10)).toEqual([]);
    });

    it("lists a subject's records oldest first and the records an ID takes part in; deletes a record everywhere", async () => {
      const subject = did();
      const [r1, r2] = [did(), did()];
      const t = Date.now();
      const c = reportCase(subject, { openedAt: t + 5, state: "open" });
      const e = evidence(subject, { openedAt: t });
      await h.store.saveReview(c, null, 60_000, [r1, r2, r1, subject]);
      await h.store.saveReview(e, null, 60_000, [r1]);
      expect(ids(await h.store.reviewsOf(subject))).toEqual([e.id, c.id]);
      expect(await h.store.reviewsOf(r1)).toEqual([]);
      expect((await h.store.involvedIn(r1)).sort()).toEqual([c.id, e.id].sort());
      expect(await h.store.involvedIn(r2)).toEqual([c.id]);
      expect(await h.store.involvedIn(subject)).toEqual([]); // the subject is not "involved" in its own record

      // A new revision that no longer names r2 (a redacted line): r2 is no longer involved.
      await h.store.saveReview(next(c), 1, 60_000, [r1]);
      expect(await h.store.involvedIn(r2)).toEqual([]);
      expect(await h.store.reviewQueue("case", 10)).toEqual([next(c)]);

      await h.store.deleteReview(c.id);
      expect(await h.store.review(c.id)).toBeNull();
      expect(ids(await h.store.reviewsOf(subject))).toEqual([e.id]);
      expect(await h.store.involvedIn(r1)).toEqual([e.id]);
      expect(await h.store.reviewQueue("case", 10)).toEqual([]);
      // Deleting what is not there is no error; the id can be used again afterwards.
      await h.store.deleteReview(c.id);
      await h.store.deleteReview("garbage");
      expect(await h.store.saveReview(c, null, 60_000, [])).toBe("saved");
    });

    it("forgets review records, reporter standings, report counts and statistics after their retention", async () => {
      const subject = did();
      const reporter = did();
      const short = appeal(subject);
      const long = reportCase(subject, { state: "open" });
      await h.store.saveReview(short, null, 150, [reporter]);
      await h.store.saveReview(long, null, 60_000, [reporter]);
      await h.store.noteReporter(reporter, "unfounded", 150, Date.now() + 100);
      await h.store.countReportBy(reporter, Date.now(), 150);
      await h.store.countStats("2026-11-30", { appeals: 1 }, { decide: 5 }, 150);
      await h.store.countStats("2026-12-01", { appeals: 1 }, {}, 60_000);
      expect(ids(await h.store.reviewQueue("appeal", 10))).toEqual([short.id]);
      await sleep(350);
      expect(await h.store.review(short.id)).toBeNull();
      expect(await h.store.reviewsOf(subject)).toEqual([long]);
      expect(await h.store.reviewQueue("appeal", 10)).toEqual([]);
      expect(await h.store.reviewQueue("case", 10)).toEqual([long]);
      expect(await h.store.involvedIn(reporter)).toEqual([long.id]);
      expect(await h.store.reporterStanding(reporter)).toEqual({ upheld: 0, unfounded: 0, suspendedUntil: 0 });
      expect(await h.store.countReportBy(reporter, Date.now(), 60_000)).toBe(1);
      expect((await h.store.statsOf(["2026-11-30", "2026-12-01"])).map((d) => d.day)).toEqual(["2026-12-01"]);
      if (h.keys) {
        // The stale queue entry was met by reviewQueue and taken out.
        expect(await admin.zcard(h.keys.reviewQueue("appeal"))).toBe(0);
        expect(await admin.zrange(h.keys.reviews(subject), 0, -1)).toEqual([long.id]);
      }
    });

    it("counts a reporter's reports within the window, across calls (two in the same ms are two)", async () => {
      const reporter = did();
      const now = Date.now();
      expect(await h.store.countReportBy(reporter, now, 1000)).toBe(1);
      expect(await h.store.countReportBy(reporter, now, 1000)).toBe(2);
      expect(await h.store.countReportBy(reporter, now + 500, 1000)).toBe(3);
      // The two at `now` are out of the window at now + 1200; the one at now + 500 is still in.
      expect(await h.store.countReportBy(reporter, now + 1200, 1000)).toBe(2);
      // A shorter window counts fewer: only the two at now + 1200.
      expect(await h.store.countReportBy(reporter, now + 1200, 100)).toBe(2);
      expect(await h.store.countReportBy(did(), now, 1000)).toBe(1);
    });

    it("keeps a reporter's standing: upheld and unfounded cases, and a suspension", async () => {
      const reporter = did();
      const until = Date.now() + 3_600_000;
      expect(await h.store.reporterStanding(reporter)).toEqual({ upheld: 0, unfounded: 0, suspendedUntil: 0 });
      expect(await h.store.noteReporter(reporter, "upheld", 60_000)).toEqual({
        upheld: 1,
        unfounded: 0,
        suspendedUntil: 0,
      });
      expect(await h.store.noteReporter(reporter, "unfounded", 60_000, until)).toEqual({
        upheld: 1,
        unfounded: 1,
        suspendedUntil: until,
      });
      // Without a suspension given, the one in place stays.
      expect(await h.store.noteReporter(reporter, "unfounded", 60_000)).toEqual({
        upheld: 1,
        unfounded: 2,
        suspendedUntil: until,
      });
      expect(await h.store.reporterStanding(reporter)).toEqual({ upheld: 1, unfounded: 2, suspendedUntil: until });
      expect(await h.store.reporterStanding(did())).toEqual({ upheld: 0, unfounded: 0, suspendedUntil: 0 });
    });

    it("adds up a day's counters and keeps its newest 1000 samples per name", async () => {
      await h.store.countStats("2026-12-01", { appeals: 2, sanctions: 1 }, { decide: 100 }, 60_000);
      await h.store.countStats("2026-12-01", { appeals: 1, half: 0.5 }, { decide: 200, first: 7 }, 60_000);
      await h.store.countStats("2026-12-03", {}, { decide: 1 }, 60_000);
      await h.store.countStats("2026-12-04", {}, {}, 60_000);
      expect(await h.store.statsOf(["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "junk"])).toEqual([
        {
          day: "2026-12-01",
          counts: { appeals: 3, sanctions: 1, half: 0.5 },
          samples: { decide: [100, 200], first: [7] },
        },
        { day: "2026-12-03", counts: {}, samples: { decide: [1] } },
      ]);
      for (let i = 0; i < 1005; i++) await h.store.countStats("2026-12-02", { n: 1 }, { decide: i }, 60_000);
      const [day] = await h.store.statsOf(["2026-12-02"]);
      expect(day!.counts).toEqual({ n: 1005 });
      expect(day!.samples.decide).toHaveLength(1000);
      expect(day!.samples.decide![0]).toBe(5);
      expect(day!.samples.decide!.at(-1)).toBe(1004);
    });

    it("counts the sanctions in force by kind; ended and untracked ones drop out", async () => {
      const now = Date.now();
      const [m1, m2, b1] = [sanction("mute", 1000), sanction("mute"), sanction("ban", 5000)];
      await h.store.trackActive(m1.id, "mute", now + 1000);
      await h.store.trackActive(m2.id, "mute", null);
      await h.store.trackActive(b1.id, "ban", now + 5000);
      expect(await h.store.countActive(now)).toEqual({ mute: 2, ban: 1 });
      expect(await h.store.countActive(now + 1000)).toEqual({ mute: 1, ban: 1 }); // ends at now + 1000: over
      // Ended ones are dropped as they are met: not back when asked about an earlier time.
      expect(await h.store.countActive(now)).toEqual({ mute: 1, ban: 1 });
      await h.store.untrackActive(b1.id, "ban");
      await h.store.untrackActive(b1.id, "ban");
      expect(await h.store.countActive(now)).toEqual({ mute: 1 });
      expect(await h.store.countActive(8.64e15 - 1)).toEqual({ mute: 1 }); // permanent
      await h.store.untrackActive(m2.id, "mute");
      expect(await h.store.countActive(now)).toEqual({});
    });

    it("forgets an ID's review records (and takes them out of the queues), its involved index, reporter standing and report count", async () => {
      const subject = did();
      const reporter = did();
      const otherSubject = did();
      const now = Date.now();
      const own = appeal(subject);
      const evidenceOfIt = evidence(subject, { openedAt: own.openedAt + 1 });
      const reportedByIt = reportCase(otherSubject, { state: "open" });
      await h.store.saveReview(own, null, 60_000, [reporter]);
      await h.store.saveReview(evidenceOfIt, null, 60_000, []);
      await h.store.saveReview(reportedByIt, null, 60_000, [subject]);
      await h.store.countReportBy(subject, now, 60_000);
      await h.store.countReportBy(subject, now, 60_000);
      await h.store.noteReporter(subject, "upheld", 60_000, now + 60_000);
      expect(await h.store.involvedIn(subject)).toEqual([reportedByIt.id]);
      expect(await h.store.involvedIn(reporter)).toEqual([own.id]);

      await h.store.forget(subject, [], retention);
      expect(await h.store.review(own.id)).toBeNull();
      expect(await h.store.review(evidenceOfIt.id)).toBeNull();
      expect(await h.store.reviewsOf(subject)).toEqual([]);
      expect(await h.store.reviewQueue("appeal", 10)).toEqual([]);
      expect(await h.store.involvedIn(subject)).toEqual([]);
      expect(await h.store.involvedIn(reporter)).toEqual([]);
      expect(await h.store.reporterStanding(subject)).toEqual({ upheld: 0, unfounded: 0, suspendedUntil: 0 });
      if (h.keys) {
        const left = (await keysUnder(admin, h.keys.prefix)).filter((k) => k.includes(`{${subject}}`));
        expect(left).toEqual([]);
        expect(await admin.zcard(h.keys.reviewQueue("appeal"))).toBe(0);
      }
      // Its count starts again from nothing.
      expect(await h.store.countReportBy(subject, now, 60_000)).toBe(1);
      // A record it merely took part in stays: the caller redacts it.
      expect(await h.store.review(reportedByIt.id)).toEqual(reportedByIt);
      expect(await h.store.reviewQueue("case", 10)).toEqual([reportedByIt]);
    });

    it("forgives: lowers a track's points to the cap (never raises them), sets or clears the mark; the ladder goes on from there", async () => {
      const id = did();
      const now = Date.now();
      const halfLifeMs = 600_000;
      const ladder = resolvePolicy().tracks.get("spam")!.ladder; // 1 warn, 3 mute, 6 kick, 10 ban
      let k = 0;
      const event = (at: number, severity = 1): OffenseRecord => ({
        event: {
          at,
          did: id,
          room: { name: "world", id: "r1" },
          detector: "flood",
          kind: `k${++k}`,
          track: "spam",
          severity,
          evidence: {},
        },
        halfLifeMs,
        ladder,
      });
      const steps = async (at: number, severity = 1) =>
        (await h.store.recordOffenses([event(at, severity)], at, 3_600_000)).map((r) => r.step);

      // Nothing to forgive: nothing written.
      await h.store.forgive(id, "spam", 0, null, now, halfLifeMs);
      expect(await h.store.pointsOf(id)).toEqual({});

      expect([...(await steps(now)), ...(await steps(now)), ...(await steps(now))]).toEqual([0, null, 1]); // warn, -, mute
      // A cap above the points lowers nothing (but decays them to now).
      await h.store.forgive(id, "spam", 100, 3, now, halfLifeMs);
      expect((await h.store.pointsOf(id)).spam).toEqual({ points: 3, at: now, count: 3 });
      await h.store.forgive(id, "abuse", 0, null, now, halfLifeMs);
      expect((await h.store.pointsOf(id)).abuse).toBeUndefined();

      // Forgiven down to the warning: the next offense issues nothing, the one after is a mute again, not a kick.
      await h.store.forgive(id, "spam", 1, 1, now, halfLifeMs);
      expect((await h.store.pointsOf(id)).spam).toMatchObject({ points: 1, count: 3 });
      expect(await steps(now)).toEqual([null]);
      expect(await steps(now)).toEqual([1]);

      // The mark decides: kept at the mute (3), 2.5 + 1 issues nothing; cleared, it issues the mute again.
      await h.store.forgive(id, "spam", 2.5, 3, now, halfLifeMs);
      expect(await steps(now)).toEqual([null]);
      await h.store.forgive(id, "spam", 2.5, null, now, halfLifeMs);
      expect(await steps(now)).toEqual([1]);

      // Decayed first: one half-life later 3.5 points are 1.75, below a cap of 2.
      await h.store.forgive(id, "spam", 2, null, now + halfLifeMs, halfLifeMs);
      const spam = (await h.store.pointsOf(id)).spam!;
      expect(spam.points).toBeCloseTo(1.75, 9);
      expect(spam.at).toBe(now + halfLifeMs);
    });

    it("forgives a step only while no later step was issued (onlyIfLastAt)", async () => {
      const id = did();
      const now = Date.now();
      const halfLifeMs = 600_000;
      const ladder = resolvePolicy().tracks.get("spam")!.ladder; // 1 warn, 3 mute, 6 kick, 10 ban
      let k = 0;
      const record = (severity: number) =>
        h.store.recordOffenses(
          [
            {
              event: {
                at: now,
                did: id,
                room: { name: "w", id: "r" },
                detector: "flood",
                kind: `k${++k}`,
                track: "spam",
                severity,
                evidence: {},
              },
              halfLifeMs,
              ladder,
            },
          ],
          now,
          3_600_000,
        );
      expect((await record(3))[0]!.step).toBe(1); // the mute (at 3)
      expect((await record(3))[0]!.step).toBe(2); // then the kick (at 6)
      // Forgiving the mute now takes nothing back: the kick stands on its own points.
      await h.store.forgive(id, "spam", 1, 1, now, halfLifeMs, 3);
      expect((await h.store.pointsOf(id)).spam!.points).toBe(6);
      // Forgiving the kick (the last step) does.
      await h.store.forgive(id, "spam", 3, 3, now, halfLifeMs, 6);
      expect((await h.store.pointsOf(id)).spam!.points).toBe(3);
      // A bad bound is refused.
      await expect(h.store.forgive(id, "spam", 1, 1, now, halfLifeMs, Number.NaN)).rejects.toMatchObject({
        code: "STORE_SCRIPT",
      });
    });

    it("publishes a player notice to every subscriber, and refuses one no subscriber would accept", async () => {
      const seen: BusMessage[] = [];
      const unsubscribe = await h.store.subscribe((m) => seen.push(m));
      const player = did();
      const notice: PlayerNotice = {
        topic: "appeal",
        key: "appeal.upheld",
        ref: `${player}.${suffix()}.a`,
        state: "upheld",
        vars: { reason: "a wrong call" },
      };
      await h.store.publishNotice(player, notice);
      await waitFor(() => seen.length === 1, "the notice");
      expect(seen[0]).toEqual({ type: "notice", did: player, notice });
      await expect(h.store.publishNotice(player, { ...notice, key: "Not A Key" })).rejects.toMatchObject({
        code: "STORE_SCRIPT",
      });
      await expect(h.store.publishNotice("not-a-did", notice)).rejects.toMatchObject({ code: "STORE_SCRIPT" });
      await sleep(50);
      expect(seen).toHaveLength(1);
      await unsubscribe();
    });

    it("keeps staff records by id: saved, read back as written, overwritten, listed", async () => {
      const record = (id: string, name: string, revokedAt: number | null = null) => ({
        id,
        name,
        role: "moderator" as const,
        createdAt: 1_700_000_000_000,
        createdBy: "api:admin:root",
        revokedAt,
        revokedBy: revokedAt === null ? null : "api:admin:root",
        tokenHash: "ab".repeat(32),
        mac: "cd".repeat(32),
      });
      expect(await h.store.staffById("aaaaaaaaaaaaaaaa")).toBeNull();
      await h.store.saveStaff(record("aaaaaaaaaaaaaaaa", "ann"));
      await h.store.saveStaff(record("bbbbbbbbbbbbbbbb", "bob"));
      expect(await h.store.staffById("aaaaaaaaaaaaaaaa")).toEqual(record("aaaaaaaaaaaaaaaa", "ann"));
      await h.store.saveStaff(record("aaaaaaaaaaaaaaaa", "ann", 1_700_000_001_000));
      expect((await h.store.staffById("aaaaaaaaaaaaaaaa"))?.revokedAt).toBe(1_700_000_001_000);
      expect((await h.store.listStaff()).map((r) => r.name).sort()).toEqual(["ann", "bob"]);
    });

    it("appends audit entries only on the expected head (compare-and-set), in order", async () => {
      const head = await h.store.auditHead();
      const entry = auditEntry;
      expect(await h.store.appendAudit([entry(head.seq + 1, head.hash, "h1")], head.hash, 0)).toEqual({
        status: "appended",
        head: { seq: head.seq + 1, hash: "h1", trimmed: head.trimmed },
      });
      // A stale head: nothing written, and the answer names the head to rechain on.
      expect(await h.store.appendAudit([entry(head.seq + 2, "stale", "h2")], "stale", 0)).toEqual({
        status: "conflict",
        head: { seq: head.seq + 1, hash: "h1", trimmed: head.trimmed },
      });
      expect(await h.store.appendAudit([entry(head.seq + 2, "h1", "h2")], "h1", 0)).toMatchObject({
        status: "appended",
        head: { seq: head.seq + 2, hash: "h2" },
      });
      expect(await h.store.auditHead()).toMatchObject({ seq: head.seq + 2, hash: "h2" });
      const newest = await h.store.auditEntries({ limit: 2 });
      expect(newest.map((e) => e.hash)).toEqual(["h2", "h1"]);
      const range = await h.store.auditRange(newest[1]!.id!, 10);
      expect(range.map((e) => e.hash)).toEqual(["h2"]);
    });

    it("appends a chained batch of audit entries all at once, and refuses a batch that does not chain (all or none)", async () => {
      const entry = (seq: number, prev: string, hash: string) => ({
        seq,
        at: Date.now(),
        actor: "t",
        face: "code" as const,
        action: "view" as const,
        target: null,
        why: null,
        detail: { n: seq },
        prev,
        hash,
      });
      const head = await h.store.auditHead();
      const s = head.seq;
      const batch = [entry(s + 1, head.hash, "b1"), entry(s + 2, "b1", "b2"), entry(s + 3, "b2", "b3")];
      expect(await h.store.appendAudit(batch, head.hash, 0)).toMatchObject({
        status: "appended",
        head: { seq: s + 3, hash: "b3" },
      });
      expect((await h.store.auditRange("0", 100)).slice(-3).map((e) => [e.seq, e.prev, e.hash, e.detail])).toEqual(
        batch.map((e) => [e.seq, e.prev, e.hash, e.detail]),
      );

      // A gap in seq, a broken link, or a first entry that skips the head: refused, nothing written.
      for (const bad of [
        [entry(s + 4, "b3", "c1"), entry(s + 6, "c1", "c2")],
        [entry(s + 4, "b3", "c1"), entry(s + 5, "other", "c2")],
        [entry(s + 5, "b3", "c1")],
        [entry(s + 4, "not-the-head", "c1")],
      ]) {
        await expect(h.store.appendAudit(bad, "b3", 0)).rejects.toMatchObject({
          name: "WardenError",
          code: "STORE_SCRIPT",
        });
      }
      expect(await h.store.auditHead()).toMatchObject({ seq: s + 3, hash: "b3" });
      expect((await h.store.auditRange("0", 100)).length).toBe(3);
    });

    it("trims audit entries older than the retention, and counts them in the head", async () => {
      const old = Date.now() - 60_000;
      const entry = (seq: number, prev: string, hash: string, at: number) => ({
        seq,
        at,
        actor: "t",
        face: "code" as const,
        action: "view" as const,
        target: null,
        why: null,
        detail: {},
        prev,
        hash,
      });
      expect(await h.store.appendAudit([entry(1, "", "t1", old), entry(2, "t1", "t2", old)], "", 0)).toMatchObject({
        status: "appended",
      });
      await new Promise((r) => setTimeout(r, 20));
      // Keep only what is newer than now: both old entries go (the stream trims by its own ids, which are the store's clock).
      const result = await h.store.appendAudit([entry(3, "t2", "t3", Date.now())], "t2", Date.now() - 2);
      expect(result).toEqual({ status: "appended", head: { seq: 3, hash: "t3", trimmed: 2 } });
      expect((await h.store.auditRange("0", 10)).map((e) => e.seq)).toEqual([3]);
    });

    it("notes signals: answers per signal, in the order given, the other IDs seen with it, newest first, with their first and last seen", async () => {
      const [a, b, c] = [did(), did(), did()];
      const device = signal("device");
      const address = signal("address");
      const t = Date.now();
      expect(await h.store.noteSignals(a, [device], t, 60_000, 10)).toEqual([
        { ...device, firstSeen: t, lastSeen: t, peers: [] },
      ]);
      expect(await h.store.noteSignals(b, [device, address], t + 10, 60_000, 10)).toEqual([
        { ...device, firstSeen: t + 10, lastSeen: t + 10, peers: [{ did: a, firstSeen: t, lastSeen: t }] },
        { ...address, firstSeen: t + 10, lastSeen: t + 10, peers: [] },
      ]);
      // The same signal twice in one call is noted once and answered for each.
      expect(await h.store.noteSignals(c, [address, device, address], t + 20, 60_000, 10)).toEqual([
        { ...address, firstSeen: t + 20, lastSeen: t + 20, peers: [{ did: b, firstSeen: t + 10, lastSeen: t + 10 }] },
        {
          ...device,
          firstSeen: t + 20,
          lastSeen: t + 20,
          peers: [
            { did: b, firstSeen: t + 10, lastSeen: t + 10 },
            { did: a, firstSeen: t, lastSeen: t },
          ],
        },
        { ...address, firstSeen: t + 20, lastSeen: t + 20, peers: [{ did: b, firstSeen: t + 10, lastSeen: t + 10 }] },
      ]);
      expect(await h.store.noteSignals(a, [], t + 25, 60_000, 10)).toEqual([]);
    });

    it("notes an ID seen again with a signal: its last sighting moves, its first stays, for itself and for its peers", async () => {
      const [a, b] = [did(), did()];
      const device = signal("device");
      const t = Date.now();
      await h.store.noteSignals(a, [device], t, 60_000, 10);
      await h.store.noteSignals(b, [device], t + 10, 60_000, 10);
      expect(await h.store.noteSignals(a, [device], t + 30, 60_000, 10)).toEqual([
        { ...device, firstSeen: t, lastSeen: t + 30, peers: [{ did: b, firstSeen: t + 10, lastSeen: t + 10 }] },
      ]);
      // b sees a first now (newest), with a's first sighting kept.
      expect((await h.store.noteSignals(b, [device], t + 40, 60_000, 10))[0]!.peers).toEqual([
        { did: a, firstSeen: t, lastSeen: t + 30 },
      ]);
      // A sighting out of order (another process's clock behind) moves neither back.
      expect((await h.store.noteSignals(a, [device], t + 20, 60_000, 10))[0]).toMatchObject({
        firstSeen: t,
        lastSeen: t + 30,
      });
      expect((await h.store.signalsOf(b, t + 50, 60_000, 10))[0]!.peers).toEqual([
        { did: a, firstSeen: t, lastSeen: t + 30 },
      ]);
    });

    it("bounds the peers answered to limit + 1 (so that 'more than limit' is known), and the limit to 1000", async () => {
      const device = signal("device");
      const t = Date.now();
      const others = Array.from({ length: 6 }, () => did());
      for (const [i, d] of others.entries()) await h.store.noteSignals(d, [device], t + i, 60_000, 10);
      const me = did();
      const [seen] = await h.store.noteSignals(me, [device], t + 10, 60_000, 3);
      expect(seen!.peers.map((p) => p.did)).toEqual([others[5], others[4], others[3], others[2]]);
      for (const limit of [0, -5, Number.NaN])
        expect((await h.store.noteSignals(me, [device], t + 11, 60_000, limit))[0]!.peers).toHaveLength(1);
      expect((await h.store.signalsOf(me, t + 11, 60_000, 2))[0]!.peers).toHaveLength(3);
      expect((await h.store.signalsOf(me, t + 11, 60_000, 1e9))[0]!.peers).toHaveLength(6);

      // Past 1000: at most 1001 answered, whatever the limit asked.
      const crowd = signal("prefix");
      const many = Array.from({ length: 1003 }, () => did());
      for (let i = 0; i < many.length; i += 100)
        await Promise.all(many.slice(i, i + 100).map((d, j) => h.store.noteSignals(d, [crowd], t + i + j, 60_000, 0)));
      expect((await h.store.noteSignals(me, [crowd], t + 2000, 60_000, 1e9))[0]!.peers).toHaveLength(1001);
    });

    it("keeps at most 16 signals per ID: the least recently seen goes, and the ID leaves its list of IDs", async () => {
      const [me, other] = [did(), did()];
      const t = Date.now();
      const seen = Array.from({ length: 17 }, () => signal("address"));
      for (const [i, s] of seen.entries()) await h.store.noteSignals(me, [s], t + i, 60_000, 10);
      const listed = await h.store.signalsOf(me, t + 20, 60_000, 10);
      expect(listed.map((s) => s.hash)).toEqual(
        seen
          .slice(1)
          .reverse()
          .map((s) => s.hash),
      );
      expect(listed[0]).toEqual({ ...seen[16], firstSeen: t + 16, lastSeen: t + 16, peers: [] });
      expect((await h.store.noteSignals(other, [seen[0]!], t + 20, 60_000, 10))[0]!.peers).toEqual([]);
      expect((await h.store.noteSignals(other, [seen[1]!], t + 21, 60_000, 10))[0]!.peers).toEqual([
        { did: me, firstSeen: t + 1, lastSeen: t + 1 },
      ]);
    });

    it("drops sightings older than the retention as it meets them, and forgets signals after it", async () => {
      const [old, fresh, me] = [did(), did(), did()];
      const device = signal("device");
      const t = Date.now();
      await h.store.noteSignals(old, [device], t - 5_000, 60_000, 10);
      await h.store.noteSignals(fresh, [device], t - 500, 60_000, 10);
      const [seen] = await h.store.noteSignals(me, [device], t, 1_000, 10);
      expect(seen!.peers.map((p) => p.did)).toEqual([fresh]);
      // Dropped, not merely hidden: a longer retention later does not bring it back.
      expect((await h.store.signalsOf(me, t, 60_000, 10))[0]!.peers.map((p) => p.did)).toEqual([fresh]);
      // Seen again after its sighting lapsed: a new first sighting.
      expect((await h.store.noteSignals(old, [device], t + 1, 1_000, 10))[0]).toMatchObject({
        firstSeen: t + 1,
        lastSeen: t + 1,
      });

      // Keys expire `retentionMs` after the last write.
      const gone = did();
      const prefix = signal("prefix");
      await h.store.noteSignals(gone, [prefix], Date.now(), 150, 10);
      expect(await h.store.signalsOf(gone, Date.now(), 60_000, 10)).toHaveLength(1);
      await sleep(300);
      expect(await h.store.signalsOf(gone, Date.now(), 60_000, 10)).toEqual([]);
      expect((await h.store.noteSignals(me, [prefix], Date.now(), 60_000, 10))[0]!.peers).toEqual([]);
      if (h.keys) {
        expect(await admin.exists(h.keys.signals(gone))).toBe(0);
        for (const key of await keysUnder(admin, h.keys.prefix)) expect(await admin.pttl(key), key).toBeGreaterThan(0);
      }
    });

    it("lists an ID's signals, most recently seen first, with their peers; a shorter window only reads", async () => {
      const [a, b] = [did(), did()];
      const device = signal("device");
      const address = signal("address");
      const t = Date.now();
      await h.store.noteSignals(a, [address], t, 60_000, 10);
      await h.store.noteSignals(a, [device], t + 5, 60_000, 10);
      await h.store.noteSignals(b, [device], t + 10, 60_000, 10);
      expect(await h.store.signalsOf(a, t + 20, 60_000, 10)).toEqual([
        { ...device, firstSeen: t + 5, lastSeen: t + 5, peers: [{ did: b, firstSeen: t + 10, lastSeen: t + 10 }] },
        { ...address, firstSeen: t, lastSeen: t, peers: [] },
      ]);
      expect(await h.store.signalsOf(b, t + 20, 15, 10)).toEqual([
        { ...device, firstSeen: t + 10, lastSeen: t + 10, peers: [{ did: a, firstSeen: t + 5, lastSeen: t + 5 }] },
      ]);
      expect((await h.store.signalsOf(b, t + 20, 12, 10))[0]!.peers).toEqual([]);
      expect((await h.store.signalsOf(a, t + 20, 12, 10)).map((s) => s.hash)).toEqual([]);
      expect((await h.store.signalsOf(b, t + 20, 60_000, 10))[0]!.peers.map((p) => p.did)).toEqual([a]);
      expect(await h.store.signalsOf(did(), t, 60_000, 10)).toEqual([]);
    });

    it("remembers dismissed links both ways until they end (the later end wins), and lists them soonest to end first", async () => {
      const [a, b, c] = [did(), did(), did()];
      await h.store.dismissLink(a, b, 60_000);
      await h.store.dismissLink(c, a, 150);
      expect(await h.store.dismissedLinks(a)).toEqual([c, b]);
      expect(await h.store.dismissedLinks(b)).toEqual([a]);
      expect(await h.store.dismissedLinks(c)).toEqual([a]);
      await h.store.dismissLink(b, a, 100); // shorter: the first end stays
      expect(await h.store.dismissedLinks(did())).toEqual([]);
      await sleep(300);
      expect(await h.store.dismissedLinks(a)).toEqual([b]);
      expect(await h.store.dismissedLinks(b)).toEqual([a]);
      expect(await h.store.dismissedLinks(c)).toEqual([]);
      if (h.keys) {
        expect(await admin.exists(h.keys.dismissed(c))).toBe(0);
        const ttl = await admin.pttl(h.keys.dismissed(a));
        expect(ttl).toBeGreaterThan(55_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    });

    it("forgets an ID's signals, its place among the peers of the others, and its dismissed links on both sides", async () => {
      const [me, other, third] = [did(), did(), did()];
      const device = signal("device");
      const address = signal("address");
      const t = Date.now();
      await h.store.noteSignals(me, [device, address], t, 60_000, 10);
      await h.store.noteSignals(other, [device], t + 1, 60_000, 10);
      await h.store.noteSignals(third, [address], t + 2, 60_000, 10);
      await h.store.dismissLink(me, other, 60_000);
      await h.store.dismissLink(third, me, 60_000);
      await h.store.dismissLink(other, third, 60_000);
      expect((await h.store.signalsOf(other, t + 3, 60_000, 10))[0]!.peers.map((p) => p.did)).toEqual([me]);

      await h.store.forget(me, [], retention);
      expect(await h.store.signalsOf(me, t + 3, 60_000, 10)).toEqual([]);
      expect(await h.store.dismissedLinks(me)).toEqual([]);
      expect((await h.store.signalsOf(other, t + 3, 60_000, 10))[0]!.peers).toEqual([]);
      expect((await h.store.signalsOf(third, t + 3, 60_000, 10))[0]!.peers).toEqual([]);
      expect(await h.store.dismissedLinks(other)).toEqual([third]);
      expect(await h.store.dismissedLinks(third)).toEqual([other]);
      if (h.keys) {
        const left = await keysUnder(admin, h.keys.prefix);
        expect(left.filter((k) => k.includes(me))).toEqual([]);
        for (const key of left) {
          const type = await admin.type(key);
          if (type === "zset") expect(await admin.zscore(key, me), key).toBeNull();
          if (type === "hash") expect(await admin.hexists(key, me), key).toBe(0);
        }
      }
      // Noted again, it starts from nothing.
      expect((await h.store.noteSignals(me, [device], t + 10, 60_000, 10))[0]).toMatchObject({
        firstSeen: t + 10,
        peers: [{ did: other, firstSeen: t + 1, lastSeen: t + 1 }],
      });
    });

    it("refuses signal calls that cannot be right (STORE_SCRIPT), and writes nothing", async () => {
      const me = did();
      const t = Date.now();
      const good = signal("device");
      const refused = [
        h.store.noteSignals(me, [{ type: "device", hash: good.hash.toUpperCase() }], t, 60_000, 10),
        h.store.noteSignals(me, [{ type: "device", hash: good.hash.slice(1) }], t, 60_000, 10),
        h.store.noteSignals(me, [{ type: "device", hash: `${good.hash.slice(1)}1` }], t, 60_000, 10),
        h.store.noteSignals(me, [{ type: "device", hash: `${good.hash}}` }], t, 60_000, 10),
        h.store.noteSignals(me, [good, { type: "email" as "device", hash: good.hash }], t, 60_000, 10),
        h.store.noteSignals(me, [null as unknown as Signal], t, 60_000, 10),
        h.store.noteSignals(me, [good, signal("address"), signal("prefix"), signal("device")], t, 60_000, 10),
        h.store.noteSignals("not-a-did", [good], t, 60_000, 10),
        h.store.noteSignals(`${me}}`, [good], t, 60_000, 10),
        h.store.noteSignals(me, [good], Number.NaN, 60_000, 10),
        h.store.noteSignals(me, [good], t, 0, 10),
        h.store.signalsOf("{x}", t, 60_000, 10),
        h.store.signalsOf(me, t, -1, 10),
        h.store.dismissLink(me, me, 60_000),
        h.store.dismissLink(me, "nobody", 60_000),
        h.store.dismissLink(me, did(), 0),
        h.store.dismissedLinks("nobody"),
      ];
      for (const call of refused)
        await expect(call).rejects.toMatchObject({ name: "WardenError", code: "STORE_SCRIPT" });
      expect(await h.store.signalsOf(me, t, 60_000, 10)).toEqual([]);
      expect(await h.store.dismissedLinks(me)).toEqual([]);
      expect((await h.store.noteSignals(did(), [good], t, 60_000, 10))[0]!.peers).toEqual([]);
    });

    it("saves suspected evasions like every review record: read back whole, queued while open, out of the queue once decided", async () => {
      const t = Date.now();
      const subject = did();
      const late = evasion(did(), { openedAt: t + 10 });
      const v = evasion(subject, { openedAt: t });
      expect(await h.store.saveReview(late, null, 60_000, [])).toBe("saved");
      expect(await h.store.saveReview(v, null, 60_000, [])).toBe("saved");
      expect(await h.store.review(v.id)).toEqual(v);
      expect(await h.store.reviewsOf(subject)).toEqual([v]);
      expect(ids(await h.store.reviewQueue("evasion", 10))).toEqual([v.id, late.id]);
      expect(await h.store.reviewQueue("case", 10)).toEqual([]);
      expect(await h.store.saveReview({ ...v, rev: 3, state: "confirmed" }, 2, 60_000, [])).toBe("conflict");

      const dismissed = next(v, {
        state: "dismissed",
        decidedAt: t + 5,
        outcome: { action: "dismissed", reason: "siblings" },
      });
      expect(await h.store.saveReview(dismissed, 1, 60_000, [])).toBe("saved");
      expect(await h.store.review(v.id)).toEqual(dismissed);
      expect(await h.store.reviewQueue("evasion", 10)).toEqual([late]);
      const confirmed = next(late, {
        state: "confirmed",
        outcome: { action: "banned", sanctionId: "x", reason: "alt" },
      });
      await h.store.saveReview(confirmed, 1, 60_000, []);
      expect(await h.store.reviewQueue("evasion", 10)).toEqual([]);

      // What every reader would refuse is never written.
      const fresh = evasion(did());
      for (const bad of [
        { ...fresh, bannedDid: "nobody" },
        { ...fresh, banSanctionId: 7 },
        { ...fresh, link: [] },
        { ...fresh, link: {} },
        { ...fresh, link: null },
        { ...fresh, link: "strong" },
      ])
        await expect(h.store.saveReview(bad as unknown as EvasionRecord, null, 60_000, [])).rejects.toMatchObject({
          code: "STORE_SCRIPT",
        });
      expect(await h.store.review(fresh.id)).toBeNull();
      await h.store.forget(subject, [], retention);
      expect(await h.store.review(v.id)).toBeNull();
    });

    it("sweeps the bindings of a process whose heartbeat lapsed, and only those", async () => {
      const id = did();
      const now = Date.now();
      const base = { did: id, roomName: "world", roomId: "r1", since: now };
      await h.store.heartbeat("alive", now, 10_000);
      await h.store.heartbeat("dead", now - 20_000, 10_000);
      await h.store.bindSession({ ...base, sessionId: "a", processId: "alive" }, retention);
      await h.store.bindSession({ ...base, sessionId: "d1", processId: "dead" }, retention);
      await h.store.bindSession({ ...base, sessionId: "d2", processId: "dead" }, retention);
      expect(await h.store.sweepDeadProcesses(now)).toBe(2);
      expect((await h.store.sessionsOf(id)).map((s) => s.sessionId)).toEqual(["a"]);
      expect(await h.store.sweepDeadProcesses(now)).toBe(0);
      await h.store.retireProcess("alive");
      expect(await h.store.sessionsOf(id)).toEqual([]);
    });
  });
}

describe("RedisStore layout", () => {
  it("keeps one ID's keys in one cluster slot (hash tag) under the prefix, and maps failures to STORE_UNAVAILABLE", async () => {
    const prefix = uniquePrefix("layout");
    const store = new RedisStore({ connection: redisUrl(), prefix });
    const s = sanction("mute", 60_000);
    await store.saveSanction(s, retention);
    await store.bindSession(
      { did: s.did, sessionId: "x", processId: "p", roomName: "world", roomId: "r", since: 0 },
      retention,
    );
    const keys = (await keysUnder(admin, prefix)).sort();
    expect(keys).toEqual(
      [`${prefix}:{${s.did}}:sanctions`, `${prefix}:{${s.did}}:sessions`, `${prefix}:{procs}:sessions:p`].sort(),
    );
    await store.close();
    await dropPrefix(admin, prefix);

    const dead = new RedisStore({ connection: "redis://127.0.0.1:1", prefix });
    await expect(dead.connect()).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    await dead.close();
  });

  it("stores an issued sanction's JSON as it is and publishes it inside the message, the text JSON.stringify gives", async () => {
    const prefix = uniquePrefix("layout");
    const store = new RedisStore({ connection: redisUrl(), prefix });
    const listener = adminRedis();
    const published: string[] = [];
    listener.on("message", (_channel: string, text: string) => published.push(text));
    await listener.subscribe(new RedisKeys(prefix, 1).busChannel());
    const s = sanction("ban", 60_000);
    await store.saveSanction(s, retention);
    await waitFor(() => published.length === 1, "the issued message");
    const stored = await admin.hget(`${prefix}:{${s.did}}:sanctions`, s.id);
    expect(stored).toBe(JSON.stringify(s));
    expect(published[0]).toBe(JSON.stringify({ type: "issued", sanction: s }));
    listener.disconnect();
    await store.close();
    await dropPrefix(admin, prefix);
  });
});

describe("RedisStore: review and statistics keys written outside the warden", () => {
  let store: RedisStore;
  let keys: RedisKeys;
  beforeEach(async () => {
    keys = new RedisKeys(uniquePrefix("hostile"));
    store = new RedisStore({ connection: redisUrl(), prefix: keys.prefix });
    await store.connect();
  });
  afterEach(async () => {
    await store.close();
    await dropPrefix(admin, keys.prefix);
  });

  it("treats a review record it cannot read as absent (never thrown), and a save as new overwrites it", async () => {
    const subject = did();
    const a = appeal(subject);
    const key = keys.review(subject, a.id);
    const { rev: _rev, ...noRev } = a;
    const junk: [string, string][] = [
      ["1", "{not json"],
      ["1", JSON.stringify({ id: a.id })],
      ["1", JSON.stringify(noRev)],
      ["2", JSON.stringify(a)], // rev field and record disagree
      ["1", JSON.stringify({ ...a, id: `${did()}.${suffix()}.a` })],
      ["1", JSON.stringify({ ...a, type: "ticket" })],
      ["1", JSON.stringify({ ...a, openedAt: "yesterday" })],
      ["1", JSON.stringify([a])],
      ["1", `"${"x".repeat(300_000)}"`],
    ];
    for (const [rev, json] of junk) {
      await admin.del(key);
      await admin.hset(key, "rev", rev, "json", json, "inv", '[1, {}, "{bad}"');
      await admin.zadd(keys.reviews(subject), 1, a.id);
      await admin.zadd(keys.reviewQueue("appeal"), 1, a.id);
      expect(await store.review(a.id), json.slice(0, 60)).toBeNull();
      expect(await store.reviewsOf(subject)).toEqual([]);
      expect(await store.reviewQueue("appeal", 10)).toEqual([]);
    }
    expect(store.dropped.records).toBeGreaterThan(0);
    // What the warden cannot read counts as no record: saved as new, it is replaced whole.
    await admin.hset(key, "rev", "7", "junk", "field");
    expect(await store.saveReview(a, null, 60_000, [])).toBe("saved");
    expect(await store.review(a.id)).toEqual(a);
    expect(await admin.hkeys(key)).toEqual(expect.arrayContaining(["rev", "json", "inv"]));
    expect(await admin.hexists(key, "junk")).toBe(0);
    // A type the store cannot hold at all under a record's key fails as a store error, not a crash.
    await admin.del(key);
    await admin.set(key, "a string");
    await expect(store.review(a.id)).rejects.toMatchObject({ name: "WardenError" });
  });

  it("bounds what it reads back: at most 1000 ids of an index per call, junk ids skipped and taken out", async () => {
    const junkIds = Array.from({ length: 1500 }, (_, i) => [i, `${did()}.${suffix()}.a`] as const).flat();
    await admin.zadd(keys.reviewQueue("appeal"), ...junkIds);
    const real = appeal(did(), { openedAt: 1e13 }); // after every junk entry
    await store.saveReview(real, null, 60_000, []);
    expect(await store.reviewQueue("appeal", 1e9)).toEqual([]); // 1000 junk ids read, none of them real
    expect(await admin.zcard(keys.reviewQueue("appeal"))).toBe(501);
    expect(await store.reviewQueue("appeal", 1e9)).toEqual([real]);
    expect(await admin.zcard(keys.reviewQueue("appeal"))).toBe(1);

    const subject = did();
    const own = Array.from({ length: 1200 }, (_, i) => [i, `${subject}.${suffix()}.e`] as const).flat();
    await admin.zadd(keys.reviews(subject), ...own);
    expect(await store.reviewsOf(subject)).toEqual([]);
    expect(await admin.zcard(keys.reviews(subject))).toBe(200); // the newest 1000 read, found missing, taken out
    await admin.zadd(keys.involved(subject), ...Array.from({ length: 1200 }, (_, i) => [1e13 + i, `x${i}`]).flat());
    expect(await store.involvedIn(subject)).toHaveLength(1000);
  });

  it("reads junk counters, standings and members as nothing, and counts over them", async () => {
    const reporter = did();
    await admin.hset(keys.reporter(reporter), "upheld", "lots", "unfounded", "-3", "suspendedUntil", "1e400");
    expect(await store.reporterStanding(reporter)).toEqual({ upheld: 0, unfounded: 0, suspendedUntil: 0 });
    expect(await store.noteReporter(reporter, "upheld", 60_000)).toEqual({
      upheld: 1,
      unfounded: 0,
      suspendedUntil: 0,
    });

    await admin.hset(keys.statsDay("2026-12-01"), "appeals", "many", "__proto__", "2");
    await admin.sadd(keys.statsSampleNames("2026-12-01"), "decide");
    await admin.rpush(keys.statsSamples("2026-12-01", "decide"), "soon", "12");
    await store.countStats("2026-12-01", { appeals: 1 }, {}, 60_000);
    const [day] = await store.statsOf(["2026-12-01"]);
    expect(day!.counts.appeals).toBe(1);
    expect(Object.getPrototypeOf(day!.counts)).toBe(Object.prototype);
    expect(day!.samples).toEqual({ decide: [12] });

    await admin.zadd(keys.activeSanctions(), "+inf", "no-kind-here", "+inf", "ban|x");
    expect(await store.countActive(Date.now())).toEqual({ ban: 1 });

    // Junk points: forgive writes nothing.
    const id = did();
    await admin.hset(keys.points(id), "spam", "nan", "spam:s", "3");
    await store.forgive(id, "spam", 1, null, Date.now(), 600_000);
    expect(await admin.hget(keys.points(id), "spam:s")).toBe("3");
  });

  it("keeps review, reporter and statistics keys in their own slots under the prefix", async () => {
    const subject = did();
    const reporter = did();
    const c = reportCase(subject, { state: "open" });
    await store.saveReview(c, null, 60_000, [reporter]);
    await store.noteReporter(reporter, "upheld", 60_000);
    await store.countReportBy(reporter, Date.now(), 60_000);
    await store.countStats("2026-12-01", { cases: 1 }, { decide: 3 }, 60_000);
    await store.trackActive(`${subject}.${suffix()}`, "mute", null);
    const p = keys.prefix;
    expect((await keysUnder(admin, p)).sort()).toEqual(
      [
        `${p}:{${subject}}:review:${c.id}`,
        `${p}:{${subject}}:reviews`,
        `${p}:{${reporter}}:involved`,
        `${p}:{${reporter}}:reporter`,
        `${p}:{${reporter}}:reported-by`,
        `${p}:{reviews}:queue:case`,
        `${p}:{stats}:day:2026-12-01`,
        `${p}:{stats}:day:2026-12-01:samples`,
        `${p}:{stats}:day:2026-12-01:sample:decide`,
        `${p}:{stats}:active`,
      ].sort(),
    );
    // Everything but the queue and the sanctions in force expires.
    for (const key of await keysUnder(admin, p)) {
      const ttl = await admin.pttl(key);
      if (key.endsWith(":queue:case") || key.endsWith(":active")) expect(ttl, key).toBe(-1);
      else expect(ttl, key).toBeGreaterThan(0);
    }
  });
});

describe("RedisStore: signal keys written outside the warden", () => {
  let store: RedisStore;
  let keys: RedisKeys;
  beforeEach(async () => {
    keys = new RedisKeys(uniquePrefix("signals"));
    store = new RedisStore({ connection: redisUrl(), prefix: keys.prefix });
    await store.connect();
  });
  afterEach(async () => {
    await store.close();
    await dropPrefix(admin, keys.prefix);
  });

  it("skips junk in a signal's list of IDs (never thrown), and drops what no reader could use when it notes the signal", async () => {
    const device = signal("device");
    const [ids, firsts] = [keys.signal(device.type, device.hash), keys.signalFirst(device.type, device.hash)];
    const t = Date.now();
    const [good, noFirst, badFirst, late, endless, me] = [did(), did(), did(), did(), did(), did()];
    await admin.zadd(ids, t, good, t, "not-a-did", t - 1, noFirst, t - 2, badFirst, t - 3, late, "+inf", endless);
    await admin.hset(firsts, good, String(t - 100), "not-a-did", "1", badFirst, "yesterday", late, String(t + 50));
    await admin.hset(firsts, endless, "1");
    const [seen] = await store.noteSignals(me, [device], t + 1, 60_000, 10);
    expect(seen!.peers).toEqual([{ did: good, firstSeen: t - 100, lastSeen: t }]);
    expect(await store.signalsOf(me, t + 1, 60_000, 10)).toEqual([seen]);
    // A last sighting past the instants a Date holds is dropped with its first sighting.
    expect(await admin.zscore(ids, endless)).toBeNull();
    expect(await admin.hexists(firsts, endless)).toBe(0);
    // Old entries go from both keys together.
    await admin.zadd(ids, t - 120_000, late);
    await store.noteSignals(me, [device], t + 2, 60_000, 10);
    expect(await admin.zscore(ids, late)).toBeNull();
    expect(await admin.hexists(firsts, late)).toBe(0);
    // A key of another type under a signal's name is a store error, not a crash.
    await admin.del(ids);
    await admin.set(ids, "a string");
    await expect(store.noteSignals(me, [device], t + 3, 60_000, 10)).rejects.toMatchObject({ name: "WardenError" });
  });

  it("skips junk in an ID's own list, drops it (and lapsed entries) when it notes, and takes the ID out of the lists it dropped", async () => {
    const me = did();
    const t = Date.now();
    const [kept, lapsed, bad] = [signal("prefix"), signal("address"), signal("device")];
    await store.noteSignals(me, [lapsed], t - 120_000, 600_000, 10);
    await store.noteSignals(me, [kept], t, 600_000, 10);
    await admin.hset(
      keys.signals(me),
      "email:abc",
      "1:2",
      `device:${bad.hash}`,
      "soon",
      `address:${bad.hash}x`,
      "1:2",
      `prefix:${signal("prefix").hash}`,
      `${t + 10}:${t}`,
      `device:${signal("device").hash}`,
      `${t}:${"9".repeat(400)}`,
    );
    expect((await store.signalsOf(me, t, 60_000, 10)).map((s) => s.hash)).toEqual([kept.hash]);
    expect(await admin.zscore(keys.signal(lapsed.type, lapsed.hash), me)).not.toBeNull();
    await store.noteSignals(me, [kept], t + 1, 60_000, 10);
    expect(await admin.hkeys(keys.signals(me))).toEqual([`prefix:${kept.hash}`]);
    expect(await admin.zscore(keys.signal(lapsed.type, lapsed.hash), me)).toBeNull();
    expect(await admin.hexists(keys.signalFirst(lapsed.type, lapsed.hash), me)).toBe(0);
  });

  it("keeps a signal's two keys in step and bounded (its 1024 most recently seen IDs), and the list of dismissed links to 1000", async () => {
    const crowd = signal("prefix");
    const t = Date.now();
    const many = Array.from({ length: 1030 }, () => did());
    for (let i = 0; i < many.length; i += 100)
      await Promise.all(many.slice(i, i + 100).map((d, j) => store.noteSignals(d, [crowd], t + i + j, 60_000, 0)));
    expect(await admin.zcard(keys.signal(crowd.type, crowd.hash))).toBe(1024);
    expect(await admin.hlen(keys.signalFirst(crowd.type, crowd.hash))).toBe(1024);
    expect(await admin.zscore(keys.signal(crowd.type, crowd.hash), many[5]!)).toBeNull();
    expect(await admin.zscore(keys.signal(crowd.type, crowd.hash), many[6]!)).not.toBeNull();

    const me = did();
    const key = keys.dismissed(me);
    await admin.zadd(key, ...Array.from({ length: 1000 }, (_, i) => [Date.now() + 120_000 + i, did()]).flat());
    await admin.zadd(key, "+inf", "not-a-did", Date.now() + 200_000, "junk");
    await store.dismissLink(me, did(), 60_000);
    expect(await admin.zcard(key)).toBe(1000);
    expect(await admin.zscore(key, "not-a-did")).toBeNull();
    expect(await store.dismissedLinks(me)).toHaveLength(999); // "junk" is no ID: skipped
    expect(await admin.pttl(key)).toBeGreaterThan(190_000);
  });

  it("treats a stored suspected evasion without its link object, banned ID or ban id as absent: a save as new replaces it", async () => {
    const v = evasion(did());
    const key = keys.review(v.did, v.id);
    for (const junk of [
      { ...v, link: [] },
      { ...v, link: [1] },
      { ...v, link: {} },
      { ...v, link: "strong" },
      { ...v, bannedDid: "nobody" },
      { ...v, banSanctionId: null },
    ]) {
      await admin.del(key);
      await admin.hset(key, "rev", "1", "json", JSON.stringify(junk), "inv", "[]");
      await admin.zadd(keys.reviewQueue("evasion"), 1, v.id);
      expect(await store.review(v.id), JSON.stringify(junk).slice(0, 80)).toBeNull();
      expect(await store.reviewQueue("evasion", 10)).toEqual([]);
      expect(await store.saveReview(v, null, 60_000, []), JSON.stringify(junk).slice(0, 80)).toBe("saved");
      expect(await store.review(v.id)).toEqual(v);
    }
    expect(await store.reviewQueue("evasion", 10)).toEqual([v]);
  });

  it("keeps signal and dismissed-link keys in their own slots under the prefix, every one expiring", async () => {
    const [me, other] = [did(), did()];
    const device = signal("device");
    await store.noteSignals(me, [device], Date.now(), 60_000, 10);
    await store.dismissLink(me, other, 60_000);
    const p = keys.prefix;
    expect((await keysUnder(admin, p)).sort()).toEqual(
      [
        `${p}:{${me}}:signals`,
        `${p}:sig:{device:${device.hash}}`,
        `${p}:sig:{device:${device.hash}}:first`,
        `${p}:{${me}}:dismissed`,
        `${p}:{${other}}:dismissed`,
      ].sort(),
    );
    for (const key of await keysUnder(admin, p)) {
      const ttl = await admin.pttl(key);
      expect(ttl, key).toBeGreaterThan(55_000);
      expect(ttl, key).toBeLessThanOrEqual(60_000);
    }
    expect(await admin.hgetall(keys.signals(me))).toEqual({
      [`device:${device.hash}`]: expect.stringMatching(/^\d+:\d+$/),
    });
  });
});
