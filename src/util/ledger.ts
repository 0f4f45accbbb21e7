/**
 * What a ledger keeps on each of its values: how many hold it, and after the last let go,
 * until when it stays. On the value itself, not in an entry object around it: one object
 * less per ID and ledger (48 B; issue 14, heap per client).
 */
export class Held {
  /** Holders now; 0 while the value cools down. */
  holders = 0;
  /** After the last release: until when (epoch ms) the value stays. */
  keepUntil = 0;
}

/**
 * State kept per key (a digital ID) while something holds it, and after the last holder
 * let go until a time the state itself names; then it goes. One shape for the per-ID
 * bookkeeping of a process (flood buckets, report counts, profiles), so that none of it
 * grows without bound and none of it is dropped while it still matters.
 */
export class Ledger<K, V extends Held> {
  private readonly held = new Map<K, V>();
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
    let value = this.held.get(key);
    if (value === undefined) {
      value = this.create();
      this.held.set(key, value);
    } else if (value.holders === 0) {
      this.released--;
    }
    value.holders++;
    return value;
  }

  /** The value of `key` if it is kept (held or cooling down). */
  peek(key: K): V | undefined {
    return this.held.get(key);
  }

  /** A holder let go: once none is left, the value stays until its `keepUntil`. */
  release(key: K): void {
    const value = this.held.get(key);
    if (value === undefined || value.holders === 0) return;
    if (--value.holders > 0) return;
    const now = this.now();
    value.keepUntil = this.keepUntil(value, now);
    if (value.keepUntil <= now) {
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
    for (const [key, value] of this.held) {
      if (value.holders === 0 && value.keepUntil <= now) {
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
