import { Cluster, Redis } from "ioredis";
import { isClusterSpec, parseClusterNodes } from "./util/redis-target.js";
import type { WardenStore } from "./stores/store.js";
import {
  GUARD_DEFAULTS,
  INPUT_TYPE,
  messageTypes,
  resolveGuard,
  type GuardOptions,
  type ResolvedGuardOptions,
} from "./guard/options.js";
import { identifyFromJwtClaims, type Identity } from "./identity/identify.js";
import { resolvePolicy, type Policy, type PolicyOptions } from "./policy/ladder.js";
import { DEFAULT_CONDUCT, resolveConduct, type Conduct, type ConductOptions } from "./policy/conduct.js";
import { BUILT_IN_NOTICES, NoticeText, resolveNotices, type NoticeOptions } from "./sanctions/notice.js";
import { RECORDER_DEFAULTS, resolveRecorder, type RecorderOptions } from "./recorder/options.js";
import { REPORT_DEFAULTS, resolveReports, type ReportOptions } from "./reports/options.js";
import {
  DUE_PROCESS_DEFAULTS,
  resolveDueProcess,
  type DueProcessOptions,
  type ResolvedDueProcess,
} from "./reviews/options.js";
import { resolveRestrictionField, type RestrictionFieldOptions } from "./sanctions/options.js";
import { EVASION_DEFAULTS, resolveEvasion, type EvasionOptions, type ResolvedEvasion } from "./signals/options.js";
import type { AuditCheckpointOptions } from "./admin/audit.js";
import { consoleLogger, resolveLogger, type WardenLogger } from "./util/logger.js";
import {
  MAX_SPAN_MS,
  attempt,
  deepFreeze,
  fail,
  keysOf,
  oneOf,
  optionalFunction,
  optionalBoolean,
  optionalNumber,
  readObject,
  show,
  type NumberRule,
} from "./util/validate.js";

// Each part owns its options type, defaults and resolver; this file composes them under
// one object. The re-exports keep `options.js` the one place callers import them from.
export { INPUT_TYPE, identifyFromJwtClaims };
export type { ChatGuardOptions, FloodLimit, GuardOptions, ResolvedGuardOptions } from "./guard/options.js";
export type { Identity } from "./identity/identify.js";
export type { RecorderOptions } from "./recorder/options.js";
export type { ReportOptions } from "./reports/options.js";
export type { DueProcessOptions, EvidenceOptions, ResolvedDueProcess } from "./reviews/options.js";
export type { RestrictionFieldOptions } from "./sanctions/options.js";
export type { EvasionOptions, EvasionSignalOptions, ResolvedEvasion } from "./signals/options.js";
export type { Conduct, ConductOptions, ConductRuleOptions } from "./policy/conduct.js";
export type { NoticeKey, NoticeOptions } from "./sanctions/notice.js";
export { NoticeText };
export type { WardenLogger } from "./util/logger.js";

/** Options of the audit log (`audit`). */
export interface AuditOptions {
  /**
   * A separate secret (≥ 32 characters or bytes) the audit keys are derived from, for
   * operators who keep it apart from `secret`. Every process of a deployment needs the same.
   * @defaultValue derived from `secret`
   */
  key?: string | Buffer;
  /** Checkpoints of the head outside the store: a file, the logger, how often. */
  checkpoints?: AuditCheckpointOptions;
}

/** Where the warden keeps its records. */
export type StoreOption = string | Redis | Cluster | WardenStore;

