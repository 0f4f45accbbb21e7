import type { Client, Room } from "@colyseus/core";
import { Cluster, Redis } from "ioredis";
import type { WardenStore } from "./stores/store.js";
import { CHAT_OPTION_KEYS, resolveChatOptions, type ChatDetectorOptions, type ResolvedChatOptions } from "./guard/chat.js";
import { resolvePolicy, type Policy, type PolicyOptions } from "./policy/ladder.js";
import type { RecorderOptions } from "./recorder/recorder.js";
import {
  MAX_SPAN_MS,
  attempt,
  childPath,
  deepFreeze,
  fail,
  numberIn,
  oneOf,
  optionalBoolean,
  optionalFunction,
  optionalName,
  optionalNumber,
  readArray,
  readObject,
  show,
  type NumberRule,
  type Snapshot,
} from "./util/validate.js";

/**
 * The pseudo message type of Colyseus's `defineInput` frames: name it in
 * `guard.flood.types`, `muteTypes` or `freezeTypes` to limit or restrict inputs.
 */
export const INPUT_TYPE = "@input";

/** What `identify` returns: the verified account subject and an optional display name. */
export interface Identity {
  /** Server-verified account id (1-512 characters, no NUL). Hashed into the digital ID; never stored or logged. */
  subject: string;
  /**
   * The identity provider that vouched for the subject (a JWT's `iss`), when the game has
   * more than one or its tokens name it: the digital ID is then derived from issuer and
   * subject together, so that the same account id at two providers is two people. Leave
   * it out and the ID is derived from the subject alone. Adding it later gives every
   * player of that issuer a new ID (their old ID's sanctions do not follow).
   */
  issuer?: string;
  /** Display name, shown to moderators; bounded and cleaned before use. */
  name?: string;
}

/** Where the warden keeps its records. */
export type StoreOption = string | Redis | Cluster | WardenStore;

/** Minimal logger; pino, console and most loggers fit. */
export interface WardenLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Opt-in publication of each avatar's restriction into room state. */
export interface RestrictionFieldOptions {
  /** Returns the schema object of the client's avatar (or undefined if it has none yet). */
  avatarOf(room: Room, client: Client): object | undefined;
  /**
   * Name of a `string` field on that object. The warden writes `""`, `"muted"`, `"frozen"`
   * or `"muted frozen"` into it.
   * @defaultValue `"restriction"`
   */
  field?: string;
}

/** A token bucket: `rate` messages per second on average, bursts up to `burst`. */
export interface FloodLimit {
  /** Messages per second on average; above 0, at most 1 000 000. */
  rate: number;
  /** Most messages in a burst; from 1 to 1 000 000. */
  burst: number;
}

/** The chat detector: abusive text in chat messages. */
export interface ChatGuardOptions extends ChatDetectorOptions {
  /**
   * Message types whose text is checked.
   * @defaultValue `["chat"]`
   */
  types?: readonly (string | number)[];
  /**
   * Field of the message that holds the text (a message that is itself a string is checked whole).
   * @defaultValue `"text"`
   */
  field?: string;
  /**
   * Also record the whole message (bounded to 120 characters) as evidence, not only the matched term.
   * @defaultValue `false`
   */
  recordText?: boolean;
}

