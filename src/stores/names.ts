import { createHash } from "node:crypto";
import { boundText } from "../util/text.js";

/** A display name as shown to moderators: NFKC, control characters removed, trimmed, at most 64 characters. */
export function normalizeName(name: string): string {
  return boundText(name.normalize("NFKC"), 64);
}

/**
 * The index key of a name: case-insensitive, and hashed, so that key names hold no
 * display name and no character that could break a hash tag.
 */
export function nameKey(name: string): string {
  return createHash("sha256").update(normalizeName(name).toLowerCase()).digest("hex").slice(0, 32);
}
