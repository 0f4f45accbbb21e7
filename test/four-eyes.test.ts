/**
 * Four-eyes for permanent bans (issue 11, part 1; `dueProcess.fourEyesBans`): a moderator's
 * permanent ban is only proposed (202), a second person confirms it, the proposer cannot,
 * two confirmations racing on two processes issue one ban, and no other path (case decision,
 * evasion decision, ban with alts, the service called directly) lets one person through.
 * Two real worlds on one real Redis; real SDK clients; plain fetch as the API client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const ADMIN = "bootstrap-admin-token-four-eyes-0123";
const { prefix } = prefixesForFile();
const p = prefix("four-eyes");
let a: World;
let b: World;
let ann: string;
let bob: string;
let cat: string;

async function open(fourEyesBans: boolean, pfx = p): Promise<World> {
  return startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: pfx,
      dueProcess: { fourEyesBans, pendingBanMs: "10m" },
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    },
    admin: { adminTokens: [{ name: "root", token: ADMIN }], rateLimit: { perMinute: 100_000 } },
  });
}

async function api(world: World, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${world.port}/warden/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

beforeAll(async () => {
  a = await open(true);
  b = await open(true);
  const add = async (name: string) =>
    (await api(a, "POST", "/staff", ADMIN, { name, role: "moderator" })).body.token as string;
  ann = await add("ann");
  bob = await add("bob");
  cat = await add("cat");
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

async function joined(world: World, account: string) {
  const room = await client(world.port, account, account).create("world");
  const seen = observe(room);
  const did = world.warden.digitalId(account);
  await waitFor(async () => (await world.warden.sessions(did)).length === 1, "binding");
  return { room, seen, did };
}

describe("four-eyes for permanent bans", () => {
  it("a permanent ban is proposed (202), restricts nothing, and lands only when a second moderator confirms it", async () => {
    const { seen, did } = await joined(a, "fe-target-1");
    const proposed = await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "cheating" });
    expect(proposed.status).toBe(202);
    const pending = proposed.body.pending;
    expect(pending).toMatchObject({ type: "ban", state: "pending", did, proposedBy: "staff:ann", reason: "cheating" });
    expect(pending.id).toMatch(/^[a-z2-7]{26}\.[a-z2-7]{8}\.b$/);
    // Nothing landed: no sanction, the player is still in the room.
    expect(await a.warden.admin.sanctions.active(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();
    // It waits in the queue, seen from the other process.
    const queue = await api(b, "GET", "/pending-bans", bob);
    expect(queue.status).toBe(200);
    expect(queue.body.pending.map((x: any) => x.id)).toContain(pending.id);

    // The proposer cannot confirm it — on either process, whatever face.
    const self = await api(b, "POST", `/pending-bans/${pending.id}/confirm`, ann, {});
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe("FOUR_EYES");

    const confirmed = await api(b, "POST", `/pending-bans/${pending.id}/confirm`, bob, {});
    expect(confirmed.status).toBe(201);
    expect(confirmed.body.sanction).toMatchObject({ did, kind: "ban", end: null, by: "staff:bob" });
    expect(confirmed.body.pending).toMatchObject({ state: "confirmed", decidedBy: "staff:bob" });
    expect((await seen.left).code).toBe(4403);

    // Closed: a second confirmation or a cancel is refused; the queue no longer holds it.
    expect((await api(a, "POST", `/pending-bans/${pending.id}/confirm`, cat, {})).body.error.code).toBe(
      "PENDING_BAN_CLOSED",
    );
    expect((await api(a, "POST", `/pending-bans/${pending.id}/cancel`, cat, {})).body.error.code).toBe(
      "PENDING_BAN_CLOSED",
    );
    expect((await api(a, "GET", "/pending-bans", cat)).body.pending.map((x: any) => x.id)).not.toContain(pending.id);

    // The audit log shows both people; the issue entry names the proposer.
    const entries = (await api(a, "GET", "/audit?limit=50", ADMIN)).body.entries as any[];
    expect(entries.find((e) => e.detail.pendingBan === pending.id && e.detail.step === "proposed")).toMatchObject({
      actor: "staff:ann",
    });
    expect(
      entries.find((e) => e.detail.sanctionId === confirmed.body.sanction.id && e.detail.proposedBy === "staff:ann"),
    ).toMatchObject({ actor: "staff:bob", action: "issue" });
  });

  it("neither the proposer nor the confirmer may decide the ban's appeal", async () => {
    const account = "fe-appellant";
    const { did } = await joined(a, account);
    const pending = (await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "fraud" })).body
      .pending;
    const { sanction } = (await api(a, "POST", `/pending-bans/${pending.id}/confirm`, bob, {})).body;
    const appeal = await a.warden.admin.due.appeals.file(did, sanction.id, "I did not do it", "http");
    for (const who of [ann, bob]) {
      const r = await api(a, "POST", `/appeals/${appeal.id}/decide`, who, { outcome: "upheld", reason: "ok" });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("FOUR_EYES");
    }
    const byCat = await api(a, "POST", `/appeals/${appeal.id}/decide`, cat, { outcome: "rejected", reason: "stands" });
    expect(byCat.status).toBe(200);
  });

  it("two moderators confirming at once on two processes issue exactly one ban (compare-and-set)", async () => {
    for (let round = 0; round < 5; round++) {
      const { seen, did } = await joined(a, `fe-race-${round}`);
      const pending = (await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "race" })).body
        .pending;
      const [x, y] = await Promise.all([
        api(a, "POST", `/pending-bans/${pending.id}/confirm`, bob, {}),
        api(b, "POST", `/pending-bans/${pending.id}/confirm`, cat, {}),
      ]);
      expect([x.status, y.status].sort()).toEqual([201, 409]);
      expect([x, y].find((r) => r.status === 409)!.body.error.code).toBe("PENDING_BAN_CLOSED");
      const history = await a.warden.admin.sanctions.history(did);
      expect(history.filter((s) => s.kind === "ban")).toHaveLength(1);
      expect((await seen.left).code).toBe(4403);
    }
  });

  it("a cancelled proposal cannot be confirmed; an expired one neither, and it leaves the queue", async () => {
    const { seen, did } = await joined(a, "fe-cancelled");
    const pending = (await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "oops" })).body
      .pending;
    const cancelled = await api(b, "POST", `/pending-bans/${pending.id}/cancel`, ann, { reason: "wrong player" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.pending).toMatchObject({ state: "cancelled", outcome: { reason: "wrong player" } });
    expect((await api(a, "POST", `/pending-bans/${pending.id}/confirm`, bob, {})).body.error.code).toBe(
      "PENDING_BAN_CLOSED",
    );
    expect(await a.warden.admin.sanctions.history(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();
    // The proposal is part of the ID's export; the player's own copy names roles, never people.
    const staffCopy = (await api(a, "GET", `/identities/${did}/export`, bob)).body;
    expect(staffCopy.pendingBans).toEqual([expect.objectContaining({ id: pending.id, proposedBy: "staff:ann" })]);
    const subjectCopy = (await api(a, "GET", `/identities/${did}/export?copy=subject`, bob)).body;
    expect(subjectCopy.pendingBans[0]).toMatchObject({ proposedBy: "moderator", decidedBy: "moderator" });
    expect(JSON.stringify(subjectCopy)).not.toContain("staff:ann");

    // Expiry: a world whose clock is ahead sees the proposal lapse.
    const late = await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "late" });
    const id = late.body.pending.id as string;
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 11 * 60_000;
      const r = await api(a, "POST", `/pending-bans/${id}/confirm`, bob, {});
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("PENDING_BAN_CLOSED");
      expect(r.body.error.message).toMatch(/expired/);
      expect((await api(a, "GET", "/pending-bans", bob)).body.pending.map((x: any) => x.id)).not.toContain(id);
    } finally {
      Date.now = realNow;
    }
    expect((await api(a, "GET", `/pending-bans/${id}`, bob)).body.pending.state).toBe("expired");
  });

  it("temporary bans and other kinds are unchanged; no other path lets one person ban for ever", async () => {
    const { seen, did } = await joined(a, "fe-other");
    expect(
      (await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "mute", duration: "5m", reason: "x" })).status,
    ).toBe(201);
    // The service itself (what the CLI's direct mode and any embedding code call) refuses.
    await expect(
      a.warden.admin.issue({ did, kind: "ban", reason: "direct" }, { face: "cli", who: "cli:eve" }),
    ).rejects.toMatchObject({ code: "CONFIRMATION_REQUIRED" });
    // A report case decided with a permanent ban is refused before the case is claimed.
    await expect(
      a.warden.admin.decideCase(
        `${did}.aaaaaaaa.c`,
        { action: "sanction", kind: "ban", reason: "reports" },
        { face: "api", who: "staff:ann" },
      ),
    ).rejects.toMatchObject({ code: "CONFIRMATION_REQUIRED" });
    expect(seen.leftCode).toBeNull();
    const temp = await api(a, "POST", `/identities/${did}/sanctions`, ann, {
      kind: "ban",
      duration: "1h",
      reason: "x",
    });
    expect(temp.status).toBe(201);
    expect((await seen.left).code).toBe(4403);
  });

  it("hostile ids and bodies: malformed, another type's id, forged fields — 4xx, nothing issued", async () => {
    const { did } = await joined(a, "fe-hostile");
    for (const id of [
      "x",
      `${did}.aaaaaaaa.a`,
      `${did}.aaaaaaaa.b`,
      `${"a".repeat(5000)}`,
      "..%2F..",
      `${did}.AAAAAAAA.b`,
    ]) {
      const r = await api(a, "POST", `/pending-bans/${encodeURIComponent(id)}/confirm`, bob, {});
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("PENDING_BAN_NOT_FOUND");
    }
    expect((await api(a, "POST", `/pending-bans/${did}.aaaaaaaa.b/confirm`, bob, { by: "root" })).status).toBe(400);
    // A viewer can neither see the queue nor confirm.
    const viewer = (await api(a, "POST", "/staff", ADMIN, { name: "vera", role: "viewer" })).body.token as string;
    expect((await api(a, "GET", "/pending-bans", viewer)).status).toBe(403);
    const pending = (await api(a, "POST", `/identities/${did}/sanctions`, ann, { kind: "ban", reason: "x" })).body
      .pending;
    expect((await api(a, "POST", `/pending-bans/${pending.id}/confirm`, viewer, {})).status).toBe(403);
    expect(await a.warden.admin.sanctions.history(did)).toEqual([]);
  });
});

describe("four-eyes off (the default)", () => {
  let c: World;
  beforeAll(async () => {
    c = await open(false, `${p}-off`);
  });
  afterAll(async () => c?.close());

  it("a permanent ban is issued at once (201)", async () => {
    const { seen, did } = await joined(c, "fe-off");
    const r = await api(c, "POST", `/identities/${did}/sanctions`, ADMIN, { kind: "ban", reason: "x" });
    expect(r.status).toBe(201);
    expect(r.body.sanction.end).toBeNull();
    expect((await seen.left).code).toBe(4403);
  });

  it("option validation: pendingBanMs out of range is refused", async () => {
    await expect(
      startWorld({
        port: 0,
        jwtSecret: JWT_SECRET,
        warden: { secret: WARDEN_SECRET, dueProcess: { pendingBanMs: "10s" } },
      }),
    ).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(
      startWorld({
        port: 0,
        jwtSecret: JWT_SECRET,
        warden: { secret: WARDEN_SECRET, dueProcess: { fourEyesBans: "yes" as never } },
      }),
    ).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});

describe("four-eyes on the embedded (in-memory) store", () => {
  it("propose, refuse the proposer, confirm by another", async () => {
    const m = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: {
        secret: WARDEN_SECRET,
        dueProcess: { fourEyesBans: true },
        logger: { info() {}, warn() {}, error() {} },
      },
      admin: { adminTokens: [{ name: "root", token: ADMIN }], rateLimit: { perMinute: 100_000 } },
    });
    try {
      const mod = (await api(m, "POST", "/staff", ADMIN, { name: "mia", role: "moderator" })).body.token as string;
      const { seen, did } = await joined(m, "fe-memory");
      const pending = (await api(m, "POST", `/identities/${did}/sanctions`, mod, { kind: "ban", reason: "x" })).body
        .pending;
      expect(pending.state).toBe("pending");
      expect((await api(m, "GET", "/pending-bans", ADMIN)).body.pending).toHaveLength(1);
      expect((await api(m, "POST", `/pending-bans/${pending.id}/confirm`, mod, {})).status).toBe(403);
      expect((await api(m, "POST", `/pending-bans/${pending.id}/confirm`, ADMIN, {})).status).toBe(201);
      expect((await seen.left).code).toBe(4403);
      expect((await api(m, "GET", "/pending-bans", ADMIN)).body.pending).toHaveLength(0);
    } finally {
      await m.close();
    }
  });
});
