/**
 * The guard's options: their types, defaults and resolver (one validation path, see
 * src/util/validate.ts). `createWarden` composes them under `guard`, `muteTypes` and
 * `freezeTypes`.
 */
import {
  CHAT_CATEGORIES,
  CHAT_OPTION_KEYS,
  resolveChatOptions,
  type ChatCategory,
  type ChatDetectorOptions,
  type ResolvedChatOptions,
} from "./chat.js";
import {
  childPath,
  deepFreeze,
  fail,
  keysOf,
  numberIn,
  optionalBoolean,
  optionalName,
  optionalNumber,
  readArray,
  readObject,
  show,
  type NumberRule,
  type Snapshot,
} from "../util/validate.js";

/**
 * The pseudo message type of Colyseus's `defineInput` frames: name it in
 * `guard.flood.types`, `muteTypes` or `freezeTypes` to limit or restrict inputs.
 */
export const INPUT_TYPE = "@input";

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
  /**
   * The policy track each category's offenses count on, so that the policy can weigh a slur
   * differently from a swear word (give the track a ladder in `policy.tracks`). Categories not
   * named keep their default. A track the policy has no ladder for records points and
   * never sanctions.
   * @defaultValue `{ profanity: "abuse", slur: "abuse", sexual: "abuse", harassment: "abuse", spam: "spam" }`
   */
  tracks?: Partial<Record<ChatCategory, string>>;
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

/** The guard's options after defaults and validation. */
export interface ResolvedGuardOptions {
  maxMessageBytes: number;
  flood: { default: FloodLimit | false; types: Record<string, FloodLimit | false> } | false;
  frames: FloodLimit | false;
  unknownTypes: boolean;
  chat:
    | (ResolvedChatOptions & {
        types: readonly (string | number)[];
        field: string;
        recordText: boolean;
        tracks: Readonly<Record<ChatCategory, string>>;
      })
    | false;
}

/** The guard's defaults (frozen: every warden shares them). */
export const GUARD_DEFAULTS = deepFreeze({
  maxMessageBytes: 2048,
  flood: {
    default: { rate: 15, burst: 30 },
    types: { chat: { rate: 1, burst: 5 }, [INPUT_TYPE]: { rate: 120, burst: 240 } },
  },
  frames: { rate: 120, burst: 240 },
  unknownTypes: true,
  chat: {
    types: ["chat"],
    field: "text",
    recordText: false,
    tracks: { profanity: "abuse", slur: "abuse", sexual: "abuse", harassment: "abuse", spam: "spam" },
  },
} as const);

const GUARD_KEYS = keysOf<GuardOptions>({
  maxMessageBytes: true,
  flood: true,
  frames: true,
  unknownTypes: true,
  chat: true,
});
const FLOOD_KEYS = keysOf<Exclude<GuardOptions["flood"], false | undefined>>({ default: true, types: true });
const FLOOD_LIMIT_KEYS = keysOf<FloodLimit>({ rate: true, burst: true });
const CHAT_GUARD_KEYS = keysOf<Omit<ChatGuardOptions, keyof ChatDetectorOptions>>({
  types: true,
  field: true,
  recordText: true,
  tracks: true,
});

/** What a policy track name looks like (as in `policy.tracks`). */
const TRACK_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** The category → track mapping of `guard.chat.tracks`, over the defaults. */
function resolveChatTracks(path: string, value: unknown): Readonly<Record<ChatCategory, string>> {
  const given =
    value === undefined ? {} : readObject(path, value, CHAT_CATEGORIES, "an object of track names by category");
  const tracks = { ...GUARD_DEFAULTS.chat.tracks } as Record<ChatCategory, string>;
  for (const category of CHAT_CATEGORIES) {
    const track = given[category];
    if (track === undefined) continue;
    if (typeof track !== "string" || !TRACK_NAME.test(track))
      fail(childPath(path, category), `must be a track name matching ${String(TRACK_NAME)}, got ${show(track)}`);
    tracks[category] = track;
  }
  return Object.freeze(tracks);
}