/** Options of {@link createWarden}. */
export interface WardenOptions {
  /**
   * HMAC key that turns a verified subject into a digital ID (at least 16 characters).
   * Keep it secret and stable: changing it gives every player a new ID.
   */
  secret: string | Buffer;
  /**
   * A `redis://` URL, a Redis Cluster's seed nodes as `redis-cluster://host:port,host:port`,
   * an ioredis `Redis` or `Cluster` (yours, used as it is; the warden never closes it), or
   * any {@link WardenStore}.
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
   * @defaultValue JWT claims: `sub`, else `@colyseus/auth`'s `id`, else its `anonymousId` (an anonymous player), with `iss`, `name`, `locale` — see {@link identifyFromJwtClaims}
   */
  identify?: (auth: unknown, joinOptions: unknown) => Identity | null | undefined;
  /**
   * Players who signed in anonymously (an identity with `anonymous: true`, e.g. an
   * `@colyseus/auth` anonymous token): `"allow"` binds them to an ID of their own, which lasts
   * as long as the client keeps its token — a sanction follows that token, not a person;
   * `"refuse"` refuses their join (4215-style auth error), so that every player can be held
   * to their account. @defaultValue "allow"
   */
  anonymousPlayers?: "allow" | "refuse";
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
  /**
   * The code of conduct quoted in every statement of reasons: rules by id (`title`, `text`,
   * optional `url`), merged over the defaults one rule at a time (`false` removes a default
   * rule), and which rule each policy track enforces.
   * @defaultValue rules `spam`, `abuse`, `integrity`, `reports`, `evasion`; tracks `spam → spam`, `abuse → abuse`, `malformed → integrity`, `reported → reports`
   */
  conduct?: ConductOptions;
  /**
   * The player-facing sentences of `warden:notice`, per locale: templates merged key by key
   * over the built-in `en`, `de`, `fr` and `es`, and the locale of a player who asks for none
   * of them. A template naming a placeholder its key does not have is refused.
   * @defaultValue the built-in locales, `defaultLocale: "en"`
   */
  notices?: NoticeOptions;
  /** Background writing of offense events. */
  recorder?: RecorderOptions;
  /** Player reports. */
  reports?: ReportOptions;
  /**
   * Due process: appeals (window, rate), the review queue for reports (and what reports
   * alone may do: nothing by default), reporters' misuse, evidence snapshots (opt-in), the
   * transparency counters' retention.
   * @defaultValue see {@link DUE_PROCESS_DEFAULTS}
   */
  dueProcess?: DueProcessOptions;
  /**
   * Ban evasion: the signals a join leaves behind — the device id the game client sends
   * (`deviceId` join option), the network address (through `trustedProxies`) and its
   * network prefix — kept only as keyed hashes for `retentionMs` after they were last seen,
   * erased by `forget`. IDs sharing uncrowded signals are linked, with reasons; an ID that
   * joins with a strong link to a banned ID is flagged for a person (`evasion:flagged`, a
   * `suspected_evasion` event in the feed, an evasion record in the review queue) — never
   * banned automatically; at most muted while it waits, if `action` says so. Turn each
   * signal off with `signals: { device: false, ... }`.
   * @defaultValue every signal on, no trusted proxy, `/24` and `/64` prefixes, `retentionMs: "30d"`, `crowdLimit: 8`, `action: "none"` (see {@link EVASION_DEFAULTS})
   */
  evasion?: EvasionOptions;
  /**
   * Verifies a player's own game credential (the bearer token of the player API:
   * `warden.playerRoutes()`) — the same check the rooms' `onAuth` makes — and returns the
   * identity it names, or null. Throwing counts as null. Without it the player API is not
   * mounted (banned players then cannot read their statement or appeal over HTTP).
   * @defaultValue none
   */
  verifyPlayer?: (token: string) => Identity | null | undefined | Promise<Identity | null | undefined>;
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
   * The audit log's key custody and checkpoints. The chain is linked by an HMAC under a key
   * the server processes hold (derived from `key`, else from `secret`), never stored in
   * Redis; its head is checkpointed outside Redis so that cutting the tail is detected too.
   * @defaultValue `{ checkpoints: { log: true, everyEntries: 20, everyMs: 60_000 } }` (key from `secret`)
   */
  audit?: AuditOptions;
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
  anonymousPlayers: "allow" | "refuse";
  muteTypes: readonly (string | number)[];
  freezeTypes: readonly (string | number)[];
  restrictionField: Required<RestrictionFieldOptions> | undefined;
  failMode: "open" | "closed";
  storeTimeoutMs: number;
  heartbeatMs: number;
  maxSessionsPerId: number;
  retention: { eventsMs: number; sanctionsMs: number; auditMs: number; namesMs: number; bindingsMs: number };
  guard: ResolvedGuardOptions;
  policy: Policy;
  /** The validated code of conduct. */
  conduct: Conduct;
  /** The player-facing texts (validated templates per locale). */
  notices: NoticeText;
  recorder: Required<RecorderOptions>;
  reports: Required<ReportOptions>;
  dueProcess: ResolvedDueProcess;
  /** The validated ban-evasion options. */
  evasion: ResolvedEvasion;
  verifyPlayer: ((token: string) => Identity | null | undefined | Promise<Identity | null | undefined>) | undefined;
  noticeIntervalMs: number;
  processId: string | undefined;
  /** The secret the audit keys derive from, and the checkpoint options (checked). */
  audit: {
    key: string | Buffer | undefined;
    checkpoints: Required<Omit<AuditCheckpointOptions, "file">> & { file?: string };
  };
  logger: WardenLogger;
}

