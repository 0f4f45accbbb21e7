import type { DigitalId } from "../identity/digital-id.js";
import type { FloodLimit } from "./options.js";
import { Held } from "../util/ledger.js";

/** Zeros to grow bucket arrays with (slots are bounded by the message types a warden's rooms have). */
const ZEROS: readonly number[] = Array.from({ length: 4096 }, () => 0);

/**
 * Token buckets of one digital ID in this process, one per message-type slot, in one array
 * of doubles: per ID (not per session), so opening more sessions buys no more rate.
 * A never-used slot (stamp 0) starts full.
 */
export class FloodBuckets extends Held {
  /**
   * Two numbers per slot in one plain array (V8 keeps it as unboxed doubles): tokens and
   * last refill (ms). Not a Float64Array: a typed array's view, buffer and backing store
   * cost ~190 B before its first element (issue 14: heap per client), a plain one 16 B plus
   * 8 B a number; it starts with two slots (the frame budget and one type) and grows to
   * the highest slot used.
   */
  private state: number[] = [0, 0, 0, 0];
  /**
   * Per slot, messages dropped since the last recorded flood event and when that event was
   * recorded (one per second per slot at most); made at the first drop (most IDs never
   * flood: 2 numbers a slot less for them).
   */
  private drops: number[] | null = null;

  /** Takes one token from `slot`; false when the bucket is empty. Allocates nothing once sized. */
  take(slot: number, limit: FloodLimit, now: number): boolean {
    const i = slot * 2;
    if (i >= this.state.length) this.state = grown(this.state, i + 2);
    const s = this.state;
    const last = s[i + 1]!;
    let tokens = last === 0 ? limit.burst : s[i]! + ((now - last) * limit.rate) / 1000;
    if (tokens > limit.burst) tokens = limit.burst;
    s[i + 1] = now;
    if (tokens >= 1) {
      s[i] = tokens - 1;
      return true;
    }
    s[i] = tokens;
    return false;
  }

  /** Counts a dropped message; returns how many were dropped if a flood event is due (≥ 1 s since the last), else 0. */
  drop(slot: number, now: number): number {
    const i = slot * 2;
    let d = this.drops ?? (this.drops = [0, 0]);
    if (i >= d.length) d = this.drops = grown(d, i + 2);
    const dropped = ++d[i]!;
    if (now - d[i + 1]! < 1000) return 0;
    d[i] = 0;
    d[i + 1] = now;
    return dropped;
  }

  /** When every used bucket will be full again (epoch ms); 0 when none was used. */
  fullAt(limitOf: (slot: number) => FloodLimit | false | undefined): number {
    const s = this.state;
    let at = 0;
    for (let slot = 0; slot * 2 < s.length; slot++) {
      const last = s[slot * 2 + 1]!;
      const limit = limitOf(slot);
      if (last === 0 || limit === false || limit === undefined) continue;
      const missing = limit.burst - s[slot * 2]!;
      if (missing > 0) at = Math.max(at, last + (missing * 1000) / limit.rate);
    }
    return at;
  }
}

/** `array` grown to exactly `length` with zeros (pushing would over-allocate by half again): once per ID and new slot. */
function grown(array: number[], length: number): number[] {
  const add = length - array.length;
  return array.concat(add <= ZEROS.length ? ZEROS.slice(0, add) : Array.from({ length: add }, () => 0));
}

/**
 * Where an ID's flood buckets live while it has sessions here: a per-ID object its holders
 * share anyway (the warden passes the ID's Standing), so that a held ID costs no map entry
 * of its own (~57 B per ID; issue 14, heap per client).
 */
export interface FloodHome {
  flood: FloodBuckets | null;
}

/**
 * The flood buckets of every ID this process has seen lately. An ID's buckets outlive its
 * sessions: they are kept until they would be full again, so leaving and rejoining (even
 * in a loop, even into another room) refills nothing faster than waiting would.
 *
 * While an ID has sessions, its buckets live in its {@link FloodHome}; when the last one
 * leaves they cool down in this ledger's map until full, and a rejoin takes them back.
 *
 * Per process: an ID spread over N processes has N sets of buckets (the hot path never
 * asks Redis). Matchmaking, not the player, chooses the process for `joinOrCreate`; a
 * player who can pick rooms by id in many processes gains at most a factor N.
 */
export class FloodLedger {
  private readonly cooling = new Map<DigitalId, FloodBuckets>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitOf: (slot: number) => FloodLimit | false | undefined,
    private readonly now: () => number = Date.now,
    private readonly sweepMs = 5_000,
  ) {}

  /** The buckets of `did` for a new holder, kept in `home` while held: its own, the cooling ones, or new ones. */
  acquire(did: DigitalId, home: FloodHome): FloodBuckets {
    let buckets = home.flood;
    if (buckets === null) {
      const cooled = this.cooling.get(did);
      if (cooled !== undefined) this.cooling.delete(did);
      buckets = home.flood = cooled ?? new FloodBuckets();
    }
    buckets.holders++;
    return buckets;
  }

  /** A holder let go: after the last one the buckets leave `home` and cool down here until they are full. */
  release(did: DigitalId, home: FloodHome): void {
    const buckets = home.flood;
    if (buckets === null || buckets.holders === 0) return;
    if (--buckets.holders > 0) return;
    home.flood = null;
    const now = this.now();
    buckets.keepUntil = buckets.fullAt(this.limitOf);
    if (buckets.keepUntil <= now) return;
    this.cooling.set(did, buckets);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
  }

  /** IDs whose buckets cool down here (held ones live in their homes). */
  get size(): number {
    return this.cooling.size;
  }

  /** Drops the buckets that are full again. */
  sweep(): void {
    const now = this.now();
    for (const [did, buckets] of this.cooling) if (buckets.keepUntil <= now) this.cooling.delete(did);
    if (this.cooling.size === 0) this.stop();
  }

  /** Stops the sweep (the warden closed). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
