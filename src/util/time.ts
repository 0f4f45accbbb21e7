/**
 * Instants (epoch milliseconds) as the warden keeps them, and their formatting.
 *
 * JavaScript's `Date` holds instants within ±8.64e15 ms of the epoch; `toISOString()` throws
 * a `RangeError` outside it (and on NaN). Instants come from records, the bus and requests,
 * so every one is checked against {@link MAX_INSTANT_MS} before it is stored, and every one
 * is printed through {@link formatInstant}, which cannot throw.
 */

/** One past the last instant a `Date` can hold (8.64e15 ms, year 275760). Instants are in `[0, MAX_INSTANT_MS)`. */
export const MAX_INSTANT_MS = 8.64e15;

/** True for a whole number of epoch milliseconds in `[0, MAX_INSTANT_MS)`: what the warden stores. */
export function isInstant(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value < MAX_INSTANT_MS;
}

/**
 * An instant as ISO 8601 (`2025-01-02T03:04:05.000Z`), or with `style` `"readable"` as people
 * read it in a notice (`2025-01-02 03:04 UTC`: to the minute, no `T`, the zone spelt out).
 * Never throws: a value a `Date` cannot hold (NaN, ±Infinity, beyond ±8.64e15, not a
 * number) gives `"(invalid time)"`.
 */
export function formatInstant(ms: unknown, style: "iso" | "readable" = "iso"): string {
  if (typeof ms !== "number" || !Number.isFinite(ms) || Math.abs(ms) > MAX_INSTANT_MS) return "(invalid time)";
  const iso = new Date(ms).toISOString();
  if (style === "iso") return iso;
  // Years beyond 9999 are written `+275760-09-13T…`: cut at the `T`, whatever the year's width.
  const t = iso.indexOf("T");
  return `${iso.slice(0, t)} ${iso.slice(t + 1, t + 6)} UTC`;
}