/** The hot-path guard: detectors run synchronously on every inbound frame. */
export interface GuardOptions {
  /**
   * Frames larger than this many bytes are dropped and recorded (`payload/oversized`); a
   * whole number from 1 to 16 MiB. The WebSocket transport refuses frames over its own `maxPayload` (4 KB by default) before
   * they reach the room; those are recorded as `payload/oversized_frame`.
   * @defaultValue `2048`
   */
  maxMessageBytes?: number;
  /**
   * Per-ID rate limits per message type (token buckets; per digital ID, not per session).
   * `false` turns the detector off; a type mapped to `false` is unlimited. Types given in
   * `types` are merged over the default ones. `"@input"` ({@link INPUT_TYPE}) stands for
   * the frames of Colyseus's `defineInput`.
   * @defaultValue `{ default: { rate: 15, burst: 30 }, types: { chat: { rate: 1, burst: 5 }, "@input": { rate: 120, burst: 240 } } }`
   */
  flood?: false | { default?: FloodLimit | false; types?: Record<string, FloodLimit | false> };
  /**
   * The per-ID budget of ALL inbound frames (pings, inputs and messages of every type
   * alike), checked before the per-type limits of `flood`. `false` turns it off.
   * @defaultValue `{ rate: 120, burst: 240 }`
   */
  frames?: FloodLimit | false;
  /**
   * Drop and record messages of a type the room has no handler for.
   * @defaultValue `true`
   */
  unknownTypes?: boolean;
  /**
   * The chat detector; `false` turns it off.
   * @defaultValue `{ types: ["chat"], field: "text", englishDataset: true }`
   */
  chat?: false | ChatGuardOptions;
}

/** Player reports (`plugin.report(...)`). */
export interface ReportOptions {
  /**
   * Window in which reports add up, and in which one reporter counts once per target.
   * @defaultValue `600000` (10 min)
   */
  windowMs?: number;
  /**
   * Weighted sum of reports within the window that turns into a `reported` offense.
   * @defaultValue `3`
   */
  threshold?: number;
  /**
   * An ID first seen less than this long ago reports with a quarter of the weight.
   * @defaultValue `3600000` (1 h)
   */
  newIdMs?: number;
  /**
   * Reports one ID may file within the window; more is report abuse (a `spam` offense).
   * @defaultValue `5`
   */
  maxPerWindow?: number;
}

/** Options of {@link createWarden}. */
export interface WardenOptions {
  /**
   * HMAC key that turns a verified subject into a digital ID (at least 16 characters).
   * Keep it secret and stable: changing it gives every player a new ID.
   */
  secret: string | Buffer;
  /**
   * A `redis://` URL, an ioredis `Redis` or `Cluster` (yours; the warden never closes it),
   * or any {@link WardenStore}.
   * @defaultValue the embedded `MemoryStore` (one-line warning: nothing shared or persisted)
   */
  store?: StoreOption;
  /**
   * Prefix of every Redis key and channel.
   * @defaultValue `"warden"`
   */
  prefix?: string;
  /**
   * Reads the verified identity from `client.auth` (what the room's `onAuth` returned).
   * Join options are client-controlled: use them for a display name at most, never for
   * the subject. Return `null` to refuse the join.
   * @defaultValue JWT claims: `{ subject: auth.sub, name: auth.name }`
   */
  identify?: (auth: unknown, joinOptions: unknown) => Identity | null | undefined;
  /**
   * Message types a mute drops.
   * @defaultValue `["chat"]`
   */
  muteTypes?: readonly (string | number)[];
  /**
   * Message types a freeze drops; `"@input"` ({@link INPUT_TYPE}) stands for the frames of
   * Colyseus's `defineInput`.
   * @defaultValue `["move", "@input"]`
   */
  freezeTypes?: readonly (string | number)[];
  /**
   * Publishes each avatar's restriction into room state; off unless given.
   * @defaultValue `undefined` (off)
   */
  restrictionField?: RestrictionFieldOptions;
  /**
   * What the join gate does when the store cannot say whether an ID is banned:
   * `"open"` lets the player in (bans this process already knows still refuse);
   * `"closed"` refuses the join.
   * @defaultValue `"open"`
   */
  failMode?: "open" | "closed";
  /**
   * How long the join gate waits for the store, in ms (at most 60 s).
   * @defaultValue `1500`
   */
  storeTimeoutMs?: number;
  /**
   * How often this process tells the store it is alive (and sweeps dead processes), in ms
   * (at most 1 h). A process silent for three periods counts as dead and its bindings
   * are removed.
   * @defaultValue `5000`
   */
  heartbeatMs?: number;
  /**
   * Most simultaneous sessions one digital ID may hold (across rooms and processes); a
   * whole number from 1 to 1000.
   * @defaultValue `5`
   */
  maxSessionsPerId?: number;
  /**
   * Retention, in ms (each at most 10 years).
   * @defaultValue `{ eventsMs: 30 days, sanctionsMs: 365 days, auditMs: 730 days, namesMs: 30 days, bindingsMs: 1 day }`
   */
  retention?: { eventsMs?: number; sanctionsMs?: number; auditMs?: number; namesMs?: number; bindingsMs?: number };
  /** The hot-path detectors. */
  guard?: GuardOptions;
  /**
   * The escalation policy: tracks of decaying points and their ladders (see README).
   * @defaultValue the default tracks `spam`, `abuse`, `malformed`, `reported`
   */
  policy?: PolicyOptions;
  /** Background writing of offense events. */
  recorder?: RecorderOptions;
  /** Player reports. */
  reports?: ReportOptions;
  /**
   * Least time between two "you are muted/frozen" notices to one session, in ms.
   * @defaultValue `1000`
   */
  noticeIntervalMs?: number;
  /**
   * Identifies this server process in bindings.
   * @defaultValue a random id
   */
  processId?: string;
  /**
   * Where the warden logs. Never receives secrets, subjects or IPs.
   * @defaultValue one-line messages on the console, prefixed `[warden]`
   */
  logger?: WardenLogger;
}

