import type { OffenseEvent } from "../recorder/offense.js";
import type { BusMessage, FeedStore } from "../stores/store.js";

/** One item of the live feed: an offense event, or a sanction issued / revoked anywhere. */
export type FeedItem = { type: "offense"; event: OffenseEvent } | BusMessage;

/**
 * Fans the live feed out to any number of listeners (SSE clients) from ONE reader: a
 * blocking stream read per listener would hold a Redis connection each. Reads only while
 * someone listens.
 */
export class FeedHub {
  private readonly listeners = new Set<(item: FeedItem) => void>();
  private running = false;

  constructor(
    private readonly store: FeedStore,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Starts delivering items to `listener`; returns the function that stops it. */
  subscribe(listener: (item: FeedItem) => void): () => void {
    this.listeners.add(listener);
    if (!this.running) void this.run();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The offense events recorded after stream id `after` (`"0"`: from the oldest kept), at most `count`; never blocks. */
  since(after: string, count: number): Promise<OffenseEvent[]> {
    return this.store.readFeed(after, { count, blockMs: 0 });
  }

  /** Sanctions and revocations come from the warden's bus subscription. */
  bus(message: BusMessage): void {
    // Notices for players (appeal and report outcomes) are theirs, not the moderators' feed.
    if (message.type === "notice") return;
    this.deliver(message);
  }

  private deliver(item: FeedItem): void {
    for (const listener of this.listeners) {
      try {
        listener(item);
      } catch (e) {
        this.onError(e);
      }
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      let after = await this.store.lastFeedId();
      while (this.listeners.size > 0) {
        let events: OffenseEvent[];
        try {
          events = await this.store.readFeed(after, { count: 200, blockMs: 1000 });
        } catch (e) {
          this.onError(e);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        for (const event of events) {
          after = event.id ?? after;
          this.deliver({ type: "offense", event });
        }
      }
    } catch (e) {
      this.onError(e);
    } finally {
      this.running = false;
      // Someone subscribed while the loop was winding down.
      if (this.listeners.size > 0) void this.run();
    }
  }
}
