/**
 * Ban evasion, the moderators' side (issue 13, items 2-5): links with reasons, ban with
 * alts (the blast radius first, nothing done without confirmation), revoke with alts, the
 * evasion queue's decisions, the subject's export. The real AdminService and the real
 * EvasionService over real stores (MemoryStore and RedisStore), signals noted the way a
 * join notes them; the HTTP routes on a real express server; the real `warden` bin.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditLog, auditKeysFrom, type AuditEntry } from "../src/admin/audit.js";
import { FeedHub } from "../src/admin/feed.js";
import { createAdminRouter } from "../src/admin/http.js";
import { type Actor, AdminService } from "../src/admin/service.js";
import { deriveDigitalId, type DigitalId } from "../src/identity/digital-id.js";
import { DEFAULT_OPTIONS } from "../src/options.js";
import { resolveConduct } from "../src/policy/conduct.js";
import { resolvePolicy } from "../src/policy/ladder.js";
import { createDueProcess } from "../src/reviews/due-process.js";
import type { EvasionRecord } from "../src/reviews/model.js";
import { resolveDueProcess } from "../src/reviews/options.js";
import { parseSanction } from "../src/sanctions/codec.js";
import { draftSanction, type Sanction } from "../src/sanctions/model.js";
import { SanctionsService } from "../src/sanctions/service.js";
import { EvasionService, type RawSignals } from "../src/signals/evasion.js";
import { EVASION_DEFAULTS } from "../src/signals/options.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { RedisStore } from "../src/stores/redis/redis-store.js";
import type { WardenStore } from "../src/stores/store.js";
import { errorLines, warden } from "./helpers/cli.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";

const SECRET = "evasion-admin-secret-0123456789";
const AUDIT_KEYS = auditKeysFrom(SECRET);
const MODERATOR = "moderator-token-evasion-0123456789";
const VIEWER = "viewer-token-evasion-0123456789ab";
const retention = DEFAULT_OPTIONS.retention;
const MOD: Actor = { face: "code", who: "test:moderator:ann", role: "moderator" };
const DAY = 86_400_000;

let n = 0;
const newDid = (): DigitalId => deriveDigitalId(SECRET, `evasion-admin-${++n}-${Math.random()}`);
/** A device id and an address no other test uses. */
const fresh = () => {
  const k = ++n;
  return { device: `device-${k}-${Math.random().toString(36).slice(2, 10)}`, net: `10.${k % 250}.${(k >> 8) % 250}` };
};

const { prefix } = prefixesForFile();

interface Rig {
  store: WardenStore;
  evasion: EvasionService;
  admin: AdminService;
  /** Notes a join's signals, as the join gate does (keyed hashes only). */
  note(did: DigitalId, raw: RawSignals, at?: number): Promise<void>;
  flagged: EvasionRecord[];
}

function rig(store: WardenStore, evasionNow: () => number = Date.now): Rig {
  const flagged: EvasionRecord[] = [];
  const sanctions = new SanctionsService(store, retention, { before: () => null, issued: () => {}, revoked: () => {} });
  const dueProcess = resolveDueProcess(undefined);
  const due = createDueProcess(store, dueProcess, { storeFailed: () => {}, findSanction: (id) => sanctions.find(id) });
  const evasion = new EvasionService(
    store,
    SECRET,
    EVASION_DEFAULTS,
    {
      flagged: (r) => flagged.push(r),
      storeFailed: (operation, e) => {
        throw new Error(`${operation}: ${String(e)}`);
      },
    },
    evasionNow,
  );
  const admin = new AdminService(
    store,
    sanctions,
    new AuditLog(store, retention.auditMs, AUDIT_KEYS),
    { policy: resolvePolicy(), retention, conduct: resolveConduct(undefined), dueProcess },
    due,
    Date.now,
    evasion,
  );
  return {
    store,
    evasion,
    admin,
    flagged,
    async note(did, raw, at = Date.now()) {
      const { retentionMs, crowdLimit } = EVASION_DEFAULTS;
      await store.noteSignals(did, evasion.signalsOf(raw), at, retentionMs, crowdLimit);
    },
  };
}

/** Every entry of a store's audit log, oldest first. */
async function allEntries(store: WardenStore): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let after = "0";
  for (;;) {
    const page = await store.auditRange(after, 1000);
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1]!.id!;
  }
}