/** Options after defaults were merged and everything was checked. */
export interface ResolvedOptions {
  secret: string | Buffer;
  store: StoreOption | undefined;
  prefix: string;
  identify: (auth: unknown, joinOptions: unknown) => Identity | null | undefined;
  muteTypes: readonly (string | number)[];
  freezeTypes: readonly (string | number)[];
  restrictionField: Required<RestrictionFieldOptions> | undefined;
  failMode: "open" | "closed";
  storeTimeoutMs: number;
  heartbeatMs: number;
  maxSessionsPerId: number;
  retention: { eventsMs: number; sanctionsMs: number; auditMs: number; namesMs: number; bindingsMs: number };
  guard: {
    maxMessageBytes: number;
    flood: { default: FloodLimit | false; types: Record<string, FloodLimit | false> } | false;
    frames: FloodLimit | false;
    unknownTypes: boolean;
    chat: (ResolvedChatOptions & { types: readonly (string | number)[]; field: string; recordText: boolean }) | false;
  };
  policy: Policy;
  recorder: Required<RecorderOptions>;
  reports: Required<ReportOptions>;
  noticeIntervalMs: number;
  processId: string | undefined;
  logger: WardenLogger;
}

const DAY = 86_400_000;

/** Reads `sub`, `iss` (the issuer, see {@link Identity.issuer}) and `name` from a decoded JWT payload. */
export function identifyFromJwtClaims(auth: unknown): Identity | null {
  if (typeof auth !== "object" || auth === null) return null;
  const { sub, iss, name } = auth as { sub?: unknown; iss?: unknown; name?: unknown };
  if (typeof sub !== "string" || sub.length === 0) return null;
  const identity: Identity = { subject: sub };
  // Tokens that name their issuer get IDs qualified by it (see Identity.issuer).
  if (typeof iss === "string" && iss.length > 0) identity.issuer = iss;
  if (typeof name === "string") identity.name = name;
  return identity;
}

const consoleLogger: WardenLogger = {
  info: (m) => console.info(`[warden] ${m}`),
  warn: (m) => console.warn(`[warden] ${m}`),
  error: (m) => console.error(`[warden] ${m}`),
};

