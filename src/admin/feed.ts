import type { DigitalId } from "../identity/digital-id.js";
import type { OffenseEvent } from "../recorder/offense.js";
import type { BusMessage, FeedStore } from "../stores/store.js";

/**
 * One item of the live feed: an offense event, or a sanction issued / revoked anywhere;
 * `name` is the display name the ID was last seen under (null when none is known), so
 * that a moderator reads a name, not a 26-character ID.
 */
export type FeedItem = ({ type: "offense"; event: OffenseEvent } | BusMessage) & { name?: string | null };

/** How long a display name looked up for the feed is reused, and how many are kept. */
const NAME_CACHE_MS = 30_000;
const NAME_CACHE_SIZE = 5_000;

/**
 * Fans the live feed out to any number of listeners (SSE clients) from ONE reader: a
 * blocking stream read per listener would hold a Redis connection each. Reads only while
 * someone listens.
 */
export class FeedHub {
  private readonly listeners = new Set<(item: FeedItem) => void>();
  private running = false;

  private readonly names = new Map<DigitalId, { name: string | null; at: number }>();

  constructor(
    private readonly store: FeedStore,
    private readonly onError: (error: unknown) => void,
    /** The display name an ID was last seen under; without it, items carry no name. */
    private readonly nameOf?: (did: DigitalId) => Promise<string | null>,
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
    if (this.listeners.size === 0) return;
    const did = message.type === "issued" ? message.sanction.did : message.did;
    void this.named(did).then((name) => this.deliver({ ...message, name }));
  }

  /** The display name of an ID, cached briefly (bounded); null when unknown or the lookup failed. */
  private async named(did: DigitalId): Promise<string | null> {
    if (this.nameOf === undefined) return null;
    const now = Date.now();
    const cached = this.names.get(did);
    if (cached !== undefined && now - cached.at < NAME_CACHE_MS) return cached.name;
    let name: string | null = null;
    try {
      name = await this.nameOf(did);
    } catch (e) {
      this.onError(e);
      return null;
    }
    this.names.delete(did);
    if (this.names.size >= NAME_CACHE_SIZE) this.names.delete(this.names.keys().next().value as DigitalId);
    this.names.set(did, { name, at: now });
    return name;
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
        const names = await Promise.all(events.map((event) => this.named(event.did)));
        events.forEach((event, i) => {
          after = event.cursor ?? event.id ?? after;
          this.deliver({ type: "offense", event, name: names[i] ?? null });
        });
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
