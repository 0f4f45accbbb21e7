import type { Client, Room } from "@colyseus/core";
import { Cluster, Redis } from "ioredis";
import { WardenError } from "./errors.js";
import type { WardenStore } from "./stores/store.js";
import type { ChatDetectorOptions } from "./guard/chat.js";
import { resolvePolicy, type Policy, type PolicyOptions } from "./policy/ladder.js";
import type { RecorderOptions } from "./recorder/recorder.js";

/** What `identify` returns: the verified account subject and an optional display name. */
export interface Identity {
  /** Server-verified account id. Hashed into the digital ID; never stored or logged. */
  subject: string;
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
  rate: number;
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
   * Frames larger than this many bytes are dropped and recorded (`payload/oversized`).
   * The WebSocket transport refuses frames over its own `maxPayload` (4 KB by default) before
   * they reach the room; those are recorded as `payload/oversized_frame`.
   * @defaultValue `2048`
   */
  maxMessageBytes?: number;
  /**
   * Per-ID rate limits per message type (token buckets; per digital ID, not per session).
   * `false` turns the detector off; a type mapped to `false` is unlimited.
   * @defaultValue `{ default: { rate: 15, burst: 30 }, types: { chat: { rate: 1, burst: 5 } } }`
   */
  flood?: false | { default?: FloodLimit | false; types?: Record<string, FloodLimit | false> };
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
   * Message types a freeze drops.
   * @defaultValue `["move"]`
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
   * How long the join gate waits for the store, in ms.
   * @defaultValue `1500`
   */
  storeTimeoutMs?: number;
  /**
   * How often this process tells the store it is alive (and sweeps dead processes), in ms.
   * A process silent for three periods counts as dead and its bindings are removed.
   * @defaultValue `5000`
   */
  heartbeatMs?: number;
  /**
   * Retention, in ms.
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
  retention: { eventsMs: number; sanctionsMs: number; auditMs: number; namesMs: number; bindingsMs: number };
  guard: {
    maxMessageBytes: number;
    flood: { default: FloodLimit | false; types: Record<string, FloodLimit | false> } | false;
    unknownTypes: boolean;
    chat: (ChatGuardOptions & { types: readonly (string | number)[]; field: string; recordText: boolean }) | false;
  };
  policy: Policy;
  recorder: Required<RecorderOptions>;
  reports: Required<ReportOptions>;
  noticeIntervalMs: number;
  processId: string | undefined;
  logger: WardenLogger;
}

const DAY = 86_400_000;

/** Reads `sub` and `name` from a decoded JWT payload. */
export function identifyFromJwtClaims(auth: unknown): Identity | null {
  if (typeof auth !== "object" || auth === null) return null;
  const { sub, name } = auth as { sub?: unknown; name?: unknown };
  if (typeof sub !== "string" || sub.length === 0) return null;
  return typeof name === "string" ? { subject: sub, name } : { subject: sub };
}

const consoleLogger: WardenLogger = {
  info: (m) => console.info(`[warden] ${m}`),
  warn: (m) => console.warn(`[warden] ${m}`),
  error: (m) => console.error(`[warden] ${m}`),
};

/** The defaults, in one object (pino's `defaultOptions`). */
export const DEFAULT_OPTIONS = {
  prefix: "warden",
  identify: identifyFromJwtClaims,
  muteTypes: ["chat"],
  freezeTypes: ["move"],
  failMode: "open",
  storeTimeoutMs: 1500,
  heartbeatMs: 5000,
  retention: { eventsMs: 30 * DAY, sanctionsMs: 365 * DAY, auditMs: 730 * DAY, namesMs: 30 * DAY, bindingsMs: DAY },
  guard: {
    maxMessageBytes: 2048,
    flood: { default: { rate: 15, burst: 30 }, types: { chat: { rate: 1, burst: 5 } } },
    unknownTypes: true,
    chat: { types: ["chat"], field: "text", recordText: false },
  },
  recorder: { flushMs: 10, batchSize: 200, maxBuffered: 100_000, maxInFlight: 2 },
  reports: { windowMs: 600_000, threshold: 3, newIdMs: 3_600_000, maxPerWindow: 5 },
  noticeIntervalMs: 1000,
  logger: consoleLogger,
} as const;

function bad(option: string, expectation: string, got: unknown): never {
  const shown = typeof got === "string" ? JSON.stringify(got.slice(0, 40)) : typeof got === "object" ? (got === null ? "null" : "an object") : String(got);
  throw new WardenError("INVALID_OPTION", `createWarden: option "${option}" ${expectation}, got ${shown}`);
}

function positiveMs(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) bad(option, "must be a positive number of milliseconds", value);
  return value;
}

