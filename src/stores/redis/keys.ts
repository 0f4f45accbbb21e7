import type { DigitalId } from "../../identity/digital-id.js";

/** Recording buckets of a store unless told otherwise (see {@link RedisKeys.bucketOf}). */
export const DEFAULT_BUCKETS = 16;
/** Most recording buckets: the composite feed cursor holds one stream id per bucket. */
export const MAX_BUCKETS = 256;

/**
 * The one place that builds Redis key names (BullMQ's QueueKeys idea).
 *
 * Every key of one digital ID carries the ID as a hash tag (`{<did>}`), so all of them
 * live in one Redis Cluster slot and one script may touch them together — except its
 * recording keys (history, points, recorded uids): those carry the tag of the ID's
 * recording bucket (`{b<k>}`, k = a hash of the ID modulo the number of buckets B), beside
 * that bucket's shard of the live feed, so that one script records a whole group of a
 * batch — feed shard and every ID's history with the same event ids — in one slot. Keys
 * that are not about one ID (the process registry, the review queues, the statistics) carry
 * their own tag; no script spans two tags.
 *
 * A prefix with a hash tag of its own (`{warden}`) puts every key in one slot: a
 * single-slot deployment on a cluster (the first `{…}` of a key name is its tag).
 */
export class RedisKeys {
  constructor(
    readonly prefix: string,
    /** Number of recording buckets B: fixed for a deployment (changing it moves IDs to other buckets). */
    readonly buckets: number = DEFAULT_BUCKETS,
  ) {}

