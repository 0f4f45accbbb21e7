/**
 * The one set of helpers every option is checked with (`resolveOptions`, `resolvePolicy`,
 * `resolveChatOptions`), so that every refusal reads the same way:
 *
 * - `createWarden: option "retention.eventsMs" must be a whole number of milliseconds from 1 to 315360000000 (10 years), got -1`
 * - `createWarden: unknown option "failmode" — did you mean "failMode"?`
 *
 * Every refusal is a `WardenError("INVALID_OPTION")`, never a TypeError: user objects are
 * read once, inside a try, so a getter or a Proxy that throws is refused like any other bad
 * value, with the path where it happened.
 *
 * Paths are written as in code: `guard.flood.types.chat.rate`, `policy.tracks.spam.ladder[2]`,
 * `guard.flood.types["@input"]`. The empty path is the options object itself.
 */
import { MAX_DURATION_MS, parseDuration } from "../duration.js";
import { WardenError } from "../errors.js";

/** Options objects, read once: own enumerable string keys only, on a null prototype. */
export type Snapshot = Record<string, unknown>;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/**
 * Longest time any ms option may be: 10 years, the bound of every sanction duration
 * (`retention.*`, ladder durations, half-lives).
 */
export const MAX_SPAN_MS = MAX_DURATION_MS;

/** Keys longer than this are neither shown whole nor compared for suggestions. */
const MAX_SHOWN_KEY = 64;

/** Throws `INVALID_OPTION`: `createWarden: option "<path>" <sentence>`. */
export function fail(path: string, sentence: string, cause?: unknown): never {
  const subject = path === "" ? "options" : `option "${path}"`;
  throw new WardenError(
    "INVALID_OPTION",
    `createWarden: ${subject} ${sentence}`,
    cause === undefined ? undefined : { cause },
  );
}

/** `path.key` for a plain key, `path["odd key"]` otherwise, so the path stays readable and unambiguous. */
export function childPath(path: string, key: string): string {
  const shown = key.length > MAX_SHOWN_KEY ? `${key.slice(0, MAX_SHOWN_KEY)}…` : key;
  if (/^[A-Za-z_$][\w$]*$/.test(shown)) return path === "" ? shown : `${path}.${shown}`;
  return `${path}[${JSON.stringify(shown)}]`;
}

