import { Redis } from "ioredis";
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
import { draftSanction } from "../src/sanctions/model.js";
import type { OffenseRecord, RecordedOffense } from "../src/recorder/offense.js";
import { resolvePolicy } from "../src/policy/ladder.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";
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

interface Harness {
  store: WardenStore;
  /** Remaining TTL in ms of the record that holds an ID's sanctions: -1 none, -2 missing. Redis only. */
  ttl?: (did: string) => Promise<number>;
  cleanup(): Promise<void>;
}

const admin = new Redis(redisUrl());
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
      expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
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
      expect(feed.map((e) => e.kind)).toEqual(["a", "b", "c", "d", "e", "f"]);
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
});
