/**
 * One validation path for every option: `resolveOptions` checks everything (policy and
 * chat detector included) before `createWarden` creates anything, refuses unknown keys at
 * every level with the nearest known one, bounds every number, and throws nothing but
 * `WardenError("INVALID_OPTION")`.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarden, WardenError } from "../src/index.js";
import { ChatDetector } from "../src/guard/chat.js";
import { DEFAULT_OPTIONS, INPUT_TYPE, resolveOptions, type WardenOptions } from "../src/options.js";
import { editDistance, suggest } from "../src/util/validate.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";

const secret = "options-secret-0123456789";
const quiet = { info() {}, warn() {}, error() {} };

/** Resolves `options` and returns the refusal, failing if nothing or anything but INVALID_OPTION is thrown. */
function refusal(options: unknown): WardenError {
  let thrown: unknown;
  try {
    resolveOptions(options as WardenOptions);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error(`resolveOptions accepted ${String(JSON.stringify(options))}`);
  expect(thrown).toBeInstanceOf(WardenError);
  expect(thrown).toMatchObject({ name: "WardenError", code: "INVALID_OPTION" });
  return thrown as WardenError;
}

const message = (options: unknown): string => refusal(options).message;
const withSecret = (rest: object): Record<string, unknown> => ({ secret, ...rest });

describe("unknown keys, at every level, with the nearest known one", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["failmode", { failmode: "closed" }, 'createWarden: unknown option "failmode" — did you mean "failMode"?'],
    [
      "retention.eventMs",
      { retention: { eventMs: 1000 } },
      'createWarden: unknown option "retention.eventMs" — did you mean "retention.eventsMs"?',
    ],
    [
      "guard.chat.alowList",
      { guard: { chat: { alowList: ["x"] } } },
      'createWarden: unknown option "guard.chat.alowList" — did you mean "guard.chat.allow"?',
    ],
    ["heartbeat", { heartbeat: 5000 }, 'createWarden: unknown option "heartbeat" — did you mean "heartbeatMs"?'],
    ["Store (case)", { Store: "redis://localhost" }, 'createWarden: unknown option "Store" — did you mean "store"?'],
    [
      "maxSessionPerId",
      { maxSessionPerId: 3 },
      'createWarden: unknown option "maxSessionPerId" — did you mean "maxSessionsPerId"?',
    ],
    ["timeout", { timeout: 100 }, 'createWarden: unknown option "timeout" — did you mean "storeTimeoutMs"?'],
    [
      "guard.maxMessageByte",
      { guard: { maxMessageByte: 10 } },
      'createWarden: unknown option "guard.maxMessageByte" — did you mean "guard.maxMessageBytes"?',
    ],
    [
      "guard.flod",
      { guard: { flod: false } },
      'createWarden: unknown option "guard.flod" — did you mean "guard.flood"?',
    ],
    [
      "guard.flood.defualt",
      { guard: { flood: { defualt: false } } },
      'createWarden: unknown option "guard.flood.defualt" — did you mean "guard.flood.default"?',
    ],
    [
      "guard.flood.default.rtae",
      { guard: { flood: { default: { rtae: 1, burst: 2 } } } },
      'createWarden: unknown option "guard.flood.default.rtae" — did you mean "guard.flood.default.rate"?',
    ],
    [
      "guard.flood.types.chat.brust",
      { guard: { flood: { types: { chat: { rate: 1, brust: 2 } } } } },
      'createWarden: unknown option "guard.flood.types.chat.brust" — did you mean "guard.flood.types.chat.burst"?',
    ],
    [
      'guard.flood.types["@input"].Rate',
      { guard: { flood: { types: { [INPUT_TYPE]: { Rate: 1, burst: 2 } } } } },
      'createWarden: unknown option "guard.flood.types["@input"].Rate" — did you mean "guard.flood.types["@input"].rate"?',
    ],
    [
      "guard.frame",
      { guard: { frame: false } },
      'createWarden: unknown option "guard.frame" — did you mean "guard.frames"?',
    ],
    [
      "guard.frames.rates",
      { guard: { frames: { rates: 1, burst: 2 } } },
      'createWarden: unknown option "guard.frames.rates" — did you mean "guard.frames.rate"?',
    ],
    [
      "guard.unknownType",
      { guard: { unknownType: false } },
      'createWarden: unknown option "guard.unknownType" — did you mean "guard.unknownTypes"?',
    ],
    [
      "guard.chat.feild",
      { guard: { chat: { feild: "msg" } } },
      'createWarden: unknown option "guard.chat.feild" — did you mean "guard.chat.field"?',
    ],
    [
      "guard.chat.english",
      { guard: { chat: { english: false } } },
      'createWarden: unknown option "guard.chat.english" — did you mean "guard.chat.englishDataset"?',
    ],
    [
      "guard.chat.term",
      { guard: { chat: { term: ["x"] } } },
      'createWarden: unknown option "guard.chat.term" — did you mean "guard.chat.terms"?',
    ],
    [
      "recorder.flushMS",
      { recorder: { flushMS: 5 } },
      'createWarden: unknown option "recorder.flushMS" — did you mean "recorder.flushMs"?',
    ],
    [
      "recorder.maxBuffer",
      { recorder: { maxBuffer: 5 } },
      'createWarden: unknown option "recorder.maxBuffer" — did you mean "recorder.maxBuffered"?',
    ],
    [
      "reports.treshold",
      { reports: { treshold: 2 } },
      'createWarden: unknown option "reports.treshold" — did you mean "reports.threshold"?',
    ],
    [
      "restrictionField.feild",
      { restrictionField: { avatarOf: () => undefined, feild: "r" } },
      'createWarden: unknown option "restrictionField.feild" — did you mean "restrictionField.field"?',
    ],
    [
      "policy.track",
      { policy: { track: {} } },
      'createWarden: unknown option "policy.track" — did you mean "policy.tracks"?',
    ],
    [
      "policy.tracks.spam.halfLife",
      { policy: { tracks: { spam: { halfLife: "5m", ladder: [{ at: 1, kind: "warn" }] } } } },
      'createWarden: unknown option "policy.tracks.spam.halfLife" — did you mean "policy.tracks.spam.halfLifeMs"?',
    ],
    [
      "policy.tracks.spam.ladder[0].durration",
      { policy: { tracks: { spam: { ladder: [{ at: 1, kind: "mute", durration: "5m" }] } } } },
      'createWarden: unknown option "policy.tracks.spam.ladder[0].durration" — did you mean "policy.tracks.spam.ladder[0].duration"?',
    ],
  ])("%s", (_label, options, expected) => {
    expect(message(withSecret(options))).toBe(expected);
  });

  it("lists the known keys when none is close", () => {
    expect(message(withSecret({ retention: { forever: true } }))).toBe(
      'createWarden: unknown option "retention.forever" (use eventsMs, sanctionsMs, auditMs, namesMs or bindingsMs)',
    );
    expect(message(withSecret({ zzz: 1 }))).toMatch(
      /^createWarden: unknown option "zzz" \(use secret, store, prefix, .* or logger\)$/,
    );
  });

  it("refuses an unknown key even when its value is undefined", () => {
    expect(message(withSecret({ failmode: undefined }))).toBe(
      'createWarden: unknown option "failmode" — did you mean "failMode"?',
    );
  });

  it("writes odd keys so the path stays unambiguous, and bounds very long ones", () => {
    expect(message(withSecret({ "fail mode": "closed" }))).toBe(
      'createWarden: unknown option "["fail mode"]" — did you mean "failMode"?',
    );
    expect(message(withSecret({ retention: { "events-ms": 1 } }))).toBe(
      'createWarden: unknown option "retention["events-ms"]" — did you mean "retention.eventsMs"?',
    );
    const long = message(withSecret({ ["x".repeat(100_000)]: 1 }));
    expect(long.length).toBeLessThan(500);
  });
});