/** A short rendering of a bad value for a sentence (`"abc"`, `NaN`, `an array`, `a Map`); never throws. */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      try {
        if (Array.isArray(value)) return "an array";
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto === Object.prototype || proto === null) return "an object";
        // Say which kind of object, so "must be an object, got a Map" makes sense.
        const tag = Object.prototype.toString.call(value).slice(8, -1);
        const name = tag !== "Object" ? tag : (proto as { constructor?: { name?: unknown } }).constructor?.name;
        return typeof name === "string" && /^\w{1,40}$/.test(name) && name !== "Object"
          ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`
          : "an object";
      } catch {
        return "an object"; // a revoked Proxy, a throwing trap or getter
      }
  }
}

/** The message of whatever a getter or trap threw, bounded; never throws. */
function reason(error: unknown, named = true): string {
  try {
    const text =
      error instanceof Error
        ? named
          ? `${error.name}: ${error.message}`
          : error.message
        : typeof error === "string"
          ? error
          : show(error);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return "it threw";
  }
}

/**
 * Runs `read` (which touches a user value: a getter, a Proxy trap, `instanceof`) and turns
 * anything it throws, other than our own refusals, into `INVALID_OPTION` at `path`.
 */
export function attempt<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof WardenError && error.code === "INVALID_OPTION") throw error;
    fail(path, `could not be read (${reason(error)})`, error);
  }
}

/** An object literal (or `Object.create(null)`), not an array, class instance, Map, Date… */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Reads a nested options object once and refuses keys not in `known` (`null` = any key, for
 * objects keyed by name such as `guard.flood.types`). Anything but a plain object is refused
 * with `must be <expectation>`.
 */
export function readObject(
  path: string,
  value: unknown,
  known: readonly string[] | null,
  expectation = "an object",
): Snapshot {
  const keys = attempt(path, () => {
    if (!isPlainObject(value)) fail(path, `must be ${expectation}, got ${show(value)}`);
    return Object.keys(value);
  });
  // Keys first: a misspelt key is named as such even if reading its value would throw.
  if (known !== null) checkKeys(path, keys, known);
  const source = value as Record<string, unknown>;
  const snapshot: Snapshot = Object.create(null) as Snapshot;
  for (const key of keys) snapshot[key] = attempt(childPath(path, key), () => source[key]);
  return snapshot;
}

/** Reads an array once (at most `max` entries); anything else is refused with `must be <expectation>`. */
export function readArray(path: string, value: unknown, max: number, expectation: string): unknown[] {
  return attempt(path, () => {
    if (!Array.isArray(value)) fail(path, `must be ${expectation}, got ${show(value)}`);
    if (value.length > max) fail(path, `must have at most ${max} entries, got ${value.length}`);
    return Array.from(value as unknown[]);
  });
}

/**
 * Unknown keys are refused: a misspelt `failmode` would otherwise leave the join gate
 * fail-open without a word, a misspelt `durration` would make a ban permanent.
 */
export function checkKeys(path: string, keys: readonly string[], known: readonly string[]): void {
  for (const key of keys) {
    if (known.includes(key)) continue;
    const near = suggest(key, known);
    const hint = near === undefined ? ` (use ${listOf(known)})` : ` — did you mean "${childPath(path, near)}"?`;
    throw new WardenError("INVALID_OPTION", `createWarden: unknown option "${childPath(path, key)}"${hint}`);
  }
}

/** `a, b or c`. */
export function listOf(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/**
 * Case-insensitive optimal-string-alignment distance (Levenshtein plus the swap of two
 * neighbours, each counting 1): `failmode`/`failMode` 0, `eventMs`/`eventsMs` 1,
 * `rtae`/`rate` 1.
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let before: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[t.length]!;
}

/**
 * How close `word` is to the known key `key` (lower is closer), or undefined when too far
 * to suggest. Close in spelling: at most a third of the letters wrong (at least one). A
 * key with something added or cut off (`alowList` for `allow`, `english` for
 * `englishDataset`, `timeout` for `storeTimeoutMs`) also counts, ranked after those.
 */
function closeness(word: string, key: string): number | undefined {
  const w = word.toLowerCase();
  const k = key.toLowerCase();
  const distance = editDistance(w, k);
  if (distance <= Math.max(1, Math.floor(Math.max(w.length, k.length) / 3))) return distance;
  const [short, long] = w.length < k.length ? [w, k] : [k, w];
  if (short.length < 4) return undefined;
  let start = Infinity;
  for (let length = short.length - 1; length <= short.length + 1; length++)
    start = Math.min(start, editDistance(short, long.slice(0, length)));
  if (start <= 1) return 10 + start;
  if (long.includes(short)) return 12;
  return undefined;
}

/** The known key nearest to `word`, if one is close enough to be what was meant. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  if (word.length === 0 || word.length > MAX_SHOWN_KEY) return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const key of known) {
    const score = closeness(word, key);
    if (score !== undefined && score < bestScore) {
      best = key;
      bestScore = score;
    }
  }
  return best;
}

/** Bounds of a numeric option. */
export interface NumberRule {
  /** Least value; excluded when `above` is set. */
  min: number;
  /** Greatest value, included. */
  max: number;
  /** `min` itself is refused (durations and rates: above 0). */
  above?: boolean;
  /** Only whole numbers. */
  integer?: boolean;
  /** What the number counts, for the sentence. */
  unit?: "ms" | "bytes";
}

/** `60000 (1 min)`, `16777216 (16 MiB)`: the bound as written and as read. */
function shownBound(value: number, unit: NumberRule["unit"]): string {
  if (unit === "ms") {
    for (const [size, name] of [
      [YEAR, "year"],
      [DAY, "day"],
      [HOUR, "h"],
      [MINUTE, "min"],
      [SECOND, "s"],
    ] as const) {
      if (value >= size && value % size === 0) {
        const count = value / size;
        const label = name === "year" || name === "day" ? `${name}${count === 1 ? "" : "s"}` : name;
        return `${value} (${count} ${label})`;
      }
    }
  }
  if (unit === "bytes") {
    for (const [size, name] of [
      [1024 * 1024, "MiB"],
      [1024, "KiB"],
    ] as const) {
      if (value >= size && value % size === 0) return `${value} (${value / size} ${name})`;
    }
  }
  return String(value);
}

/** `a whole number of milliseconds from 1 to 60000 (1 min)`. */
function expectationOf(rule: NumberRule): string {
  const what = `${rule.integer === true ? "a whole number" : "a number"}${rule.unit === "ms" ? " of milliseconds" : rule.unit === "bytes" ? " of bytes" : ""}`;
  const range =
    rule.above === true
      ? `above ${rule.min} and at most ${shownBound(rule.max, rule.unit)}`
      : `from ${rule.min} to ${shownBound(rule.max, rule.unit)}`;
  return `${what} ${range}`;
}

/** A finite number within `rule` (NaN, Infinity, strings and far-out values are refused). */
export function numberIn(path: string, value: unknown, rule: NumberRule): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    (rule.above === true ? value > rule.min : value >= rule.min) &&
    value <= rule.max;
  if (!ok) fail(path, `must be ${expectationOf(rule)}, got ${show(value)}`);
  return value as number;
}

/** {@link numberIn}, or `fallback` when the option is not given. */
export function optionalNumber(path: string, value: unknown, fallback: number, rule: NumberRule): number {
  return value === undefined ? fallback : numberIn(path, value, rule);
}

/** A boolean, or `fallback` when not given. */
export function optionalBoolean(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(path, `must be true or false, got ${show(value)}`);
  return value;
}

/** One of `choices`, or `fallback` when not given. */
export function oneOf<T extends string>(path: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly unknown[]).includes(value)) {
    fail(path, `must be ${listOf(choices.map((c) => JSON.stringify(c)))}, got ${show(value)}`);
  }
  return value as T;
}

/** A non-empty string of at most `max` characters, or `fallback` when not given. */
export function optionalName(path: string, value: unknown, fallback: string, max = 64): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    fail(path, `must be a non-empty string of at most ${max} characters, got ${show(value)}`);
  }
  return value;
}

/**
 * Milliseconds from a whole number or a duration string such as `"10m"` (parsed by
 * `parseDuration`, whose sentence is kept), above 0 and at most {@link MAX_SPAN_MS}.
 */
export function durationIn(path: string, value: unknown): number {
  if (typeof value === "string") {
    try {
      return parseDuration(value);
    } catch (error) {
      fail(path, `is invalid: ${reason(error, false)}`, error);
    }
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > MAX_SPAN_MS) {
    fail(
      path,
      `must be a whole number of milliseconds from 1 to ${shownBound(MAX_SPAN_MS, "ms")} or a duration such as "10m", got ${show(value)}`,
    );
  }
  return value;
}

/** A function, or `fallback` when not given. */
export function optionalFunction<T>(path: string, value: unknown, fallback: T, expectation = "a function"): T {
  if (value === undefined) return fallback;
  if (typeof value !== "function") fail(path, `must be ${expectation}, got ${show(value)}`);
  return value as T;
}

/** A duration option (milliseconds or a string such as `"10m"`), or `fallback` when it is not given. */
export function optionalDuration(path: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : durationIn(path, value);
}

/** Freezes an object and everything in it (defaults shared by every warden of the process). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The keys of an options type, all of them (the compiler refuses a missing or extra one). */
export function keysOf<T>(keys: Record<keyof T, true>): readonly string[] {
  return Object.keys(keys);
}
