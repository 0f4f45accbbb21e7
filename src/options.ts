import type { Client, Room } from "@colyseus/core";
import { Cluster, Redis } from "ioredis";
import { WardenError } from "./errors.js";
import type { WardenStore } from "./stores/store.js";

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
   * @defaultValue `{ sanctionsMs: 365 days, bindingsMs: 1 day }`
   */
  retention?: { sanctionsMs?: number; bindingsMs?: number };
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
  retention: { sanctionsMs: number; bindingsMs: number };
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
  retention: { sanctionsMs: 365 * DAY, bindingsMs: DAY },
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
    retention: {
      sanctionsMs: positiveMs("retention.sanctionsMs", retention.sanctionsMs, DEFAULT_OPTIONS.retention.sanctionsMs),
      bindingsMs: positiveMs("retention.bindingsMs", retention.bindingsMs, DEFAULT_OPTIONS.retention.bindingsMs),
    },
    noticeIntervalMs: positiveMs("noticeIntervalMs", options.noticeIntervalMs, DEFAULT_OPTIONS.noticeIntervalMs),
    processId: options.processId,
    logger,
  };
}
