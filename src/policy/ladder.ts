/**
 * The escalation policy: validated data plus a pure, stateless calculator.
 *
 * In the spirit of LibertyBans' "layouts": each track counts offense points that decay
 * with a half-life, and its ladder maps points to steps. The greatest step at or below the
 * current points applies. Nothing here reads a clock or a store: callers pass points in and
 * get a step out, so the same inputs always give the same answer (safe to retry, easy to
 * mirror in Lua).
 */
import { LASTING_KINDS, SANCTION_KINDS, type SanctionKind } from "../sanctions/model.js";
import {
  childPath,
  deepFreeze,
  durationIn,
  fail,
  listOf,
  numberIn,
  readArray,
  readObject,
  show,
  suggest,
} from "../util/validate.js";

/** One rung: at `at` points (or more) the ID gets `kind`, for `duration` if given. */
export interface LadderStep {
  /** Points (strictly positive) from which this step applies. */
  at: number;
  /** The sanction this step issues. */
  kind: SanctionKind;
  /**
   * Milliseconds, or a string such as `"10m"` (see `parseDuration` in src/duration.ts; at most 10 years). Only for lasting
   * kinds (mute, freeze, ban); refused for warn and kick, which act once.
   * @defaultValue omitted: a lasting kind is then permanent
   */
  duration?: number | string;
}

/** A track: offense points that decay with a half-life, and its ladder. */
export interface TrackOptions {
  /**
   * Time for the track's points to halve: milliseconds or a string such as `"10m"`.
   * @defaultValue `"10m"` ({@link DEFAULT_HALF_LIFE_MS})
   */
  halfLifeMs?: number | string;
  /** The steps, in any order; at least one, with distinct `at` values. */
  ladder: readonly LadderStep[];
}

/** The `policy` option. */
export interface PolicyOptions {
  /**
   * Tracks by name, merged over {@link DEFAULT_TRACKS} one track at a time: a track given
   * here replaces the default track of that name entirely (ladders are not merged step by
   * step, which would make the result hard to read off the config); default tracks not named
   * stay; `false` removes a default track.
   * @defaultValue {@link DEFAULT_TRACKS}
   */
  tracks?: Record<string, TrackOptions | false>;
}

/** A validated step; `duration` in milliseconds, `undefined` for warn/kick or a permanent sanction. */
export interface ResolvedStep {
  readonly at: number;
  readonly kind: SanctionKind;
  readonly duration: number | undefined;
}

/** A validated track; `ladder` is sorted ascending by `at`. */
export interface ResolvedTrack {
  readonly name: string;
  readonly halfLifeMs: number;
  readonly ladder: readonly ResolvedStep[];
}

/** The validated policy: every enabled track by name (defaults first, in their order). */
export interface Policy {
  readonly tracks: ReadonlyMap<string, ResolvedTrack>;
}

/** Half-life of a track that does not give one. */
export const DEFAULT_HALF_LIFE_MS = 10 * 60_000;

/**
 * The default tracks. Each is a starting point meant to be tuned per game:
 *
 * | track       | half-life | ladder                                          |
 * |-------------|-----------|-------------------------------------------------|
 * | `spam`      | 10m       | 1 → warn, 3 → mute 5m, 6 → kick, 10 → ban 1h    |
 * | `abuse`     | 30m       | 1 → warn, 2 → mute 10m, 4 → kick, 6 → ban 1d    |
 * | `malformed` | 10m       | 3 → warn, 10 → kick, 25 → ban 1h                |
 * | `reported`  | 1h        | 1 → warn, 2 → mute 15m, 3 → kick, 5 → ban 1d    |
 *
 * `malformed` starts at 3 because a single bad message is as likely a client bug as an
 * attack. Frozen, so no caller can change the defaults of every other warden in the process.
 */
export const DEFAULT_TRACKS: Readonly<Record<string, TrackOptions>> = deepFreeze({
  spam: {
    halfLifeMs: "10m",
    ladder: [
      { at: 1, kind: "warn" },
      { at: 3, kind: "mute", duration: "5m" },
      { at: 6, kind: "kick" },
      { at: 10, kind: "ban", duration: "1h" },
    ],
  },
  abuse: {
    halfLifeMs: "30m",
    ladder: [
      { at: 1, kind: "warn" },
      { at: 2, kind: "mute", duration: "10m" },
      { at: 4, kind: "kick" },
      { at: 6, kind: "ban", duration: "1d" },
    ],
  },
  malformed: {
    halfLifeMs: "10m",
    ladder: [
      { at: 3, kind: "warn" },
      { at: 10, kind: "kick" },
      { at: 25, kind: "ban", duration: "1h" },
    ],
  },
  reported: {
    halfLifeMs: "1h",
    ladder: [
      { at: 1, kind: "warn" },
      { at: 2, kind: "mute", duration: "15m" },
      { at: 3, kind: "kick" },
      { at: 5, kind: "ban", duration: "1d" },
    ],
  },
} satisfies Record<string, TrackOptions>);

