import { INPUT_TYPE, type FloodLimit, type ResolvedGuardOptions } from "./options.js";
import type { Detector, Evidence } from "../recorder/offense.js";
import { FloodLedger, type FloodBuckets } from "./flood.js";
import { coarse, frameArrived } from "../util/clock.js";
import { BYTES_PREFIX, TypeTable, type TypeEntry, type TypeRules } from "./types.js";
import { FrameKind, typeForEvidence, typeKey, type FrameHead } from "./frames.js";

/** What the guard reads of a session: its ID's flood buckets and restrictions (in this process). */
export interface GuardedSession {
  readonly flood: FloodBuckets;
  readonly standing: { readonly muteUntil: number; readonly freezeUntil: number };
}

/** Where the guard reports what it saw. */
export interface GuardHost<S extends GuardedSession> {
  offense(session: S, detector: Detector, kind: string, evidence: Evidence): void;
  remind(session: S, kind: "mute" | "freeze"): void;
}

// Imported bindings read once into module constants: the hot path reads locals, not
// imports (a transpiled import can be a getter call on every read).
const { control: CONTROL, data: DATA, bytes: BYTES, request: REQUEST, input: INPUT } = FrameKind;
const clock = coarse;

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
  unknown_frame: { track: "malformed", severity: 1 },
  invalid: { track: "malformed", severity: 1 },
  reported: { track: "reported", severity: 1 },
  // A flag for a person, not a step: the `evasion` track has no ladder unless the operator gives it one.
  suspected_evasion: { track: "evasion", severity: 1 },
};

/** Flood-bucket key of the frame budget (every frame of an ID counts). */
const FRAMES = "(frames)";
/** Bucket shared by junk frames (oversized, unknown type or protocol), so that junk cannot flood the recorder. */
const MALFORMED = "(malformed)";
/** Bucket of types only a `"*"` handler serves. */
const WILDCARD = "*";

// What a dropped request's sender is told (constants: the hot path builds no strings).
const REFUSED_SIZE = "message too large";
const REFUSED_TYPE = "unknown message type";
const REFUSED_RATE = "too many messages: slow down";
const REFUSED_MUTED = "you are muted";
const REFUSED_FROZEN = "you are frozen";

/**
 * How many frames the guard saw and dropped, by reason: plain integers bumped on the hot
 * path (one increment, no allocation, no metrics library call), read when metrics are
 * scraped. A class, so that every guard's counters share one shape. Drops decided after
 * the guard (in the plugin's handler wrappers) are counted here too, by the plugin.
 */
export class GuardCounts {
  /** Every inbound frame the warden saw (including those of a client with no session yet). */
  inspected = 0;
  /** Over the per-ID frame budget (`guard.frames`). */
  frameBudget = 0;
  /** Over `maxMessageBytes`. */
  oversized = 0;
  /** A type the room does not serve (or a forged one). */
  unknownType = 0;
  /** A protocol code Colyseus does not handle from clients. */
  unknownFrame = 0;
  /** Over the flood limit of its type. */
  rate = 0;
  /** A muted player's restricted message (muted chat included: held, read by the detector, then dropped). */
  muted = 0;
  /** A frozen player's restricted message. */
  frozen = 0;
  /** Chat the detector flagged. */
  abusive = 0;
  /** A frame of a client that has no session (yet, or any more). */
  noSession = 0;
}

/**
 * What the guard decided about the frame being handled. One per plugin, reused: Colyseus
 * handles a frame synchronously, and the plugin's handler wrappers read this while it does.
 */
