import { randomBytes, randomFillSync } from "node:crypto";

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

/**
 * Random bytes drawn from the CSPRNG a pool at a time, each byte used once: a
 * `randomBytes(8)` call per id was ~6 µs, most of drafting a sanction (issue 14). A fresh
 * pool replaces a spent one; nothing is ever handed out twice.
 */
const POOL_SIZE = 1024;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** `n` random base32 characters (5 random bits each), for the suffixes of ids. */
export function randomBase32(n: number): string {
  // Anything but a small whole count goes the direct way (randomBytes refuses what it refused before).
  if (!Number.isSafeInteger(n) || n <= 0 || n > POOL_SIZE)
    return Array.from(randomBytes(n), (b) => BASE32_ALPHABET[b & 31]).join("");
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let out = "";
  for (let i = poolOffset, end = poolOffset + n; i < end; i++) out += BASE32_ALPHABET[pool[i]! & 31];
  poolOffset += n;
  return out;
}
