/**
 * Nothing that reaches the bus or the sanctions hash can kill a process or lock a player out.
 *
 * The demo world (`rooms/server.ts`, the `npm start` entry) runs as a CHILD PROCESS on a real
 * Redis with a real SDK client joined. A few thousand hostile messages, generated with
 * fast-check, are published on the warden's bus channel — non-JSON, wrong types, huge /
 * NaN / negative / far-future instants, unknown kinds and types, `__proto__` keys hiding a
 * valid ban, deep nesting, 1 MB strings, invalid UTF-8, sanctions of the joined player with
 * an end no `Date` can hold — and junk records are written straight into the player's
 * sanctions hash (as an insider with Redis access could). Then: the process is alive, the
 * client is still connected and still receives a valid sanction sent on purpose, the player
 * can join again (no 526), the admin API and `warden sanctions` answer, and the bad-message
 * line was logged once, not thousands of times.
 *
 * The same hostile messages and records go through the MemoryStore (in this process), and
 * the enforcer's `apply()` is fed malformed messages directly. Last, the same `npm start`
 * entry started on a port that is taken must exit non-zero with one line, no stack trace.
 */
import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { deriveDigitalId, type Sanction, type WardenNotice } from "../src/index.js";
import { parseBusMessage, toBusMessage } from "../src/sanctions/codec.js";
import { Enforcer } from "../src/sanctions/enforcer.js";
import { draftSanction } from "../src/sanctions/model.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import type { BusMessage } from "../src/stores/store.js";
import { warden as cli } from "./helpers/cli.js";
import { startWorldProcess, type WorldProcess } from "./helpers/process.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET, type Observed } from "./helpers/world.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const SUB = "bus-fuzz-player";
const did = deriveDigitalId(WARDEN_SECRET, SUB);
const otherDid = deriveDigitalId(WARDEN_SECRET, "bus-fuzz-someone-else");
const NOW = Date.now();
const HOUR = 3_600_000;
const MB = "x".repeat(1 << 20);
/** Sizes of each family of hostile messages (about 2 700 in all). */
const COUNTS = { issued: 700, revoked: 250, envelope: 250, proto: 250, nested: 40, text: 600, json: 600 };

// ---------------------------------------------------------------------------------------
// Hostile messages, invalid by construction: each sanction-like one carries at least one
// corruption that makes it no sanction (checked in this process by the codec below, so
// that a generator slip could never close the client "legitimately").
// ---------------------------------------------------------------------------------------

/** Placeholders JSON cannot carry: replaced in the text after JSON.stringify. */
const RAW = { "\u0001INF": "1e999", "\u0001NINF": "-1e999", "\u0001NAN": "NaN", "\u0001BIG": "1e400" } as const;
function toText(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [marker, raw] of Object.entries(RAW)) text = text.split(JSON.stringify(marker)).join(raw);
  return text;
}

const validSuffix = fc.stringMatching(/^[a-z2-7]{8}$/);
/** Instants no Date can hold, or that are no instants at all (never `null`: that would be "permanent"). */
const badInstant: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    8.64e15,
    8.64e15 + 1,
    8_639_000_000_000_000 + NOW,
    1e20,
    1e308,
    Number.MAX_VALUE,
    -1,
    -8.64e15,
    Number.MAX_SAFE_INTEGER + 2,
    NOW + 0.5,
  ),
  fc.constantFrom("\u0001INF", "\u0001NINF", "\u0001NAN", "\u0001BIG"),
  fc.constantFrom("NaN", "Infinity", String(NOW + HOUR), "2030-01-01", true, false, {}, [], [NOW]),
  fc.double().filter((x) => !(Number.isSafeInteger(x) && x >= 0 && x < 8.64e15) && Number.isFinite(x)),
  fc.integer({ min: -(2 ** 31), max: -1 }),
);
const notAKind: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("nuke", "BAN", " ban", "ban ", "__proto__", "constructor", "", "lifted", null, 3, true, ["ban"], {
    kind: "ban",
  }),
  fc.string({ maxLength: 12 }).filter((s) => !["warn", "mute", "freeze", "kick", "ban"].includes(s)),
);
const notAString: fc.Arbitrary<unknown> = fc.oneof(fc.constantFrom(null, 0, true, [], {}, ["x"]), fc.integer());

