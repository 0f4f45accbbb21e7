import { WardenError } from "./errors.js";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PATTERN = /^(\d{1,9})(s|m|h|d|w)$/;

/**
 * Parses a duration such as `30s`, `10m`, `2h`, `7d` or `2w` into milliseconds.
 * Throws `INVALID_DURATION` with a sentence that says what is accepted.
 */
export function parseDuration(text: string): number {
  const match = PATTERN.exec(text.trim());
  if (!match) {
    throw new WardenError("INVALID_DURATION", `bad duration ${JSON.stringify(text)}: use a whole number and one of s, m, h, d, w (e.g. 30s, 10m, 2h, 7d)`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms <= 0) throw new WardenError("INVALID_DURATION", `duration ${JSON.stringify(text)} must be longer than zero`);
  return ms;
}

/** Formats milliseconds back into the largest exact unit (`90000` → `90s`, `7200000` → `2h`). */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
