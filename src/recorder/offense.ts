import type { DigitalId } from "../identity/digital-id.js";
import type { ResolvedStep } from "../policy/ladder.js";
import { boundText } from "../util/text.js";

/** Which detector saw it. */
export type Detector = "flood" | "payload" | "chat" | "colyseus" | "report" | "evasion";

/** Evidence is bounded: a few small scalar fields, never the raw account id or IP. */
export type Evidence = Record<string, string | number | boolean>;

/** One disruptive action, as recorded. */
export interface OffenseEvent {
  /** Stream id in the store (`<ms>-<seq>`, the same in the feed and in the ID's history); absent until recorded. */
  id?: string;
  /**
   * Position in the live feed just after this event, for resuming (`readFeed`), when the
   * store's feed has several shards (the Redis store: one stream id per recording bucket).
   * Only on events read from the feed; absent: the `id` is the position.
   */
  cursor?: string;
  /**
   * Unique id given by the recorder before the event's first write (random per recorder,
   * then a counter) and kept across retries: the store records an event with a uid it has
   * already recorded only once, so a batch retried after a lost reply counts nothing twice.
   * Absent on events written around the recorder (no dedupe for those).
   */
  uid?: string;
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

/**
 * What the store hands back for each event of a batch, in order.
 *
 * `step` is the index, in the ladder passed with the event ({@link OffenseRecord.ladder}), of
 * the step this event makes due — decided and marked by the store in the same atomic step
 * that records the event (the pure `escalate()` of src/policy/ladder.ts), so that no two
 * batches, processes or replays can issue the same step twice. `null`: no step.
 *
 * A `duplicate` is an event whose uid the store had recorded already (within
 * {@link OFFENSE_DEDUPE_WINDOW_MS}): nothing was written again, and `step` is the one the
 * first write decided. Only the recorder that lost the first reply ever sees it, so the
 * caller issues that step now — the first reply, which would have issued it, never arrived.
 */
export type RecordedOffense =
  | {
      status: "recorded";
      /** Stream id of the event. */
      id: string;
      /** Points of the track just before this event (decayed to now). */
      before: number;
      /** Points after adding this event's severity. */
      after: number;
      step: number | null;
    }
  | { status: "duplicate"; step: number | null };

/** An event to record, with its track's half-life and ladder. */
export interface OffenseRecord {
  event: OffenseEvent;
  halfLifeMs: number;
  /**
   * The track's ladder as the policy resolved it (ascending by `at`); the store decides
   * which of its steps the event makes due.
   * @defaultValue omitted: the event is recorded and no step is decided
   */
  ladder?: readonly ResolvedStep[];
}

/**
 * How long a store remembers the uid of a recorded event (and the step it issued) to skip
 * the same event written again: a day, or the events' retention if shorter (the record of
 * uids expires with the ID's other records). Uids past the window are dropped at most once
 * per {@link OFFENSE_DEDUPE_UPKEEP_MS} per ID, so one may be remembered that much longer.
 */
export const OFFENSE_DEDUPE_WINDOW_MS = 86_400_000;

/**
 * How often, at most, a store drops an ID's uids past {@link OFFENSE_DEDUPE_WINDOW_MS} (and,
 * in Redis, renews the TTL of their set): once a minute rather than with every batch keeps
 * the dedupe at about one Redis command per event.
 */
export const OFFENSE_DEDUPE_UPKEEP_MS = 60_000;

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
