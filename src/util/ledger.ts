/**
 * State kept per key (a digital ID) while something holds it, and after the last holder
 * let go until a time the state itself names; then it goes. One shape for the per-ID
 * bookkeeping of a process (flood buckets, report counts, profiles), so that none of it
 * grows without bound and none of it is dropped while it still matters.
 */
export class Ledger<K, V> {
  private readonly held = new Map<K, { value: V; holders: number; keepUntil: number }>();
  private released = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param create - A fresh value for a key nobody holds.
   * @param keepUntil - After the last release: until when (epoch ms) the value must stay.
   * @param sweepMs - How often released values are looked at (a timer only while there are some).
   */
  constructor(
    private readonly create: () => V,
    private readonly keepUntil: (value: V, now: number) => number,
    private readonly sweepMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The value of `key` for a new holder, created when there is none. */
  acquire(key: K): V {
    let entry = this.held.get(key);
    if (entry === undefined) {
      entry = { value: this.create(), holders: 0, keepUntil: 0 };
      this.held.set(key, entry);
    } else if (entry.holders === 0) {
      this.released--;
    }
    entry.holders++;
    return entry.value;
  }

  /** The value of `key` if it is kept (held or cooling down). */
  peek(key: K): V | undefined {
    return this.held.get(key)?.value;
  }

  /** A holder let go: once none is left, the value stays until its `keepUntil`. */
  release(key: K): void {
    const entry = this.held.get(key);
    if (entry === undefined || entry.holders === 0) return;
    if (--entry.holders > 0) return;
    const now = this.now();
    entry.keepUntil = this.keepUntil(entry.value, now);
    if (entry.keepUntil <= now) {
      this.held.delete(key);
      return;
    }
    this.released++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
  }

  /** Keys kept (held or cooling down). */
  get size(): number {
    return this.held.size;
  }

  /** Drops the released values whose time is over. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.held) {
      if (entry.holders === 0 && entry.keepUntil <= now) {
        this.held.delete(key);
        this.released--;
      }
    }
    if (this.released <= 0) this.stop();
  }

  /** Stops the sweep (the warden closed). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
