import { randomBytes } from "node:crypto";

/** The alphabet of every id the warden makes: digital IDs, sanction, review and signal ids. */
export const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Lower-case base32 (RFC 4648 alphabet, lower case) without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** `n` random base32 characters (5 random bits each), for the suffixes of ids. */
export function randomBase32(n: number): string {
  return Array.from(randomBytes(n), (b) => BASE32_ALPHABET[b & 31]).join("");
}
