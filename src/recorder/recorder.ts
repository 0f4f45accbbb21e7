import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { ResolvedStep } from "../policy/ladder.js";
import { WardenError } from "../errors.js";
import { PartialBatchError, type OffenseStore } from "../stores/store.js";
import type { OffenseEvent, OffenseRecord, RecordedOffense } from "./offense.js";

import type { RecorderOptions } from "./options.js";

export type { RecorderOptions } from "./options.js";

/** Counters of the recorder, for `warden.stats()`. */
export interface RecorderStats {
  /** Events acknowledged by the store. */
  recorded: number;
  /**
   * Of those, events the store had recorded already: a batch written again after its reply
   * was lost (the store skipped them, so nothing counted twice).
   */
  duplicates: number;
  /** Events waiting in memory. */
  buffered: number;
  /** Events dropped because the buffer was full. */
  overflowed: number;
  /** Batches (or groups of one) the store refused or did not answer. */
  failedBatches: number;
  /**
   * Events dropped because the store refused them with `STORE_SCRIPT` (a CROSSSLOT, a
   * script error, a reply of the wrong shape): retrying cannot help, so they are not retried.
   */
  rejected: number;
}

interface Hooks {
  /** Half-life of a track, for the points the store keeps. */
  halfLifeOf(track: string): number;
  /**
   * The ladder of a track, for the store to decide the step each event makes due (in the
   * same atomic step that records it). Omitted or undefined: no step is decided.
   */
  ladderOf?(track: string): readonly ResolvedStep[] | undefined;
  /** A batch was recorded: events with their ids, points and the steps they made due, in order. */
  recorded(events: readonly OffenseEvent[], results: readonly RecordedOffense[]): void;
  /**
   * A batch (or part of one) failed: it stays buffered and is retried — unless the store
   * refused it with `STORE_SCRIPT`, then it is dropped (counted in `rejected`).
   */
  failed(error: unknown): void;
  /** The buffer overflowed for the first time since it last had room. */
  overflow(dropped: number): void;
  /**
   * A batch's store call ended (`ok`: acknowledged; otherwise it failed and stays
   * buffered): how long it took, in milliseconds, and how many events it held. For metrics.
   */
  flushed?(durationMs: number, events: number, ok: boolean): void;
}

/**
 * Writes offense events in the background. `record()` is synchronous and never waits: the
 * event goes into a bounded ring buffer, which is flushed every `flushMs` or as soon as a
 * batch is full, by one store call per batch, with at most `maxInFlight` batches under
 * way. A failed batch goes back to the front of the buffer and is retried (with backoff),
 * so that nothing is lost while Redis is away — unless the buffer overflows, which is
 * counted and reported once per episode. Each event gets a uid before its first write, so a
 * batch that was written but whose reply was lost is not counted twice when retried.
 */
export class Recorder {
  private readonly ring: (OffenseEvent | undefined)[];
  private head = 0;
  private size = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private retryDelay = 0;
  private overflowing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Events get `<uidPrefix><counter>`: 72 random bits tell recorders (and processes) apart. */
  private readonly uidPrefix = `${randomBytes(9).toString("base64url")}:`;
  private uidCounter = 0;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  readonly stats: RecorderStats = {
    recorded: 0,
    duplicates: 0,
    buffered: 0,
    overflowed: 0,
    failedBatches: 0,
    rejected: 0,
  };

  constructor(
    private readonly store: OffenseStore,
    private readonly eventsRetentionMs: number,
    options: Required<RecorderOptions>,
    private readonly hooks: Hooks,
  ) {
    this.ring = new Array<OffenseEvent | undefined>(options.maxBuffered);
    this.flushMs = options.flushMs;
    this.batchSize = options.batchSize;
    this.maxInFlight = options.maxInFlight;
  }