const RULES = {
  maxMessageBytes: { min: 1, max: 16 * 1024 * 1024, integer: true, unit: "bytes" },
  rate: { min: 0, above: true, max: 1_000_000 },
  burst: { min: 1, max: 1_000_000 },
} as const satisfies Record<string, NumberRule>;

/** Most entries of a list of message types, and most per-type flood limits. */
const MAX_TYPES = 1000;
/** Longest message type name. */
const MAX_TYPE_CHARS = 256;

function floodLimit(path: string, value: unknown): FloodLimit | false {
  if (value === false) return false;
  const given = readObject(path, value, FLOOD_LIMIT_KEYS, "{ rate, burst } or false");
  return {
    rate: numberIn(childPath(path, "rate"), given.rate, RULES.rate),
    burst: numberIn(childPath(path, "burst"), given.burst, RULES.burst),
  };
}

function messageType(path: string, value: unknown): string | number {
  const ok =
    (typeof value === "string" && value.length > 0 && value.length <= MAX_TYPE_CHARS) || Number.isSafeInteger(value);
  if (!ok)
    fail(
      path,
      `must be a message type (a non-empty string of at most ${MAX_TYPE_CHARS} characters, or a whole number), got ${show(value)}`,
    );
  return value as string | number;
}

/** A list of message types (`muteTypes`, `freezeTypes`, `guard.chat.types`), or `fallback`. */
export function messageTypes(
  path: string,
  value: unknown,
  fallback: readonly (string | number)[],
): readonly (string | number)[] {
  if (value === undefined) return [...fallback];
  const list = readArray(path, value, MAX_TYPES, "an array of message types (non-empty strings or whole numbers)");
  return list.map((type, i) => messageType(`${path}[${i}]`, type));
}

function resolveFlood(path: string, value: unknown): ResolvedGuardOptions["flood"] {
  const defaults = GUARD_DEFAULTS.flood;
  if (value === false) return false;
  const given =
    value === undefined ? {} : readObject(path, value, FLOOD_KEYS, "an object ({ default?, types? }) or false");
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
      Object.defineProperty(types, type, {
        value: floodLimit(typePath, byType[type]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return {
    default: given.default === undefined ? defaults.default : floodLimit(childPath(path, "default"), given.default),
    types,
  };
}

function resolveChat(path: string, value: unknown): ResolvedGuardOptions["chat"] {
  const defaults = GUARD_DEFAULTS.chat;
  if (value === false) return false;
  const given =
    value === undefined ? {} : readObject(path, value, [...CHAT_GUARD_KEYS, ...CHAT_OPTION_KEYS], "an object or false");
  const detector: Snapshot = {};
  for (const key of CHAT_OPTION_KEYS) if (given[key] !== undefined) detector[key] = given[key];
  return {
    ...resolveChatOptions(detector, path),
    types: messageTypes(childPath(path, "types"), given.types, defaults.types),
    field: optionalName(childPath(path, "field"), given.field, defaults.field),
    recordText: optionalBoolean(childPath(path, "recordText"), given.recordText, defaults.recordText),
    tracks: resolveChatTracks(childPath(path, "tracks"), given.tracks),
  };
}

/** Merges the `guard` option over {@link GUARD_DEFAULTS} and validates it. Throws `INVALID_OPTION`. */
export function resolveGuard(value: unknown, path = "guard"): ResolvedGuardOptions {
  const defaults = GUARD_DEFAULTS;
  const given = value === undefined ? {} : readObject(path, value, GUARD_KEYS);
  return {
    maxMessageBytes: optionalNumber(
      childPath(path, "maxMessageBytes"),
      given.maxMessageBytes,
      defaults.maxMessageBytes,
      RULES.maxMessageBytes,
    ),
    flood: resolveFlood(childPath(path, "flood"), given.flood),
    frames: given.frames === undefined ? { ...defaults.frames } : floodLimit(childPath(path, "frames"), given.frames),
    unknownTypes: optionalBoolean(childPath(path, "unknownTypes"), given.unknownTypes, defaults.unknownTypes),
    chat: resolveChat(childPath(path, "chat"), given.chat),
  };
}
