/**
 * Characters that must not reach records, logs or notices: C0/C1 controls, zero-width and
 * invisible characters, bidi overrides and isolates (which can make a stored reason or
 * name display as something else).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/g;
/** A surrogate that is not part of a pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Bounds free text for storage: unsafe characters become spaces, lone surrogates go, the
 * result is trimmed and cut to at most `max` UTF-16 units without splitting a character
 * (a half emoji would make the JSON undecodable for Redis's cjson).
 */
export function boundText(text: string, max: number): string {
  let out = text.replace(LONE_SURROGATE, "").replace(UNSAFE, " ").trim();
  if (out.length > max) {
    out = out.slice(0, max);
    // Do not end on the first half of a surrogate pair.
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  }
  return out;
}