const DAY = 86_400_000;

/** The defaults, in one object (pino's `defaultOptions`); frozen, since every warden shares it. */
export const DEFAULT_OPTIONS = deepFreeze({
  prefix: "warden",
  identify: identifyFromJwtClaims,
  anonymousPlayers: "allow",
  muteTypes: ["chat"],
  freezeTypes: ["move", INPUT_TYPE],
  failMode: "open",
  storeTimeoutMs: 1500,
  heartbeatMs: 5000,
  maxSessionsPerId: 5,
  retention: { eventsMs: 30 * DAY, sanctionsMs: 365 * DAY, auditMs: 730 * DAY, namesMs: 30 * DAY, bindingsMs: DAY },
  guard: GUARD_DEFAULTS,
  recorder: RECORDER_DEFAULTS,
  reports: REPORT_DEFAULTS,
  dueProcess: DUE_PROCESS_DEFAULTS,
  evasion: EVASION_DEFAULTS,
  conduct: DEFAULT_CONDUCT,
  notices: { defaultLocale: "en", locales: BUILT_IN_NOTICES },
  noticeIntervalMs: 1000,
  logger: consoleLogger,
} as const);

// --- Validation ------------------------------------------------------------------------
// Every check goes through src/util/validate.ts, like resolvePolicy and resolveChatOptions:
// one sentence style, unknown keys refused with the nearest known one, nothing thrown but
// INVALID_OPTION. The key lists are built from the option types, so a new option cannot
// be forgotten here.

const TOP_KEYS = keysOf<WardenOptions>({
  secret: true,
  store: true,
  prefix: true,
  identify: true,
  anonymousPlayers: true,
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
  conduct: true,
  notices: true,
  recorder: true,
  reports: true,
  dueProcess: true,
  evasion: true,
  verifyPlayer: true,
  noticeIntervalMs: true,
  processId: true,
  audit: true,
  logger: true,
});
const AUDIT_KEYS = keysOf<AuditOptions>({ key: true, checkpoints: true });
const CHECKPOINT_KEYS = keysOf<AuditCheckpointOptions>({ file: true, log: true, everyEntries: true, everyMs: true });
const RETENTION_KEYS = keysOf<NonNullable<WardenOptions["retention"]>>({
  eventsMs: true,
  sanctionsMs: true,
  auditMs: true,
  namesMs: true,
  bindingsMs: true,
});

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
  noticeIntervalMs: ms(60 * MINUTE),
} as const satisfies Record<string, NumberRule>;

/** Longest secret, in characters or bytes. */
const MAX_SECRET = 1024;
/** Prefixes and process ids end up in Redis keys. */
const KEY_PART = /^[\w.-]{1,64}$/;
/**
 * A prefix may also carry one Redis Cluster hash tag (`{warden}`, `game:{warden}`): every key
 * then lives in that one slot — the single-slot deployment (a key's first `{…}` is its tag).
 */
