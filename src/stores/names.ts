import { createHash } from "node:crypto";

/** A display name as shown to moderators: NFKC, control characters removed, trimmed, at most 64 characters. */
export function normalizeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.normalize("NFKC").replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, "").trim().slice(0, 64);
}

/**
 * The index key of a name: case-insensitive, and hashed, so that key names hold no
 * display name and no character that could break a hash tag.
 */
export function nameKey(name: string): string {
  return createHash("sha256").update(normalizeName(name).toLowerCase()).digest("hex").slice(0, 32);
}
