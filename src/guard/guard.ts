import { decode } from "@colyseus/schema";
import type { LiveSession } from "../identity/live-sessions.js";
import type { FloodLimit, ResolvedOptions } from "../options.js";
import type { Detector, Evidence } from "../recorder/offense.js";
import { FloodBuckets } from "./flood.js";
import { coarse } from "../util/clock.js";
import { numberLength, type TypeEntry, type TypeTable } from "./types.js";

// Protocol codes (byte 0 & 0x1F) of frames that carry a message type.
export const ROOM_DATA = 13;
export const ROOM_DATA_BYTES = 17;
export const ROOM_REQUEST = 21;

/** Where the guard reports what it saw. */
export interface GuardHost {
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence): void;
  remind(session: LiveSession, kind: "mute" | "freeze"): void;
}

/** Track and points of each kind of offense the warden detects. */
export const OFFENSE_TRACKS: Record<string, { track: string; severity: number }> = {
  rate: { track: "spam", severity: 1 },
  flood_disconnect: { track: "spam", severity: 2 },
  report_abuse: { track: "spam", severity: 1 },
  abusive_text: { track: "abuse", severity: 1 },
  oversized: { track: "malformed", severity: 1 },
  oversized_frame: { track: "malformed", severity: 2 },
  undecodable: { track: "malformed", severity: 1 },
  unknown_type: { track: "malformed", severity: 1 },
  invalid: { track: "malformed", severity: 1 },
  reported: { track: "reported", severity: 1 },
};

const WILDCARD = "*";
/** Bucket shared by oversized and unknown-type frames, so that junk cannot flood the recorder. */
const MALFORMED = "(malformed)";

/**
 * The synchronous part of the hot path: size, type, flood, mute and freeze, in that
 * order. Flood comes before mute so that a muted player who keeps flooding still climbs
 * the ladder. Never awaits, never touches the store; a clean message allocates nothing.
 */
export class Guard {
  private readonly slots = new Map<string | number, number>();
  private readonly limits: (FloodLimit | false)[] = [];

  constructor(
    private readonly options: ResolvedOptions["guard"],
    private readonly host: GuardHost,
  ) {}

  /** Flood-bucket slot of a message type, shared by every room of this warden. */
  slotOf = (type: string | number): number => {
    let slot = this.slots.get(type);
    if (slot === undefined) {
      slot = this.limits.length;
      this.slots.set(type, slot);
      const flood = this.options.flood;
      this.limits.push(flood === false ? false : flood.types[String(type)] ?? flood.default);
    }
    return slot;
  };

  /**
   * Inspects one data frame (`code` is ROOM_DATA, ROOM_DATA_BYTES or ROOM_REQUEST).
   * Returns true to let the room handle it.
   */
  inspect(session: LiveSession, table: TypeTable, buffer: Buffer, code: number, handlerKeys: () => readonly string[]): boolean {
    if (buffer.length > this.options.maxMessageBytes) {
      if (this.take(session, this.slotOf(MALFORMED), MALFORMED)) {
        this.host.offense(session, "payload", "oversized", { bytes: buffer.length, limit: this.options.maxMessageBytes });
      }
      return false;
    }
    let offset = 1;
    if (code === ROOM_REQUEST) {
      const skip = numberLength(buffer, offset);
      if (skip === 0) return true; // Colyseus rejects it itself, and we record that (see closedByRoom)
      offset += skip;
    }
    let entry = table.match(buffer, offset);
    if (entry === undefined && table.refresh(handlerKeys())) entry = table.match(buffer, offset);
    if (entry === undefined) {
      if (table.wildcard) return this.take(session, this.slotOf(WILDCARD), WILDCARD);
      if (!this.options.unknownTypes) return true;
      if (this.take(session, this.slotOf(MALFORMED), MALFORMED)) {
        this.host.offense(session, "payload", "unknown_type", { type: readType(buffer, offset) });
      }
      return false;
    }
    if (!this.take(session, entry.slot, entry.type)) return false;
    return this.restrictionAllows(session, entry);
  }

  private take(session: LiveSession, slot: number, type: string | number): boolean {
    const limit = this.limits[slot];
    if (limit === false || limit === undefined) return true;
    const buckets = (session.standing.flood ??= new FloodBuckets());
    const now = coarse.now;
    if (buckets.take(slot, limit, now)) return true;
    // One event per type per second while the flood lasts, carrying how many were dropped.
    const dropped = buckets.drop(slot, now);
    if (dropped > 0) this.host.offense(session, "flood", "rate", { type: String(type).slice(0, 32), dropped, rate: limit.rate, burst: limit.burst });
    return false;
  }

  private restrictionAllows(session: LiveSession, entry: TypeEntry): boolean {
    const standing = session.standing;
    if (standing.muteUntil === 0 && standing.freezeUntil === 0) return true;
    const now = coarse.now;
    if (entry.muted && standing.muteUntil > now) {
      this.host.remind(session, "mute");
      return false;
    }
    if (entry.frozen && standing.freezeUntil > now) {
      this.host.remind(session, "freeze");
      return false;
    }
    return true;
  }
}

/** The type named at `offset`, bounded, for evidence (rare path: allocates). */
export function readType(buffer: Buffer, offset: number): string {
  try {
    const it = { offset };
    const type = decode.stringCheck(buffer, it) ? decode.string(buffer, it) : decode.number(buffer, it);
    return String(type).slice(0, 32);
  } catch {
    return "(undecodable)";
  }
}