  /**
   * The recording bucket of an ID, 0 … B-1: FNV-1a (32 bits) of the ID modulo B. Stable
   * across processes and releases — it decides where an ID's history lives.
   */
  bucketOf(did: DigitalId): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < did.length; i++) {
      hash ^= did.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash % this.buckets;
  }

  /** Stream of the offense events of one bucket: its shard of the live feed (`warden tail`). */
  feedShard(bucket: number): string {
    return `${this.prefix}:{b${bucket}}:feed`;
  }

  /** Hash: sanction id → sanction JSON; `<id>:r` → revocation JSON. */
  sanctions(did: DigitalId): string {
    return `${this.prefix}:{${did}}:sanctions`;
  }

  /** Hash: session id → binding JSON. */
  sessions(did: DigitalId): string {
    return `${this.prefix}:{${did}}:sessions`;
  }

  /** Sorted set: process id → alive-until (epoch ms). */
  processes(): string {
    return `${this.prefix}:{procs}:alive`;
  }

  /** Set of `<did> <sessionId>` bound by one process, so its bindings can be swept if it dies. */
  processSessions(processId: string): string {
    return `${this.prefix}:{procs}:sessions:${processId}`;
  }

  /** Stream of one ID's offense events (its history), in its bucket's slot; same ids as in the feed shard. */
  events(did: DigitalId): string {
    return `${this.prefix}:{b${this.bucketOf(did)}}:${did}:events`;
  }

  /** Hash of one ID's decaying points per track: `<track>`, `<track>:t` (last update), `<track>:n` (count), `<track>:s` (`at` of the step last issued). In its bucket's slot. */
  points(did: DigitalId): string {
    return `${this.prefix}:{b${this.bucketOf(did)}}:${did}:points`;
  }

  /**
   * Sorted set of the uids of one ID's recorded events (score: when recorded, trimmed to the
   * dedupe window), plus `<uid>>k` for an event that issued ladder step k: a retried batch
   * records nothing twice and hands back the step its first write decided.
   */
  recorded(did: DigitalId): string {
    return `${this.prefix}:{b${this.bucketOf(did)}}:${did}:recorded`;
  }

  // The layout before buckets (up to 0.1): one feed stream and the recording keys under the
  // ID's own tag. Read (history) and deleted (forget) until they expire — events are kept
  // 30 days by default; nothing writes them any more.

  /** Before buckets: one ID's history stream. */
  legacyEvents(did: DigitalId): string {
    return `${this.prefix}:{${did}}:events`;
  }

  /** Before buckets: one ID's points and recorded uids. */
  legacyRecording(did: DigitalId): string[] {
    return [`${this.prefix}:{${did}}:points`, `${this.prefix}:{${did}}:recorded`];
  }

  /** Before buckets: the one stream of the live feed. */
  legacyFeed(): string {
    return `${this.prefix}:feed`;
  }

  /** Hash of facts about one ID kept for its standing: `first` (first seen, epoch ms). */
  profile(did: DigitalId): string {
    return `${this.prefix}:{${did}}:profile`;
  }

  /** Sorted set of who reported an ID within the report window. */
  reports(did: DigitalId): string {
    return `${this.prefix}:{${did}}:reports`;
  }

  /** Hash of the weight of each of those reports. */
  reportWeights(did: DigitalId): string {
    return `${this.prefix}:{${did}}:report-weights`;
  }

  /**
   * Hash of one review record (appeal, case, evidence, evasion) whose subject is `did`: `rev` (its
   * revision), `json` (the record as given), `inv` (the other IDs involved, as a JSON array).
   * Expires with the record's retention.
   */
  review(did: DigitalId, id: string): string {
    return `${this.prefix}:{${did}}:review:${id}`;
  }

  /** Sorted set of the ids of the review records whose subject is `did` (score: `openedAt`); expires with the longest-kept one. */
  reviews(did: DigitalId): string {
    return `${this.prefix}:{${did}}:reviews`;
  }

  /** Sorted set of the ids of review records `did` takes part in without being their subject (score: when that record expires). */
  involved(did: DigitalId): string {
    return `${this.prefix}:{${did}}:involved`;
  }

  /** Sorted set of the reports one reporter filed within the window (unique member → time), for its report count. */
  reportedBy(did: DigitalId): string {
    return `${this.prefix}:{${did}}:reported-by`;
  }

  /** Hash of one reporter's track record: `upheld`, `unfounded`, `suspendedUntil`. */
  reporter(did: DigitalId): string {
    return `${this.prefix}:{${did}}:reporter`;
  }

  /** Sorted set of the review records of one type waiting in the queue: id → `openedAt`. */
  reviewQueue(type: string): string {
    return `${this.prefix}:{reviews}:queue:${type}`;
  }

  /** Hash of one day's counters (`YYYY-MM-DD`): counter name → count. */
  statsDay(day: string): string {
    return `${this.prefix}:{stats}:day:${day}`;
  }

  /** Set of the names of one day's sample lists. */
  statsSampleNames(day: string): string {
    return `${this.prefix}:{stats}:day:${day}:samples`;
  }

  /** List of one day's samples of one name (durations in ms), its newest 1000, oldest first. */
  statsSamples(day: string, name: string): string {
    return `${this.prefix}:{stats}:day:${day}:sample:${name}`;
  }

  /** Sorted set of the lasting sanctions in force: `<kind>|<sanctionId>` → end (`+inf` = permanent). */
  activeSanctions(): string {
    return `${this.prefix}:{stats}:active`;
  }

  /** Sorted set of the IDs last seen under a display name (normalised): did → last seen. */
  name(normalizedName: string): string {
    return `${this.prefix}:name:{${normalizedName}}`;
  }

  // Ban-evasion signals (src/signals/model.ts). A signal is a keyed hash, never a raw value;
  // a signal's two keys carry the signal as their own tag (`{<type>:<hash>}`), so one script
  // keeps them together; an ID's keys carry the ID's tag. No script spans the two:
  // `noteSignals` writes the ID's key first (so that `forget` finds every signal it is about
  // to be listed under), then each signal's keys, all in one pipeline round trip.
  //
  // First-seen per (signal, ID) is kept twice, written from one source: the ID's own hash
  // decides it (`noteSignals-1.lua`), the signal's `first` hash mirrors it, so that one
  // script call per signal answers its peers with their first and last seen — O(peers),
  // one round trip — without reading any other ID's slot.

  /**
   * Hash of the signals one ID was seen with: `<type>:<hash>` → `<firstSeen>:<lastSeen>`
   * (epoch ms). At most 16 (the least recently seen dropped), entries older than the
   * retention dropped as met; expires `retentionMs` after the last write.
   */
  signals(did: DigitalId): string {
    return `${this.prefix}:{${did}}:signals`;
  }

  /**
   * Sorted set of the IDs seen with one signal: did → last seen (epoch ms); its 1024 most
   * recently seen kept (more than the `limit + 1` peers any call answers, plus the ID itself), entries older than the retention dropped as met;
   * expires `retentionMs` after the last write.
   */
  signal(type: string, hash: string): string {
    return `${this.prefix}:sig:{${type}:${hash}}`;
  }

  /** Hash of the same IDs' first sighting with that signal: did → first seen (epoch ms); kept in step with {@link signal} (same members, same expiry). */
  signalFirst(type: string, hash: string): string {
    return `${this.prefix}:sig:{${type}:${hash}}:first`;
  }

  /**
   * Sorted set of the IDs whose link with `did` a moderator dismissed: other did → until
   * (epoch ms); written on both IDs' keys, at most 1000 (the soonest to end dropped);
   * ended ones dropped as met; expires with its latest entry.
   */
  dismissed(did: DigitalId): string {
    return `${this.prefix}:{${did}}:dismissed`;
  }

  /** Stream of audit entries (hash-chained). */
  auditLog(): string {
    return `${this.prefix}:{audit}:log`;
  }

  /** Hash: `seq`, `hash` of the newest audit entry, `trimmed` (entries removed by retention). */
  auditHead(): string {
    return `${this.prefix}:{audit}:head`;
  }

  /** Hash of staff records: id → sealed JSON (src/admin/staff.ts). */
  staff(): string {
    return `${this.prefix}:{staff}:records`;
  }

  /** Pub/sub channel of sanctions, revocations and player notices. */
  busChannel(): string {
    return `${this.prefix}:bus`;
  }
}