type Corruption = (s: Record<string, unknown>) => fc.Arbitrary<Record<string, unknown>>;
/** Each of these alone makes a sanction invalid. */
const CORRUPTIONS: Corruption[] = [
  (s) => badInstant.map((end) => ({ ...s, end })),
  (s) => badInstant.map((start) => ({ ...s, start })),
  (s) => notAKind.map((kind) => ({ ...s, kind })),
  (s) =>
    fc
      .oneof(
        fc.constantFrom(`${otherDid}.aaaaaaaa`, did, `${did}.`, `${did}.AAAAAAAA`, `${did}.aaaaaaa1`, ""),
        notAString,
      )
      .map((id) => ({ ...s, id })),
  // (Never another well-formed ID: with the id corruption above it would make a valid sanction of someone else.)
  (s) =>
    fc
      .oneof(fc.constantFrom(did.toUpperCase(), `${did}a`, did.slice(1), ""), notAString)
      .map((d) => ({ ...s, did: d })),
  (s) => fc.oneof(fc.string({ minLength: 501, maxLength: 600 }), notAString).map((reason) => ({ ...s, reason })),
  (s) => fc.oneof(fc.string({ minLength: 101, maxLength: 140 }), notAString).map((by) => ({ ...s, by })),
  (s) =>
    fc.record({ at: badInstant, by: fc.constant("x"), reason: fc.constant("") }).map((revoked) => ({ ...s, revoked })),
  (s) => fc.constant({ ...s, kind: "kick", end: null }),
  (s) => fc.constant({ ...s, end: (s.start as number) - 1 }),
  (s) =>
    fc
      .constantFrom("id", "did", "kind", "reason", "by", "start", "end")
      .map((key) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== key))),
];

/** A sanction of the joined player that would be valid (a ban: it would close the client). */
const baseSanction = (suffix: string, kind = "ban"): Record<string, unknown> => ({
  id: `${did}.${suffix}`,
  did,
  kind,
  reason: "fuzz",
  by: "fuzz",
  start: NOW,
  end: NOW + HOUR,
});

const corruptedSanction: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    validSuffix,
    fc.constantFrom("warn", "mute", "freeze", "kick", "ban"),
    fc.array(fc.nat(CORRUPTIONS.length - 1), { minLength: 1, maxLength: 3 }),
  )
  .chain(([suffix, kind, picks]) =>
    picks.reduce<fc.Arbitrary<Record<string, unknown>>>(
      (arb, i) => arb.chain((s) => CORRUPTIONS[i]!(s)),
      fc.constant(baseSanction(suffix, kind)),
    ),
  );

const issued = corruptedSanction.map((sanction) => toText({ type: "issued", sanction }));

const revoked = fc
  .tuple(validSuffix, fc.nat(3))
  .chain(([suffix, which]): fc.Arbitrary<Record<string, unknown>> => {
    const good = {
      type: "revoked",
      did,
      sanctionId: `${did}.${suffix}`,
      revocation: { at: NOW, by: "mod", reason: "ok" },
    };
    if (which === 0) return badInstant.map((at) => ({ ...good, revocation: { ...good.revocation, at } }));
    if (which === 1)
      return fc
        .constantFrom(`${otherDid}.${suffix}`, suffix, "", `${did}.${suffix}:r`)
        .map((sanctionId) => ({ ...good, sanctionId }));
    if (which === 2) return fc.oneof(fc.constant(otherDid), notAString).map((d) => ({ ...good, did: d }));
    return fc
      .oneof(
        notAString,
        fc.record({ at: fc.constant(NOW), by: fc.string({ minLength: 101, maxLength: 120 }), reason: fc.constant("") }),
      )
      .map((revocation) => ({ ...good, revocation }));
  })
  .map(toText);