export interface FrameVerdict<S extends GuardedSession = GuardedSession> {
  /** The session whose frame is being handled; undefined between frames. */
  session: S | undefined;
  kind: FrameKind;
  /** The type's entry; null for a type only a `"*"` handler serves (or a control/input frame). */
  entry: TypeEntry | null;
  /** Muted chat: Colyseus decodes it, the detector reads it, and then it is dropped. */
  hold: boolean;
  /** A handler ran for this frame. */
  dispatched: boolean;
  /** A handler wrapper dropped this frame (and recorded why, if it was the player's doing). */
  stopped: boolean;
  /** The chat detector already read this frame's payload: its verdict. */
  inspected: boolean;
  flagged: boolean;
  /**
   * True from the guard's approval until the first handler of the frame was admitted:
   * handler calls while it is false are room code (a handler calling another), or the
   * further handlers of the same type for the same frame, and pass unchecked.
   */
  armed: boolean;
  /** Why the guard dropped the frame (a constant: told to a request's sender). */
  refusal: string;
}

/** A verdict with nothing in it. */
export function emptyVerdict<S extends GuardedSession = GuardedSession>(): FrameVerdict<S> {
  return {
    session: undefined,
    kind: FrameKind.unknown,
    entry: null,
    hold: false,
    dispatched: false,
    stopped: false,
    inspected: false,
    flagged: false,
    armed: false,
    refusal: "",
  };
}

/**
 * The synchronous part of the hot path, for every inbound frame: the per-ID frame budget,
 * size, protocol code and type (read as Colyseus reads them), flood per type, mute and
 * freeze, in that order. Flood comes before mute so that a muted player who keeps
 * flooding still climbs the ladder. Never awaits, never touches the store; a clean
 * message allocates nothing.
 */
export class Guard<S extends GuardedSession = GuardedSession> {
  /** Flood buckets of every ID with a session in this process, kept after its last session until they are full again. */
  readonly ledger: FloodLedger;
  private readonly slots = new Map<string, number>();
  private readonly limits: (FloodLimit | false)[] = [];
  private readonly framesSlot: number;
  /** The junk and `"*"` buckets get their slots when first used: most IDs never use them, and every slot below the highest one used costs each ID's buckets 16 B. */
  private malformed = -1;
  private wildcard = -1;
  /** The rules every room's type table is built from. */
  readonly rules: TypeRules;
  /** Frames seen and dropped, by reason (for metrics). */
  readonly counts = new GuardCounts();

  constructor(
    private readonly options: ResolvedGuardOptions,
    private readonly host: GuardHost<S>,
    types: {
      muted: readonly (string | number)[];
      frozen: readonly (string | number)[];
      chat: readonly (string | number)[];
    },
  ) {
    this.ledger = new FloodLedger((slot) => this.limits[slot]);
    this.framesSlot = this.slotOf(FRAMES, options.frames);
    this.rules = {
      slotOf: (key) => this.slotOf(key),
      muted: new Set(types.muted.map(String)),
      frozen: new Set(types.frozen.map(String)),
      chat: new Set(types.chat.map(String)),
    };
  }

  /** A table of one room's message types. */
  table(): TypeTable {
    return new TypeTable(this.rules);
  }

  private get malformedSlot(): number {
    return this.malformed >= 0 ? this.malformed : (this.malformed = this.slotOf(MALFORMED));
  }

  private get wildcardSlot(): number {
    return this.wildcard >= 0 ? this.wildcard : (this.wildcard = this.slotOf(WILDCARD));
  }