const activeOf = async (r: Rig, did: DigitalId) => r.admin.sanctions.active(did);

/**
 * A banned-to-be ID `a` and its neighbours: `b` shares its device (strong), `c` its address
 * (medium), `d` only its network prefix (weak), `e` its device but the link was dismissed.
 */
async function neighbourhood(r: Rig) {
  const { device, net } = fresh();
  const [a, b, c, d, e] = [newDid(), newDid(), newDid(), newDid(), newDid()];
  await r.note(a, { deviceId: device, address: `${net}.1` });
  await r.note(b, { deviceId: device });
  await r.note(c, { address: `${net}.1` });
  await r.note(d, { address: `${net}.77` });
  await r.note(e, { deviceId: device });
  await r.evasion.dismiss(a, e);
  return { a, b, c, d, e };
}

/** A banned ID and an alt that joined with its device: the alt is flagged. */
async function flaggedPair(r: Rig, banMs?: number) {
  const { device, net } = fresh();
  const banned = newDid();
  const alt = newDid();
  await r.note(banned, { deviceId: device, address: `${net}.1` });
  const ban = await r.admin.issue(
    { did: banned, kind: "ban", reason: "cheating", ...(banMs === undefined ? {} : { duration: banMs }) },
    MOD,
  );
  if (ban.status !== "issued") throw new Error("ban cancelled");
  const raw = { deviceId: device, address: `${net}.2` };
  const record = await r.evasion.joined(alt, r.evasion.signalsOf(raw));
  expect(record).not.toBeNull();
  return { banned, alt, ban: ban.sanction, record: record!, raw };
}

