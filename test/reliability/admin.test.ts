/**
 * Scenario 8 — the admin surface (issue 6: "every route without a valid token refused;
 * tokens never logged; timing-safe comparison"). A real world in this process with the
 * admin API mounted (`startWorld({ admin })`), a real Redis started here, raw HTTP
 * requests (node:http, so that headers go out exactly as written, duplicates included).
 *
 * test/admin-api.test.ts already checks, on every route, that a missing token, a wrong one
 * and the moderator token plus one character get 401, and that a viewer gets 403 on the four
 * moderator routes. This file adds: prefix / length / case / scheme variants of the real
 * tokens; that the comparison is sha256 digests through crypto.timingSafeEqual, with no early
 * exit, and that a first-character and a last-character mismatch take the same time; viewer
 * escalation attempts (headers, path variants) that must change nothing in Redis; 404 on
 * every path when no token is configured; and, over the whole file (Redis killed and
 * restarted, forged headers, JSON errors, an internal error, a full moderation run), that no
 * token ever appears in the warden's log, in stdout / stderr / console, in Redis (every key
 * and value, audit log included) or in an answer.
 */
import http from "node:http";
import { format } from "node:util";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startWorld, type World } from "../../rooms/app.js";
import { keysUnder, ownRedis, type OwnRedis, worldOver } from "./helpers/redis.js";
import {
  figure,
  join,
  JWT_SECRET,
  leave,
  memoryLogger,
  percentile,
  waitFor,
  WARDEN_SECRET,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";
import { ADMIN_ROUTES, UNKNOWN_DID } from "../helpers/admin-routes.js";

// Pass-through spies on the two crypto calls the token check is made of (only src/admin/http.ts
// calls timingSafeEqual), so the test can see what is compared, not only the outcome.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual), createHash: vi.fn(actual.createHash) };
});

const prefix = "rel-admin";
/** Random tokens (no fixed part), so that any trace of them anywhere is unmistakable. */
const MODERATOR = randomBytes(24).toString("base64url");
const VIEWER = randomBytes(24).toString("base64url");
const DID = UNKNOWN_DID;

let redis: OwnRedis;
let world: World;
const logger = memoryLogger();
const offLogger = memoryLogger();
const processErrors = watchProcessErrors();
const output = captureOutput();
const players: Player[] = [];
/** Every answer body (checked for echoed tokens at the end). */
const answers: string[] = [];
/** Every token-like string presented to the API (checked for at the end, with the real tokens). */
const presented = new Set<string>();

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest();
const bearer = (t: string) => {
  presented.add(t);
  return { authorization: `Bearer ${t}` };
};
const MOD = () => bearer(MODERATOR);
const VIEW = () => bearer(VIEWER);

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(
    redis,
    { prefix, logger, heartbeatMs: 500 },
    {
      admin: {
        moderatorTokens: [MODERATOR],
        viewerTokens: [VIEWER],
        // Budgets are tested in test/staff.test.ts; here they would only cut the run short.
        rateLimit: { perMinute: 100_000, expensivePerMinute: 100_000 },
      },
    },
  );
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  output.stop();
  agent.destroy();
  for (const p of players) await leave(p);
  await world?.close();
  await redis?.close();
});

// ---- HTTP ----------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Reply {
  status: number;
  text: string;
  json: any;
  ms: number;
}

/** One request to `/warden/api<path>`, headers sent exactly as given (arrays = repeated lines). */
function request(
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: string | Buffer,
  port = world.port,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: `/warden/api${path}`,
        agent,
        headers: {
          ...(body !== undefined
            ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const ms = performance.now() - started;
          const text = Buffer.concat(chunks).toString("utf8");
          answers.push(text);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json, ms });
        });
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const get = (path: string, headers: Record<string, string | string[]> = {}) => request("GET", path, headers);
const post = (path: string, body: unknown, headers: Record<string, string | string[]> = {}) =>
  request("POST", path, headers, typeof body === "string" ? body : JSON.stringify(body));

const ROUTES = ADMIN_ROUTES;

/** A token equal to `t` except at position `i`. */
function flip(t: string, i: number): string {
  const c = t[i] === "A" ? "B" : "A";
  return t.slice(0, i) + c + t.slice(i + 1);
}

