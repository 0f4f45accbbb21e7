/**
 * Staff identities (issue 11, parts 1 and 7): personal tokens issued and revoked by an admin,
 * the actor taken from the credential alone, an insider with Redis access unable to mint,
 * promote or un-revoke, the admin router's own CORS policy, and per-credential budgets.
 * Two real worlds (two wardens) on one real Redis; real SDK clients; plain fetch as the client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { keysUnder, prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const ADMIN = "bootstrap-admin-token-0123456789";
const { admin: redis, prefix } = prefixesForFile();
const p = prefix("staff");
const logs: string[] = [];
let a: World;
let b: World;

async function open(): Promise<World> {
  return startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: p,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    },
    admin: {
      adminTokens: [{ name: "root", token: ADMIN }],
      rateLimit: { perMinute: 40, expensivePerMinute: 3 },
      corsOrigins: ["https://mod.example.com"],
    },
  });
}

beforeAll(async () => {
  a = await open();
  b = await open();
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

async function api(
  world: World,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${world.port}/warden/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

describe("personal staff tokens", () => {
  let annToken: string;

  it("an admin issues a moderator's token once; the moderator acts as staff:<name>, whatever a header says", async () => {
    const added = await api(a, "POST", "/staff", ADMIN, { name: "ann", role: "moderator" });
    expect(added.status).toBe(201);
    expect(added.body.staff).toMatchObject({
      name: "ann",
      role: "moderator",
      createdBy: "api:admin:root",
      revokedAt: null,
    });
    annToken = added.body.token;
    expect(annToken).toMatch(/^wst_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    // The list never shows a token or its hash.
    const listed = await api(a, "GET", "/staff", ADMIN);
    expect(JSON.stringify(listed.body)).not.toContain(annToken.slice(21));
    expect(listed.body.staff.map((s: any) => s.name)).toEqual(["ann"]);

    expect((await api(b, "GET", "/whoami", annToken)).body).toEqual({ role: "moderator", actor: "staff:ann" });
    const player = await client(a.port, "staff-target", "Target").create("world");
    const seen = observe(player);
    const did = a.warden.digitalId("staff-target");
    await waitFor(async () => (await a.warden.sessions(did)).length === 1, "binding");
    const issued = await api(
      b,
      "POST",
      `/identities/${did}/sanctions`,
      annToken,
      { kind: "ban", duration: "1h", reason: "cheating" },
      { "x-warden-actor": "root" },
    );
    expect(issued.status).toBe(201);
    expect(issued.body.sanction.by).toBe("staff:ann");
    expect((await seen.left).code).toBe(4403);
    const audit = (await api(a, "GET", "/audit?limit=20", ADMIN)).body.entries as any[];
    expect(audit.find((e) => e.action === "issue" && e.target === did)).toMatchObject({ actor: "staff:ann" });
    expect(audit.find((e) => e.action === "staff" && e.target === "staff:ann")).toMatchObject({
      actor: "api:admin:root",
      detail: { op: "add", role: "moderator" },
    });
  });

  it("a moderator or viewer cannot manage staff; a second active token for one name is refused", async () => {
    expect((await api(a, "POST", "/staff", annToken, { name: "eve", role: "admin" })).status).toBe(403);
    expect((await api(a, "GET", "/staff", annToken)).status).toBe(403);
    const viewer = (await api(a, "POST", "/staff", ADMIN, { name: "vic", role: "viewer" })).body.token as string;
    expect((await api(a, "DELETE", "/staff/ann", viewer)).status).toBe(403);
    expect(
      (await api(a, "POST", "/identities/aaaaaaaaaaaaaaaaaaaaaaaaaa/sanctions", viewer, { kind: "warn", reason: "x" }))
        .status,
    ).toBe(403);
    expect((await api(a, "POST", "/staff", ADMIN, { name: "ann", role: "admin" })).body.error.code).toBe(
      "STAFF_CONFLICT",
    );
    expect((await api(a, "POST", "/staff", ADMIN, { name: "has space", role: "admin" })).status).toBe(400);
    expect((await api(a, "POST", "/staff", ADMIN, { name: "x", role: "root" })).status).toBe(400);
  });

  it("a token that is forged, cut or altered is 401", async () => {
    for (const bad of [
      `${annToken}x`,
      annToken.slice(0, -1),
      `${annToken.slice(0, -1)}${annToken.endsWith("A") ? "B" : "A"}`,
      `wst_${"a".repeat(16)}_${"A".repeat(43)}`,
      "wst_",
    ])
      expect((await api(a, "GET", "/whoami", bad)).status).toBe(401);
  });

  it("an insider with Redis access cannot promote a record, mint a token, or bring a revoked one back", async () => {
    const keys = new RedisKeys(p);
    const records = await redis.hgetall(keys.staff());
    const [id, json] = Object.entries(records).find(([, v]) => JSON.parse(v).name === "ann")!;
    // Promote ann to admin in place.
    await redis.hset(keys.staff(), id, JSON.stringify({ ...JSON.parse(json), role: "admin" }));
    expect((await api(a, "GET", "/whoami", annToken)).status).toBe(401);
    expect(logs.some((l) => l.includes(`staff record ${id}`) && l.includes("refused"))).toBe(true);
    await redis.hset(keys.staff(), id, json);
    expect((await api(a, "GET", "/whoami", annToken)).status).toBe(200);
    // A record of their own, with a token they chose and a plain hash of it: refused.
    const chosen = `wst_${"b".repeat(16)}_${"C".repeat(43)}`;
    const { createHash } = await import("node:crypto");
    await redis.hset(
      keys.staff(),
      "b".repeat(16),
      JSON.stringify({
        ...JSON.parse(json),
        id: "b".repeat(16),
        name: "mallory",
        role: "admin",
        tokenHash: createHash("sha256").update(chosen).digest("hex"),
      }),
    );
    expect((await api(a, "GET", "/whoami", chosen)).status).toBe(401);
    await redis.hdel(keys.staff(), "b".repeat(16));
  });

  it("revoked on one process, refused at once on the other; the token never appears in Redis or the logs", async () => {
    const revoked = await api(a, "DELETE", "/staff/ann", ADMIN);
    expect(revoked.status).toBe(200);
    expect(revoked.body.staff).toMatchObject({ name: "ann", revokedBy: "api:admin:root" });
    expect((await api(b, "GET", "/whoami", annToken)).status).toBe(401);
    // Un-revoking by editing the record breaks its seal.
    const keys = new RedisKeys(p);
    const [id, json] = Object.entries(await redis.hgetall(keys.staff())).find(([, v]) => JSON.parse(v).name === "ann")!;
    await redis.hset(keys.staff(), id, JSON.stringify({ ...JSON.parse(json), revokedAt: null, revokedBy: null }));
    expect((await api(b, "GET", "/whoami", annToken)).status).toBe(401);

    const secretPart = annToken.split("_")[2]!;
    for (const key of await keysUnder(redis, p)) {
      const type = await redis.type(key);
      const dump =
        type === "hash"
          ? JSON.stringify(await redis.hgetall(key))
          : type === "stream"
            ? JSON.stringify(await redis.xrange(key, "-", "+"))
            : "";
      expect(dump).not.toContain(secretPart);
    }
    expect(logs.join("\n")).not.toContain(secretPart);
  });
});

describe("the admin API's own hygiene", () => {
  it("same origin only by default: another origin is 403 with no Access-Control-Allow-Origin; an allowed one is echoed", async () => {
    const evil = await api(a, "GET", "/whoami", ADMIN, undefined, { origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    expect(evil.headers.get("access-control-allow-credentials")).toBeNull();
    // A state-changing request from elsewhere is refused before it acts.
    const before = (await api(a, "GET", "/staff", ADMIN)).body.staff.length;
    const post = await api(a, "POST", "/staff", ADMIN, { name: "via-evil", role: "admin" }, { origin: "null" });
    expect(post.status).toBe(403);
    expect((await api(a, "GET", "/staff", ADMIN)).body.staff.length).toBe(before);

    const same = await api(a, "GET", "/whoami", ADMIN, undefined, { origin: `http://127.0.0.1:${a.port}` });
    expect(same.status).toBe(200);
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await api(a, "GET", "/whoami", ADMIN, undefined, { origin: "https://mod.example.com" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://mod.example.com");
    // Colyseus's own routes keep Colyseus's policy (untouched).
    const colyseus = await fetch(`http://127.0.0.1:${a.port}/matchmake/`, {
      headers: { origin: "https://evil.example" },
    });
    expect(colyseus.headers.get("access-control-allow-origin")).toBe("https://evil.example");
  });

  it("a credential hammering look-ups gets 429 with Retry-After, and the audit log grows only by its budget", async () => {
    const hammer = (await api(a, "POST", "/staff", ADMIN, { name: "hammer", role: "viewer" })).body.token as string;
    const head = async () => Number((await redis.hget(new RedisKeys(p).auditHead(), "seq")) ?? 0);
    const start = await head();
    const statuses = await Promise.all(
      Array.from({ length: 120 }, () => api(a, "GET", "/identities?q=someone", hammer).then((r) => r)),
    );
    const ok = statuses.filter((r) => r.status === 200).length;
    const limited = statuses.filter((r) => r.status === 429);
    expect(ok).toBeLessThanOrEqual(41);
    expect(limited.length).toBeGreaterThanOrEqual(79);
    expect(limited[0]!.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await head()) - start).toBe(ok);
    // Expensive reads have their own, smaller budget; other credentials are not affected.
    const verifies = await Promise.all(Array.from({ length: 6 }, () => api(a, "GET", "/audit/verify", hammer)));
    expect(verifies.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(3);
    expect((await api(a, "GET", "/whoami", ADMIN)).status).toBe(200);
  });

  it("refuses bad options with a sentence", async () => {
    await expect(
      startWorld({
        port: 0,
        jwtSecret: JWT_SECRET,
        warden: { secret: WARDEN_SECRET },
        admin: { adminTokens: [ADMIN], corsOrigins: ["mod.example.com/path"] },
      }),
    ).rejects.toThrow(/corsOrigins must be origins/);
  });
});