const TAGGED_PREFIX = /^[\w.:-]{0,60}\{[\w.-]{1,60}\}[\w.:-]{0,60}$/;

function resolveSecret(value: unknown): string | Buffer {
  if (typeof value === "string") {
    if (value.length < 16 || value.length > MAX_SECRET)
      fail("secret", `must be at least 16 characters (and at most ${MAX_SECRET}), got ${value.length}`);
    return value;
  }
  if (attempt("secret", () => Buffer.isBuffer(value))) {
    const bytes = value as Buffer;
    if (bytes.length < 16 || bytes.length > MAX_SECRET)
      fail("secret", `must be at least 16 bytes (and at most ${MAX_SECRET}), got ${bytes.length}`);
    // A copy: changing the caller's buffer later must not change every digital ID.
    return Buffer.from(bytes);
  }
  return fail("secret", `must be a string or Buffer of at least 16 characters, got ${show(value)}`);
}

function isStore(value: unknown): value is WardenStore {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as WardenStore).saveSanction === "function" &&
    typeof (value as WardenStore).subscribe === "function"
  );
}

function resolveStore(value: unknown): StoreOption | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    if (value.length <= 2048 && isClusterSpec(value)) {
      try {
        parseClusterNodes(value);
      } catch (e) {
        fail("store", `must list a cluster's seed nodes as redis-cluster://host:port,…: ${(e as Error).message}`);
      }
      return value;
    }
    if (!/^rediss?:\/\/./.test(value) || value.length > 2048)
      fail("store", `must be a redis:// or rediss:// URL or redis-cluster://host:port,…, got ${show(value)}`);
    return value;
  }
  const ok = attempt("store", () => value instanceof Redis || value instanceof Cluster || isStore(value));
  if (!ok) fail("store", `must be a redis:// URL, an ioredis Redis or Cluster, or a WardenStore, got ${show(value)}`);
  return value as StoreOption;
}

function resolvePrefix(value: unknown): string {
  if (value === undefined) return DEFAULT_OPTIONS.prefix;
  if (typeof value === "string" && value.length <= 64 && (KEY_PART.test(value) || TAGGED_PREFIX.test(value)))
    return value;
  return fail(
    "prefix",
    `must be 1-64 characters of letters, digits, _ . -, optionally with one hash tag such as {warden}, got ${show(value)}`,
  );
}

function keyPart(path: string, value: unknown, fallback: string | undefined): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !KEY_PART.test(value))
    fail(path, `must be 1-64 characters of letters, digits, _ . -, got ${show(value)}`);
  return value;
}

function resolveRetention(value: unknown): ResolvedOptions["retention"] {
  const defaults = DEFAULT_OPTIONS.retention;
  const given = value === undefined ? {} : readObject("retention", value, RETENTION_KEYS);
  const one = (key: keyof typeof defaults): number =>
    optionalNumber(`retention.${key}`, given[key], defaults[key], RULES.retention);
  return {
    eventsMs: one("eventsMs"),
    sanctionsMs: one("sanctionsMs"),
    auditMs: one("auditMs"),
    namesMs: one("namesMs"),
    bindingsMs: one("bindingsMs"),
  };
}