// ---- 0. Redis down -------------------------------------------------------------------------

describe("Redis down (killed, then restarted)", () => {
  it("valid tokens get 503 STORE_UNAVAILABLE, bad ones still 401, no crash; the API answers again after the restart", async () => {
    expect((await get("/audit", MOD())).status).toBe(200);
    await redis.kill();
    const during = {
      audit: await get("/audit", MOD()),
      identity: await get(`/identities/${DID}`, VIEW()),
      issue: await post(
        `/identities/${DID}/sanctions`,
        { kind: "warn", reason: "during the outage" },
        { ...MOD(), "x-warden-why": "outage check" },
      ),
      noToken: await get("/audit"),
      wrongToken: await get("/audit", bearer(flip(MODERATOR, 0))),
    };
    const restartedAt = Date.now();
    await redis.restart();
    await waitFor(
      async () => (await get("/audit", MOD())).status === 200,
      "the admin API answering after the restart",
      15_000,
    );
    const recoveredMs = Date.now() - restartedAt;
    figure(
      "admin",
      "Redis down",
      Object.fromEntries([
        ...Object.entries(during).map(([k, r]) => [
          k,
          { status: r.status, code: r.json?.error?.code, ms: Math.round(r.ms) },
        ]),
        ["recoveredMsAfterRestart", recoveredMs],
      ]),
    );
    for (const r of [during.audit, during.identity, during.issue]) {
      expect({ status: r.status, code: r.json?.error?.code }).toEqual({ status: 503, code: "STORE_UNAVAILABLE" });
      expect(r.ms).toBeLessThan(5000);
    }
    expect(during.noToken.status).toBe(401);
    expect(during.wrongToken.status).toBe(401);
    expect(processErrors.errors).toEqual([]);
  });
});

// ---- 1. who gets in ------------------------------------------------------------------------

