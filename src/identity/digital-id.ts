import { base32 } from "../util/base32.js";
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

const DID_BYTES = 16;
const DID_PATTERN = /^[a-z2-7]{26}$/;

/** Longest subject or issuer accepted (an account id or an issuer URL, not a document). */
export const MAX_SUBJECT_LENGTH = 512;

/** A subject or issuer the warden accepts: 1-512 characters, no NUL (NUL separates the issuer). */
export function isValidSubject(value: unknown): value is string {
  return (
    typeof value === "string" && value.length > 0 && value.length <= MAX_SUBJECT_LENGTH && !value.includes("\u0000")
  );
}

/**
 * Derives the digital ID of `subject` under `secret`, qualified by the identity provider
 * that vouched for it (`issuer`, e.g. a JWT's `iss`) when there is one: the same account
 * id at two providers is two people.
 *
 * Without an issuer the MAC input is the subject alone (so IDs made before issuers were
 * taken into account stay the same); with one it is `NUL "iss" NUL issuer NUL subject`.
 * Neither may contain NUL, so no unqualified subject and no other (issuer, subject) pair
 * can produce the same input.
 */
export function deriveDigitalId(secret: string | Buffer, subject: string, issuer?: string): DigitalId {
  if (!isValidSubject(subject)) {
    throw new WardenError(
      "INVALID_DID",
      `a digital ID needs a subject of 1-${MAX_SUBJECT_LENGTH} characters without NUL`,
    );
  }
  if (issuer !== undefined && !isValidSubject(issuer)) {
    throw new WardenError("INVALID_DID", `an issuer is 1-${MAX_SUBJECT_LENGTH} characters without NUL`);
  }
  const input = issuer === undefined ? subject : `\u0000iss\u0000${issuer}\u0000${subject}`;
  const mac = createHmac("sha256", secret).update(input, "utf8").digest();
  return base32(mac.subarray(0, DID_BYTES));
}

/** True when `value` has the shape of a digital ID. */
export function isDigitalId(value: unknown): value is DigitalId {
  return typeof value === "string" && DID_PATTERN.test(value);
}

/** Returns `value` as a digital ID or throws `INVALID_DID`. */
export function assertDigitalId(value: unknown): DigitalId {
  if (!isDigitalId(value)) {
    throw new WardenError(
      "INVALID_DID",
      `not a digital ID: ${JSON.stringify(String(value).slice(0, 64))} (expected 26 characters of a-z and 2-7)`,
    );
  }
  return value;
}
