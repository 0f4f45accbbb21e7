import type { DigitalId } from "../identity/digital-id.js";
import { boundText } from "../util/text.js";

/** Which detector saw it. */
export type Detector = "flood" | "payload" | "chat" | "colyseus" | "report";

/** Evidence is bounded: a few small scalar fields, never the raw account id or IP. */
export type Evidence = Record<string, string | number | boolean>;

/** One disruptive action, as recorded. */
export interface OffenseEvent {
  /** Stream id in the store (`<ms>-<seq>`); absent until recorded. */
  id?: string;
  /** Epoch ms when it was detected. */
  at: number;
  did: DigitalId;
  room: { name: string; id: string };
  detector: Detector;
  /** What exactly: `rate`, `oversized`, `undecodable`, `unknown_type`, `invalid`, `abusive_text`, `flood_disconnect`, `oversized_frame`, `reported`, `report_abuse`. */
  kind: string;
  /** The policy track it counts on (`spam`, `abuse`, `malformed`, `reported`). */
  track: string;
  /** Points it adds to the track. */
  severity: number;
  evidence: Evidence;
}

/** What the store hands back for each recorded event: its id and the track's points around it. */
export interface RecordedOffense {
  id: string;
  /** Points of the track just before this event (decayed to now). */
  before: number;
  /** Points after adding this event's severity. */
  after: number;
  /** `at` of the ladder step last issued on this track for this ID (0 = none). */
  issuedAt: number;
}

/** An event to record with the half-life of its track. */
export interface OffenseRecord {
  event: OffenseEvent;
  halfLifeMs: number;
}

const MAX_EVIDENCE_FIELDS = 8;
const MAX_EVIDENCE_TEXT = 120;

/** Bounds evidence: at most 8 fields, strings cut to 120 characters and stripped of control characters. */
export function boundEvidence(evidence: Evidence): Evidence {
  const out: Evidence = {};
  let n = 0;
  for (const key of Object.keys(evidence)) {
    if (n++ >= MAX_EVIDENCE_FIELDS) break;
    const value = evidence[key]!;
    out[boundText(key, 32)] = typeof value === "string" ? boundText(value, MAX_EVIDENCE_TEXT) : value;
  }
  return out;
}
