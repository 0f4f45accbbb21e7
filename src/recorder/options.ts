import { deepFreeze, keysOf, optionalNumber, readObject, type NumberRule } from "../util/validate.js";

/** Options of the recorder (the `recorder` option of createWarden). */
export interface RecorderOptions {
  /**
   * Longest wait before buffered events are written, in ms.
   * @defaultValue `10`
   */
  flushMs?: number;
  /**
   * Events per script call; a full batch is written at once. A script holds Redis for its
   * whole run (about 20 µs per event): 200 keeps each under ~5 ms, so that neither our
   * next batch nor any other Redis client waits long behind it.
   * @defaultValue `200`
   */
  batchSize?: number;
  /**
   * Most events held in memory (while Redis is slow or down). Past it, new events are
   * dropped and counted in `overflowed`.
   * @defaultValue `100000`
   */
  maxBuffered?: number;
  /**
   * Most batches written at once.
   * @defaultValue `2`
   */
  maxInFlight?: number;
}

/** The recorder's defaults. */
export const RECORDER_DEFAULTS = deepFreeze({
  flushMs: 10,
  batchSize: 200,
  maxBuffered: 100_000,
  maxInFlight: 2,
} as const);

const RECORDER_KEYS = keysOf<RecorderOptions>({ flushMs: true, batchSize: true, maxBuffered: true, maxInFlight: true });

const RULES = {
  flushMs: { min: 0, above: true, max: 60_000, unit: "ms" },
  batchSize: { min: 1, max: 10_000, integer: true },
  maxBuffered: { min: 1, max: 10_000_000, integer: true },
  maxInFlight: { min: 1, max: 64, integer: true },
} as const satisfies Record<string, NumberRule>;

/** Merges the `recorder` option over {@link RECORDER_DEFAULTS} and validates it. Throws `INVALID_OPTION`. */
export function resolveRecorder(value: unknown, path = "recorder"): Required<RecorderOptions> {
  const given = value === undefined ? {} : readObject(path, value, RECORDER_KEYS);
  const one = (key: keyof RecorderOptions): number =>
    optionalNumber(`${path}.${key}`, given[key], RECORDER_DEFAULTS[key], RULES[key]);
  return {
    flushMs: one("flushMs"),
    batchSize: one("batchSize"),
    maxBuffered: one("maxBuffered"),
    maxInFlight: one("maxInFlight"),
  };
}