describe("the edit distance behind the suggestions", () => {
  it("is case-insensitive Levenshtein with adjacent swaps", () => {
    expect(editDistance("failmode", "failMode")).toBe(0);
    expect(editDistance("eventMs", "eventsMs")).toBe(1);
    expect(editDistance("rtae", "rate")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests only what is close enough", () => {
    expect(suggest("flushMS", ["flushMs", "batchSize"])).toBe("flushMs");
    expect(suggest("colour", ["eventsMs", "sanctionsMs"])).toBeUndefined();
    expect(suggest("x", ["at", "kind"])).toBeUndefined();
  });
});

describe("wrong types, at every level", () => {
  it.each<[string, unknown, string]>([
    ["options that are null", null, "createWarden: options must be an object, got null"],
    ["options that are a string", "secret", 'createWarden: options must be an object, got "secret"'],
    ["options that are an array", [], "createWarden: options must be an object, got an array"],
    [
      "a missing secret",
      {},
      'createWarden: option "secret" must be a string or Buffer of at least 16 characters, got undefined',
    ],
    [
      "a short secret",
      { secret: "short" },
      'createWarden: option "secret" must be at least 16 characters (and at most 1024), got 5',
    ],
    [
      "a short Buffer secret",
      { secret: Buffer.alloc(8) },
      'createWarden: option "secret" must be at least 16 bytes (and at most 1024), got 8',
    ],
    [
      "a numeric store",
      withSecret({ store: 42 }),
      'createWarden: option "store" must be a redis:// URL, an ioredis Redis or Cluster, or a WardenStore, got 42',
    ],
    [
      "an http store",
      withSecret({ store: "http://localhost" }),
      'createWarden: option "store" must be a redis:// or rediss:// URL or redis-cluster://host:port,…, got "http://localhost"',
    ],
    [
      "a prefix with a space",
      withSecret({ prefix: "a b" }),
      'createWarden: option "prefix" must be 1-64 characters of letters, digits, _ . -, optionally with one hash tag such as {warden}, got "a b"',
    ],
    [
      "a prefix with two hash tags",
      withSecret({ prefix: "{a}{b}" }),
      'createWarden: option "prefix" must be 1-64 characters of letters, digits, _ . -, optionally with one hash tag such as {warden}, got "{a}{b}"',
    ],
    [
      "a cluster store with a node that is not host:port",
      withSecret({ store: "redis-cluster://127.0.0.1:7000,nowhere" }),
      'createWarden: option "store" must list a cluster\'s seed nodes as redis-cluster://host:port,…: Redis Cluster node "nowhere" is not host:port',
    ],
    [
      "a string identify",
      withSecret({ identify: "sub" }),
      'createWarden: option "identify" must be a function, got "sub"',
    ],
    [
      "a string muteTypes",
      withSecret({ muteTypes: "chat" }),
      'createWarden: option "muteTypes" must be an array of message types (non-empty strings or whole numbers), got "chat"',
    ],
    [
      "an empty freeze type",
      withSecret({ freezeTypes: ["move", ""] }),
      'createWarden: option "freezeTypes[1]" must be a message type (a non-empty string of at most 256 characters, or a whole number), got ""',
    ],
    [
      "a fractional freeze type",
      withSecret({ freezeTypes: [1.5] }),
      'createWarden: option "freezeTypes[0]" must be a message type (a non-empty string of at most 256 characters, or a whole number), got 1.5',
    ],
    [
      "a restrictionField array",
      withSecret({ restrictionField: [] }),
      'createWarden: option "restrictionField" must be { avatarOf(room, client), field? }, got an array',
    ],
    [
      "a restrictionField without avatarOf",
      withSecret({ restrictionField: { field: "x" } }),
      'createWarden: option "restrictionField" needs avatarOf, a function (room, client) => avatar, got undefined for it',
    ],
    [
      "an empty restrictionField.field",
      withSecret({ restrictionField: { avatarOf: () => undefined, field: "" } }),
      'createWarden: option "restrictionField.field" must be a non-empty string of at most 64 characters, got ""',
    ],
    [
      "a boolean failMode",
      withSecret({ failMode: true }),
      'createWarden: option "failMode" must be "open" or "closed", got true',
    ],
    [
      "a string timeout",
      withSecret({ storeTimeoutMs: "1500" }),
      'createWarden: option "storeTimeoutMs" must be a number of milliseconds above 0 and at most 60000 (1 min), got "1500"',
    ],
    [
      "a string retention",
      withSecret({ retention: "30d" }),
      'createWarden: option "retention" must be an object, got "30d"',
    ],
    [
      "an array retention",
      withSecret({ retention: [] }),
      'createWarden: option "retention" must be an object, got an array',
    ],
    [
      "a Map retention",
      withSecret({ retention: new Map() }),
      'createWarden: option "retention" must be an object, got a Map',
    ],
    [
      "a class instance as guard",
      withSecret({ guard: new (class GuardConfig {})() }),
      'createWarden: option "guard" must be an object, got a GuardConfig',
    ],
    ["a string guard", withSecret({ guard: "strict" }), 'createWarden: option "guard" must be an object, got "strict"'],
    [
      "a flood that is true",
      withSecret({ guard: { flood: true } }),
      'createWarden: option "guard.flood" must be an object ({ default?, types? }) or false, got true',
    ],
    [
      "flood types that are an array",
      withSecret({ guard: { flood: { types: [] } } }),
      'createWarden: option "guard.flood.types" must be an object of { rate, burst } or false by message type, got an array',
    ],
    [
      "a flood type that is a string",
      withSecret({ guard: { flood: { types: { chat: "fast" } } } }),
      'createWarden: option "guard.flood.types.chat" must be { rate, burst } or false, got "fast"',
    ],
    [
      "a flood default that is true",
      withSecret({ guard: { flood: { default: true } } }),
      'createWarden: option "guard.flood.default" must be { rate, burst } or false, got true',
    ],
    [
      "frames that are true",
      withSecret({ guard: { frames: true } }),
      'createWarden: option "guard.frames" must be { rate, burst } or false, got true',
    ],
    [
      "a string unknownTypes",
      withSecret({ guard: { unknownTypes: "no" } }),
      'createWarden: option "guard.unknownTypes" must be true or false, got "no"',
    ],
    [
      "a chat that is true",
      withSecret({ guard: { chat: true } }),
      'createWarden: option "guard.chat" must be an object or false, got true',
    ],
    [
      "a string chat.types",
      withSecret({ guard: { chat: { types: "chat" } } }),
      'createWarden: option "guard.chat.types" must be an array of message types (non-empty strings or whole numbers), got "chat"',
    ],
    [
      "an empty chat.field",
      withSecret({ guard: { chat: { field: "" } } }),
      'createWarden: option "guard.chat.field" must be a non-empty string of at most 64 characters, got ""',
    ],
    [
      "a string chat.recordText",
      withSecret({ guard: { chat: { recordText: "yes" } } }),
      'createWarden: option "guard.chat.recordText" must be true or false, got "yes"',
    ],
    [
      "a string englishDataset",
      withSecret({ guard: { chat: { englishDataset: "yes" } } }),
      'createWarden: option "guard.chat.englishDataset" must be true or false, got "yes"',
    ],
    [
      "a string chat.terms",
      withSecret({ guard: { chat: { terms: "noob" } } }),
      'createWarden: option "guard.chat.terms" must be an array of strings, got "noob"',
    ],
    [
      "a numeric term",
      withSecret({ guard: { chat: { terms: ["ok", 5] } } }),
      'createWarden: option "guard.chat.terms[1]" must be a string of at most 200 characters, got 5',
    ],
    [
      "an invisible term",
      withSecret({ guard: { chat: { terms: [" \u200b "] } } }),
      'createWarden: option "guard.chat.terms[0]" must contain at least one visible character, got " \u200b "',
    ],
    [
      "a string pattern",
      withSecret({ guard: { chat: { patterns: [/a/, "b"] } } }),
      'createWarden: option "guard.chat.patterns[1]" must be a RegExp, got "b"',
    ],
    [
      "an empty allowed word",
      withSecret({ guard: { chat: { allow: [""] } } }),
      'createWarden: option "guard.chat.allow[0]" must contain at least one visible character, got ""',
    ],
    [
      "an array recorder",
      withSecret({ recorder: [] }),
      'createWarden: option "recorder" must be an object, got an array',
    ],
    ["a string reports", withSecret({ reports: "on" }), 'createWarden: option "reports" must be an object, got "on"'],
    ["an array policy", withSecret({ policy: [] }), 'createWarden: option "policy" must be an object, got an array'],
    [
      "a logger without error",
      withSecret({ logger: { info() {}, warn() {} } }),
      'createWarden: option "logger" must have info, warn and error methods, got an object',
    ],
    [
      "a processId with a slash",
      withSecret({ processId: "a/b" }),
      'createWarden: option "processId" must be 1-64 characters of letters, digits, _ . -, got "a/b"',
    ],
    [
      "a string maxSessionsPerId",
      withSecret({ maxSessionsPerId: "5" }),
      'createWarden: option "maxSessionsPerId" must be a whole number from 1 to 1000, got "5"',
    ],
  ])("%s", (_label, options, expected) => {
    expect(message(options)).toBe(expected);
  });
});

describe("far-out numbers", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "storeTimeoutMs over 60 s",
      { storeTimeoutMs: 60_001 },
      'option "storeTimeoutMs" must be a number of milliseconds above 0 and at most 60000 (1 min), got 60001',
    ],
    [
      "a negative storeTimeoutMs",
      { storeTimeoutMs: -1 },
      'option "storeTimeoutMs" must be a number of milliseconds above 0 and at most 60000 (1 min), got -1',
    ],
    ["a NaN storeTimeoutMs", { storeTimeoutMs: NaN }, "got NaN"],
    [
      "an infinite heartbeatMs",
      { heartbeatMs: Infinity },
      'option "heartbeatMs" must be a number of milliseconds above 0 and at most 3600000 (1 h), got Infinity',
    ],
    ["heartbeatMs over 1 h", { heartbeatMs: 3_600_001 }, "got 3600001"],
    [
      "a zero retention",
      { retention: { sanctionsMs: 0 } },
      'option "retention.sanctionsMs" must be a number of milliseconds above 0 and at most 315360000000 (10 years), got 0',
    ],
    [
      "a retention over 10 years",
      { retention: { eventsMs: 315_360_000_001 } },
      'option "retention.eventsMs" must be a number of milliseconds above 0 and at most 315360000000 (10 years), got 315360000001',
    ],
    [
      "maxBuffered over 10 000 000",
      { recorder: { maxBuffered: 10_000_001 } },
      'option "recorder.maxBuffered" must be a whole number from 1 to 10000000, got 10000001',
    ],
    [
      "a fractional batchSize",
      { recorder: { batchSize: 2.5 } },
      'option "recorder.batchSize" must be a whole number from 1 to 10000, got 2.5',
    ],
    [
      "a huge maxInFlight",
      { recorder: { maxInFlight: 1e300 } },
      'option "recorder.maxInFlight" must be a whole number from 1 to 64, got 1e+300',
    ],
    [
      "a zero flushMs",
      { recorder: { flushMs: 0 } },
      'option "recorder.flushMs" must be a number of milliseconds above 0 and at most 60000 (1 min), got 0',
    ],
    [
      "a flood rate over 1e6",
      { guard: { flood: { default: { rate: 1_000_001, burst: 10 } } } },
      'option "guard.flood.default.rate" must be a number above 0 and at most 1000000, got 1000001',
    ],
    [
      "a zero flood burst",
      { guard: { flood: { types: { chat: { rate: 1, burst: 0 } } } } },
      'option "guard.flood.types.chat.burst" must be a number from 1 to 1000000, got 0',
    ],
    [
      "a negative frames rate",
      { guard: { frames: { rate: -5, burst: 10 } } },
      'option "guard.frames.rate" must be a number above 0 and at most 1000000, got -5',
    ],
    [
      "maxMessageBytes over 16 MiB",
      { guard: { maxMessageBytes: 16 * 1024 * 1024 + 1 } },
      'option "guard.maxMessageBytes" must be a whole number of bytes from 1 to 16777216 (16 MiB), got 16777217',
    ],
    [
      "maxSessionsPerId 0",
      { maxSessionsPerId: 0 },
      'option "maxSessionsPerId" must be a whole number from 1 to 1000, got 0',
    ],
    ["maxSessionsPerId 1001", { maxSessionsPerId: 1001 }, "got 1001"],
    ["a fractional maxSessionsPerId", { maxSessionsPerId: 2.5 }, "got 2.5"],
    [
      "a negative report threshold",
      { reports: { threshold: -1 } },
      'option "reports.threshold" must be a number above 0 and at most 1000, got -1',
    ],
    [
      "a report window over 30 days",
      { reports: { windowMs: 31 * 86_400_000 } },
      'option "reports.windowMs" must be a number of milliseconds above 0 and at most 2592000000 (30 days), got 2678400000',
    ],
    [
      "a huge maxPerWindow",
      { reports: { maxPerWindow: 2 ** 53 } },
      'option "reports.maxPerWindow" must be a whole number from 1 to 500, got 9007199254740992',
    ],
    [
      "a noticeIntervalMs over 1 h",
      { noticeIntervalMs: 3_600_001 },
      'option "noticeIntervalMs" must be a number of milliseconds above 0 and at most 3600000 (1 h), got 3600001',
    ],
    [
      "a ladder at of 1e9",
      { policy: { tracks: { spam: { ladder: [{ at: 1e9, kind: "warn" }] } } } },
      'option "policy.tracks.spam.ladder[0].at" must be a number above 0 and at most 1000000, got 1000000000',
    ],
    ["a bigint", { heartbeatMs: 5000n }, "got 5000n"],
  ])("%s", (_label, options, expected) => {
    expect(message(withSecret(options))).toContain(expected);
  });
});