  /** Buffers an event; returns false if the buffer was full and the event was dropped. */
  record(event: OffenseEvent): boolean {
    if (this.closed) return false;
    if (this.size === this.ring.length) {
      this.stats.overflowed++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.hooks.overflow(this.stats.overflowed);
      }
      return false;
    }
    this.ring[(this.head + this.size) % this.ring.length] = event;
    this.size++;
    this.stats.buffered = this.size;
    if (this.size >= this.batchSize && this.retryDelay === 0) this.flushSoon(0);
    else this.flushSoon(this.flushMs);
    return true;
  }

  /** Resolves when the buffer is empty and nothing is in flight (or after `timeoutMs`). */
  drain(timeoutMs = 5000): Promise<boolean> {
    if (this.size === 0 && this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.flushSoon(0);
    });
  }

  /** Writes what is buffered (bounded by `timeoutMs`), then takes no more events. */
  async close(timeoutMs = 2000): Promise<void> {
    await this.drain(timeoutMs);
    this.closed = true;
    clearTimeout(this.timer);
  }

  private flushSoon(delay: number): void {
    if (this.timer !== undefined) {
      if (delay > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
    this.timer.unref();
  }

  private flush(): void {
    while (this.size > 0 && this.inFlight < this.maxInFlight) {
      const count = Math.min(this.size, this.batchSize);
      const events: OffenseEvent[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const slot = (this.head + i) % this.ring.length;
        events[i] = this.ring[slot]!;
        this.ring[slot] = undefined;
      }
      this.head = (this.head + count) % this.ring.length;
      this.size -= count;
      this.stats.buffered = this.size;
      this.write(events);
    }
  }

  private write(events: OffenseEvent[]): void {
    this.inFlight++;
    const batch: OffenseRecord[] = events.map((event) => {
      // Given here, off the hot path, before the first write; a failed batch is requeued as the
      // same objects, so a retry carries the same uids and the store skips what it already has.
      event.uid ??= this.uidPrefix + (++this.uidCounter).toString(36);
      return { event, halfLifeMs: this.hooks.halfLifeOf(event.track), ladder: this.hooks.ladderOf?.(event.track) };
    });
    const started = performance.now();
    this.store.recordOffenses(batch, Date.now(), this.eventsRetentionMs).then(
      (results) => {
        this.inFlight--;
        this.timed(started, events.length, true);
        this.retryDelay = 0;
        this.overflowing = this.size === this.ring.length;
        try {
          this.acknowledged(events, results);
        } finally {
          this.afterWrite();
        }
      },
      (error: unknown) => {
        this.inFlight--;
        this.stats.failedBatches++;
        this.timed(started, events.length, false);
        // Some groups of the batch were recorded: those are acknowledged, only the rest is retried.
        let failed = events;
        if (error instanceof PartialBatchError && error.results.length === events.length) {
          const done: OffenseEvent[] = [];
          const doneResults: RecordedOffense[] = [];
          failed = [];
          events.forEach((event, i) => {
            const result = error.results[i];
            if (result === null || result === undefined) failed.push(event);
            else {
              done.push(event);
              doneResults.push(result);
            }
          });
          try {
            this.acknowledged(done, doneResults);
          } catch {
            // The hook's failure does not undo the write, nor stop the failed part's retry.
          }
        }
        // A refusal that retrying cannot help (a CROSSSLOT, a script error) is dropped, not
        // retried for ever: counted, and reported through `failed`.
        if (error instanceof WardenError && error.code === "STORE_SCRIPT") {
          this.stats.rejected += failed.length;
        } else {
          this.requeue(failed);
          this.retryDelay = Math.min(Math.max(this.retryDelay * 2, 50), 2000);
        }
        this.hooks.failed(error);
        this.afterWrite();
      },
    );
  }

  /** Events the store recorded, with its results: counted, then handed to the `recorded` hook. */
  private acknowledged(events: readonly OffenseEvent[], results: readonly RecordedOffense[]): void {
    if (events.length === 0) return;
    this.stats.recorded += events.length;
    for (const result of results) if (result.status === "duplicate") this.stats.duplicates++;
    this.hooks.recorded(events, results);
  }

  /** Reports a batch's duration to the `flushed` hook; a throwing hook must not stall the recorder. */
  private timed(started: number, events: number, ok: boolean): void {
    if (this.hooks.flushed === undefined) return;
    try {
      this.hooks.flushed(performance.now() - started, events, ok);
    } catch {
      // Metrics are best effort: the batch's outcome stands.
    }
  }

  /** Puts a failed batch back at the front, oldest first; what no longer fits is counted as overflow. */
  private requeue(events: OffenseEvent[]): void {
    const room = this.ring.length - this.size;
    const kept = events.length <= room ? events : events.slice(events.length - room);
    const lost = events.length - kept.length;
    if (lost > 0) {
      this.stats.overflowed += lost;
      if (!this.overflowing) {
        this.overflowing = true;
        this.hooks.overflow(this.stats.overflowed);
      }
    }
    for (let i = kept.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.ring.length) % this.ring.length;
      this.ring[this.head] = kept[i];
      this.size++;
    }
    this.stats.buffered = this.size;
  }

  private afterWrite(): void {
    if (this.size > 0) {
      this.flushSoon(this.retryDelay > 0 ? this.retryDelay : this.size >= this.batchSize ? 0 : this.flushMs);
    } else if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