describe("who gets in (beyond test/admin-api.test.ts)", () => {
  it("prefixes, extensions, other lengths, case and one-character changes of the real tokens are all 401; the exact tokens pass", async () => {
    const variants: string[] = [];
    for (const t of [MODERATOR, VIEWER]) {
      variants.push(
        t.slice(0, 1),
        t.slice(0, 15),
        t.slice(0, 16),
        t.slice(0, -1),
        t.slice(1), // prefixes, shorter
        `${t}x`,
        `${t}${t}`,
        `${t}${t.slice(0, 1)}`, // the token plus something
        t.toUpperCase(),
        t.toLowerCase(),
        flip(t, 0),
        flip(t, t.length - 1),
        flip(t, t.length >> 1),
        `${t.slice(0, -1)}\u00e9`,
        sha256(t).toString("hex"),
        sha256(t).toString("base64"),
        Buffer.from(t).toString("base64"), // what a store of digests would hold
      );
    }
    variants.push(
      `${VIEWER}${MODERATOR}`,
      randomBytes(8).toString("hex").slice(0, 15),
      randomBytes(750).toString("base64url"),
      randomBytes(6000).toString("base64url"),
    );
    const refused: Record<string, number> = {};
    for (const v of new Set(variants.filter((v) => v !== MODERATOR && v !== VIEWER))) {
      for (const [method, path, body] of [
        ["GET", "/audit"],
        ["POST", `/identities/${DID}/sanctions`, { kind: "ban", reason: "prefix attack" }],
      ] as const) {
        const r = await request(method, path, bearer(v), body === undefined ? undefined : JSON.stringify(body));
        refused[r.status] = (refused[r.status] ?? 0) + 1;
        expect({ v: v.slice(0, 40), len: v.length, status: r.status, code: r.json?.error?.code }).toEqual({
          v: v.slice(0, 40),
          len: v.length,
          status: 401,
          code: "UNAUTHORIZED",
        });
      }
    }
    expect((await get("/audit", MOD())).status).toBe(200);
    expect((await get("/audit", VIEW())).status).toBe(200);
    expect(await world.warden.sanctions.history(DID as never)).toEqual([]);
    figure("admin", "token variants refused", {
      variants: new Set(variants).size,
      requests: Object.values(refused).reduce((a, b) => a + b, 0),
      byStatus: refused,
      longestChars: Math.max(...variants.map((v) => v.length)),
    });
  });

  it("the scheme is exactly `Bearer <token>` (case-sensitive, one space); surrounding whitespace is the HTTP parser's to drop; the first of two Authorization lines counts", async () => {
    presented.add(MODERATOR);
    const cases: [string, string | string[], number][] = [
      ["exact", `Bearer ${MODERATOR}`, 200],
      // Leading / trailing whitespace of a header value is not part of it (RFC 9110 §5.5): Node drops it.
      ["leading and trailing spaces", `   Bearer ${MODERATOR}   `, 200],
      ["lowercase scheme", `bearer ${MODERATOR}`, 401],
      ["uppercase scheme", `BEARER ${MODERATOR}`, 401],
      ["two spaces", `Bearer  ${MODERATOR}`, 401],
      ["tab", `Bearer\t${MODERATOR}`, 401],
      ["token then more", `Bearer ${MODERATOR} x`, 401],
      ["two tokens in one line", `Bearer ${MODERATOR}, Bearer ${MODERATOR}`, 401],
      ["quoted", `Bearer "${MODERATOR}"`, 401],
      ["no token", "Bearer", 401],
      ["no token, trailing space", "Bearer ", 401],
      ["no scheme", MODERATOR, 401],
      ["Basic", `Basic ${Buffer.from(`${MODERATOR}:`).toString("base64")}`, 401],
      ["Basic, raw", `Basic ${MODERATOR}`, 401],
      ["Token scheme", `Token ${MODERATOR}`, 401],
      // Node keeps the first Authorization line and discards the others (http.IncomingMessage.headers).
      ["wrong line first, right line second", [`Bearer ${flip(MODERATOR, 3)}`, `Bearer ${MODERATOR}`], 401],
      ["right line first, wrong line second", [`Bearer ${MODERATOR}`, `Bearer ${flip(MODERATOR, 3)}`], 200],
    ];
    const seen: Record<string, number> = {};
    for (const [name, value, _] of cases) seen[name] = (await get("/audit", { authorization: value })).status;
    // Tokens anywhere but the Authorization header are not looked at (RFC 6750's query and form forms are not supported).
    seen["?access_token="] = (await get(`/audit?access_token=${MODERATOR}`)).status;
    seen["x-api-key"] = (await get("/audit", { "x-api-key": MODERATOR })).status;
    seen["proxy-authorization"] = (await get("/audit", { "proxy-authorization": `Bearer ${MODERATOR}` })).status;
    seen.cookie = (await get("/audit", { cookie: `token=${MODERATOR}; authorization=Bearer%20${MODERATOR}` })).status;
    figure("admin", "Authorization header forms", seen);
    expect(seen).toEqual({
      ...Object.fromEntries(cases.map(([name, , status]) => [name, status])),
      "?access_token=": 401,
      "x-api-key": 401,
      "proxy-authorization": 401,
      cookie: 401,
    });
  });
});

// ---- 2. the body before the token ----------------------------------------------------------

describe("without a valid token, nothing is read", () => {
  // F9 (open): express.json() is mounted before the token check, so an unauthenticated
  // request's body is parsed first — a bad body gets 400, an unsupported charset or encoding
  // 500 INTERNAL and an error line in the server log, before anyone is authenticated.
  it("a request without a valid token gets 401 whatever its body, and logs nothing", async () => {
    const errorsBefore = logger.lines.filter((l) => l.level === "error").length;
    const path = `/identities/${DID}/sanctions`;
    const bodies: [string, Record<string, string>, string][] = [
      ["malformed JSON", {}, "{not json"],
      ["20 KB body (limit 16 kb)", {}, JSON.stringify({ kind: "ban", reason: "x".repeat(20_000) })],
      ["charset=latin1", { "content-type": "application/json; charset=latin1" }, "{}"],
      ["content-encoding: br2", { "content-encoding": "br2" }, "{}"],
    ];
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const [name, headers, body] of bodies) {
      for (const [who, auth] of [
        ["no token", {}],
        ["wrong token", bearer(flip(MODERATOR, 0))],
      ] as const) {
        const r = await request("POST", path, { ...auth, ...headers }, body);
        got[`${name}, ${who}`] = `${r.status} ${r.json?.error?.code}`;
        want[`${name}, ${who}`] = "401 UNAUTHORIZED";
      }
    }
    const errorLines = logger.lines
      .filter((l) => l.level === "error")
      .slice(errorsBefore)
      .map((l) => l.message);
    figure("admin", "unauthenticated bodies", { answers: got, errorLinesLogged: errorLines });
    expect({ answers: got, errorLines }).toEqual({ answers: want, errorLines: [] });
  });
});