for (const kind of ["memory", "redis"] as const) {
  describe(`ban evasion, the moderators' side (${kind} store)`, () => {
    let store: WardenStore;
    let r: Rig;

    beforeAll(async () => {
      if (kind === "memory") store = new MemoryStore();
      else {
        const redis = new RedisStore({ connection: redisUrl(), prefix: prefix(`evasion-admin-${kind}`) });
        await redis.connect();
        store = redis;
      }
      r = rig(store);
    });

    afterAll(async () => {
      if (store instanceof RedisStore) await store.close();
    });

    it("alts: every link with its reasons (types, first/last seen, how many share it), audited, no value or hash", async () => {
      const { a, b, c, d, e } = await neighbourhood(r);
      const links = await r.admin.alts(a, MOD);
      const byDid = new Map(links.map((l) => [l.did, l]));
      expect(byDid.get(b)).toMatchObject({ level: "strong", strength: 1, dismissed: false });
      expect(byDid.get(c)).toMatchObject({ level: "medium", dismissed: false });
      expect(byDid.get(d)).toMatchObject({ level: "weak", dismissed: false });
      expect(byDid.get(e)).toMatchObject({ level: "strong", dismissed: true });
      expect(byDid.get(b)!.signals).toEqual([
        expect.objectContaining({ type: "device", sharedBy: 3, crowded: false, firstSeen: expect.any(Number) }),
      ]);
      expect(byDid.get(c)!.signals.map((s) => s.type)).toEqual(["address", "prefix"]);
      // Strongest first.
      expect(links.map((l) => l.strength)).toEqual([...links.map((l) => l.strength)].sort((x, y) => y - x));
      const text = JSON.stringify(links);
      const kept = await store.signalsOf(a, Date.now(), EVASION_DEFAULTS.retentionMs, 0);
      expect(kept).toHaveLength(3);
      for (const { hash } of kept) expect(text).not.toContain(hash);
      expect(text).not.toMatch(/device-|10\.\d+\.\d+\.\d+/);
      const [entry] = await store.auditEntries({ limit: 1 });
      expect(entry).toMatchObject({ action: "view", target: a, detail: { what: "alts" }, actor: MOD.who });
    });

    it("ban with alts without confirm: the blast radius (strong and medium, not dismissed) and nothing issued", async () => {
      const { a, b, c, d, e } = await neighbourhood(r);
      const before = (await allEntries(store)).length;
      const result = await r.admin.banWithAlts(a, { reason: "aimbot" }, MOD, { confirm: false });
      expect(result.sanctions).toBeUndefined();
      expect(new Set(result.blastRadius.map((l) => l.did))).toEqual(new Set([b, c]));
      for (const did of [a, b, c, d, e]) expect(await store.sanctionsOf(did)).toEqual([]);
      const entries = (await allEntries(store)).slice(before);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ action: "view", target: a, detail: { what: "blast radius", alts: 2 } });
    });

    it("ban with alts confirmed: the original first, then one ban per alt whose statement names it; all audited", async () => {
      const { a, b, c, d, e } = await neighbourhood(r);
      const result = await r.admin.banWithAlts(a, { reason: "aimbot", duration: 7 * DAY }, MOD, { confirm: true });
      const [original, ...alts] = result.sanctions!;
      expect(original).toMatchObject({ did: a, kind: "ban", reason: "aimbot" });
      expect(original!.statement!.related).toBeUndefined();
      expect(new Set(alts.map((s) => s.did))).toEqual(new Set([b, c]));
      for (const alt of alts) {
        expect(alt.end! - alt.start).toBe(7 * DAY);
        expect(alt.statement).toMatchObject({
          related: original!.id,
          rule: { id: "evasion", title: "One account while banned" },
          automated: { detection: true, decision: false },
          decidedBy: "moderator",
        });
        // Stored as published: the codec keeps `related`.
        const [stored] = await store.sanctionsOf(alt.did);
        expect(stored!.statement!.related).toBe(original!.id);
      }
      for (const did of [d, e]) expect(await store.sanctionsOf(did)).toEqual([]);
      const issued = (await allEntries(store)).filter((x) => x.action === "issue" && x.actor === MOD.who);
      const ids = issued.map((x) => x.detail.sanctionId);
      for (const s of result.sanctions!) expect(ids).toContain(s.id);
      for (const alt of alts)
        expect(issued.find((x) => x.detail.sanctionId === alt.id)!.detail).toMatchObject({
          related: original!.id,
          rule: "evasion",
        });
      // The original's entry comes before the alts'.
      const seqOf = (id: string) => issued.find((x) => x.detail.sanctionId === id)!.seq;
      for (const alt of alts) expect(seqOf(alt.id)).toBeGreaterThan(seqOf(original!.id));
    });

    it("revoke offers the alts' bans (related); with withAlts revokes them too, each audited", async () => {
      const { a, b, c } = await neighbourhood(r);
      const { sanctions } = await r.admin.banWithAlts(a, { reason: "aimbot" }, MOD, { confirm: true });
      const [original, ...alts] = sanctions!;
      const altIds = alts.map((s) => s.id).sort();

      const plain = await r.admin.revoke(original!.id, "mistake", MOD);
      expect(plain.status).toBe("revoked");
      expect([...plain.related].sort()).toEqual(altIds);
      expect(plain.relatedRevoked).toBeUndefined();
      for (const did of [b, c]) expect(await activeOf(r, did)).toHaveLength(1);

      const before = (await allEntries(store)).length;
      const withAlts = await r.admin.revoke(original!.id, "mistake", MOD, MOD.who, { withAlts: true });
      expect(withAlts.status).toBe("already_revoked");
      expect([...withAlts.relatedRevoked!].sort()).toEqual(altIds);
      for (const did of [b, c]) expect(await activeOf(r, did)).toEqual([]);
      const entries = (await allEntries(store)).slice(before);
      for (const id of altIds)
        expect(entries).toContainEqual(expect.objectContaining({ action: "revoke", target: id, actor: MOD.who }));
      const [revokedAlt] = await store.sanctionsOf(b);
      expect(revokedAlt!.revoked!.reason).toBe("lifted together with the ban it followed from: mistake");
      // The alt's player reads that reason: it never names the original (another ID).
      expect(revokedAlt!.revoked!.reason).not.toContain(original!.did);
      // Nothing left to offer.
      expect((await r.admin.revoke(original!.id, "", MOD)).related).toEqual([]);
    });

    it("revoke with alts finds the alts' bans through the audit log once the signals have expired", async () => {
      const { a, b, c } = await neighbourhood(r);
      const { sanctions } = await r.admin.banWithAlts(a, { reason: "aimbot" }, MOD, { confirm: true });
      const [original] = sanctions!;
      // 40 days on, the signals are past their retention: no link is left.
      const later = rig(store, () => Date.now() + 40 * DAY);
      expect(await later.evasion.alts(a)).toEqual([]);
      const result = await later.admin.revoke(original!.id, "", MOD, MOD.who, { withAlts: true });
      expect(result.relatedRevoked).toHaveLength(2);
      for (const did of [a, b, c]) expect(await activeOf(r, did)).toEqual([]);
    });

    it("decideEvasion ban: the alt is banned under the evasion rule, related to the original ban; audited first", async () => {
      const { banned, alt, ban, record } = await flaggedPair(r);
      expect(r.flagged.map((f) => f.id)).toContain(record.id);
      expect((await r.admin.evasionQueue(MOD)).map((q) => q.id)).toContain(record.id);
      const shown = await r.admin.evasionCase(record.id, MOD);
      expect(shown).toMatchObject({ did: alt, bannedDid: banned, banSanctionId: ban.id, state: "open" });

      // A duration no sanction can have is refused before the record is claimed.
      for (const duration of [-1, 0.5, 20 * 365 * DAY])
        await expect(
          r.admin.decideEvasion(record.id, { action: "ban", reason: "x", duration }, MOD),
        ).rejects.toMatchObject({ code: "INVALID_DURATION" });
      expect((await r.evasion.get(record.id)).state).toBe("open");

      const before = (await allEntries(store)).length;
      const decided = await r.admin.decideEvasion(
        record.id,
        { action: "ban", reason: "same player", duration: DAY },
        MOD,
      );
      expect(decided).toMatchObject({ state: "confirmed", outcome: { action: "banned", reason: "same player" } });
      const [altBan] = await activeOf(r, alt);
      expect(decided.outcome!.sanctionId).toBe(altBan!.id);
      expect(altBan).toMatchObject({ kind: "ban", reason: "same player", by: MOD.who });
      expect(altBan!.end! - altBan!.start).toBe(DAY);
      expect(altBan!.statement).toMatchObject({
        related: ban.id,
        rule: { id: "evasion" },
        automated: { detection: true, decision: false },
      });
      const entries = (await allEntries(store)).slice(before);
      expect(entries[0]).toMatchObject({ action: "case", target: record.id, detail: { evasion: true, action: "ban" } });
      expect(entries[1]).toMatchObject({
        action: "issue",
        target: alt,
        detail: { sanctionId: altBan!.id, related: ban.id },
      });
      expect((await r.admin.evasionQueue(MOD)).map((q) => q.id)).not.toContain(record.id);
      // Decided once.
      await expect(r.admin.decideEvasion(record.id, { action: "dismiss", reason: "again" }, MOD)).rejects.toMatchObject(
        { code: "REVIEW_CONFLICT" },
      );
    });

    it("decideEvasion extend: a new ban of the banned ID related to the original, which stays as it was", async () => {
      const { banned, alt, ban, record } = await flaggedPair(r, DAY);
      // An extension that ends before the original is refused before anything is written.
      const before = (await allEntries(store)).length;
      await expect(
        r.admin.decideEvasion(record.id, { action: "extend", reason: "evading", duration: 3_600_000 }, MOD),
      ).rejects.toMatchObject({ code: "INVALID_REQUEST" });
      expect((await allEntries(store)).length).toBe(before);
      expect((await r.evasion.get(record.id)).state).toBe("open");

      const decided = await r.admin.decideEvasion(
        record.id,
        { action: "extend", reason: "evading", duration: 30 * DAY },
        MOD,
      );
      expect(decided).toMatchObject({ state: "confirmed", outcome: { action: "extended" } });
      const active = await activeOf(r, banned);
      expect(active.map((s) => s.id).sort()).toEqual([ban.id, decided.outcome!.sanctionId!].sort());
      const original = active.find((s) => s.id === ban.id)!;
      expect(original.end).toBe(ban.end);
      const extension = active.find((s) => s.id !== ban.id)!;
      expect(extension.end! - extension.start).toBe(30 * DAY);
      expect(extension.statement).toMatchObject({ related: ban.id, rule: { id: "evasion" } });
      expect(await activeOf(r, alt)).toEqual([]);
      // Revoking the original offers the extension.
      expect((await r.admin.revoke(ban.id, "", MOD)).related).toEqual([extension.id]);
    });

    it("decideEvasion dismiss: no sanction, the link is remembered both ways, the record leaves the queue, no flag again", async () => {
      const { banned, alt, record, raw } = await flaggedPair(r);
      // The operator's opt-in automatic mute while it waits (as the warden applies it).
      const mute = await r.admin.sanctions.issue({
        did: alt,
        kind: "mute",
        duration: 600_000,
        reason: "r",
        by: "policy",
      });
      if (mute.status !== "issued") throw new Error("mute cancelled");
      await r.evasion.noteInterim(record.id, mute.sanction.id);
      const decided = await r.admin.decideEvasion(record.id, { action: "dismiss", reason: "siblings" }, MOD);
      expect(decided).toMatchObject({ state: "dismissed", outcome: { action: "dismissed", reason: "siblings" } });
      expect(decided.outcome!.sanctionId).toBeUndefined();
      // The interim mute is lifted, audited; nothing else is issued.
      expect(await activeOf(r, alt)).toEqual([]);
      expect((await store.sanctionsOf(alt)).map((s) => s.id)).toEqual([mute.sanction.id]);
      const [lifted] = await store.auditEntries({ limit: 1 });
      expect(lifted).toMatchObject({ action: "revoke", target: mute.sanction.id, actor: MOD.who });
      expect(await store.dismissedLinks(alt)).toContain(banned);
      expect(await store.dismissedLinks(banned)).toContain(alt);
      expect((await r.admin.evasionQueue(MOD)).map((q) => q.id)).not.toContain(record.id);
      expect((await r.admin.alts(alt, MOD)).find((l) => l.did === banned)?.dismissed).toBe(true);
      const [entry] = (await allEntries(store)).filter((x) => x.target === record.id && x.action === "case");
      expect(entry!.detail).toEqual({ evasion: true, action: "dismiss" });
      // The same device again: no new record.
      expect(await r.evasion.joined(alt, r.evasion.signalsOf(raw))).toBeNull();
      expect((await store.reviewsOf(alt)).filter((x) => x.type === "evasion")).toHaveLength(1);
    });

    it("the subject's export counts their signals per type and names no other ID; the staff export has the links", async () => {
      const { a, b, c } = await neighbourhood(r);
      const { sanctions } = await r.admin.banWithAlts(a, { reason: "aimbot" }, MOD, { confirm: true });
      const [original] = sanctions!;
      // c (address + prefix shared with a) was banned as an alt: its ban follows from a's.
      const subject = await r.admin.export(c, MOD, { copy: "subject" });
      expect(subject.signals).toEqual({ device: 0, address: 1, prefix: 1 });
      expect(subject.alts).toBeUndefined();
      const text = JSON.stringify(subject);
      for (const other of [a, b]) expect(text).not.toContain(other);
      expect(text).not.toContain(original!.id);
      expect(text).not.toContain("related");
      for (const { hash } of await store.signalsOf(c, Date.now(), EVASION_DEFAULTS.retentionMs, 0))
        expect(text).not.toContain(hash);
      expect(subject.sanctions).toHaveLength(1);
      expect(subject.sanctions[0]!.statement!.rule!.id).toBe("evasion");

      const staff = await r.admin.export(a, MOD);
      expect(staff.signals).toEqual({ device: 1, address: 1, prefix: 1 });
      expect(staff.alts!.map((l) => l.did)).toEqual(expect.arrayContaining([b, c]));
      const [entry] = await store.auditEntries({ limit: 1 });
      expect(entry).toMatchObject({ action: "export", target: a, detail: { copy: "staff" } });
    });

    it("without the evasion service the new methods answer INVALID_REQUEST and the export has no signals", async () => {
      const sanctions = new SanctionsService(store, retention, {
        before: () => null,
        issued: () => {},
        revoked: () => {},
      });
      const dueProcess = resolveDueProcess(undefined);
      const off = new AdminService(
        store,
        sanctions,
        new AuditLog(store, retention.auditMs, AUDIT_KEYS),
        { policy: resolvePolicy(), retention, conduct: resolveConduct(undefined), dueProcess },
        createDueProcess(store, dueProcess, { storeFailed: () => {}, findSanction: (id) => sanctions.find(id) }),
      );
      const did = newDid();
      for (const call of [
        () => off.alts(did, MOD),
        () => off.evasionQueue(MOD),
        () => off.evasionCase(`${did}.aaaaaaaa.v`, MOD),
        () => off.decideEvasion(`${did}.aaaaaaaa.v`, { action: "dismiss", reason: "x" }, MOD),
        () => off.banWithAlts(did, { reason: "x" }, MOD, { confirm: false }),
      ])
        await expect(call()).rejects.toMatchObject({ code: "INVALID_REQUEST", message: "ban-evasion signals are off" });
      expect((await off.export(did, MOD)).signals).toBeUndefined();
    });
  });
}