/** The defaults, in one object (pino's `defaultOptions`); frozen, since every warden shares it. */
export const DEFAULT_OPTIONS = deepFreeze({
  prefix: "warden",
  identify: identifyFromJwtClaims,
  muteTypes: ["chat"],
  freezeTypes: ["move", INPUT_TYPE],
  failMode: "open",
  storeTimeoutMs: 1500,
  heartbeatMs: 5000,
  maxSessionsPerId: 5,
  retention: { eventsMs: 30 * DAY, sanctionsMs: 365 * DAY, auditMs: 730 * DAY, namesMs: 30 * DAY, bindingsMs: DAY },
  guard: {
    maxMessageBytes: 2048,
    flood: { default: { rate: 15, burst: 30 }, types: { chat: { rate: 1, burst: 5 }, [INPUT_TYPE]: { rate: 120, burst: 240 } } },
    frames: { rate: 120, burst: 240 },
    unknownTypes: true,
    chat: { types: ["chat"], field: "text", recordText: false },
  },
  recorder: { flushMs: 10, batchSize: 200, maxBuffered: 100_000, maxInFlight: 2 },
  reports: { windowMs: 600_000, threshold: 3, newIdMs: 3_600_000, maxPerWindow: 5 },
  noticeIntervalMs: 1000,
  logger: consoleLogger,
} as const);

// --- Validation ------------------------------------------------------------------------
// Every check goes through src/util/validate.ts, like resolvePolicy and resolveChatOptions:
// one sentence style, unknown keys refused with the nearest known one, nothing thrown but
// INVALID_OPTION. The key lists are built from the option types, so a new option cannot
// be forgotten here.

/** The keys of an options type, all of them (the compiler refuses a missing or extra one). */
function keysOf<T>(keys: Record<keyof T, true>): readonly string[] {
  return Object.keys(keys);
}

const TOP_KEYS = keysOf<WardenOptions>({
  secret: true,
  store: true,
  prefix: true,
  identify: true,
  muteTypes: true,
  freezeTypes: true,
  restrictionField: true,
  failMode: true,
  storeTimeoutMs: true,
  heartbeatMs: true,
  maxSessionsPerId: true,
  retention: true,
  guard: true,
  policy: true,
  recorder: true,
  reports: true,
  noticeIntervalMs: true,
  processId: true,
  logger: true,
});
const RETENTION_KEYS = keysOf<NonNullable<WardenOptions["retention"]>>({ eventsMs: true, sanctionsMs: true, auditMs: true, namesMs: true, bindingsMs: true });
const GUARD_KEYS = keysOf<GuardOptions>({ maxMessageBytes: true, flood: true, frames: true, unknownTypes: true, chat: true });
const FLOOD_KEYS = keysOf<Exclude<GuardOptions["flood"], false | undefined>>({ default: true, types: true });
const FLOOD_LIMIT_KEYS = keysOf<FloodLimit>({ rate: true, burst: true });
const CHAT_GUARD_KEYS = keysOf<Omit<ChatGuardOptions, keyof ChatDetectorOptions>>({ types: true, field: true, recordText: true });
const RESTRICTION_FIELD_KEYS = keysOf<RestrictionFieldOptions>({ avatarOf: true, field: true });
const RECORDER_KEYS = keysOf<RecorderOptions>({ flushMs: true, batchSize: true, maxBuffered: true, maxInFlight: true });
const REPORT_KEYS = keysOf<ReportOptions>({ windowMs: true, threshold: true, newIdMs: true, maxPerWindow: true });

const MINUTE = 60_000;

/** Milliseconds above 0 and at most `max`. */
const ms = (max: number): NumberRule => ({ min: 0, above: true, max, unit: "ms" });
/** A whole number from 1 to `max`. */
const count = (max: number): NumberRule => ({ min: 1, max, integer: true });

/** The bounds of every numeric option: far-out values are typos, not configurations. */
const RULES = {
  storeTimeoutMs: ms(MINUTE),
  heartbeatMs: ms(60 * MINUTE),
  maxSessionsPerId: count(1000),
  retention: ms(MAX_SPAN_MS),
  maxMessageBytes: { ...count(16 * 1024 * 1024), unit: "bytes" },
  rate: { min: 0, above: true, max: 1_000_000 },
  burst: { min: 1, max: 1_000_000 },
  flushMs: ms(MINUTE),
  batchSize: count(10_000),
  maxBuffered: count(10_000_000),
  maxInFlight: count(64),
  windowMs: ms(30 * DAY),
  threshold: { min: 0, above: true, max: 1000 },
  newIdMs: ms(365 * DAY),
  maxPerWindow: count(10_000),
  noticeIntervalMs: ms(60 * MINUTE),
} as const satisfies Record<string, NumberRule>;

