/**
 * Durations and instants are bounded everywhere: `parseDuration`, `draftSanction`, the
 * policy ladder, the HTTP API (400) and the CLI (exit 2) refuse a duration over
 * MAX_DURATION_MS with INVALID_DURATION and write nothing; MAX itself is accepted; time
 * formatting never throws; stored or published sanctions are checked by the codec.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { deriveDigitalId, WardenError } from "../src/index.js";
import { MAX_DURATION_MS, parseDuration } from "../src/duration.js";
import { resolvePolicy } from "../src/policy/ladder.js";
import { parseBusMessage, parseRevocation, parseSanction } from "../src/sanctions/codec.js";
import { banMessage } from "../src/sanctions/enforcer.js";
import { describeSanction, draftSanction, type Sanction } from "../src/sanctions/model.js";
import { formatInstant, isInstant, MAX_INSTANT_MS } from "../src/util/time.js";
import { warden as cli } from "./helpers/cli.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { JWT_SECRET, WARDEN_SECRET } from "./helpers/world.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 0, 1);
const did = deriveDigitalId(WARDEN_SECRET, "durations-player");

function refusal(run: () => unknown): WardenError {
  try {
    run();
  } catch (e) {
    if (e instanceof WardenError) return e;
    throw e;
  }
  throw new Error("expected a WardenError, but nothing was thrown");
}

describe("MAX_DURATION_MS", () => {
  it("is ten years of 3650 days", () => {
    expect(MAX_DURATION_MS).toBe(3650 * DAY);
  });

  it("parseDuration accepts MAX itself and refuses anything longer with INVALID_DURATION", () => {
    expect(parseDuration("3650d")).toBe(MAX_DURATION_MS);
    expect(parseDuration("521w")).toBe(521 * 7 * DAY);
    for (const text of ["3651d", "522w", "87601h", "5256001m", "315360001s", "14285000w", "999999999w", "999999999d"]) {
      const error = refusal(() => parseDuration(text));
      expect(error.code, text).toBe("INVALID_DURATION");
      expect(error.message, text).toMatch(/maximum of 3650d/);
    }
  });

  it("draftSanction refuses a duration over MAX with INVALID_DURATION, accepts MAX", () => {
    const request = { did, kind: "ban" as const, reason: "x", by: "test" };
    expect(draftSanction({ ...request, duration: MAX_DURATION_MS }, NOW).end).toBe(NOW + MAX_DURATION_MS);
    for (const duration of [MAX_DURATION_MS + 1, 8_639_000_000_000_000, Number.MAX_SAFE_INTEGER, 1e300, Infinity]) {
      expect(refusal(() => draftSanction({ ...request, duration }, NOW)).code, String(duration)).toBe(
        "INVALID_DURATION",
      );
    }
    // Malformed (not too long) stays INVALID_SANCTION.
    for (const duration of [0, -1, 1.5, NaN]) {
      expect(refusal(() => draftSanction({ ...request, duration }, NOW)).code, String(duration)).toBe(
        "INVALID_SANCTION",
      );
    }
    // A clock gone wrong never produces an instant a Date cannot hold.
    expect(refusal(() => draftSanction({ ...request, duration: 60_000 }, MAX_INSTANT_MS - 1)).code).toBe(
      "INVALID_SANCTION",
    );
    expect(refusal(() => draftSanction({ ...request, kind: "kick" }, NaN)).code).toBe("INVALID_SANCTION");
  });

  it("policy ladder steps get the same bound", () => {
    const ladder = (duration: number | string) => ({
      tracks: { spam: { ladder: [{ at: 1, kind: "ban" as const, duration }] } },
    });
    expect(resolvePolicy(ladder("3650d")).tracks.get("spam")!.ladder[0]!.duration).toBe(MAX_DURATION_MS);
    expect(resolvePolicy(ladder(MAX_DURATION_MS)).tracks.get("spam")!.ladder[0]!.duration).toBe(MAX_DURATION_MS);
    for (const duration of ["3651d", MAX_DURATION_MS + 1, 8_639_000_000_000_000]) {
      const error = refusal(() => resolvePolicy(ladder(duration)));
      expect(error.code, String(duration)).toBe("INVALID_OPTION");
      expect(error.message, String(duration)).toMatch(/policy\.tracks\.spam\.ladder\[0\]\.duration.*(3650d|10 years)/);
    }
  });
});

describe("formatting instants never throws", () => {
  it.each([NaN, Infinity, -Infinity, -1, -8.64e15 - 1, 8.64e15 + 1, 1e300, Number.MAX_VALUE])(
    "formatInstant(%s)",
    (ms) => {
      expect(() => formatInstant(ms)).not.toThrow();
      expect(typeof formatInstant(ms)).toBe("string");
    },
  );

  it("formats what a Date holds, and names the rest", () => {
    expect(formatInstant(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(formatInstant(NOW)).toBe("2025-01-01T00:00:00.000Z");
    expect(formatInstant(8.64e15)).toBe("+275760-09-13T00:00:00.000Z");
    expect(formatInstant(8.64e15 + 1)).toBe("(invalid time)");
    expect(formatInstant(NaN)).toBe("(invalid time)");
    expect(formatInstant("2025" as unknown as number)).toBe("(invalid time)");
  });

  it("isInstant is [0, 8.64e15) in whole milliseconds", () => {
    expect([0, NOW, MAX_INSTANT_MS - 1].map(isInstant)).toEqual([true, true, true]);
    expect([-1, MAX_INSTANT_MS, 1.5, NaN, Infinity, "1", null].map(isInstant)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("describeSanction and banMessage survive an end no Date can hold", () => {
    const ban: Sanction = {
      id: `${did}.aaaaaaaa`,
      did,
      kind: "ban",
      reason: "r",
      by: "x",
      start: NOW,
      end: 8_639_000_000_000_000 + NOW,
    };
    expect(describeSanction(ban)).toBe("You are banned until (invalid time): r");
    expect(banMessage(ban)).toBe("banned until (invalid time): r");
    expect(describeSanction({ ...ban, end: NaN })).toMatch(/invalid time/);
  });
});

describe("the codec refuses what a Date cannot hold", () => {
  const good: Sanction = {
    id: `${did}.abcdefgh`,
    did,
    kind: "mute",
    reason: "spam",
    by: "policy",
    start: NOW,
    end: NOW + 60_000,
  };

  it("reads a real sanction, revocation and bus message back", () => {
    expect(parseSanction(JSON.stringify(good))).toEqual(good);
    expect(parseSanction(JSON.stringify({ ...good, kind: "ban", end: null }))).toEqual({
      ...good,
      kind: "ban",
      end: null,
    });
    expect(parseRevocation(JSON.stringify({ at: NOW, by: "mod", reason: "" }))).toEqual({
      at: NOW,
      by: "mod",
      reason: "",
    });
    expect(parseBusMessage(JSON.stringify({ type: "issued", sanction: good }))).toEqual({
      type: "issued",
      sanction: good,
    });
    const revoked = { type: "revoked", did, sanctionId: good.id, revocation: { at: NOW, by: "mod", reason: "ok" } };
    expect(parseBusMessage(JSON.stringify(revoked))).toEqual(revoked);
  });

  it.each([
    ["end past the Date range", { ...good, end: 8_640_000_000_000_001 }],
    ["end 8.64e15 exactly", { ...good, end: MAX_INSTANT_MS }],
    ["end before start", { ...good, end: NOW - 1 }],
    ["negative start", { ...good, start: -1, end: 0 }],
    ["fractional end", { ...good, end: NOW + 0.5 }],
    ["end as a string", { ...good, end: String(NOW + 60_000) }],
    ["permanent kick", { ...good, kind: "kick", end: null }],
    ["unknown kind", { ...good, kind: "nuke" }],
    ["id of another did", { ...good, id: `${"b".repeat(26)}.abcdefgh` }],
    ["malformed id", { ...good, id: "x" }],
    ["reason too long", { ...good, reason: "r".repeat(501) }],
    ["issuer too long", { ...good, by: "b".repeat(101) }],
    ["bad revocation", { ...good, revoked: { at: 1e300, by: "x", reason: "" } }],
    ["an array", [good]],
    ["null", null],
  ])("refuses a sanction with %s", (_label, value) => {
    expect(parseSanction(JSON.stringify(value))).toBeNull();
    expect(parseBusMessage(JSON.stringify({ type: "issued", sanction: value }))).toBeNull();
  });

  it("refuses text that is not JSON, too long, or not a string", () => {
    for (const text of [
      "",
      "{",
      "NaN",
      "1".repeat(20_000),
      `{"type":"issued","sanction":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    ]) {
      expect(parseBusMessage(text)).toBeNull();
      expect(parseSanction(text)).toBeNull();
    }
    expect(parseBusMessage(undefined)).toBeNull();
    expect(parseBusMessage(Buffer.from("{}"))).toBeNull();
  });
});

describe("the API and the CLI refuse a duration past MAX and store nothing", () => {
  const MODERATOR = "moderator-token-durations-0123";
  const prefix = uniquePrefix("durations");
  const env = { WARDEN_DIRECT: "1", REDIS_URL: redisUrl(), WARDEN_PREFIX: prefix, WARDEN_SECRET };
  let world: World;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    world = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix, logger: { info() {}, warn() {}, error() {} } },
      admin: { moderatorTokens: [MODERATOR] },
    });
    await world.warden.ready();
  });

  afterAll(async () => {
    await world?.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  async function post(body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${world.port}/warden/api/identities/${did}/sanctions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MODERATOR}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const sanctionKeys = async () => (await keysUnder(redis, prefix)).filter((k) => k.endsWith(":sanctions"));

  it("HTTP API: 400 INVALID_DURATION for numbers and strings past MAX; nothing stored or audited", async () => {
    const auditBefore = await redis.xlen(`${prefix}:{audit}:log`);
    for (const duration of [8_639_000_000_000_000, MAX_DURATION_MS + 1, 1e300, "14285000w", "3651d", -5, 0, 1.5]) {
      const res = await post({ kind: "ban", reason: "too long", duration });
      expect({ duration, status: res.status, code: res.body?.error?.code }).toEqual({
        duration,
        status: 400,
        code: "INVALID_DURATION",
      });
    }
    expect(await sanctionKeys()).toEqual([]);
    expect(await redis.xlen(`${prefix}:{audit}:log`)).toBe(auditBefore);
  });

  it("HTTP API: MAX itself is accepted, as a number and as 3650d", async () => {
    for (const duration of [MAX_DURATION_MS, "3650d"]) {
      const res = await post({ kind: "mute", reason: "ten years", duration });
      expect(res.status, String(duration)).toBe(201);
      expect(res.body.sanction.end - res.body.sanction.start).toBe(MAX_DURATION_MS);
    }
  });

  it("CLI: exit 2 with one line for a duration past MAX; nothing written", async () => {
    const before = await keysUnder(redis, prefix);
    for (const duration of ["14285000w", "3651d", "999999999w"]) {
      const run = await cli(["ban", did, "--for", duration, "--reason", "too long"], env);
      expect(run.code, duration).toBe(2);
      expect(run.stderr.trim().split("\n"), duration).toHaveLength(1);
      expect(run.stderr).toMatch(/maximum of 3650d/);
      expect(run.stdout).toBe("");
    }
    expect((await keysUnder(redis, prefix)).sort()).toEqual(before.sort());
  });

  it("CLI: 3650d is accepted and `warden sanctions` lists it", async () => {
    const run = await cli(["freeze", did, "--for", "3650d", "--reason", "ten years", "--json"], env);
    expect(run.code).toBe(0);
    const sanction = JSON.parse(run.stdout) as Sanction;
    expect(sanction.end! - sanction.start).toBe(MAX_DURATION_MS);
    const list = await cli(["sanctions", did], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(sanction.id);
  });
});