function positiveInt(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) bad(option, "must be a positive whole number", value);
  return value as number;
}

function floodLimit(option: string, value: unknown): FloodLimit | false {
  if (value === false) return false;
  const limit = value as FloodLimit;
  if (typeof limit !== "object" || limit === null) bad(option, "must be { rate, burst } or false", value);
  positiveMs(`${option}.rate`, limit.rate, 1);
  if (!Number.isFinite(limit.burst) || limit.burst < 1) bad(`${option}.burst`, "must be a number of at least 1", limit.burst);
  return { rate: limit.rate, burst: limit.burst };
}

function resolveGuard(guard: GuardOptions | undefined): ResolvedOptions["guard"] {
  const defaults = DEFAULT_OPTIONS.guard;
  if (guard === undefined) return { ...defaults, flood: { default: defaults.flood.default, types: { ...defaults.flood.types } }, chat: { ...defaults.chat } };
  if (typeof guard !== "object" || guard === null) bad("guard", "must be an object", guard);
  let flood: ResolvedOptions["guard"]["flood"];
  if (guard.flood === false) flood = false;
  else if (guard.flood === undefined) flood = { default: defaults.flood.default, types: { ...defaults.flood.types } };
  else {
    if (typeof guard.flood !== "object" || guard.flood === null) bad("guard.flood", "must be an object or false", guard.flood);
    const types: Record<string, FloodLimit | false> = { ...defaults.flood.types };
    for (const [type, limit] of Object.entries(guard.flood.types ?? {})) types[type] = floodLimit(`guard.flood.types.${type}`, limit);
    flood = { default: guard.flood.default === undefined ? defaults.flood.default : floodLimit("guard.flood.default", guard.flood.default), types };
  }
  let chat: ResolvedOptions["guard"]["chat"];
  if (guard.chat === false) chat = false;
  else {
    const given = guard.chat ?? {};
    if (typeof given !== "object" || given === null) bad("guard.chat", "must be an object or false", given);
    const field = given.field ?? defaults.chat.field;
    if (typeof field !== "string" || field.length === 0) bad("guard.chat.field", "must be a non-empty field name", field);
    chat = { ...given, types: messageTypes("guard.chat.types", given.types, defaults.chat.types), field, recordText: given.recordText === true };
  }
  if (guard.unknownTypes !== undefined && typeof guard.unknownTypes !== "boolean") bad("guard.unknownTypes", "must be a boolean", guard.unknownTypes);
  return {
    maxMessageBytes: positiveInt("guard.maxMessageBytes", guard.maxMessageBytes, defaults.maxMessageBytes),
    flood,
    unknownTypes: guard.unknownTypes ?? defaults.unknownTypes,
    chat,
  };
}

function messageTypes(option: string, value: unknown, fallback: readonly (string | number)[]): readonly (string | number)[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((t) => (typeof t === "string" && t.length > 0) || Number.isInteger(t))) {
    bad(option, "must be an array of message types (non-empty strings or integers)", value);
  }
  return [...value];
}

function isStore(value: unknown): value is WardenStore {
  return typeof value === "object" && value !== null && typeof (value as WardenStore).saveSanction === "function" && typeof (value as WardenStore).subscribe === "function";
}