/**
 * Track names end up in store keys and Lua scripts, so they are kept short and plain.
 * (This also rules out `__proto__` and friends as names.)
 */
const TRACK_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Points are compared at a resolution of 1/100. They are decayed floats, and offenses in
 * quick succession lose a little to decay in between (0.1 % per second at a 10-minute
 * half-life): without this slack, three offenses a second apart add up to 2.998 and miss
 * the step at 3 — and the step below would be issued a second time.
 */
export const EPSILON = 0.005;

const POLICY_KEYS = ["tracks"] as const;
const TRACK_KEYS = ["halfLifeMs", "ladder"] as const;
const STEP_KEYS = ["at", "kind", "duration"] as const;

/** Most tracks in `policy.tracks`, and most steps in one ladder. */
const MAX_TRACKS = 64;
const MAX_STEPS = 100;
/** Highest `at`: points are small numbers, a million is surely a typo. */
const MAX_AT = 1_000_000;

/**
 * Validates `options`, merges them over {@link DEFAULT_TRACKS} and resolves durations to
 * milliseconds and ladders to ascending order.
 *
 * Throws `WardenError("INVALID_OPTION")` with a sentence that names the path of the bad
 * value, in the style of every option (see `src/util/validate.ts`), e.g.
 * `createWarden: option "policy.tracks.spam.ladder[2].duration" is not allowed: kick acts once and cannot have a duration`.
 * Indexes in paths are those of the ladder as given, before sorting, so they point at the
 * config line. Unknown keys are refused with the nearest known one.
 *
 * @param options - The `policy` option; omitted = the defaults.
 * @param path - Where the option sits, for error sentences.
 */
export function resolvePolicy(options?: PolicyOptions, path = "policy"): Policy {
  const given = options === undefined ? undefined : readObject(path, options, POLICY_KEYS);
  const tracksPath = childPath(path, "tracks");
  const tracksGiven =
    given?.tracks === undefined ? {} : readObject(tracksPath, given.tracks, null, "an object of tracks by name");
  const names = Object.keys(tracksGiven);
  if (names.length > MAX_TRACKS) fail(tracksPath, `must have at most ${MAX_TRACKS} tracks, got ${names.length}`);

  // Start from the defaults so a track given replaces its default in place and keeps its order.
  const merged = new Map<string, unknown>(Object.entries(DEFAULT_TRACKS));
  for (const name of names) {
    const track = tracksGiven[name];
    const trackPath = childPath(tracksPath, name);
    if (!TRACK_NAME.test(name)) fail(trackPath, `is not a valid track name: it must match ${String(TRACK_NAME)}`);
    if (track === false) {
      // A `false` for a name that is no default is almost surely a typo ("spma": false)
      // that would leave the intended track on; say so rather than ignore it.
      if (!Object.hasOwn(DEFAULT_TRACKS, name)) {
        const defaults = Object.keys(DEFAULT_TRACKS);
        const near = suggest(name, defaults);
        fail(
          trackPath,
          `is false, which only removes a default track, and there is none by this name` +
            (near === undefined
              ? ` (defaults: ${listOf(defaults)})`
              : ` — did you mean "${childPath(tracksPath, near)}"?`),
        );
      }
      merged.delete(name);
    } else {
      merged.set(name, track);
    }
  }

  const tracks = new Map<string, ResolvedTrack>();
  for (const [name, track] of merged) tracks.set(name, resolveTrack(childPath(tracksPath, name), name, track));
  return Object.freeze({ tracks: new ReadonlyMapView(tracks) });
}

/**
 * Points after decay: `points * 2^(-elapsedMs / halfLifeMs)`; a negative `elapsedMs` (clock
 * skew between processes) counts as 0, so decay never adds points.
 *
 * The Lua side must compute exactly this (Lua 5.1's `^` is C `pow`, like `Math.pow`):
 *
 * ```lua
 * local function decay(points, elapsed_ms, half_life_ms)
 *   if elapsed_ms < 0 then elapsed_ms = 0 end
 *   return points * 2 ^ (-elapsed_ms / half_life_ms)
 * end
 * -- compare with the same slack as EPSILON here: reached = points >= at - 0.005
 * ```
 *
 * @param points - Points as last stored.
 * @param elapsedMs - Time since they were stored.
 * @param halfLifeMs - The track's {@link ResolvedTrack.halfLifeMs}.
 */
export function decay(points: number, elapsedMs: number, halfLifeMs: number): number {
  const elapsed = Math.max(elapsedMs, 0);
  return points * 2 ** (-elapsed / halfLifeMs);
}

/**
 * The greatest step at or below `points` (within 0.005, see EPSILON), or null below the
 * first step. Pure.
 */