// ---- 3. timing-safe comparison -------------------------------------------------------------

describe("timing-safe comparison", () => {
  it("every request compares sha256(presented) with every known digest through timingSafeEqual: 32 bytes each, one call per known token, no early exit", async () => {
    const compare = vi.mocked(timingSafeEqual);
    const hash = vi.mocked(createHash);
    const known = new Set([sha256(MODERATOR).toString("hex"), sha256(VIEWER).toString("hex")]);
    const probes: [string, string, number][] = [
      ["1 char", "x", 401],
      ["16 chars", randomBytes(12).toString("base64url"), 401],
      ["first char wrong", flip(MODERATOR, 0), 401],
      ["last char wrong", flip(MODERATOR, MODERATOR.length - 1), 401],
      ["token + 1 char", `${MODERATOR}x`, 401],
      ["8000 chars", randomBytes(6000).toString("base64url"), 401],
      ["moderator (first known)", MODERATOR, 200],
      ["viewer (second known)", VIEWER, 200],
    ];
    const seen: Record<string, unknown> = {};
    for (const [name, token, status] of probes) {
      presented.add(token);
      const expected = sha256(token);
      compare.mockClear();
      hash.mockClear();
      const r = await get("/audit?limit=1", { authorization: `Bearer ${token}` });
      const calls = compare.mock.calls.map(([a, b]) => ({
        a: Buffer.from(a as Uint8Array),
        b: Buffer.from(b as Uint8Array),
      }));
      seen[name] = { status: r.status, compares: calls.length };
      expect(r.status).toBe(status);
      expect(calls).toHaveLength(2);
      for (const { a, b } of calls) {
        expect([a.length, b.length]).toEqual([32, 32]);
        expect(a.equals(expected)).toBe(true);
        expect(known.has(b.toString("hex"))).toBe(true);
      }
      expect(new Set(calls.map(({ b }) => b.toString("hex")))).toEqual(known);
      expect(hash.mock.calls.some(([algorithm]) => algorithm === "sha256")).toBe(true);
    }
    figure("admin", "comparisons per request", seen);
  });

  it("a token wrong in its first character and one wrong in its last take the same time (median ratio within 0.5–2)", async () => {
    const first = flip(MODERATOR, 0);
    const last = flip(MODERATOR, MODERATOR.length - 1);
    presented.add(first).add(last);
    const PAIRS = 300;
    const times = { first: [] as number[], last: [] as number[] };
    for (let i = 0; i < 40; i++) await get("/audit", { authorization: `Bearer ${i % 2 ? first : last}` }); // warm-up
    for (let i = 0; i < PAIRS; i++) {
      // Interleaved, order alternating, so that drift and GC hit both alike.
      const order = i % 2 === 0 ? (["first", "last"] as const) : (["last", "first"] as const);
      for (const which of order) {
        const r = await get("/audit", { authorization: `Bearer ${which === "first" ? first : last}` });
        expect(r.status).toBe(401);
        times[which].push(r.ms);
      }
    }
    const stat = (xs: number[]) => ({ p50: +percentile(xs, 50).toFixed(3), p90: +percentile(xs, 90).toFixed(3) });
    const ratio = percentile(times.first, 50) / percentile(times.last, 50);
    figure("admin", "401 latency, first vs last character wrong (ms)", {
      pairs: PAIRS,
      first: stat(times.first),
      last: stat(times.last),
      medianRatio: +ratio.toFixed(3),
    });
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

// ---- 4. roles ------------------------------------------------------------------------------

describe("a viewer cannot reach a moderator route", () => {
  it("escalation by headers, body, method override or path variants: 403 or 404, never 2xx, and nothing changes in Redis", async () => {
    const target = await join(world.port, "admin-role-target", { name: "RoleTarget" });
    players.push(target);
    const did = world.warden.digitalId(target.sub);
    await waitFor(async () => (await world.warden.sessions(did)).length === 1, "the target's binding");
    const { sanction } = (await world.warden.sanctions.issue({
      did,
      kind: "warn",
      reason: "standing warning",
      by: "test",
    })) as { sanction: { id: string } };
    expect((await get(`/identities/${did}`, VIEW())).status).toBe(200); // a viewer reads (and that read is audited)

    const snapshot = async () => ({
      keys: (await keysUnder(redis.admin, prefix, `{${did}}:*`)).sort(),
      sanctions: await redis.admin.hgetall(`${prefix}:{${did}}:sanctions`),
      audit: await redis.admin.xlen(`${prefix}:{audit}:log`),
    });
    const before = await snapshot();

    const moderatorRoutes: [string, string, unknown?][] = [
      ["POST", `/identities/${did}/sanctions`, { kind: "ban", reason: "viewer escalation" }],
      ["POST", `/sanctions/${sanction.id}/revoke`, { reason: "viewer escalation" }],
      ["GET", `/identities/${did}/export`],
      ["DELETE", `/identities/${did}`, { includingSanctions: true }],
    ];
    const upper = (p: string) => p.replace(/^\/[a-z]+/, (s) => s.toUpperCase());
    const attempts: [string, (p: string) => string, Record<string, string>, ((b: unknown) => unknown)?][] = [
      ["plain", (p) => p, {}],
      ["x-warden-actor: moderator", (p) => p, { "x-warden-actor": "moderator" }],
      ["x-warden-role / x-role", (p) => p, { "x-warden-role": "moderator", "x-role": "moderator" }],
      [
        "moderator token in another header",
        (p) => p,
        { "x-authorization": `Bearer ${MODERATOR}`, "x-forwarded-authorization": `Bearer ${MODERATOR}` },
      ],
      ["method override", (p) => p, { "x-http-method-override": "GET" }],
      ["?role=moderator", (p) => `${p}${p.includes("?") ? "&" : "?"}role=moderator`, {}],
      ["role in body", (p) => p, {}, (b) => (b === undefined ? undefined : { ...(b as object), role: "moderator" })],
      ["trailing slash", (p) => `${p}/`, {}],
      ["upper-case path", upper, {}],
      ["double slash", (p) => `/${p}`, {}],
      ["percent-encoded", (p) => p.replace(/\/identities\//, "/%69dentities/"), {}],
    ];
    const statuses: Record<string, number> = {};
    const notFound: string[] = [];
    for (const [method, path, body] of moderatorRoutes) {
      for (const [name, rewrite, headers, rebody] of attempts) {
        const b = rebody ? rebody(body) : body;
        const r = await request(
          method,
          rewrite(path),
          { ...VIEW(), ...headers },
          b === undefined ? undefined : JSON.stringify(b),
        );
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 404)
          notFound.push(`${method} ${rewrite(path).replace(sanction.id, "<id>").replace(did, "<did>")}`);
        expect({ method, path: rewrite(path), name, status: r.status }).toEqual({
          method,
          path: rewrite(path),
          name,
          status: expect.toSatisfy((s: number) => s === 403 || s === 404),
        });
      }
    }
    const after = await snapshot();
    figure("admin", "viewer escalation attempts", {
      attempts: moderatorRoutes.length * attempts.length,
      byStatus: statuses,
      notFound,
      redisUnchanged: JSON.stringify(before) === JSON.stringify(after),
    });
    expect(after).toEqual(before);
    expect(target.seen.notices.filter((n) => n.kind !== "warn")).toEqual([]);
    expect(target.room.connection.isOpen).toBe(true);
  });
});

// ---- 5. a hostile run, for the log and store checks ----------------------------------------

describe("a full run with valid, forged and broken requests", () => {
  it("moderation works end to end while forged headers, bad bodies and an internal error are answered", async () => {
    const p = await join(world.port, "admin-leak-target", { name: "LeakTarget" });
    players.push(p);
    const did = world.warden.digitalId(p.sub);
    await waitFor(
      async () => (await get(`/identities?q=leaktarget`, VIEW())).json?.identities?.length === 1,
      "lookup by name",
    );
    const ann = { "x-warden-actor": "ann", "x-warden-why": "ticket 7" };

    // The live feed, open for the whole run.
    presented.add(VIEWER);
    const controller = new AbortController();
    const feed = await fetch(`http://127.0.0.1:${world.port}/warden/api/feed`, {
      headers: { authorization: `Bearer ${VIEWER}` },
      signal: controller.signal,
    });
    expect(feed.status).toBe(200);
    const feedText = (async () => {
      let text = "";
      try {
        for await (const chunk of feed.body!) text += Buffer.from(chunk as Uint8Array).toString("utf8");
      } catch {
        // aborted
      }
      return text;
    })();

    const steps: Record<string, string> = {};
    const step = async (name: string, r: Promise<Reply>, status: number | number[]) => {
      const reply = await r;
      steps[name] = `${reply.status}${reply.json?.error ? ` ${reply.json.error.code}` : ""}`;
      const allowed = Array.isArray(status) ? status : [status];
      expect({ name, status: reply.status }).toEqual({
        name,
        status: allowed.includes(reply.status) ? reply.status : allowed[0],
      });
      return reply;
    };

    // Valid work, both roles.
    await step("viewer: identity", get(`/identities/${did}`, { ...VIEW(), ...ann }), 200);
    await step("viewer: events", get(`/identities/${did}/events?limit=5`, VIEW()), 200);
    const issued = await step(
      "moderator: mute",
      post(
        `/identities/${did}/sanctions`,
        { kind: "mute", duration: "10m", reason: "leak check" },
        { ...MOD(), ...ann },
      ),
      201,
    );
    await waitFor(() => p.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    await step(
      "moderator: revoke",
      post(`/sanctions/${issued.json.sanction.id}/revoke`, { reason: "appeal" }, MOD()),
      200,
    );
    await step("moderator: export", get(`/identities/${did}/export`, MOD()), 200);
    await step("viewer: audit", get("/audit?limit=50", VIEW()), 200);
    await step("viewer: audit verify", get("/audit/verify", VIEW()), 200);

    // Forged Authorization with the real tokens elsewhere in the request.
    const forged = bearer(randomBytes(24).toString("base64url"));
    const elsewhere = {
      "x-api-key": MODERATOR,
      "x-warden-actor": MODERATOR,
      "x-warden-why": VIEWER,
      cookie: `session=${MODERATOR}`,
      "proxy-authorization": `Bearer ${VIEWER}`,
      "x-forwarded-authorization": `Bearer ${MODERATOR}`,
      referer: `http://127.0.0.1/?token=${MODERATOR}`,
      "user-agent": `curl/8 ${VIEWER}`,
    };
    await step(
      "forged: GET with tokens elsewhere",
      get(`/identities/${did}?why=${MODERATOR}&access_token=${VIEWER}`, { ...forged, ...elsewhere }),
      401,
    );
    await step(
      "forged: POST with tokens in the body",
      post(
        `/identities/${did}/sanctions`,
        { kind: "ban", reason: MODERATOR, why: VIEWER, token: MODERATOR },
        { ...forged, ...elsewhere },
      ),
      401,
    );
    await step(
      "forged: viewer token in one line, moderator in a second",
      get(`/identities/${did}/export`, { authorization: [`Bearer ${VIEWER.slice(0, -1)}`, `Bearer ${MODERATOR}`] }),
      401,
    );
    await step(
      "forged: bad JSON with tokens elsewhere",
      post(`/identities/${did}/sanctions`, `{"reason": "${MODERATOR}"`, { ...forged, ...elsewhere }),
      [400, 401],
    ); // 400 while F9 is open

    // Errors with a valid token.
    await step("moderator: malformed JSON", post(`/identities/${did}/sanctions`, "{not json", MOD()), 400);
    await step(
      "moderator: 20 KB body",
      post(`/identities/${did}/sanctions`, { kind: "ban", reason: "x".repeat(20_000) }, MOD()),
      400,
    );
    await step(
      "moderator: bad duration",
      post(`/identities/${did}/sanctions`, { kind: "ban", reason: "x", duration: "10x" }, MOD()),
      400,
    );
    await step("moderator: bad DID", get("/identities/not-a-did", MOD()), 400);
    await step("moderator: unknown sanction", post(`/sanctions/${did}.zzzzzzzz/revoke`, {}, MOD()), 404);
    // The one internal error a request can cause: body-parser's 415 (charset / encoding) is
    // neither a WardenError nor a 400/413, so the router logs it and answers 500 INTERNAL.
    const errorsBefore = logger.lines.filter((l) => l.level === "error").length;
    const internal = await request(
      "POST",
      `/identities/${did}/sanctions`,
      { ...MOD(), "content-type": "application/json; charset=latin1" },
      "{}",
    );
    steps["moderator: unsupported charset"] = `${internal.status} ${internal.json?.error?.code}`;
    expect(internal.status).toBeGreaterThanOrEqual(400);
    expect(internal.json?.error?.code).toBeTypeOf("string");
    const internalLogged = logger.lines
      .filter((l) => l.level === "error")
      .slice(errorsBefore)
      .map((l) => l.message);

    // Erasure, of another ID (the target's data stays in Redis for the scan below).
    const gone = await join(world.port, "admin-forget-target", { name: "ForgetTarget" });
    players.push(gone);
    const goneDid = world.warden.digitalId(gone.sub);
    await world.warden.sanctions.issue({
      did: goneDid,
      kind: "ban",
      duration: 3_600_000,
      reason: "leak check",
      by: "test",
    });
    await step("moderator: export before erasure", get(`/identities/${goneDid}/export`, MOD()), 200);
    await step(
      "moderator: forget (ban kept)",
      request("DELETE", `/identities/${goneDid}`, { ...MOD(), ...ann }, JSON.stringify({ why: "leak check" })),
      200,
    );

    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const streamed = await feedText;
    answers.push(streamed);
    expect(streamed).toMatch(/event: sanction\n/);
    figure("admin", "full run", { steps, internalErrorLogged: internalLogged, feedBytes: streamed.length });
    expect(processErrors.errors).toEqual([]);
  });
});

// ---- 6. no token configured ----------------------------------------------------------------

describe("no token configured", () => {
  it.each([
    ["unset", undefined],
    ["set to the empty string", ""],
  ])(
    "WARDEN_ADMIN_TOKEN / WARDEN_VIEWER_TOKEN %s and no admin option: every path answers 404, with or without a token",
    async (_, value) => {
      const saved = { admin: process.env.WARDEN_ADMIN_TOKEN, viewer: process.env.WARDEN_VIEWER_TOKEN };
      let off: World | undefined;
      try {
        for (const name of ["WARDEN_ADMIN_TOKEN", "WARDEN_VIEWER_TOKEN"]) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
        off = await startWorld({
          port: 0,
          jwtSecret: JWT_SECRET,
          warden: { secret: WARDEN_SECRET, store: redis.url, prefix: `${prefix}-off`, logger: offLogger },
        });
        await off.warden.ready();
        const statuses: Record<string, number> = {};
        for (const [method, path, body] of ROUTES) {
          for (const auth of [{}, MOD(), VIEW(), bearer(flip(MODERATOR, 0))]) {
            const r = await request(
              method,
              path,
              auth,
              body === undefined ? undefined : JSON.stringify(body),
              off.port,
            );
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            expect({ method, path, status: r.status, apiError: r.json?.error !== undefined }).toEqual({
              method,
              path,
              status: 404,
              apiError: false,
            });
          }
        }
        expect(offLogger.lines.map((l) => l.message)).toContain(
          "admin API disabled: no WARDEN_ADMIN_TOKEN or WARDEN_VIEWER_TOKEN configured",
        );
        figure("admin", `no token configured (env ${value === undefined ? "unset" : "empty"})`, {
          requests: ROUTES.length * 4,
          byStatus: statuses,
        });
      } finally {
        if (saved.admin === undefined) delete process.env.WARDEN_ADMIN_TOKEN;
        else process.env.WARDEN_ADMIN_TOKEN = saved.admin;
        if (saved.viewer === undefined) delete process.env.WARDEN_VIEWER_TOKEN;
        else process.env.WARDEN_VIEWER_TOKEN = saved.viewer;
        await off?.close();
      }
    },
  );
});

// ---- 7. tokens never logged, stored or echoed ----------------------------------------------

describe("tokens never logged, stored or echoed (everything this file did)", () => {
  /** The real tokens, their digests, and every token-like string presented (12+ characters: random). */
  const needles = () =>
    [
      ...new Set([
        MODERATOR,
        VIEWER,
        sha256(MODERATOR).toString("hex"),
        sha256(VIEWER).toString("hex"),
        sha256(MODERATOR).toString("base64"),
        sha256(VIEWER).toString("base64"),
        ...presented,
      ]),
    ].filter((n) => n.length >= 12);
  const found = (haystack: string) => {
    const lower = haystack.toLowerCase();
    return needles()
      .filter((n) => lower.includes(n.toLowerCase()))
      .map((n) => `${n.slice(0, 6)}…(${n.length})`);
  };

  it("not in the warden's log nor in anything written to stdout, stderr or the console", () => {
    const logged = [...logger.lines, ...offLogger.lines].map((l) => `${l.level} ${l.message}`).join("\n");
    const written = output.chunks.join("");
    figure("admin", "log and output scanned", {
      loggerLines: logger.lines.length + offLogger.lines.length,
      errorLines: logger.lines.filter((l) => l.level === "error").length,
      outputChunks: output.chunks.length,
      outputBytes: written.length,
      needles: needles().length,
    });
    expect(logger.lines.length).toBeGreaterThan(0);
    expect({ inLog: found(logged), inOutput: found(written) }).toEqual({ inLog: [], inOutput: [] });
  });

  it("not in Redis: no key name and no value of any type, under any prefix (audit log included)", async () => {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.admin.scan(cursor, "MATCH", "*", "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    const values: string[] = [];
    for (const key of keys) {
      const type = await redis.admin.type(key);
      if (type === "string") values.push((await redis.admin.get(key)) ?? "");
      else if (type === "hash")
        for (const [f, v] of Object.entries(await redis.admin.hgetall(key))) values.push(`${f}=${v}`);
      else if (type === "set") values.push(...(await redis.admin.smembers(key)));
      else if (type === "zset") values.push(...(await redis.admin.zrange(key, 0, -1)));
      else if (type === "list") values.push(...(await redis.admin.lrange(key, 0, -1)));
      else if (type === "stream")
        for (const [id, fields] of await redis.admin.xrange(key, "-", "+")) values.push(`${id} ${fields.join("=")}`);
      else values.push(`unknown type ${type}`);
    }
    const audit = (await redis.admin.xrange(`${prefix}:{audit}:log`, "-", "+")).map(
      ([, fields]) => JSON.parse(fields[fields.indexOf("e") + 1] ?? "{}") as { actor?: string; action?: string },
    );
    const actors = [...new Set(audit.map((e) => e.actor))].sort();
    figure("admin", "Redis scanned", {
      keys: keys.length,
      values: values.length,
      bytes: values.reduce((n, v) => n + v.length, 0),
      auditEntries: audit.length,
      auditActors: actors,
      auditActions: [...new Set(audit.map((e) => e.action))].sort(),
    });
    expect(audit.length).toBeGreaterThan(5);
    for (const actor of actors) expect(actor).toMatch(/^api:(moderator|viewer)(:[\w .@-]+)?$/);
    expect({ inKeys: found(keys.join("\n")), inValues: found(values.join("\n")) }).toEqual({
      inKeys: [],
      inValues: [],
    });
  });

  it("not in any answer, error answers and the live feed included", () => {
    figure("admin", "answers scanned", { answers: answers.length, bytes: answers.reduce((n, a) => n + a.length, 0) });
    expect(found(answers.join("\n"))).toEqual([]);
  });
});

// ---- helpers -------------------------------------------------------------------------------

/** Tees everything this process writes to stdout / stderr and every console call (the originals still run). */
function captureOutput(): { chunks: string[]; stop(): void } {
  const chunks: string[] = [];
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      chunks.push(format(...args));
      original.apply(console, args);
    };
    restore.push(() => {
      console[method] = original;
    });
  }
  return {
    chunks,
    stop() {
      for (const r of restore.splice(0)) r();
    },
  };
}
