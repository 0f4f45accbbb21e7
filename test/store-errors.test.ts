/**
 * How Redis failures become `WardenError` codes (src/stores/redis/errors.ts): by the error's
 * type and the reply's code, never by guessing from its text. Real Redis replies wherever a
 * single Redis can give them (a script's WRONGTYPE, the scripts' own WARDEN_* codes,
 * NOSCRIPT, BUSY, refused and closed connections, a command timeout); replies only a
 * cluster gives (CROSSSLOT, MOVED…) are built with the class ioredis raises for a reply.
 */
import { readdirSync, readFileSync } from "node:fs";
import { auditEntry } from "./helpers/audit.js";
import { Redis, ReplyError } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CATALOGUE, WardenError } from "../src/errors.js";
import { deriveDigitalId } from "../src/identity/digital-id.js";
import { draftSanction, type Sanction } from "../src/sanctions/model.js";
import { REPLY_CODES, storeError } from "../src/stores/redis/errors.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { RedisStore } from "../src/stores/redis/redis-store.js";
import { startRedisServer } from "../scripts/redis.mjs";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";

const retention = { sanctionsMs: 60_000, bindingsMs: 60_000 };
let n = 0;
const did = () => deriveDigitalId("store-errors-secret-0123", `errors-${++n}-${Math.random()}`);
const ban = (subject = did()): Sanction =>
  draftSanction({ did: subject, kind: "ban", duration: 60_000, reason: "store errors", by: "test" }, Date.now());

/** What a promise rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<WardenError> {
  const outcome = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(WardenError);
  return outcome as WardenError;
}

/** A reply error as ioredis raises it: its class, and the command it answers (DataHandler sets `command`). */
function reply(message: string, command: string): Error {
  const error = new ReplyError(message) as Error & { command?: { name: string; args: unknown[] } };
  error.command = { name: command, args: [] };
  return error;
}

/** Lua that keeps Redis busy for ARGV[1] ms (no writes, so SCRIPT KILL could stop it). */
const BUSY_LOOP = `
local t0 = redis.call("TIME")
local start = t0[1] * 1000000 + t0[2]
repeat
  local t = redis.call("TIME")
until (t[1] * 1000000 + t[2]) - start > tonumber(ARGV[1]) * 1000
return 1`;

const { admin, prefix } = prefixesForFile();