  /** Flood-bucket slot of a handler key, shared by every room of this warden. */
  private slotOf(key: string, limit?: FloodLimit | false): number {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.limits.length;
      this.slots.set(key, slot);
      const flood = this.options.flood;
      // Own keys only: a type named "constructor" must get the default, not Object's constructor.
      this.limits.push(
        limit ?? (flood === false ? false : Object.hasOwn(flood.types, key) ? flood.types[key]! : flood.default),
      );
    }
    return slot;
  }

  /**
   * Decides on one frame whose head `frames.readFrame` read. Returns true to let Colyseus
   * handle it; `verdict` says what the handler wrappers must check.
   */
  inspect(
    session: S,
    table: TypeTable,
    buffer: Uint8Array,
    head: FrameHead,
    verdict: FrameVerdict<S>,
    handlerKeys: () => readonly string[],
  ): boolean {
    this.counts.inspected++;
    // The time of this frame: the interval's while frames come fast, else read now (see clock.ts).
    if (clock.ticking) clock.frames++;
    else frameArrived();
    // The frame budget comes first, before the kind is noted: a frame over it gets no reply of any sort.
    if (!this.take(session, this.framesSlot, FRAMES)) return false;
    verdict.kind = head.kind;
    if (buffer.length > this.options.maxMessageBytes) {
      verdict.refusal = REFUSED_SIZE;
      this.junk(session, "payload", "oversized", { bytes: buffer.length, limit: this.options.maxMessageBytes });
      return false;
    }
    switch (head.kind) {
      case CONTROL:
        return true;
      case INPUT: {
        // The plugin lists INPUT_TYPE among the handler keys when the room called defineInput.
        let entry = table.get(INPUT_TYPE);
        if (entry?.data !== true && table.refresh(handlerKeys())) entry = table.get(INPUT_TYPE);
        if (entry === undefined || !entry.data) {
          verdict.refusal = REFUSED_TYPE;
          this.junk(session, "payload", "unknown_type", { type: INPUT_TYPE });
          return false;
        }
        verdict.entry = entry;
        return this.takeFor(session, entry.slot, entry.key, verdict) && this.restrictionAllows(session, entry, verdict);
      }
      case DATA:
      case BYTES:
      case REQUEST:
        return this.inspectTyped(session, table, buffer, head, verdict, handlerKeys);
      default:
        verdict.refusal = REFUSED_TYPE;
        this.junk(session, "payload", "unknown_frame", { protocol: head.code });
        return false;
    }
  }

  private inspectTyped(
    session: S,
    table: TypeTable,
    buffer: Uint8Array,
    head: FrameHead,
    verdict: FrameVerdict<S>,
    handlerKeys: () => readonly string[],
  ): boolean {
    let entry = this.lookup(table, buffer, head);
    if ((entry === undefined || !served(entry, head.kind)) && table.refresh(handlerKeys()))
      entry = this.lookup(table, buffer, head);
    if (entry !== undefined && served(entry, head.kind)) {
      verdict.entry = entry;
      return this.takeFor(session, entry.slot, entry.key, verdict) && this.restrictionAllows(session, entry, verdict);
    }
    // Not a type the room serves by name: a "*" handler may take it (never a request's).
    const key = entry?.key ?? typeKey(buffer, head);
    // Forged types: "*" would reach the "*" handler with the payload in the type's place,
    // and "_$bX" the byte handler of X. No client library sends either.
    const forged = key === WILDCARD || key.startsWith(BYTES_PREFIX);
    if (table.wildcard && head.kind !== REQUEST && !forged) {
      verdict.entry = entry ?? null;
      // A type the table knows (a configured one) keeps its own bucket behind a "*" handler too.
      if (entry !== undefined)
        return this.takeFor(session, entry.slot, entry.key, verdict) && this.restrictionAllows(session, entry, verdict);
      return this.takeFor(session, this.wildcardSlot, WILDCARD, verdict);
    }
    if (!this.options.unknownTypes && !forged) {
      verdict.entry = null;
      return true; // Colyseus answers it itself (no handler); no room code runs
    }
    verdict.refusal = REFUSED_TYPE;
    this.junk(session, "payload", "unknown_type", { type: key.slice(0, 32) });
    return false;
  }

  private lookup(table: TypeTable, buffer: Uint8Array, head: FrameHead): TypeEntry | undefined {
    return head.canonical ? table.matchCanonical(buffer, head.typeOffset) : table.get(String(head.type));
  }

  /** Drops a junk frame; records it at most as often as the shared junk bucket allows. */
  private junk(session: S, detector: Detector, kind: string, evidence: Evidence): void {
    if (this.take(session, this.malformedSlot, MALFORMED)) this.host.offense(session, detector, kind, evidence);
  }

  private takeFor(session: S, slot: number, key: string, verdict: FrameVerdict<S>): boolean {
    if (this.take(session, slot, key)) return true;
    verdict.refusal = REFUSED_RATE;
    return false;
  }

  private take(session: S, slot: number, key: string): boolean {
    const limit = this.limits[slot];
    if (limit === false || limit === undefined) return true;
    const buckets = session.flood;
    const now = clock.now;
    if (buckets.take(slot, limit, now)) return true;
    // One event per type per second while the flood lasts, carrying how many were dropped.
    const dropped = buckets.drop(slot, now);
    if (dropped > 0)
      this.host.offense(session, "flood", "rate", {
        type: key.slice(0, 32),
        dropped,
        rate: limit.rate,
        burst: limit.burst,
      });
    return false;
  }

  /** Mute and freeze. A muted chat type is held, not dropped: the detector still reads it. */
  private restrictionAllows(session: S, entry: TypeEntry, verdict: FrameVerdict<S>): boolean {
    const standing = session.standing;
    if (standing.muteUntil === 0 && standing.freezeUntil === 0) return true;
    const now = clock.now;
    if (entry.frozen && standing.freezeUntil > now) {
      verdict.refusal = REFUSED_FROZEN;
      this.host.remind(session, "freeze");
      return false;
    }
    if (entry.muted && standing.muteUntil > now) {
      if (entry.chat) {
        verdict.hold = true;
        return true;
      }
      verdict.refusal = REFUSED_MUTED;
      this.host.remind(session, "mute");
      return false;
    }
    return true;
  }

  /**
   * Counts a frame {@link Guard.inspect} dropped, by the refusal it left in `verdict`
   * (which the caller cleared before the frame: the frame budget leaves none). Called on
   * the drop path only, so that the per-frame path carries a single increment and stays
   * small enough for the JIT to inline what it calls (a bigger `inspect` was seen to box
   * the clock's reading: 16 B per frame).
   */
  countDrop(verdict: Pick<FrameVerdict, "refusal" | "kind">): void {
    const counts = this.counts;
    switch (verdict.refusal) {
      case "":
        counts.frameBudget++;
        break;
      case REFUSED_SIZE:
        counts.oversized++;
        break;
      case REFUSED_TYPE:
        if (verdict.kind === DATA || verdict.kind === BYTES || verdict.kind === REQUEST || verdict.kind === INPUT)
          counts.unknownType++;
        else counts.unknownFrame++;
        break;
      case REFUSED_RATE:
        counts.rate++;
        break;
      case REFUSED_MUTED:
        counts.muted++;
        break;
      case REFUSED_FROZEN:
        counts.frozen++;
        break;
    }
  }

  /** The type of a frame, bounded, for evidence (rare path: allocates). */
  static evidenceType(buffer: Uint8Array, head: FrameHead): string {
    return head.kind === INPUT ? INPUT_TYPE : typeForEvidence(buffer, head);
  }
}

/**
 * Did Colyseus dispatch the frame to a handler that fits the guard's verdict? `key` is the
 * key the handler was filed under; `wildcardType` the type a `"*"` handler was handed.
 * The plugin drops the frame when this is false (and counts a disagreement).
 */
export function dispatchAgrees(
  key: string,
  wildcardType: unknown,
  verdict: Pick<FrameVerdict, "entry" | "kind">,
  table: TypeTable,
): boolean {
  const entry = verdict.entry;
  if (key !== WILDCARD) return entry !== null && key === (verdict.kind === BYTES ? entry.bytesKey : entry.key);
  const dispatched = String(wildcardType);
  // A type only "*" serves and the table does not know: no rule applies to it, as long as Colyseus agrees it is no configured type.
  return entry === null ? table.get(dispatched) === undefined : dispatched === entry.key;
}

function served(entry: TypeEntry, kind: FrameKind): boolean {
  return kind === BYTES ? entry.bytes : entry.data;
}