/** Most entries of a list of message types, and most per-type flood limits. */
const MAX_TYPES = 1000;
/** Longest message type name. */
const MAX_TYPE_CHARS = 256;
/** Longest secret, in characters or bytes. */
const MAX_SECRET = 1024;
/** Prefixes and process ids end up in Redis keys. */
const KEY_PART = /^[\w.-]{1,64}$/;

function floodLimit(path: string, value: unknown): FloodLimit | false {
  if (value === false) return false;
  const given = readObject(path, value, FLOOD_LIMIT_KEYS, "{ rate, burst } or false");
  return { rate: numberIn(childPath(path, "rate"), given.rate, RULES.rate), burst: numberIn(childPath(path, "burst"), given.burst, RULES.burst) };
}

function messageType(path: string, value: unknown): string | number {
  const ok = (typeof value === "string" && value.length > 0 && value.length <= MAX_TYPE_CHARS) || Number.isSafeInteger(value);
  if (!ok) fail(path, `must be a message type (a non-empty string of at most ${MAX_TYPE_CHARS} characters, or a whole number), got ${show(value)}`);
  return value as string | number;
}

function messageTypes(path: string, value: unknown, fallback: readonly (string | number)[]): readonly (string | number)[] {
  if (value === undefined) return [...fallback];
  const list = readArray(path, value, MAX_TYPES, "an array of message types (non-empty strings or whole numbers)");
  return list.map((type, i) => messageType(`${path}[${i}]`, type));
}

function resolveFlood(path: string, value: unknown): ResolvedOptions["guard"]["flood"] {
  const defaults = DEFAULT_OPTIONS.guard.flood;
  if (value === false) return false;
  const given = value === undefined ? {} : readObject(path, value, FLOOD_KEYS, "an object ({ default?, types? }) or false");
  const typesPath = childPath(path, "types");
  const types: Record<string, FloodLimit | false> = { ...defaults.types };
  if (given.types !== undefined) {
    const byType = readObject(typesPath, given.types, null, "an object of { rate, burst } or false by message type");
    const names = Object.keys(byType);
    if (names.length > MAX_TYPES) fail(typesPath, `must have at most ${MAX_TYPES} message types, got ${names.length}`);
    for (const type of names) {
      const typePath = childPath(typesPath, type);
      messageType(typePath, type);
      // Object.defineProperty: a type named "__proto__" must stay a plain entry.
      Object.defineProperty(types, type, { value: floodLimit(typePath, byType[type]), enumerable: true, writable: true, configurable: true });
    }
  }
  return { default: given.default === undefined ? defaults.default : floodLimit(childPath(path, "default"), given.default), types };
}

function resolveChat(path: string, value: unknown): ResolvedOptions["guard"]["chat"] {
  const defaults = DEFAULT_OPTIONS.guard.chat;
  if (value === false) return false;
  const given = value === undefined ? {} : readObject(path, value, [...CHAT_GUARD_KEYS, ...CHAT_OPTION_KEYS], "an object or false");
  const detector: Snapshot = {};
  for (const key of CHAT_OPTION_KEYS) if (given[key] !== undefined) detector[key] = given[key];
  return {
    ...resolveChatOptions(detector, path),
    types: messageTypes(childPath(path, "types"), given.types, defaults.types),
    field: optionalName(childPath(path, "field"), given.field, defaults.field),
    recordText: optionalBoolean(childPath(path, "recordText"), given.recordText, defaults.recordText),
  };
}

function resolveGuard(value: unknown): ResolvedOptions["guard"] {
  const defaults = DEFAULT_OPTIONS.guard;
  const given = value === undefined ? {} : readObject("guard", value, GUARD_KEYS);
  return {
    maxMessageBytes: optionalNumber("guard.maxMessageBytes", given.maxMessageBytes, defaults.maxMessageBytes, RULES.maxMessageBytes),
    flood: resolveFlood("guard.flood", given.flood),
    frames: given.frames === undefined ? { ...defaults.frames } : floodLimit("guard.frames", given.frames),
    unknownTypes: optionalBoolean("guard.unknownTypes", given.unknownTypes, defaults.unknownTypes),
    chat: resolveChat("guard.chat", given.chat),
  };
}