describe("real replies through RedisStore", () => {
  it("a script that ran and failed (WRONGTYPE inside saveSanction) is STORE_SCRIPT; the same reply to a plain command is STORE_UNAVAILABLE", async () => {
    const keys = new RedisKeys(prefix("errors-wrongtype"));
    const store = new RedisStore({ connection: redisUrl(), prefix: keys.prefix });
    await store.connect();
    try {
      const s = ban();
      await admin.set(keys.sanctions(s.did), "not a hash");
      const scripted = await rejection(store.saveSanction(s, retention));
      expect(scripted.code).toBe("STORE_SCRIPT");
      expect(scripted.cause).toBeInstanceOf(ReplyError);
      expect(scripted.message).toMatch(/^redis saveSanction: the script failed \(WRONGTYPE /);
      // Redis refused a plain command: not a script failure (unchanged from before the table).
      const plain = await rejection(store.sanctionsOf(s.did));
      expect(plain.code).toBe("STORE_UNAVAILABLE");
      expect(plain.message).toMatch(/^redis sanctionsOf: Redis refused the command \(WRONGTYPE /);
    } finally {
      await store.close();
    }
  });

  it("WARDEN_UNREADABLE: a sanction or revocation the script cannot decode is refused before anything is written", async () => {
    const keys = new RedisKeys(prefix("errors-unreadable"));
    const store = new RedisStore({ connection: redisUrl(), prefix: keys.prefix });
    await store.connect();
    try {
      // A lone surrogate: JSON.stringify writes it as \ud800, which Redis's cjson refuses.
      const unreadable = { ...ban(), reason: "bad \ud800 reason" };
      const saved = await rejection(store.saveSanction(unreadable, retention));
      expect(saved.code).toBe("STORE_SCRIPT");
      expect(saved.message).toContain(REPLY_CODES.WARDEN_UNREADABLE.message);
      expect(saved.message).toContain("WARDEN_UNREADABLE sanction record");
      expect(await admin.exists(keys.sanctions(unreadable.did))).toBe(0);

      const s = ban();
      await store.saveSanction(s, retention);
      const revoked = await rejection(
        store.revokeSanction(s.id, { at: Date.now(), by: "test", reason: "bad \ud800 revocation" }, retention),
      );
      expect(revoked.code).toBe("STORE_SCRIPT");
      expect(revoked.message).toContain("WARDEN_UNREADABLE revocation record");
      expect((await store.sanctionsOf(s.did)).map((x) => x.revoked)).toEqual([undefined]);
    } finally {
      await store.close();
    }
  });

  it("WARDEN_UNCHAINED: an audit batch that does not chain is STORE_SCRIPT, with the script's detail, and the head does not move", async () => {
    const store = new RedisStore({ connection: redisUrl(), prefix: prefix("errors-unchained") });
    await store.connect();
    try {
      const entry = auditEntry;
      await store.appendAudit([entry(1, "", "h1")], "", 0);
      const error = await rejection(store.appendAudit([entry(2, "h1", "h2"), entry(4, "h2", "h4")], "h1", 0));
      expect(error.code).toBe("STORE_SCRIPT");
      expect(error.message).toContain(REPLY_CODES.WARDEN_UNCHAINED.message);
      expect(error.message).toContain(
        "WARDEN_UNCHAINED entry 2 of 2 does not follow seq 2 (the log's head is at seq 1)",
      );
      expect(await store.auditHead()).toEqual({ seq: 1, hash: "h1", trimmed: 0 });
    } finally {
      await store.close();
    }
  });

  it("NOSCRIPT (a script Redis does not hold) is STORE_UNAVAILABLE: it is there again on the next call", async () => {
    const error = await admin.evalsha("0".repeat(40), 0).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReplyError);
    const mapped = storeError("saveSanction", error);
    expect(mapped.code).toBe("STORE_UNAVAILABLE");
    expect(mapped.message).toContain(REPLY_CODES.NOSCRIPT.message);
  });

  it("a refused connection, and a closed one, are STORE_UNAVAILABLE", async () => {
    const dead = new RedisStore({ connection: "redis://127.0.0.1:1", prefix: prefix("errors-dead") });
    expect((await rejection(dead.connect())).code).toBe("STORE_UNAVAILABLE");
    expect((await rejection(dead.sanctionsOf(did()))).code).toBe("STORE_UNAVAILABLE");
    await dead.close();

    const connection = new Redis(redisUrl());
    connection.on("error", () => {});
    const store = new RedisStore({ connection, prefix: prefix("errors-closed") });
    await store.connect();
    connection.disconnect();
    try {
      const error = await rejection(store.saveSanction(ban(), retention));
      expect(error.code).toBe("STORE_UNAVAILABLE");
      expect(error.message).toMatch(/^redis saveSanction: no answer from Redis/);
    } finally {
      await store.close();
    }
  });
});

describe("a Redis held by a slow script (a Redis of this test's own)", () => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let blocker: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    blocker = new Redis(server.url);
  });
  afterAll(() => {
    blocker?.disconnect();
    server?.stop();
  });

  it("BUSY is STORE_UNAVAILABLE, for a plain command and for a script alike", async () => {
    await blocker.config("SET", "busy-reply-threshold", "50");
    const store = new RedisStore({ connection: server.url, prefix: "errors-busy" });
    await store.connect();
    try {
      const busy = blocker.eval(BUSY_LOOP, 0, 1000);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const plain = await rejection(store.sanctionsOf(did()));
      const scripted = await rejection(store.saveSanction(ban(), retention));
      for (const error of [plain, scripted]) {
        expect(error.code).toBe("STORE_UNAVAILABLE");
        expect(error.cause).toBeInstanceOf(ReplyError);
        expect(error.message).toContain(REPLY_CODES.BUSY.message);
      }
      expect(await busy).toBe(1);
    } finally {
      await blocker.config("SET", "busy-reply-threshold", "5000");
      await store.close();
    }
  });

  it("a command that times out is STORE_UNAVAILABLE", async () => {
    const connection = new Redis(server.url, { commandTimeout: 100 });
    connection.on("error", () => {});
    const store = new RedisStore({ connection, prefix: "errors-timeout" });
    await store.connect();
    try {
      const busy = blocker.eval(BUSY_LOOP, 0, 500);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const error = await rejection(store.sanctionsOf(did()));
      expect(error.code).toBe("STORE_UNAVAILABLE");
      expect(error.message).toMatch(/^redis sanctionsOf: no answer from Redis/);
      expect(await busy).toBe(1);
    } finally {
      await store.close();
      connection.disconnect();
    }
  });
});