describe("nothing but INVALID_OPTION, whatever the input", () => {
  it("turns a throwing getter into INVALID_OPTION at its path", () => {
    const top = withSecret({});
    Object.defineProperty(top, "guard", {
      enumerable: true,
      get: () => {
        throw new Error("boom");
      },
    });
    expect(message(top)).toBe('createWarden: option "guard" could not be read (Error: boom)');

    const nested = {
      get flushMs(): number {
        throw new TypeError("nope");
      },
    };
    const error = refusal(withSecret({ recorder: nested }));
    expect(error.message).toBe('createWarden: option "recorder.flushMs" could not be read (TypeError: nope)');
    expect(error.cause).toBeInstanceOf(TypeError);

    const oddThrow = {
      get eventsMs(): number {
        throw Symbol("odd");
      },
    };
    expect(message(withSecret({ retention: oddThrow }))).toBe(
      'createWarden: option "retention.eventsMs" could not be read (a symbol)',
    );
  });

  it("names a misspelt key even when reading it would throw", () => {
    const top = withSecret({});
    Object.defineProperty(top, "failmode", {
      enumerable: true,
      get: () => {
        throw new Error("boom");
      },
    });
    expect(message(top)).toBe('createWarden: unknown option "failmode" — did you mean "failMode"?');
  });

  it("turns a hostile Proxy into INVALID_OPTION", () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("no keys for you");
        },
      },
    );
    expect(message(hostile)).toBe("createWarden: options could not be read (Error: no keys for you)");
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(message(withSecret({ guard: { flood: proxy } }))).toMatch(
      /^createWarden: option "guard\.flood" could not be read \(TypeError: /,
    );
    const sneaky = new Proxy({ secret }, { get: (target, key) => (key === "secret" ? 42 : Reflect.get(target, key)) });
    expect(message(sneaky)).toBe(
      'createWarden: option "secret" must be a string or Buffer of at least 16 characters, got 42',
    );
    const pattern = new Proxy(/kys/, {});
    expect(message(withSecret({ guard: { chat: { patterns: [pattern] } } }))).toMatch(
      /^createWarden: option "guard\.chat\.patterns\[0\]" could not be read \(TypeError: /,
    );
    const store = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error("which class?");
        },
      },
    );
    expect(message(withSecret({ store }))).toBe('createWarden: option "store" could not be read (Error: which class?)');
  });

  it("never throws anything else, for hostile values at every path", () => {
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwing = Object.defineProperty({}, "x", {
      enumerable: true,
      get: () => {
        throw new Error("getter");
      },
    });
    const hostile: unknown[] = [
      null,
      "x",
      "",
      [],
      [1],
      NaN,
      Infinity,
      -Infinity,
      -1,
      0,
      1e300,
      2 ** 53,
      true,
      Symbol("s"),
      10n,
      () => {},
      new Map(),
      new Date(0),
      revoked,
      throwing,
      { rate: NaN, burst: NaN },
    ];
    const paths = [
      [],
      ["secret"],
      ["store"],
      ["prefix"],
      ["identify"],
      ["muteTypes"],
      ["freezeTypes"],
      ["restrictionField"],
      ["failMode"],
      ["storeTimeoutMs"],
      ["heartbeatMs"],
      ["maxSessionsPerId"],
      ["retention"],
      ["retention", "eventsMs"],
      ["guard"],
      ["guard", "maxMessageBytes"],
      ["guard", "flood"],
      ["guard", "flood", "default"],
      ["guard", "flood", "types"],
      ["guard", "flood", "types", "chat"],
      ["guard", "frames"],
      ["guard", "unknownTypes"],
      ["guard", "chat"],
      ["guard", "chat", "types"],
      ["guard", "chat", "terms"],
      ["guard", "chat", "patterns"],
      ["guard", "chat", "allow"],
      ["policy"],
      ["policy", "tracks"],
      ["policy", "tracks", "spam"],
      ["policy", "tracks", "spam", "ladder"],
      ["recorder"],
      ["recorder", "batchSize"],
      ["reports"],
      ["reports", "threshold"],
      ["noticeIntervalMs"],
      ["processId"],
      ["logger"],
    ];
    let refused = 0;
    for (const path of paths) {
      for (const value of hostile) {
        const options: Record<string, unknown> = { secret };
        let at = options;
        path.forEach((key, i) => {
          if (i === path.length - 1) at[key] = value;
          else at = (at[key] ??= {}) as Record<string, unknown>;
        });
        const given = path.length === 0 ? value : options;
        try {
          resolveOptions(given as WardenOptions);
        } catch (error) {
          refused++;
          if (!(error instanceof WardenError) || error.code !== "INVALID_OPTION") {
            throw new Error(
              `${path.join(".") || "(options)"} = ${typeof value === "symbol" ? "a symbol" : String(value)} threw ${String(error)}`,
            );
          }
        }
      }
    }
    expect(refused).toBeGreaterThan(paths.length * hostile.length * 0.8);
  });
});