function resolveSecret(value: unknown): string | Buffer {
  if (typeof value === "string") {
    if (value.length < 16 || value.length > MAX_SECRET) fail("secret", `must be at least 16 characters (and at most ${MAX_SECRET}), got ${value.length}`);
    return value;
  }
  if (attempt("secret", () => Buffer.isBuffer(value))) {
    const bytes = value as Buffer;
    if (bytes.length < 16 || bytes.length > MAX_SECRET) fail("secret", `must be at least 16 bytes (and at most ${MAX_SECRET}), got ${bytes.length}`);
    // A copy: changing the caller's buffer later must not change every digital ID.
    return Buffer.from(bytes);
  }
  return fail("secret", `must be a string or Buffer of at least 16 characters, got ${show(value)}`);
}

function isStore(value: unknown): value is WardenStore {
  return typeof value === "object" && value !== null && typeof (value as WardenStore).saveSanction === "function" && typeof (value as WardenStore).subscribe === "function";
}

function resolveStore(value: unknown): StoreOption | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    if (!/^rediss?:\/\/./.test(value) || value.length > 2048) fail("store", `must be a redis:// or rediss:// URL, got ${show(value)}`);
    return value;
  }
  const ok = attempt("store", () => value instanceof Redis || value instanceof Cluster || isStore(value));
  if (!ok) fail("store", `must be a redis:// URL, an ioredis Redis or Cluster, or a WardenStore, got ${show(value)}`);
  return value as StoreOption;
}

function resolveLogger(value: unknown): WardenLogger {
  if (value === undefined) return DEFAULT_OPTIONS.logger;
  const ok = attempt("logger", () => {
    if (typeof value !== "object" && typeof value !== "function") return false;
    if (value === null) return false;
    const logger = value as WardenLogger;
    return typeof logger.info === "function" && typeof logger.warn === "function" && typeof logger.error === "function";
  });
  if (!ok) fail("logger", `must have info, warn and error methods, got ${show(value)}`);
  return value as WardenLogger;
}

function resolveRestrictionField(value: unknown): Required<RestrictionFieldOptions> | undefined {
  if (value === undefined) return undefined;
  const given = readObject("restrictionField", value, RESTRICTION_FIELD_KEYS, "{ avatarOf(room, client), field? }");
  if (typeof given.avatarOf !== "function") fail("restrictionField", `needs avatarOf, a function (room, client) => avatar, got ${show(given.avatarOf)} for it`);
  return {
    avatarOf: given.avatarOf as RestrictionFieldOptions["avatarOf"],
    field: optionalName("restrictionField.field", given.field, "restriction"),
  };
}

function keyPart(path: string, value: unknown, fallback: string | undefined): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !KEY_PART.test(value)) fail(path, `must be 1-64 characters of letters, digits, _ . -, got ${show(value)}`);
  return value;
}

function resolveRetention(value: unknown): ResolvedOptions["retention"] {
  const defaults = DEFAULT_OPTIONS.retention;
  const given = value === undefined ? {} : readObject("retention", value, RETENTION_KEYS);
  const one = (key: keyof typeof defaults): number => optionalNumber(`retention.${key}`, given[key], defaults[key], RULES.retention);
  return { eventsMs: one("eventsMs"), sanctionsMs: one("sanctionsMs"), auditMs: one("auditMs"), namesMs: one("namesMs"), bindingsMs: one("bindingsMs") };
}

