/**
 * The admin HTTP API, against the demo world (real server, real clients, real Redis).
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";
import { ADMIN_ROUTES } from "./helpers/admin-routes.js";

const MODERATOR = "moderator-token-0123456789";
const VIEWER = "viewer-token-0123456789abc";
const prefix = uniquePrefix("api");
const keys = new RedisKeys(prefix);
let world: World;
let redis: Redis;
let base: string;
let n = 0;
const nextAccount = () => `api-${++n}-${prefix}`;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix, logger: { info() {}, warn() {}, error() {} } },
    admin: { moderatorTokens: [MODERATOR], viewerTokens: [VIEWER] },
  });
  await world.warden.ready();
  base = `http://127.0.0.1:${world.port}/warden/api`;
});

afterAll(async () => {
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

async function api(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}

async function player(name?: string) {
  const sub = nextAccount();
  const room = await client(world.port, sub, name).create("world");
  const seen = observe(room);
  return { sub, did: world.warden.digitalId(sub), room, seen };
}

const ROUTES = ADMIN_ROUTES;

describe("authentication and roles", () => {
  it.each(ROUTES)("%s %s refuses a missing or wrong token with 401", async (method, path, body) => {
    for (const token of [null, "wrong-token-0123456789", `${MODERATOR}x`]) {
      const res = await api(method, path, token, body);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
    }
  });

  it("a viewer may read but not sanction, revoke, export or forget (403)", async () => {
    const { did } = await player();
    await waitFor(async () => (await world.warden.sessions(did)).length === 1, "binding");
    expect((await api("GET", `/identities/${did}`, VIEWER)).status).toBe(200);
    expect((await api("GET", "/audit", VIEWER)).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", `/identities/${did}/sanctions`, { kind: "ban", reason: "x" }],
      ["POST", `/sanctions/${did}.aaaaaaaa/revoke`, {}],
      ["GET", `/identities/${did}/export`],
      ["DELETE", `/identities/${did}`, {}],
    ] as const) {
      const res = await api(method, path, VIEWER, body);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect(await world.warden.sanctions.history(did)).toEqual([]);
  });
});

describe("input validation", () => {
  it("bad bodies and ids get 400 with a stable code; unknown ids 404", async () => {
    const { did } = await player();
    const cases: [string, string, unknown, number, string][] = [
      ["POST", `/identities/${did}/sanctions`, { kind: "nuke", reason: "x" }, 400, "INVALID_REQUEST"],
      ["POST", `/identities/${did}/sanctions`, { kind: "ban" }, 400, "INVALID_REQUEST"],
      ["POST", `/identities/${did}/sanctions`, { kind: "ban", reason: "x", duration: "10x" }, 400, "INVALID_DURATION"],
      ["POST", `/identities/${did}/sanctions`, { kind: "kick", reason: "x", duration: "10m" }, 400, "INVALID_SANCTION"],
      ["POST", `/identities/${did}/sanctions`, { kind: "ban", reason: "x", extra: 1 }, 400, "INVALID_REQUEST"],
      ["POST", `/identities/${did}/sanctions`, "{not json", 400, "INVALID_REQUEST"],
      ["POST", "/identities/not-a-did/sanctions", { kind: "ban", reason: "x" }, 400, "INVALID_DID"],
      ["GET", `/identities/${did}/events?limit=0`, undefined, 400, "INVALID_REQUEST"],
      ["GET", `/identities/${"b".repeat(26)}`, undefined, 404, "IDENTITY_NOT_FOUND"],
      ["POST", `/sanctions/${did}.zzzzzzzz/revoke`, {}, 404, "SANCTION_NOT_FOUND"],
      ["GET", "/nothing-here", undefined, 404, "NOT_FOUND"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await api(method, path, MODERATOR, body);
      expect({ path, body, status: res.status, code: res.body?.error?.code }).toEqual({ path, body, status, code });
      expect(typeof res.body.error.message).toBe("string");
    }
    expect(await world.warden.sanctions.history(did)).toEqual([]);
  });
});

describe("moderation over HTTP", () => {
  it("looks up by last-seen name, sanctions and revokes; the player feels it live; every act is audited", async () => {
    const name = `Grief${n}er`;
    const p = await player(name);
    await waitFor(
      async () =>
        (await api("GET", `/identities?q=${encodeURIComponent(name.toLowerCase())}`, VIEWER)).body.identities.length ===
        1,
      "lookup by name",
    );
    const found = (
      await api("GET", `/identities?q=${encodeURIComponent(name)}`, VIEWER, undefined, { "x-warden-why": "ticket 42" })
    ).body.identities;
    expect(found[0]).toMatchObject({ did: p.did, profile: { name } });

    const issued = await api(
      "POST",
      `/identities/${p.did}/sanctions`,
      MODERATOR,
      { kind: "mute", duration: "10m", reason: "spam in spawn" },
      // A header claiming a person changes nothing: the actor comes from the credential.
      { "x-warden-actor": "ann" },
    );
    expect(issued.status).toBe(201);
    expect(issued.body.sanction).toMatchObject({ did: p.did, kind: "mute", by: "api:moderator" });
    await waitFor(() => p.seen.notices.some((x) => x.kind === "mute"), "mute notice");

    const revoked = await api("POST", `/sanctions/${issued.body.sanction.id}/revoke`, MODERATOR, { reason: "appeal" });
    expect(revoked.body).toMatchObject({ status: "revoked" });
    await waitFor(() => p.seen.notices.some((x) => x.kind === "lifted"), "lifted notice");

    const banned = await api("POST", `/identities/${p.did}/sanctions`, MODERATOR, {
      kind: "ban",
      duration: 60_000,
      reason: "final",
    });
    expect(banned.status).toBe(201);
    expect((await p.seen.left).code).toBe(4403);

    const audit = (await api("GET", "/audit?limit=200", VIEWER)).body.entries as any[];
    const mine = audit
      .filter((e) => e.target === p.did || e.target === issued.body.sanction.id)
      .map((e) => `${e.actor}:${e.action}`);
    expect(mine).toEqual(
      expect.arrayContaining([
        "api:viewer:lookup",
        "api:moderator:issue",
        "api:moderator:revoke",
        "api:moderator:issue",
      ]),
    );
    expect(audit.find((e) => e.target === p.did && e.action === "lookup" && e.why === "ticket 42")).toBeDefined();
    expect((await api("GET", "/audit/verify", VIEWER)).body).toMatchObject({ ok: true });
  });

  it("pages an identity's events", async () => {
    const p = await player();
    for (let i = 0; i < 5; i++) p.room.send("teleport", { i });
    await waitFor(async () => (await world.warden.store.offensesOf(p.did, { limit: 10 })).length === 5, "5 events");
    const first = (await api("GET", `/identities/${p.did}/events?limit=3`, VIEWER)).body;
    expect(first.events).toHaveLength(3);
    const second = (await api("GET", `/identities/${p.did}/events?limit=3&before=${first.next}`, VIEWER)).body;
    expect(second.events).toHaveLength(2);
    expect(second.next).toBeNull();
    expect(new Set([...first.events, ...second.events].map((e: any) => e.id)).size).toBe(5);
  });
});

describe("live feed (SSE)", () => {
  it("delivers an offense within a second of it, and sanctions as they are issued", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/feed`, {
      headers: { authorization: `Bearer ${VIEWER}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let buffer = "";
    const next = async (pattern: RegExp, ms = 3000) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(buffer)) {
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, rej) =>
            setTimeout(() => rej(new Error(`no ${pattern} in ${ms} ms: ${buffer}`)), deadline - Date.now()),
          ),
        ]);
        if (chunk.done) throw new Error("feed closed");
        buffer += new TextDecoder().decode(chunk.value);
      }
    };
    await next(/: connected/);
    const p = await player();
    const sent = Date.now();
    p.room.send("teleport", {});
    await next(new RegExp(`event: offense\\ndata: \\{[^\\n]*"did":"${p.did}"`));
    expect(Date.now() - sent).toBeLessThan(1000);
    await world.warden.sanctions.issue({ did: p.did, kind: "warn", reason: "feed test", by: "test" });
    await next(/event: sanction\ndata: [^\n]*feed test/);
    controller.abort();
  });
});

describe("export and erasure", () => {
  it("export holds the ID's data; forget leaves no key of the ID but the minimal active-ban record", async () => {
    const p = await player("ForgetMe");
    p.room.send("teleport", {});
    await waitFor(async () => (await world.warden.store.offensesOf(p.did, { limit: 10 })).length === 1, "an event");
    await world.warden.sanctions.issue({ did: p.did, kind: "warn", reason: "w", by: "test" });
    await world.warden.sanctions.issue({
      did: p.did,
      kind: "ban",
      duration: 3_600_000,
      reason: "secret reason",
      by: "test",
    });
    await p.seen.left;

    const exported = (await api("GET", `/identities/${p.did}/export`, MODERATOR)).body;
    expect(exported).toMatchObject({ did: p.did, profile: { name: "ForgetMe" } });
    expect(exported.sanctions.map((s: any) => s.kind).sort()).toEqual(["ban", "warn"]);
    expect(exported.events.map((e: any) => e.kind)).toEqual(["unknown_type"]);
    expect(exported.points.malformed.count).toBe(1);
    expect(exported.audit.some((e: any) => e.action === "export")).toBe(false); // the export's own entry comes after

    const before = (await keysUnder(redis, prefix)).filter((k) => k.includes(p.did));
    expect(before.length).toBeGreaterThan(2);
    const forgot = await api("DELETE", `/identities/${p.did}`, MODERATOR, { why: "GDPR request 7" });
    expect(forgot.body).toEqual({ keptBans: 1 });

    const after = (await keysUnder(redis, prefix)).filter((k) => k.includes(p.did));
    expect(after).toEqual([keys.sanctions(p.did)]);
    const kept = Object.entries(await redis.hgetall(keys.sanctions(p.did)));
    expect(kept).toHaveLength(1);
    const minimal = JSON.parse(kept[0]![1]);
    expect(minimal).toMatchObject({
      did: p.did,
      kind: "ban",
      reason: "details erased at your request",
      by: "moderator",
    });
    expect(minimal.statement).toMatchObject({ erased: true, rule: null, facts: { events: [], reports: 0 } });
    expect(minimal.end).toBeGreaterThan(Date.now());
    expect(JSON.stringify(kept)).not.toContain("secret reason");
    // No value anywhere under the prefix still carries the ID's data (the feed included) —
    // except the audit log, which records who acted on the ID, never the erased data.
    const feed = await redis.xrange(keys.feedShard(keys.bucketOf(p.did)), "-", "+");
    expect(JSON.stringify(feed)).not.toContain(p.did);
    expect((await world.warden.store.didsByName("ForgetMe", Date.now(), 86_400_000)).map((d) => d.did)).not.toContain(
      p.did,
    );
    const forgetEntry = (await api("GET", "/audit?limit=5", MODERATOR)).body.entries.find(
      (e: any) => e.action === "forget",
    );
    expect(forgetEntry).toMatchObject({
      target: p.did,
      why: "GDPR request 7",
      detail: { keptBans: 1, includingSanctions: false },
    });
    expect(JSON.stringify(forgetEntry)).not.toContain("secret reason");

    // The ban still holds after erasure.
    await expect(client(world.port, p.sub).joinOrCreate("world")).rejects.toMatchObject({ code: 4403 });

    await api("DELETE", `/identities/${p.did}`, MODERATOR, { includingSanctions: true });
    expect((await keysUnder(redis, prefix)).filter((k) => k.includes(p.did))).toEqual([]);
  });
});
