/**
 * Decoding of sanction data that comes from outside this process: bus messages (anyone who
 * can publish on the channel) and stored records (anyone with write access to Redis).
 *
 * Nothing decoded here is trusted. Each function checks the whole shape — kinds, the id's
 * link to its digital ID, bounded strings, instants a `Date` can hold — and returns a fresh
 * object holding only the known fields, or `null` for anything else. None of them throws,
 * whatever the input (non-JSON, wrong types, `__proto__` keys, deep nesting, huge strings).
 */
import type { DigitalId } from "../identity/digital-id.js";
import { boundText } from "../util/text.js";
import { isInstant } from "../util/time.js";
import {
  didOfSanctionId,
  LASTING_KINDS,
  MAX_BY_LENGTH,
  MAX_REASON_LENGTH,
  SANCTION_KINDS,
  type BusMessage,
  type Revocation,
  type Sanction,
  type SanctionKind,
} from "./model.js";

/**
 * Longest JSON text decoded (UTF-16 units). A real sanction with its revocation takes
 * under 3 000; longer text is refused before `JSON.parse` spends time on it.
 */
export const MAX_RECORD_CHARS = 16_384;

/** A stored sanction record (JSON text), or null when it is not one. */
export function parseSanction(json: unknown): Sanction | null {
  return toSanction(decode(json));
}

/** A stored revocation record (JSON text), or null when it is not one. */
export function parseRevocation(json: unknown): Revocation | null {
  return toRevocation(decode(json));
}

/** A bus message (JSON text), or null when it is not one. */
export function parseBusMessage(json: unknown): BusMessage | null {
  return toBusMessage(decode(json));
}

/** An already-decoded value checked as a sanction (for stores that keep objects). */
export function toSanction(value: unknown): Sanction | null {
  if (!isRecord(value)) return null;
  const { id, did, kind, start, end } = value;
  if (typeof id !== "string" || typeof did !== "string" || didOfSanctionId(id) !== did) return null;
  if (!isKind(kind)) return null;
  const reason = text(value.reason, MAX_REASON_LENGTH);
  const by = text(value.by, MAX_BY_LENGTH);
  if (reason === null || by === null) return null;
  if (!isInstant(start)) return null;
  // Permanent only for lasting kinds; an end never before the start.
  let until: number | null;
  if (end === null && LASTING_KINDS.has(kind)) until = null;
  else if (isInstant(end) && end >= start) until = end;
  else return null;
  const sanction: Sanction = { id, did: did as DigitalId, kind, reason, by, start, end: until };
  if (value.revoked !== undefined) {
    const revoked = toRevocation(value.revoked);
    if (revoked === null) return null;
    sanction.revoked = revoked;
  }
  return sanction;
}

/** An already-decoded value checked as a revocation. */
export function toRevocation(value: unknown): Revocation | null {
  if (!isRecord(value) || !isInstant(value.at)) return null;
  const by = text(value.by, MAX_BY_LENGTH);
  const reason = text(value.reason, MAX_REASON_LENGTH);
  if (by === null || reason === null) return null;
  return { at: value.at, by, reason };
}

/** An already-decoded value checked as a bus message. */
export function toBusMessage(value: unknown): BusMessage | null {
  if (!isRecord(value)) return null;
  if (value.type === "issued") {
    const sanction = toSanction(value.sanction);
    return sanction === null ? null : { type: "issued", sanction };
  }
  if (value.type === "revoked") {
    const { did, sanctionId } = value;
    if (typeof did !== "string" || typeof sanctionId !== "string" || didOfSanctionId(sanctionId) !== did) return null;
    const revocation = toRevocation(value.revocation);
    return revocation === null ? null : { type: "revoked", did, sanctionId, revocation };
  }
  return null;
}

/** JSON text → value; `undefined` for anything that is not bounded, parseable JSON text. */
function decode(json: unknown): unknown {
  if (typeof json !== "string" || json.length > MAX_RECORD_CHARS) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isKind(value: unknown): value is SanctionKind {
  return typeof value === "string" && (SANCTION_KINDS as readonly string[]).includes(value);
}

/** A string of at most `max` units, cleaned as stored text is; null for anything else. */
function text(value: unknown, max: number): string | null {
  return typeof value === "string" && value.length <= max ? boundText(value, max) : null;
}