function resolveRecorder(value: unknown): Required<RecorderOptions> {
  const defaults = DEFAULT_OPTIONS.recorder;
  const given = value === undefined ? {} : readObject("recorder", value, RECORDER_KEYS);
  return {
    flushMs: optionalNumber("recorder.flushMs", given.flushMs, defaults.flushMs, RULES.flushMs),
    batchSize: optionalNumber("recorder.batchSize", given.batchSize, defaults.batchSize, RULES.batchSize),
    maxBuffered: optionalNumber("recorder.maxBuffered", given.maxBuffered, defaults.maxBuffered, RULES.maxBuffered),
    maxInFlight: optionalNumber("recorder.maxInFlight", given.maxInFlight, defaults.maxInFlight, RULES.maxInFlight),
  };
}

function resolveReports(value: unknown): Required<ReportOptions> {
  const defaults = DEFAULT_OPTIONS.reports;
  const given = value === undefined ? {} : readObject("reports", value, REPORT_KEYS);
  return {
    windowMs: optionalNumber("reports.windowMs", given.windowMs, defaults.windowMs, RULES.windowMs),
    threshold: optionalNumber("reports.threshold", given.threshold, defaults.threshold, RULES.threshold),
    newIdMs: optionalNumber("reports.newIdMs", given.newIdMs, defaults.newIdMs, RULES.newIdMs),
    maxPerWindow: optionalNumber("reports.maxPerWindow", given.maxPerWindow, defaults.maxPerWindow, RULES.maxPerWindow),
  };
}

/**
 * Merges defaults and validates EVERYTHING (the chat detector's terms and patterns and the
 * policy included) before anything is created, so that a refused configuration leaves no
 * timer, connection or store behind.
 *
 * Throws `WardenError("INVALID_OPTION")` — and nothing else, whatever it is given (getters
 * and Proxies that throw included) — naming the full path of the bad option, e.g.
 * `createWarden: option "guard.flood.types.chat.rate" must be a number above 0 and at most 1000000, got -1`,
 * or, for a key it does not know, the nearest one it does:
 * `createWarden: unknown option "failmode" — did you mean "failMode"?`.
 */
export function resolveOptions(options: WardenOptions): ResolvedOptions {
  // Every user value is read through validate.ts; this net only turns a failure nobody
  // foresaw into INVALID_OPTION too, rather than a TypeError.
  return attempt("", () => {
    const given = readObject("", options, TOP_KEYS);
    return {
      secret: resolveSecret(given.secret),
      store: resolveStore(given.store),
      prefix: keyPart("prefix", given.prefix, DEFAULT_OPTIONS.prefix) as string,
      identify: optionalFunction("identify", given.identify, DEFAULT_OPTIONS.identify as ResolvedOptions["identify"]),
      muteTypes: messageTypes("muteTypes", given.muteTypes, DEFAULT_OPTIONS.muteTypes),
      freezeTypes: messageTypes("freezeTypes", given.freezeTypes, DEFAULT_OPTIONS.freezeTypes),
      restrictionField: resolveRestrictionField(given.restrictionField),
      failMode: oneOf("failMode", given.failMode, ["open", "closed"], DEFAULT_OPTIONS.failMode),
      storeTimeoutMs: optionalNumber("storeTimeoutMs", given.storeTimeoutMs, DEFAULT_OPTIONS.storeTimeoutMs, RULES.storeTimeoutMs),
      heartbeatMs: optionalNumber("heartbeatMs", given.heartbeatMs, DEFAULT_OPTIONS.heartbeatMs, RULES.heartbeatMs),
      maxSessionsPerId: optionalNumber("maxSessionsPerId", given.maxSessionsPerId, DEFAULT_OPTIONS.maxSessionsPerId, RULES.maxSessionsPerId),
      retention: resolveRetention(given.retention),
      guard: resolveGuard(given.guard),
      policy: resolvePolicy(given.policy as PolicyOptions | undefined, "policy"),
      recorder: resolveRecorder(given.recorder),
      reports: resolveReports(given.reports),
      noticeIntervalMs: optionalNumber("noticeIntervalMs", given.noticeIntervalMs, DEFAULT_OPTIONS.noticeIntervalMs, RULES.noticeIntervalMs),
      processId: keyPart("processId", given.processId, undefined),
      logger: resolveLogger(given.logger),
    };
  });
}
