import { WardenError } from "./errors.js";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PATTERN = /^(\d{1,9})(s|m|h|d|w)$/;

/**
 * Longest duration of a sanction or ladder step: 10 years (3650 days). Longer is refused
 * with `INVALID_DURATION` everywhere (CLI, HTTP API, `sanctions.issue`, policy); for longer,
 * issue a permanent sanction. The bound also keeps every end time far inside what a `Date`
 * can hold.
 */
export const MAX_DURATION_MS = 3650 * UNIT_MS.d;

/**
 * Parses a duration such as `30s`, `10m`, `2h`, `7d` or `2w` into milliseconds, at most
 * {@link MAX_DURATION_MS}. Throws `INVALID_DURATION` with a sentence that says what is accepted.
 */
export function parseDuration(text: string): number {
  const match = typeof text === "string" ? PATTERN.exec(text.trim()) : null;
  if (!match) {
    throw new WardenError(
      "INVALID_DURATION",
      `bad duration ${JSON.stringify(String(text).slice(0, 40))}: use a whole number and one of s, m, h, d, w (e.g. 30s, 10m, 2h, 7d)`,
    );
  }
  return checkDuration(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS], text.trim());
}

/**
 * Checks a duration in milliseconds: a whole number, longer than zero, at most
 * {@link MAX_DURATION_MS}. Returns it, or throws `INVALID_DURATION`. `shown` names it in
 * the message (defaults to the number).
 */
export function checkDuration(ms: unknown, shown: string = String(ms)): number {
  const named = JSON.stringify(shown.slice(0, 40));
  // Too long first: 999999999w is also past safe integers, and "too long" is what to fix.
  if (typeof ms === "number" && ms > MAX_DURATION_MS) {
    throw new WardenError(
      "INVALID_DURATION",
      `duration ${named} is longer than the maximum of 3650d (10 years): issue a permanent sanction instead`,
    );
  }
  if (typeof ms !== "number" || !Number.isSafeInteger(ms))
    throw new WardenError("INVALID_DURATION", `duration ${named} must be a whole number of milliseconds`);
  if (ms <= 0) throw new WardenError("INVALID_DURATION", `duration ${named} must be longer than zero`);
  return ms;
}

/** Formats milliseconds back into the largest exact unit (`90000` → `90s`, `7200000` → `2h`). */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
