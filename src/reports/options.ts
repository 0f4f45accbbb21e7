import { deepFreeze, keysOf, optionalNumber, readObject, type NumberRule } from "../util/validate.js";

const DAY = 86_400_000;

/** Player reports (`plugin.report(...)`). */
export interface ReportOptions {
  /**
   * Window in which reports add up, and in which one reporter counts once per target.
   * @defaultValue `600000` (10 min)
   */
  windowMs?: number;
  /**
   * Weighted sum of reports within the window that puts the reported player's case into the
   * review queue, for a person to decide (reports alone never climb the ladder).
   * @defaultValue `3`
   */
  threshold?: number;
  /**
   * An ID first seen less than this long ago reports with a quarter of the weight.
   * @defaultValue `3600000` (1 h)
   */
  newIdMs?: number;
  /**
   * Reports one ID may file within the window, across processes and reconnections (at most
   * 500: the store counts up to 1000); more is report abuse (a `report_abuse` offense on the
   * `spam` track, recorded once per window).
   * @defaultValue `5`
   */
  maxPerWindow?: number;
}

/** The report defaults. */
export const REPORT_DEFAULTS = deepFreeze({
  windowMs: 600_000,
  threshold: 3,
  newIdMs: 3_600_000,
  maxPerWindow: 5,
} as const);

const REPORT_KEYS = keysOf<ReportOptions>({ windowMs: true, threshold: true, newIdMs: true, maxPerWindow: true });

const RULES = {
  windowMs: { min: 0, above: true, max: 30 * DAY, unit: "ms" },
  threshold: { min: 0, above: true, max: 1000 },
  newIdMs: { min: 0, above: true, max: 365 * DAY, unit: "ms" },
  // The store counts a reporter's reports up to 1000 per window (src/stores: MAX_REPORTS_COUNTED); the cap stays well inside it.
  maxPerWindow: { min: 1, max: 500, integer: true },
} as const satisfies Record<string, NumberRule>;

/** Merges the `reports` option over {@link REPORT_DEFAULTS} and validates it. Throws `INVALID_OPTION`. */
export function resolveReports(value: unknown, path = "reports"): Required<ReportOptions> {
  const given = value === undefined ? {} : readObject(path, value, REPORT_KEYS);
  const one = (key: keyof ReportOptions): number =>
    optionalNumber(`${path}.${key}`, given[key], REPORT_DEFAULTS[key], RULES[key]);
  return {
    windowMs: one("windowMs"),
    threshold: one("threshold"),
    newIdMs: one("newIdMs"),
    maxPerWindow: one("maxPerWindow"),
  };
}