describe("statement.related: drafted and decoded only as a sanction id", () => {
  const did = newDid();
  const base = { did, kind: "ban" as const, reason: "r", by: "t" };

  it("draftSanction copies a sanction id and refuses anything else", () => {
    const related = `${newDid()}.abcdefgh`;
    expect(draftSanction({ ...base, grounds: { related } }, Date.now()).statement!.related).toBe(related);
    for (const bad of ["x", `${did}`, `${did}.ABCDEFGH`, `${did}.abcdefgh.v`, 42, null])
      expect(() => draftSanction({ ...base, grounds: { related: bad as unknown as string } }, Date.now())).toThrowError(
        expect.objectContaining({ code: "INVALID_SANCTION" }),
      );
  });

  it("the codec keeps a well-formed related and drops a statement with a malformed one", () => {
    const s: Sanction = draftSanction({ ...base, grounds: { related: `${newDid()}.abcdefgh` } }, Date.now());
    expect(parseSanction(JSON.stringify(s))!.statement).toEqual(s.statement);
    for (const bad of ["x", 7, `${did}.abc`, "a".repeat(5000)]) {
      const parsed = parseSanction(JSON.stringify({ ...s, statement: { ...s.statement, related: bad } }));
      expect(parsed).not.toBeNull();
      expect(parsed!.statement).toBeUndefined();
    }
  });
});

