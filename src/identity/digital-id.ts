import { createHmac } from "node:crypto";
import { WardenError } from "../errors.js";

/**
 * A digital ID: a keyed pseudonym of a verified account subject.
 *
 * `did = base32(HMAC-SHA256(secret, subject)[0..16])`, lower case without padding: 26
 * characters of `a-z2-7`. 128 bits keep collisions out of reach for any player count
 * while staying short enough to paste into a CLI; base32 never starts with `-`, so it is
 * never mistaken for a flag. Without the secret the subject cannot be recovered or
 * guessed from the ID, and the same subject always maps to the same ID.
 */
export type DigitalId = string;

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const DID_BYTES = 16;
const DID_PATTERN = /^[a-z2-7]{26}$/;

function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Derives the digital ID of `subject` under `secret`. */
export function deriveDigitalId(secret: string | Buffer, subject: string): DigitalId {
  if (typeof subject !== "string" || subject.length === 0) {
    throw new WardenError("INVALID_DID", "a digital ID needs a non-empty subject");
  }
  const mac = createHmac("sha256", secret).update(subject, "utf8").digest();
  return base32(mac.subarray(0, DID_BYTES));
}

/** True when `value` has the shape of a digital ID. */
export function isDigitalId(value: unknown): value is DigitalId {
  return typeof value === "string" && DID_PATTERN.test(value);
}

/** Returns `value` as a digital ID or throws `INVALID_DID`. */
export function assertDigitalId(value: unknown): DigitalId {
  if (!isDigitalId(value)) {
    throw new WardenError("INVALID_DID", `not a digital ID: ${JSON.stringify(String(value).slice(0, 64))} (expected 26 characters of a-z and 2-7)`);
  }
  return value;
}