export function stepAt(track: ResolvedTrack, points: number): ResolvedStep | null {
  // Ladders are short (a handful of steps): a backward scan beats a binary search in clarity.
  for (let i = track.ladder.length - 1; i >= 0; i--) {
    const step = track.ladder[i];
    if (step !== undefined && points >= step.at - EPSILON) return step;
  }
  return null;
}

/**
 * What a new offense should trigger: the step at `after` if it is strictly higher on the
 * ladder than the step at `before`, else null.
 *
 * `before` is the track's points decayed to the moment of the offense, `after` is `before`
 * plus the offense's weight. Comparing the two steps, rather than re-issuing whatever step
 * `after` sits on, means an ID sitting above a threshold is not sanctioned again by every
 * further offense; once decay has brought it back below a threshold, crossing that threshold
 * again issues the step again. Jumping several rungs at once issues only the highest one.
 * Pure and stateless, so it is safe to retry.
 *
 * @param before - Decayed points just before the offense.
 * @param after - Points just after it.
 * @param issuedAt - `at` of the step last issued on this track for this ID (0 = none known),
 *   as the store keeps it: stateless in itself, the calculator reads that state as input.
 */
export function escalate(track: ResolvedTrack, before: number, after: number, issuedAt = 0): ResolvedStep | null {
  const next = stepAt(track, after);
  if (next === null) return null;
  const reached = stepAt(track, before)?.at ?? 0;
  // The step last issued is still held while the points stay within HYSTERESIS below it:
  // a second of decay between two offenses must not issue the same step again.
  const held = issuedAt > 0 && before >= issuedAt - HYSTERESIS ? Math.max(issuedAt, reached) : reached;
  // `at` values are distinct and sorted, so a higher `at` is a higher rung.
  return next.at > held ? next : null;
}

/**
 * How far (in points) an ID must fall below the step it was last given before that step
 * can be given again. One offense's worth: re-issuing needs real decay, not a second's.
 */
export const HYSTERESIS = 1;

// ---------------------------------------------------------------------------------------

function resolveTrack(path: string, name: string, track: unknown): ResolvedTrack {
  const given = readObject(path, track, TRACK_KEYS, "a track ({ halfLifeMs, ladder }) or false to remove it");
  const halfLifeMs =
    given.halfLifeMs === undefined ? DEFAULT_HALF_LIFE_MS : durationIn(childPath(path, "halfLifeMs"), given.halfLifeMs);

  const ladderPath = childPath(path, "ladder");
  const ladder = readArray(ladderPath, given.ladder, MAX_STEPS, "an array of steps");
  if (ladder.length === 0) fail(ladderPath, "must have at least one step");
  const steps = ladder.map((step, i) => resolveStep(`${ladderPath}[${i}]`, step));

  const seen = new Map<number, number>();
  for (const step of steps) seen.set(step.at, (seen.get(step.at) ?? 0) + 1);
  for (const [at, count] of seen) {
    // Two steps at the same points would make "the step at these points" ambiguous.
    if (count > 1)
      fail(
        ladderPath,
        `must have steps with distinct "at" values (${at} appears ${count === 2 ? "twice" : `${count} times`})`,
      );
  }
  steps.sort((a, b) => a.at - b.at);
  return Object.freeze({ name, halfLifeMs, ladder: Object.freeze(steps) });
}

function resolveStep(path: string, step: unknown): ResolvedStep {
  const given = readObject(path, step, STEP_KEYS, "a step ({ at, kind, duration? })");
  const at = numberIn(childPath(path, "at"), given.at, { min: 0, above: true, max: MAX_AT });
  const kind = given.kind;
  if (!isKind(kind))
    fail(childPath(path, "kind"), `must be ${listOf(SANCTION_KINDS.map((k) => JSON.stringify(k)))}, got ${show(kind)}`);
  let duration: number | undefined;
  if (given.duration !== undefined) {
    const durationPath = childPath(path, "duration");
    if (!LASTING_KINDS.has(kind)) fail(durationPath, `is not allowed: ${kind} acts once and cannot have a duration`);
    duration = durationIn(durationPath, given.duration);
  }
  return Object.freeze({ at, kind, duration });
}

function isKind(value: unknown): value is SanctionKind {
  return typeof value === "string" && (SANCTION_KINDS as readonly string[]).includes(value);
}

/**
 * A Map that cannot be changed at run time either: `ReadonlyMap` is only a type, and the
 * policy is shared by every room of the process.
 */
class ReadonlyMapView<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;
  constructor(map: Map<K, V>) {
    this.#map = map;
  }
  get size(): number {
    return this.#map.size;
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  has(key: K): boolean {
    return this.#map.has(key);
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#map) callback.call(thisArg, value, key, this);
  }
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
  values(): MapIterator<V> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map[Symbol.iterator]();
  }
}