describe("admin HTTP API: ban-evasion routes", () => {
  let server: Server;
  let base: string;
  let r: Rig;

  beforeAll(async () => {
    r = rig(new MemoryStore());
    const app = express();
    const router = createAdminRouter(
      r.admin,
      new FeedHub(r.store, () => {}),
      { moderatorTokens: [MODERATOR], viewerTokens: [VIEWER] },
      () => {},
    );
    app.use("/warden/api", router!);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/warden/api`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function api(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  }

  it("a viewer gets 403 on every ban-evasion route, and nothing is issued", async () => {
    const { a } = await neighbourhood(r);
    const { record } = await flaggedPair(r);
    const routes: [string, string, unknown?][] = [
      ["GET", `/identities/${a}/alts`],
      ["GET", "/evasion"],
      ["GET", `/evasion/${record.id}`],
      ["POST", `/evasion/${record.id}/decide`, { action: "dismiss", reason: "x" }],
      ["POST", `/identities/${a}/sanctions`, { kind: "ban", reason: "x", withAlts: true }],
      ["POST", `/identities/${a}/sanctions`, { kind: "ban", reason: "x", withAlts: true, confirm: true }],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, VIEWER, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect(await r.store.sanctionsOf(a)).toEqual([]);
    expect((await r.evasion.get(record.id)).state).toBe("open");
  });

  it("bad bodies are 400 and change nothing", async () => {
    const { a } = await neighbourhood(r);
    const { record, banned } = await flaggedPair(r);
    const bad: [string, string, unknown][] = [
      ["POST", `/evasion/${record.id}/decide`, { action: "nuke", reason: "x" }],
      ["POST", `/evasion/${record.id}/decide`, { action: "ban" }],
      ["POST", `/evasion/${record.id}/decide`, { action: "ban", reason: "  " }],
      ["POST", `/evasion/${record.id}/decide`, { action: "dismiss", reason: "x", duration: "1d" }],
      ["POST", `/evasion/${record.id}/decide`, { action: "ban", reason: "x", duration: "10x" }],
      ["POST", `/evasion/${record.id}/decide`, { action: "ban", reason: "x", extra: 1 }],
      ["POST", `/identities/${a}/sanctions`, { kind: "mute", reason: "x", withAlts: true }],
      ["POST", `/identities/${a}/sanctions`, { kind: "ban", reason: "x", confirm: true }],
      ["POST", `/identities/${a}/sanctions`, { kind: "ban", reason: "x", withAlts: "yes" }],
      ["POST", `/identities/${a}/sanctions`, { kind: "ban", reason: "x", withAlts: true, rule: "nope" }],
      ["POST", `/sanctions/${a}.aaaaaaaa/revoke`, { withAlts: "yes" }],
    ];
    for (const [method, path, body] of bad) {
      const res = await api(method, path, MODERATOR, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(["INVALID_REQUEST", "INVALID_DURATION"]).toContain(res.body.error.code);
    }
    expect((await api("GET", "/evasion?limit=0", MODERATOR)).status).toBe(400);
    expect((await api("GET", "/identities/alice/alts", MODERATOR)).status).toBe(400);
    expect((await api("GET", `/evasion/${a}.aaaaaaaa.v`, MODERATOR)).status).toBe(404);
    expect(await r.store.sanctionsOf(a)).toEqual([]);
    expect(await r.store.sanctionsOf(record.did)).toEqual([]);
    expect(await r.admin.sanctions.active(banned)).toHaveLength(1);
    expect((await r.evasion.get(record.id)).state).toBe("open");
  });

  it("a moderator: alts, the queue, a decision, ban with alts in two calls, revoke answering related", async () => {
    const { a, b, c } = await neighbourhood(r);
    const alts = await api("GET", `/identities/${a}/alts`, MODERATOR);
    expect(alts.status).toBe(200);
    expect(alts.body.alts.map((l: { did: string }) => l.did)).toEqual(expect.arrayContaining([b, c]));

    const { record } = await flaggedPair(r);
    const queue = await api("GET", "/evasion?limit=500", MODERATOR);
    expect(queue.body.evasion.map((x: EvasionRecord) => x.id)).toContain(record.id);
    expect((await api("GET", `/evasion/${record.id}`, MODERATOR)).body.evasion.id).toBe(record.id);
    const decided = await api("POST", `/evasion/${record.id}/decide`, MODERATOR, {
      action: "ban",
      duration: "7d",
      reason: "same player",
    });
    expect(decided.status).toBe(200);
    expect(decided.body.evasion).toMatchObject({ state: "confirmed", outcome: { action: "banned" } });

    const look = await api("POST", `/identities/${a}/sanctions`, MODERATOR, {
      kind: "ban",
      reason: "aimbot",
      withAlts: true,
    });
    expect(look.status).toBe(200);
    expect(Object.keys(look.body)).toEqual(["blastRadius"]);
    expect(new Set(look.body.blastRadius.map((l: { did: string }) => l.did))).toEqual(new Set([b, c]));
    expect(await r.store.sanctionsOf(a)).toEqual([]);

    // Confirming needs the preview's list: without it, 400 and nothing issued.
    const blind = await api("POST", `/identities/${a}/sanctions`, MODERATOR, {
      kind: "ban",
      reason: "aimbot",
      withAlts: true,
      confirm: true,
    });
    expect(blind.status).toBe(400);
    expect(await r.store.sanctionsOf(a)).toEqual([]);
    // Only the IDs of the preview are banned: c left out of the list is not, though still linked.
    const partial = await api("POST", `/identities/${c}/sanctions`, MODERATOR, {
      kind: "ban",
      reason: "aimbot",
      withAlts: true,
      confirm: true,
      alts: [a],
    });
    expect(partial.status).toBe(201);
    expect(partial.body.alts.map((s: Sanction) => s.did)).toEqual([a]);
    expect(await r.store.sanctionsOf(b)).toEqual([]);
    for (const s of [partial.body.sanction, ...partial.body.alts])
      await api("POST", `/sanctions/${s.id}/revoke`, MODERATOR, { reason: "test" });

    const act = await api("POST", `/identities/${a}/sanctions`, MODERATOR, {
      kind: "ban",
      reason: "aimbot",
      duration: "2h",
      withAlts: true,
      confirm: true,
      alts: look.body.blastRadius.map((l: { did: string }) => l.did),
    });
    expect(act.status).toBe(201);
    expect(act.body.sanction).toMatchObject({ did: a, kind: "ban" });
    expect(act.body.alts.map((s: Sanction) => s.statement!.related)).toEqual([
      act.body.sanction.id,
      act.body.sanction.id,
    ]);

    // A viewer reads the alt's ban without `related` (it names the original's ID); a moderator with it.
    const altId = act.body.alts[0].did;
    const asViewer = await api("GET", `/identities/${altId}/sanctions?all=true`, VIEWER);
    expect(asViewer.status).toBe(200);
    expect(JSON.stringify(asViewer.body)).not.toContain("related");
    expect(JSON.stringify((await api("GET", "/audit?limit=50", VIEWER)).body)).not.toContain("related");
    const asModerator = await api("GET", `/identities/${altId}/sanctions?all=true`, MODERATOR);
    expect(asModerator.body.sanctions[0].statement.related).toBe(act.body.sanction.id);

    const revoke = await api("POST", `/sanctions/${act.body.sanction.id}/revoke`, MODERATOR, { reason: "oops" });
    expect(revoke.status).toBe(200);
    expect([...revoke.body.related].sort()).toEqual(act.body.alts.map((s: Sanction) => s.id).sort());
    const all = await api("POST", `/sanctions/${act.body.sanction.id}/revoke`, MODERATOR, { withAlts: true });
    expect(all.body.relatedRevoked).toHaveLength(2);
    // A plain sanction's revoke answers an empty `related`.
    const mute = await api("POST", `/identities/${b}/sanctions`, MODERATOR, { kind: "mute", reason: "x" });
    expect((await api("POST", `/sanctions/${mute.body.sanction.id}/revoke`, MODERATOR, {})).body.related).toEqual([]);
  });
});

describe("warden CLI: ban --with-alts", () => {
  let store: RedisStore;
  let r: Rig;
  let env: Record<string, string>;

  beforeAll(async () => {
    const p = prefix("evasion-admin-cli");
    store = new RedisStore({ connection: redisUrl(), prefix: p });
    await store.connect();
    r = rig(store);
    env = { WARDEN_DIRECT: "1", REDIS_URL: redisUrl(), WARDEN_PREFIX: p, WARDEN_SECRET: SECRET };
  });

  afterAll(async () => {
    await store.close();
  });

  it("without --yes prints the blast radius and acts on nothing (exit 0); with --yes bans the ID and its alts", async () => {
    const { a, b, c, d, e } = await neighbourhood(r);
    const look = await warden(["ban", a, "--with-alts", "--reason", "aimbot"], env);
    expect(errorLines(look.stderr)).toEqual([]);
    expect(look.code).toBe(0);
    expect(look.stdout).toMatch(/^ID\s+LEVEL\s+STRENGTH\s+SIGNAL\s+FIRST SEEN\s+LAST SEEN\s+SHARED BY/);
    expect(look.stdout).toContain(b);
    expect(look.stdout).toContain(c);
    expect(look.stdout).not.toContain(d);
    expect(look.stdout).not.toContain(e);
    expect(look.stdout).toMatch(/nothing done: add --yes/);
    for (const did of [a, b, c, d, e]) expect(await store.sanctionsOf(did)).toEqual([]);

    const act = await warden(["ban", a, "--with-alts", "--yes", "--for", "1d", "--reason", "aimbot", "--json"], env);
    expect(act.code).toBe(0);
    const { sanction, alts } = JSON.parse(act.stdout) as { sanction: Sanction; alts: Sanction[] };
    expect(sanction.did).toBe(a);
    expect(new Set(alts.map((s) => s.did))).toEqual(new Set([b, c]));

    const plain = await warden(["revoke", sanction.id], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^also linked: /m);
    const all = await warden(["revoke", sanction.id, "--with-alts"], env);
    expect(all.code).toBe(0);
    for (const s of alts) expect(all.stdout).toContain(`revoked ${s.id} (with ${sanction.id})`);
    for (const did of [b, c]) expect(await r.admin.sanctions.active(did)).toEqual([]);
  });

  it("--yes without --with-alts is bad input; alts and the evasion queue print", async () => {
    const { a, b } = await neighbourhood(r);
    const bad = await warden(["ban", a, "--yes", "--reason", "x"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--yes only confirms --with-alts/);
    expect(await store.sanctionsOf(a)).toEqual([]);
    const alts = await warden(["alts", a], env);
    expect(alts.code).toBe(0);
    expect(alts.stdout).toContain(b);
    expect(alts.stdout).toMatch(/device\s+\S+\s+\S+\s+3 ID\(s\)/);
    const { record } = await flaggedPair(r);
    const queue = await warden(["evasion", "--limit", "500"], env);
    expect(queue.code).toBe(0);
    expect(queue.stdout).toContain(record.id);
    const dismiss = await warden(["evasion", "dismiss", record.id, "--reason", "siblings"], env);
    expect(errorLines(dismiss.stderr)).toEqual([]);
    expect(dismiss.code).toBe(0);
    expect(dismiss.stdout).toBe(`${record.id} dismissed\n`);
    expect((await warden(["evasion", "show", `${a}.aaaaaaaa.v`], env)).code).toBe(3);
  });
});