function resolveAudit(value: unknown): ResolvedOptions["audit"] {
  const given = value === undefined ? {} : readObject("audit", value, AUDIT_KEYS);
  let key: string | Buffer | undefined;
  if (given.key !== undefined) {
    const k = given.key;
    const length = typeof k === "string" ? k.length : attempt("audit.key", () => (Buffer.isBuffer(k) ? k.length : -1));
    if (length < 32 || length > MAX_SECRET)
      fail("audit.key", `must be a string or Buffer of 32 to ${MAX_SECRET} characters or bytes, got ${show(k)}`);
    key = typeof k === "string" ? k : Buffer.from(k as Buffer);
  }
  const cp = given.checkpoints === undefined ? {} : readObject("audit.checkpoints", given.checkpoints, CHECKPOINT_KEYS);
  if (cp.file !== undefined && (typeof cp.file !== "string" || cp.file.length === 0 || cp.file.length > 4096))
    fail("audit.checkpoints.file", `must be a file path (1-4096 characters), got ${show(cp.file)}`);
  return {
    key,
    checkpoints: {
      ...(cp.file === undefined ? {} : { file: cp.file as string }),
      log: optionalBoolean("audit.checkpoints.log", cp.log, true),
      everyEntries: optionalNumber("audit.checkpoints.everyEntries", cp.everyEntries, 20, count(1_000_000)),
      everyMs: optionalNumber("audit.checkpoints.everyMs", cp.everyMs, 60_000, {
        ...ms(24 * 60 * MINUTE),
        min: 100,
        integer: true,
      }),
    },
  };
}

/** Hands the policy's track names on (the conduct's track mappings must name them), and returns the policy. */
function withTracks(policy: Policy, take: (names: string[]) => void): Policy {
  take([...policy.tracks.keys()]);
  return policy;
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
    // Resolved in the order written (the first bad option is the one named); conduct reads the policy's tracks.
    let tracks: string[] = [];
    return {
      secret: resolveSecret(given.secret),
      store: resolveStore(given.store),
      prefix: resolvePrefix(given.prefix),
      identify: optionalFunction("identify", given.identify, DEFAULT_OPTIONS.identify as ResolvedOptions["identify"]),
      anonymousPlayers: oneOf(
        "anonymousPlayers",
        given.anonymousPlayers,
        ["allow", "refuse"] as const,
        DEFAULT_OPTIONS.anonymousPlayers as "allow",
      ),
      muteTypes: messageTypes("muteTypes", given.muteTypes, DEFAULT_OPTIONS.muteTypes),
      freezeTypes: messageTypes("freezeTypes", given.freezeTypes, DEFAULT_OPTIONS.freezeTypes),
      restrictionField: resolveRestrictionField(given.restrictionField),
      failMode: oneOf("failMode", given.failMode, ["open", "closed"], DEFAULT_OPTIONS.failMode),
      storeTimeoutMs: optionalNumber(
        "storeTimeoutMs",
        given.storeTimeoutMs,
        DEFAULT_OPTIONS.storeTimeoutMs,
        RULES.storeTimeoutMs,
      ),
      heartbeatMs: optionalNumber("heartbeatMs", given.heartbeatMs, DEFAULT_OPTIONS.heartbeatMs, RULES.heartbeatMs),
      maxSessionsPerId: optionalNumber(
        "maxSessionsPerId",
        given.maxSessionsPerId,
        DEFAULT_OPTIONS.maxSessionsPerId,
        RULES.maxSessionsPerId,
      ),
      retention: resolveRetention(given.retention),
      guard: resolveGuard(given.guard),
      policy: withTracks(
        resolvePolicy(given.policy as PolicyOptions | undefined, "policy"),
        (names) => (tracks = names),
      ),
      conduct: resolveConduct(given.conduct, "conduct", tracks),
      notices: resolveNotices(given.notices, "notices"),
      recorder: resolveRecorder(given.recorder),
      reports: resolveReports(given.reports),
      dueProcess: resolveDueProcess(given.dueProcess),
      evasion: resolveEvasion(given.evasion),
      verifyPlayer: optionalFunction<ResolvedOptions["verifyPlayer"]>("verifyPlayer", given.verifyPlayer, undefined),
      noticeIntervalMs: optionalNumber(
        "noticeIntervalMs",
        given.noticeIntervalMs,
        DEFAULT_OPTIONS.noticeIntervalMs,
        RULES.noticeIntervalMs,
      ),
      processId: keyPart("processId", given.processId, undefined),
      audit: resolveAudit(given.audit),
      logger: resolveLogger(given.logger),
    };
  });
}