/** Envelopes around a VALID ban: unknown types, missing or misplaced parts. */
const envelope = fc
  .tuple(validSuffix, fc.oneof(notAKind, fc.constantFrom("Issued", "issue", "revoke", "ISSUED")), fc.nat(3))
  .map(([suffix, type, which]) => {
    const sanction = baseSanction(suffix);
    if (which === 0) return toText({ type, sanction });
    if (which === 1) return toText({ type: "issued" });
    if (which === 2) return toText({ type: "issued", sanction: [sanction] });
    return toText([{ type: "issued", sanction }]);
  });

/** `__proto__` keys that carry a valid ban where a careless merge would find it. */
const proto = fc.tuple(validSuffix, fc.nat(3)).map(([suffix, which]) => {
  const ban = JSON.stringify(baseSanction(suffix));
  const inner = ban.slice(1, -1);
  if (which === 0) return `{"__proto__":{"type":"issued","sanction":${ban}},"type":"x"}`;
  if (which === 1) return `{"type":"issued","sanction":{"__proto__":${ban}}}`;
  if (which === 2) return `{"type":"issued","__proto__":{"sanction":${ban}}}`;
  return `{"type":"issued","sanction":{${inner},"__proto__":{"end":null},"end":"\u0001"}}`;
});

/** Deep nesting, within and beyond the decoder's length bound. */
const nested = fc
  .tuple(fc.integer({ min: 10, max: 100_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? `{"type":"issued","sanction":${"[".repeat(depth)}${"]".repeat(depth)}}`
      : `${'{"sanction":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

const text = fc.string({ unit: "binary", maxLength: 300 }).filter((s) => parseBusMessage(s) === null);
const json = fc.oneof(
  fc.json({ maxDepth: 6 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null"),
);

/** Every hostile message, in a seeded order; payloads are strings or raw bytes. */
function hostileMessages(): (string | Buffer)[] {
  const sample = <T>(arb: fc.Arbitrary<T>, n: number, offset: number) =>
    fc.sample(arb, { numRuns: n, seed: SEED + offset });
  const strings = [
    ...sample(issued, COUNTS.issued, 1),
    ...sample(revoked, COUNTS.revoked, 2),
    ...sample(envelope, COUNTS.envelope, 3),
    ...sample(proto, COUNTS.proto, 4),
    ...sample(nested, COUNTS.nested, 5),
    ...sample(text, COUNTS.text, 6),
    ...sample(json, COUNTS.json, 7),
    // 1 MB: in a reason, as a whole message, as a bare string.
    toText({ type: "issued", sanction: { ...baseSanction("mmmmmmmm"), reason: MB } }),
    `{"type":"issued","sanction":${JSON.stringify(baseSanction("nnnnnnnn"))},"pad":"${MB}"}`,
    MB,
    // The tester's reproduction: a valid-looking ban whose end is past the Date range.
    toText({ type: "issued", sanction: { ...baseSanction("pppppppp"), end: NOW + 8_639_000_000_000_000 } }),
  ];
  const bytes = fc
    .sample(fc.uint8Array({ minLength: 1, maxLength: 200 }), { numRuns: 40, seed: SEED + 8 })
    .map((b) => Buffer.concat([Buffer.from([0xff, 0xfe]), b]));
  const all = [...strings, ...bytes];
  // Shuffled (seeded), so that families interleave.
  const order = fc.sample(
    fc.shuffledSubarray(
      all.map((_, i) => i),
      { minLength: all.length, maxLength: all.length },
    ),
    { numRuns: 1, seed: SEED },
  )[0]!;
  return order.map((i) => all[i]!);
}

/** Junk written straight into the player's sanctions hash (field → value). */
function junkRecords(): Record<string, string> {
  const record = (suffix: string, patch: Record<string, unknown>) => toText({ ...baseSanction(suffix), ...patch });
  return {
    [`${did}.aaaaaaaa`]: record("aaaaaaaa", { end: NOW + 8_639_000_000_000_000 }),
    [`${did}.bbbbbbbb`]: "not json {",
    [`${did}.cccccccc`]: record("cccccccc", { end: "\u0001INF" }),
    [`${did}.dddddddd`]: record("dddddddd", { kind: "mute", end: "NaN" }),
    [`${did}.eeeeeeee`]: "[1,2,3]",
    [`${did}.ffffffff`]: MB,
    [`${did}.gggggggg`]: record("hhhhhhhh", {}), // a valid ban filed under another id
    [`${did}.iiiiiiii`]: toText({ ...baseSanction("iiiiiiii"), id: `${otherDid}.iiiiiiii`, did: otherDid }),
    [`${did}.jjjjjjjj`]: record("jjjjjjjj", { kind: "nuke" }),
    [`${did}.kkkkkkkk:r`]: "{broken",
    __proto__: record("llllllll", {}),
    "": "",
  };
}

// ---------------------------------------------------------------------------------------

const prefix = uniquePrefix("busfuzz");
const MODERATOR = "bus-fuzz-moderator-token-0123";
const env = {
  REDIS_URL: redisUrl(),
  WARDEN_SECRET,
  JWT_SECRET,
  WARDEN_PREFIX: prefix,
  WARDEN_ADMIN_TOKEN: MODERATOR,
  WARDEN_HEARTBEAT_MS: "500",
};
const keys = new RedisKeys(prefix);
const figures = { published: 0, publishMs: 0, bytes: 0 };
let redis: Redis;
let server: WorldProcess;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  server = await startWorldProcess(env);
}, 30_000);

afterAll(async () => {
  console.info(
    `[bus-fuzz] seed ${SEED}: ${figures.published} hostile messages (${(figures.bytes / 1e6).toFixed(1)} MB) published in ${figures.publishMs} ms; server process ${server?.child.exitCode === null && server?.child.signalCode === null ? "alive" : "DEAD"}`,
  );
  await server?.kill("SIGTERM");
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const alive = () => server.child.exitCode === null && server.child.signalCode === null;
const linesMatching = (pattern: RegExp) =>
  server.output
    .join("")
    .split("\n")
    .filter((line) => pattern.test(line));
const CRASH = /RangeError|TypeError|Uncaught|Unhandled|triggerUncaughtException|FATAL|at .*\(.*\.ts:\d+/;

async function apiGet(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/warden/api${path}`, {
    headers: { authorization: `Bearer ${MODERATOR}` },
  });
  return { status: res.status, body: await res.json() };
}

/** Publishes a valid sanction on purpose and waits until the joined client has its notice. */
async function sendValid(seen: Observed, kind: "warn" | "kick", reason: string): Promise<Sanction> {
  const sanction = draftSanction({ did, kind, reason, by: "bus-fuzz" }, Date.now());
  await redis.publish(keys.busChannel(), JSON.stringify({ type: "issued", sanction } satisfies BusMessage));
  await waitFor(
    () => seen.notices.some((n) => n.sanctionId === sanction.id),
    `the ${kind} notice sent on purpose`,
    15_000,
  );
  return sanction;
}

describe("hostile bus messages and stored records against a child server process", () => {
  it("survives thousands of hostile bus messages: process alive, client connected, one log line", async () => {
    const room = await client(server.port, SUB).joinOrCreate("world");
    const seen = observe(room);
    await sendValid(seen, "warn", "before the storm");

    const messages = hostileMessages();
    // The codec refuses every one (in this process): none of them is a sanction sent on purpose.
    const accepted = messages.filter((m) => typeof m === "string" && parseBusMessage(m) !== null);
    expect(accepted.slice(0, 3)).toEqual([]);

    const started = Date.now();
    const deadline = started + 15_000;
    for (let i = 0; i < messages.length && Date.now() < deadline; i += 200) {
      const pipeline = redis.pipeline();
      for (const m of messages.slice(i, i + 200)) {
        pipeline.publish(keys.busChannel(), m);
        figures.published++;
        figures.bytes += m.length;
      }
      await pipeline.exec();
      expect(
        alive(),
        `server process died after ${figures.published} messages (seed ${SEED})\n${server.output.join("").slice(-3000)}`,
      ).toBe(true);
    }
    figures.publishMs = Date.now() - started;
    expect(figures.published).toBe(messages.length);

    // Pub/sub keeps the order of one connection: when this notice arrives, every hostile
    // message before it went through the server's listener.
    await sendValid(seen, "warn", "after the storm");
    expect(alive()).toBe(true);
    expect(seen.leftCode).toBeNull();
    expect(seen.notices.filter((n: WardenNotice) => n.kind !== "warn")).toEqual([]);
    expect(room.connection.isOpen).toBe(true);

    expect(linesMatching(/dropped .*bus/i), server.output.join("").slice(-2000)).toHaveLength(1);
    expect(linesMatching(CRASH)).toEqual([]);
    await room.leave();
  }, 30_000);

  it("skips junk records in the player's sanctions hash: join, admin API and `warden sanctions` still answer", async () => {
    const valid = draftSanction(
      { did, kind: "warn", reason: "a real, stored warn", by: "bus-fuzz" },
      Date.now() - 1000,
    );
    await redis.hset(keys.sanctions(did), { ...junkRecords(), [valid.id]: JSON.stringify(valid) });

    // Joins read the hash (no 526, and no ban out of a junk record).
    const room = await client(server.port, SUB).joinOrCreate("world");
    const seen = observe(room);
    const second = await client(server.port, SUB).joinOrCreate("world");
    await second.leave();

    const api = await apiGet(`/identities/${did}/sanctions?all=true`);
    expect(api.status).toBe(200);
    const all = await apiGet(`/identities/${did}`);
    expect(all.status).toBe(200);

    const run = await cli(["sanctions", did, "--all", "--json"], { REDIS_URL: redisUrl(), WARDEN_PREFIX: prefix });
    expect(run.code, run.stderr).toBe(0);
    const listed = (JSON.parse(run.stdout) as Sanction[]).map((s) => s.id);
    expect(listed).toContain(valid.id);
    expect(listed.filter((id) => id !== valid.id && !id.startsWith(`${did}.`))).toEqual([]);
    expect(listed).not.toContain(`${did}.aaaaaaaa`);
    expect(listed).not.toContain(`${did}.gggggggg`);
    // The CLI says once that it skipped records, on stderr, and nothing else.
    expect(run.stderr.split("\n").filter((l) => /skipped an unreadable sanction record/.test(l))).toHaveLength(1);

    // A kick sent on purpose still closes the session: the bus and the enforcer work.
    await sendValid(seen, "kick", "closed on purpose");
    expect((await seen.left).code).toBe(4401);
    // And the player can come back: nothing in the hash amounts to a ban.
    const again = await client(server.port, SUB).joinOrCreate("world");
    const againSeen = observe(again);
    // Junk in the hash stops no real sanction from being stored (the store script passes over it).
    const ban = await fetch(`http://127.0.0.1:${server.port}/warden/api/identities/${did}/sanctions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MODERATOR}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "ban", duration: 60_000, reason: "a real ban after the junk" }),
    });
    expect(ban.status).toBe(201);
    expect((await againSeen.left).code).toBe(4403);
    await redis.hdel(
      keys.sanctions(did),
      ...(await redis.hkeys(keys.sanctions(did))).filter(
        (f) => !Object.keys(junkRecords()).includes(f) && f !== valid.id,
      ),
    );

    expect(alive()).toBe(true);
    expect(linesMatching(/skipped an unreadable sanction record/).length).toBeLessThanOrEqual(1);
    expect(linesMatching(/dropped .*bus/i)).toHaveLength(1);
    expect(linesMatching(CRASH)).toEqual([]);
  }, 30_000);
});

describe("the same hostile messages and records through the MemoryStore", () => {
  const hostileObjects = () =>
    fc.sample(corruptedSanction, { numRuns: 400, seed: SEED + 9 }).map((s) => {
      // As objects, JSON's stand-ins become the values themselves.
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s))
        out[k] =
          v === "\u0001INF" || v === "\u0001BIG"
            ? Infinity
            : v === "\u0001NINF"
              ? -Infinity
              : v === "\u0001NAN"
                ? NaN
                : v;
      return out;
    });
  const retention = { sanctionsMs: HOUR, bindingsMs: HOUR };

  it("saveSanction refuses every hostile record (INVALID_SANCTION, nothing published); subscribe drops bad messages and contains a throwing handler", async () => {
    const store = new MemoryStore();
    const received: BusMessage[] = [];
    const reported: number[] = [];
    await store.subscribe(
      (m) => received.push(m),
      undefined,
      (_reason, count) => reported.push(count),
    );
    const throwing: string[] = [];
    await store.subscribe(
      () => {
        throw new Error("boom");
      },
      undefined,
      (reason) => throwing.push(reason),
    );

    const hostile = hostileObjects().filter((s) => toBusMessage({ type: "issued", sanction: s }) === null);
    expect(hostile.length).toBeGreaterThan(350);
    const refusals = new Set<string>();
    for (const s of hostile) {
      await store.saveSanction(s as unknown as Sanction, retention).then(
        () => refusals.add("stored"),
        (e: { code?: string }) => refusals.add(String(e.code)),
      );
    }
    expect([...refusals]).toEqual(["INVALID_SANCTION"]);
    // A revocation no Date can hold, on a stored record: published, and dropped by every subscriber's check.
    const stored = draftSanction({ did, kind: "mute", duration: 60_000, reason: "stored", by: "test" }, Date.now());
    await store.saveSanction(stored, retention);
    await store.revokeSanction(stored.id, { at: NaN, by: "x", reason: "" }, retention);
    const valid = draftSanction({ did, kind: "mute", duration: 60_000, reason: "real", by: "test" }, Date.now());
    await store.saveSanction(valid, retention);
    await waitFor(() => received.length === 2, "the two valid messages");

    expect(received).toEqual([
      { type: "issued", sanction: stored },
      { type: "issued", sanction: valid },
    ]);
    expect(reported).toEqual([expect.any(Number)]);
    // The throwing subscriber: the bad revocation, then the two valid messages it threw on.
    expect(throwing).toHaveLength(3);
    expect(throwing.at(-1)).toMatch(/boom/);
    expect(store.dropped.busMessages).toBe(reported.length + throwing.length);
    await store.close();
  });

  it("a world on the MemoryStore keeps its client and its joins through hostile saves", async () => {
    const logged: string[] = [];
    const world: World = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: {
        secret: WARDEN_SECRET,
        logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m) },
      },
    });
    try {
      await world.warden.ready();
      const room = await client(world.port, SUB).joinOrCreate("world");
      const seen = observe(room);
      // The MemoryStore keeps what it is given and its sanctionsOf does not check records: leave
      // out bans and kicks, which the join gate would rightly act on (see the next test).
      const hostile = hostileObjects().filter((s) => s.kind !== "ban" && s.kind !== "kick");
      for (const s of hostile)
        await world.warden.store.saveSanction(s as unknown as Sanction, retention).catch(() => {});
      // The tester's case: a mute whose end no Date can hold is refused, not stored and published.
      const farOut = await world.warden.store
        .saveSanction(
          { ...baseSanction("rrrrrrrr", "mute"), end: NOW + 8_639_000_000_000_000 } as unknown as Sanction,
          retention,
        )
        .catch((e: { code?: string }) => e.code);
      expect(farOut).toBe("INVALID_SANCTION");

      const result = await world.warden.sanctions.issue({ did, kind: "warn", reason: "after the storm", by: "test" });
      if (result.status !== "issued") throw new Error("cancelled");
      await waitFor(() => seen.notices.some((n) => n.sanctionId === result.sanction.id), "the valid warn");
      expect(seen.leftCode).toBeNull();

      // The player joins again: the join reads the hostile records (no 526).
      const again = await client(world.port, SUB).joinOrCreate("world");
      observe(again);
      await again.leave();
      await room.leave();
      expect(logged.filter((l) => /RangeError|could not apply/.test(l))).toEqual([]);
    } finally {
      await world.close();
    }
  }, 30_000);

  it("a ban past the Date range is refused by the MemoryStore; a player it reaches anyway is refused cleanly (4403, never 526)", async () => {
    const world: World = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: { secret: WARDEN_SECRET, logger: { info() {}, warn() {}, error() {} } },
    });
    try {
      await world.warden.ready();
      const farOut = { ...baseSanction("ssssssss"), end: 1e20 } as unknown as Sanction;
      expect(await world.warden.store.saveSanction(farOut, retention).catch((e: { code?: string }) => e.code)).toBe(
        "INVALID_SANCTION",
      );
      // Applied without the store (as a resync or older code could): the join gate still answers with a reason.
      world.warden.enforcer.apply({ type: "issued", sanction: farOut });
      const refused = await rejection(client(world.port, SUB).joinOrCreate("world"));
      expect(refused.code).toBe(4403);
      expect(refused.message).toBe("banned until (invalid time): fuzz");
    } finally {
      await world.close();
    }
  }, 30_000);
});

describe("Enforcer.apply never throws", () => {
  it("drops malformed messages, logging one line per kind of message", () => {
    const logged: string[] = [];
    const enforcer = new Enforcer(
      {
        restrictionField: undefined,
        noticeIntervalMs: 1000,
        logger: { info() {}, warn() {}, error: (m) => logged.push(m) },
      },
      () => {},
    );
    const garbage = [
      undefined,
      null,
      1,
      "x",
      {},
      { type: "issued" },
      { type: "issued", sanction: null },
      { type: "revoked" },
      { type: "revoked", revocation: null, sanctionId: "x" },
    ];
    for (let round = 0; round < 50; round++)
      for (const g of garbage) expect(() => enforcer.apply(g as unknown as BusMessage)).not.toThrow();
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.length).toBeLessThanOrEqual(3);
    for (const line of logged) expect(line).toMatch(/^could not apply a (malformed|revoked|issued \w+) message/);
    // It still works afterwards.
    const ban = draftSanction({ did, kind: "ban", duration: 60_000, reason: "still works", by: "test" }, Date.now());
    enforcer.apply({ type: "issued", sanction: ban });
    expect(enforcer.peek(did)?.banned?.id).toBe(ban.id);
    enforcer.clear();
  });
});

describe("`npm start` with its port taken", () => {
  it("exits non-zero with one clear line, no stack trace", async () => {
    const blocker = createServer();
    // Same call as http.Server#listen(port) without a host: the dual-stack wildcard.
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", fileURLToPath(new URL("../rooms/server.ts", import.meta.url))],
        {
          env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), WARDEN_SECRET, JWT_SECRET },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
      const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      clearTimeout(timer);
      expect(code, `${stdout}${stderr}`).toBe(1);
      const lines = `${stdout}${stderr}`.split("\n").filter((l) => l.trim() !== "");
      expect(lines.filter((l) => /already in use/.test(l))).toEqual([
        `[warden-demo] port ${port} is already in use: set PORT to another port`,
      ]);
      expect(lines.filter((l) => /^\s+at |Error:|EADDRINUSE/.test(l))).toEqual([]);
      expect(stdout).not.toMatch(/READY|listening on/);
    } finally {
      blocker.close();
    }
  }, 30_000);
});