/** Merges defaults and validates; throws `INVALID_OPTION` naming the bad option. */
export function resolveOptions(options: WardenOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) bad("options", "must be an object", options);
  const { secret } = options;
  if (typeof secret === "string") {
    if (secret.length < 16) throw new WardenError("INVALID_OPTION", `createWarden: option "secret" must be at least 16 characters (got ${secret.length})`);
  } else if (Buffer.isBuffer(secret)) {
    if (secret.length < 16) throw new WardenError("INVALID_OPTION", `createWarden: option "secret" must be at least 16 bytes (got ${secret.length})`);
  } else {
    bad("secret", "must be a string or Buffer of at least 16 characters", secret);
  }
  const store = options.store;
  if (store !== undefined && typeof store !== "string" && !(store instanceof Redis) && !(store instanceof Cluster) && !isStore(store)) {
    bad("store", "must be a redis:// URL, an ioredis Redis or Cluster, or a WardenStore", store);
  }
  if (typeof store === "string" && !/^rediss?:\/\//.test(store)) bad("store", "must be a redis:// or rediss:// URL", store);
  const prefix = options.prefix ?? DEFAULT_OPTIONS.prefix;
  if (typeof prefix !== "string" || !/^[\w.-]{1,64}$/.test(prefix)) bad("prefix", "must be 1-64 characters of letters, digits, _ . -", prefix);
  if (options.identify !== undefined && typeof options.identify !== "function") bad("identify", "must be a function", options.identify);
  const failMode = options.failMode ?? DEFAULT_OPTIONS.failMode;
  if (failMode !== "open" && failMode !== "closed") bad("failMode", 'must be "open" or "closed"', failMode);
  let restrictionField: Required<RestrictionFieldOptions> | undefined;
  if (options.restrictionField !== undefined) {
    const rf = options.restrictionField;
    if (typeof rf !== "object" || rf === null || typeof rf.avatarOf !== "function") bad("restrictionField", "must be { avatarOf(room, client), field? }", rf);
    const field = rf.field ?? "restriction";
    if (typeof field !== "string" || field.length === 0) bad("restrictionField.field", "must be a non-empty field name", field);
    restrictionField = { avatarOf: rf.avatarOf, field };
  }
  const retention = options.retention ?? {};
  if (typeof retention !== "object" || retention === null) bad("retention", "must be an object", retention);
  const logger = options.logger ?? DEFAULT_OPTIONS.logger;
  if (typeof logger?.warn !== "function" || typeof logger.info !== "function" || typeof logger.error !== "function") bad("logger", "must have info, warn and error methods", logger);
  if (options.processId !== undefined && (typeof options.processId !== "string" || !/^[\w.-]{1,64}$/.test(options.processId))) {
    bad("processId", "must be 1-64 characters of letters, digits, _ . -", options.processId);
  }
  return {
    secret,
    store,
    prefix,
    identify: options.identify ?? DEFAULT_OPTIONS.identify,
    muteTypes: messageTypes("muteTypes", options.muteTypes, DEFAULT_OPTIONS.muteTypes),
    freezeTypes: messageTypes("freezeTypes", options.freezeTypes, DEFAULT_OPTIONS.freezeTypes),
    restrictionField,
    failMode,
    storeTimeoutMs: positiveMs("storeTimeoutMs", options.storeTimeoutMs, DEFAULT_OPTIONS.storeTimeoutMs),
    heartbeatMs: positiveMs("heartbeatMs", options.heartbeatMs, DEFAULT_OPTIONS.heartbeatMs),
    guard: resolveGuard(options.guard),
    policy: resolvePolicy(options.policy),
    recorder: {
      flushMs: positiveMs("recorder.flushMs", options.recorder?.flushMs, DEFAULT_OPTIONS.recorder.flushMs),
      batchSize: positiveInt("recorder.batchSize", options.recorder?.batchSize, DEFAULT_OPTIONS.recorder.batchSize),
      maxBuffered: positiveInt("recorder.maxBuffered", options.recorder?.maxBuffered, DEFAULT_OPTIONS.recorder.maxBuffered),
      maxInFlight: positiveInt("recorder.maxInFlight", options.recorder?.maxInFlight, DEFAULT_OPTIONS.recorder.maxInFlight),
    },
    reports: {
      windowMs: positiveMs("reports.windowMs", options.reports?.windowMs, DEFAULT_OPTIONS.reports.windowMs),
      threshold: positiveMs("reports.threshold", options.reports?.threshold, DEFAULT_OPTIONS.reports.threshold),
      newIdMs: positiveMs("reports.newIdMs", options.reports?.newIdMs, DEFAULT_OPTIONS.reports.newIdMs),
      maxPerWindow: positiveInt("reports.maxPerWindow", options.reports?.maxPerWindow, DEFAULT_OPTIONS.reports.maxPerWindow),
    },
    retention: {
      eventsMs: positiveMs("retention.eventsMs", retention.eventsMs, DEFAULT_OPTIONS.retention.eventsMs),
      sanctionsMs: positiveMs("retention.sanctionsMs", retention.sanctionsMs, DEFAULT_OPTIONS.retention.sanctionsMs),
      auditMs: positiveMs("retention.auditMs", retention.auditMs, DEFAULT_OPTIONS.retention.auditMs),
      namesMs: positiveMs("retention.namesMs", retention.namesMs, DEFAULT_OPTIONS.retention.namesMs),
      bindingsMs: positiveMs("retention.bindingsMs", retention.bindingsMs, DEFAULT_OPTIONS.retention.bindingsMs),
    },
    noticeIntervalMs: positiveMs("noticeIntervalMs", options.noticeIntervalMs, DEFAULT_OPTIONS.noticeIntervalMs),
    processId: options.processId,
    logger,
  };
}