describe("replies only a cluster gives, as ioredis raises them", () => {
  it("CROSSSLOT is STORE_SCRIPT (a key layout bug), never STORE_UNAVAILABLE, from a script or a plain command", () => {
    for (const command of ["evalsha", "eval", "del"]) {
      const error = storeError("forget", reply("CROSSSLOT Keys in request don't hash to the same slot", command));
      expect(error.code).toBe("STORE_SCRIPT");
      expect(error.message).toBe(
        `redis forget: ${REPLY_CODES.CROSSSLOT.message} (CROSSSLOT Keys in request don't hash to the same slot)`,
      );
    }
  });

  it.each([
    ["LOADING Redis is loading the dataset in memory"],
    ["MOVED 3999 127.0.0.1:6381"],
    ["ASK 3999 127.0.0.1:6381"],
    ["TRYAGAIN Multiple keys request during rehashing of slot"],
    ["CLUSTERDOWN The cluster is down"],
    ["READONLY You can't write against a read only replica."],
    ["OOM command not allowed when used memory > 'maxmemory'. script: 0123, on @user_script:4."],
  ])("%s is STORE_UNAVAILABLE, also when a script got it", (message) => {
    for (const command of ["evalsha", "hgetall"])
      expect(storeError("op", reply(message, command)).code).toBe("STORE_UNAVAILABLE");
  });

  it("any other reply: STORE_SCRIPT from a script, STORE_UNAVAILABLE from a plain command", () => {
    const failed =
      "ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 0123, on @user_script:1.";
    expect(storeError("recordOffenses", reply(failed, "evalsha")).code).toBe("STORE_SCRIPT");
    expect(storeError("recordOffenses", reply(failed, "EVAL")).code).toBe("STORE_SCRIPT");
    expect(storeError("sanctionsOf", reply("ERR unknown command", "hgetall")).code).toBe("STORE_UNAVAILABLE");
    // A reply error of another copy of ioredis (a connection the caller brought) is still a reply.
    const foreign = Object.assign(new Error("CROSSSLOT Keys in request don't hash to the same slot"), {
      name: "ReplyError",
    });
    expect(storeError("forget", foreign).code).toBe("STORE_SCRIPT");
    // Not a reply at all: the command got no answer, whatever the text says.
    expect(storeError("saveSanction", new Error("CROSSSLOT in a message that is no reply")).code).toBe(
      "STORE_UNAVAILABLE",
    );
    expect(storeError("saveSanction", new Error("user_script: script: ERR Error")).code).toBe("STORE_UNAVAILABLE");
  });

  it("a WardenError goes through as it is; a non-Error becomes a WardenError with it as the cause", () => {
    const own = new WardenError("STORE_SCRIPT", "already mapped");
    expect(storeError("op", own)).toBe(own);
    const odd = storeError("op", "a string");
    expect(odd).toBeInstanceOf(WardenError);
    expect(odd).toMatchObject({ code: "STORE_UNAVAILABLE", cause: "a string" });
  });
});

describe("the table", () => {
  const LUA_DIR = new URL("../src/stores/redis/lua/", import.meta.url);
  const scripts = readdirSync(LUA_DIR, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".lua"))
    .map((name) => ({ name, source: readFileSync(new URL(name, LUA_DIR), "utf8") }));

  it("every code a script answers is in the table and in the script's header; every WARDEN_ code of the table is answered by a script", () => {
    const answered = new Set<string>();
    for (const { name, source } of scripts) {
      for (const [, code] of source.matchAll(/redis\.error_reply\("([A-Z_]+)[ "]/g)) {
        answered.add(code!);
        expect(Object.keys(REPLY_CODES), `${name} answers ${code}`).toContain(code);
        const header = source.slice(0, source.indexOf("]]"));
        expect(header, `${name} lists ${code} under Errors`).toMatch(new RegExp(`Errors[\\s\\S]*${code}`));
      }
    }
    expect([...answered].sort()).toEqual(
      Object.keys(REPLY_CODES)
        .filter((code) => code.startsWith("WARDEN_"))
        .sort(),
    );
  });

  it("maps every code to a catalogued WardenError code, with a sentence", () => {
    for (const [reply, { code, message }] of Object.entries(REPLY_CODES)) {
      expect(Object.keys(ERROR_CATALOGUE), reply).toContain(code);
      expect(message.length, reply).toBeGreaterThan(10);
    }
  });
});