describe("a refused configuration creates nothing", () => {
  let redis: Redis;
  const prefix = uniquePrefix("options");

  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  /** The resources (timers, sockets…) this thread holds, sorted so two snapshots compare. */
  const resources = (): string[] => [...process.getActiveResourcesInfo()].sort();

  it.each<[string, () => Record<string, unknown>]>([
    ["a misspelt failMode", () => ({ secret: "x".repeat(16), store: "redis://127.0.0.1:1", failmode: "closed" })],
    [
      "a bad chat pattern (once checked only after the store was created)",
      () => ({ secret, store: redisUrl(), prefix, guard: { chat: { patterns: ["kys"] } } }),
    ],
    [
      "a bad policy ladder",
      () => ({ secret, store: redisUrl(), prefix, policy: { tracks: { spam: { ladder: [] } } } }),
    ],
    ["a misspelt recorder key", () => ({ secret, store: redisUrl(), prefix, recorder: { flushMS: 5 } })],
  ])("%s: createWarden throws synchronously, no timer, no connection", async (_label, options) => {
    const before = resources();
    expect(() => createWarden(options() as unknown as WardenOptions)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    expect(resources()).toEqual(before);
    // And nothing reaches Redis later either.
    await new Promise((r) => setTimeout(r, 100));
    expect(await keysUnder(redis, prefix)).toEqual([]);
  });
});

describe("defaults", () => {
  const resolved = resolveOptions({ secret, logger: quiet });

  it("still resolve, with the new options", () => {
    expect(INPUT_TYPE).toBe("@input");
    expect(resolved.maxSessionsPerId).toBe(5);
    expect(resolved.guard.frames).toEqual({ rate: 120, burst: 240 });
    expect(resolved.guard.flood).toEqual({
      default: { rate: 15, burst: 30 },
      types: { chat: { rate: 1, burst: 5 }, "@input": { rate: 120, burst: 240 } },
    });
    expect(resolved.freezeTypes).toEqual(["move", "@input"]);
    expect(resolved.muteTypes).toEqual(["chat"]);
    expect(resolved.failMode).toBe("open");
    expect(resolved.storeTimeoutMs).toBe(1500);
    expect(resolved.heartbeatMs).toBe(5000);
    expect(resolved.retention).toEqual(DEFAULT_OPTIONS.retention);
    expect(resolved.recorder).toEqual(DEFAULT_OPTIONS.recorder);
    expect(resolved.reports).toEqual(DEFAULT_OPTIONS.reports);
    expect(resolved.guard.chat).toEqual({
      englishDataset: true,
      languages: ["en"],
      playerLanguages: [],
      roomLanguages: {},
      categories: { profanity: true, slur: true, sexual: true, harassment: true, spam: true },
      gameViolence: false,
      tracks: { profanity: "abuse", slur: "abuse", sexual: "abuse", harassment: "abuse", spam: "spam" },
      terms: [],
      patterns: [],
      allow: [],
      types: ["chat"],
      field: "text",
      recordText: false,
    });
    expect([...resolved.policy.tracks.keys()]).toEqual(["spam", "abuse", "malformed", "reported"]);
    expect(resolved.restrictionField).toBeUndefined();
  });

  it("are frozen, so no warden can change another's", () => {
    expect(Object.isFrozen(DEFAULT_OPTIONS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_OPTIONS.guard.flood.types)).toBe(true);
    expect(Object.isFrozen(DEFAULT_OPTIONS.freezeTypes)).toBe(true);
  });

  it("merge given values over the defaults, one level at a time", () => {
    const custom = resolveOptions({
      secret: Buffer.alloc(32, 1),
      logger: quiet,
      maxSessionsPerId: 1,
      retention: { eventsMs: 1000 },
      guard: {
        frames: false,
        flood: { types: { chat: false, move: { rate: 30, burst: 60 } } },
        chat: { terms: ["noobface"], patterns: [/kys/gy], recordText: true },
      },
    });
    expect(custom.maxSessionsPerId).toBe(1);
    expect(custom.retention).toEqual({ ...DEFAULT_OPTIONS.retention, eventsMs: 1000 });
    expect(custom.guard.frames).toBe(false);
    expect(custom.guard.flood).toEqual({
      default: { rate: 15, burst: 30 },
      types: { chat: false, "@input": { rate: 120, burst: 240 }, move: { rate: 30, burst: 60 } },
    });
    const chat = custom.guard.chat;
    if (chat === false) throw new Error("chat is on");
    expect(chat.recordText).toBe(true);
    expect(chat.patterns.map((p) => p.flags)).toEqual([""]);
    const { types: _types, field: _field, recordText: _recordText, tracks: _tracks, ...detector } = chat;
    // What the Warden constructor does with it: cannot throw any more.
    expect(new ChatDetector(detector).check("you n00bf4ce")).toEqual({
      term: "noobface",
      source: "term",
      category: "profanity",
    });
  });

  it("keep a type named __proto__ a plain entry", () => {
    const custom = resolveOptions({
      secret,
      logger: quiet,
      guard: { flood: { types: JSON.parse('{"__proto__":{"rate":1,"burst":1}}') } },
    });
    const flood = custom.guard.flood;
    if (flood === false) throw new Error("flood is on");
    expect(Object.getPrototypeOf(flood.types)).toBe(Object.prototype);
    expect(Object.hasOwn(flood.types, "__proto__")).toBe(true);
  });

  it("accept undefined for any known option", () => {
    expect(() =>
      resolveOptions({
        secret,
        store: undefined,
        guard: { chat: undefined, flood: undefined },
        retention: undefined,
        logger: quiet,
      }),
    ).not.toThrow();
  });
});
