import type { FloodLimit } from "../options.js";

/**
 * Token buckets of one digital ID in this process, one per message-type slot, in typed
 * arrays: per ID (not per session), so opening more sessions buys no more rate.
 * A never-used slot (stamp 0) starts full.
 */
export class FloodBuckets {
  /**
   * Four numbers per slot in ONE typed array (one ArrayBuffer, not four): tokens, last
   * refill (ms), messages dropped since the last recorded flood event, and when that event
   * was recorded (one per second per slot at most).
   */
  private state = new Float64Array(4 * 4);

  /** Takes one token from `slot`; false when the bucket is empty. Allocates nothing once sized. */
  take(slot: number, limit: FloodLimit, now: number): boolean {
    const i = slot * 4;
    if (i >= this.state.length) this.grow(i + 4);
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
    const i = slot * 4;
    const s = this.state;
    const dropped = ++s[i + 2]!;
    if (now - s[i + 3]! < 1000) return 0;
    s[i + 2] = 0;
    s[i + 3] = now;
    return dropped;
  }

  private grow(length: number): void {
    const next = new Float64Array(Math.max(length, this.state.length * 2));
    next.set(this.state);
    this.state = next;
  }
}
