import type { FloodLimit } from "../options.js";

/**
 * Token buckets of one digital ID in this process, one per message-type slot, in typed
 * arrays: per ID (not per session), so opening more sessions buys no more rate.
 * A never-used slot (stamp 0) starts full.
 */
export class FloodBuckets {
  tokens = new Float64Array(8);
  stamps = new Float64Array(8);
  /** Messages dropped since the last recorded flood event, per slot. */
  dropped = new Uint32Array(8);
  /** When the last flood event of a slot was recorded (one event per second per slot at most). */
  recordedAt = new Float64Array(8);

  /** Takes one token from `slot`; false when the bucket is empty. Allocates nothing once sized. */
  take(slot: number, limit: FloodLimit, now: number): boolean {
    if (slot >= this.tokens.length) this.grow(slot + 1);
    const last = this.stamps[slot]!;
    let tokens = last === 0 ? limit.burst : this.tokens[slot]! + ((now - last) * limit.rate) / 1000;
    if (tokens > limit.burst) tokens = limit.burst;
    this.stamps[slot] = now;
    if (tokens >= 1) {
      this.tokens[slot] = tokens - 1;
      return true;
    }
    this.tokens[slot] = tokens;
    return false;
  }

  private grow(length: number): void {
    const size = Math.max(length, this.tokens.length * 2);
    const grow = <T extends Float64Array | Uint32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.tokens = grow(this.tokens, new Float64Array(size));
    this.stamps = grow(this.stamps, new Float64Array(size));
    this.dropped = grow(this.dropped, new Uint32Array(size));
    this.recordedAt = grow(this.recordedAt, new Float64Array(size));
  }
}
