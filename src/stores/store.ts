import { WardenError } from "../errors.js";
import type { DigitalId } from "../identity/digital-id.js";
import type { BusMessage, PlayerNotice, Revocation, Sanction } from "../sanctions/model.js";
import type { OFFENSE_DEDUPE_WINDOW_MS, OffenseEvent, OffenseRecord, RecordedOffense } from "../recorder/offense.js";
import type { AuditAppendResult, AuditEntry, AuditHead } from "./audit-records.js";
import type { DayStats, ReporterStanding, ReviewRecord, ReviewType } from "../reviews/model.js";
import type { Signal, SignalPeers } from "../signals/model.js";

export type { BusMessage } from "../sanctions/model.js";
export type { AuditAppendResult } from "./audit-records.js";

/** One live session of a digital ID, as the store keeps it. */
export interface SessionBinding {
  did: DigitalId;
  sessionId: string;
  /** The warden process (server process) that holds the session. */
  processId: string;
  roomName: string;
  roomId: string;
  since: number;
}

/** Result of {@link SanctionStore.revokeSanction}. */
export type StoreRevokeResult =
  | { status: "revoked"; sanction: Sanction }
  | { status: "already_revoked"; sanction: Sanction }
  | { status: "not_found" };

/** Result of {@link ReportStore.fileReport}. */
export type StoreReportResult = { status: "duplicate" } | { status: "filed"; total: number };

/** What the store keeps about an ID besides sanctions and events. */
export interface Profile {
  /** First seen (epoch ms). */
  firstSeen?: number;
  /** Last display name seen, and when. */
  name?: string;
  nameSeen?: number;
}

/** Raw points of one track (decay them with the track's half-life to read them now). */
export interface TrackPoints {
  points: number;
  /** When `points` was last written (epoch ms). */
  at: number;
  /** Offenses counted on the track within retention. */
  count: number;
}

/** Retention the store applies, in milliseconds. */
export interface StoreRetention {
  /** How long a sanction is kept after it ended or was revoked. */
  sanctionsMs: number;
  /** Upper bound on a session binding's life if nothing removes it. */
  bindingsMs: number;
}

// ---------------------------------------------------------------------------------------
// The contract, by role. Each service takes the roles it uses, no more; a store implements
// all of them (WardenStore, below). Every method reports failure by rejecting with a
// `WardenError` (never a silent success); expected outcomes (not found, duplicate,
// conflict) are values.
// ---------------------------------------------------------------------------------------

/** Opening and closing a store. */
export interface StoreLifecycle {
  /** Resolves once the store can take commands (connected, scripts loaded). */
  connect(): Promise<void>;
  /** Releases what the store opened itself. */
  close(): Promise<void>;
}

/** Sanctions: kept per ID, each write published on the bus in the same step. */
export interface SanctionStore {
  /** Persists a new sanction, applies retention, and publishes it to every process. */
  saveSanction(sanction: Sanction, retention: StoreRetention): Promise<void>;
  /** Marks a sanction revoked and publishes the revocation. */
  revokeSanction(sanctionId: string, revocation: Revocation, retention: StoreRetention): Promise<StoreRevokeResult>;
  /** Every stored sanction of an ID (active or not), oldest first. */
  sanctionsOf(did: DigitalId): Promise<Sanction[]>;
}

/** The bus between processes: what {@link SanctionStore} publishes reaches every subscriber. */
export interface BusStore {
  /**
   * Delivers every bus message (from any process, this one included) to `handler`. When the
   * subscription was cut and is back, calls `onGap(since)`: messages published meanwhile
   * are lost (pub/sub keeps nothing), so the caller resyncs from the store.
   *
   * Every message is checked first (`parseBusMessage` / `toBusMessage` in
   * sanctions/codec.ts): one that is not a valid sanction or revocation, or that `handler`
   * throws on, is dropped and reported to `onBad(reason, count)` (`count` = messages this
   * store dropped so far, 1 for the first; without `onBad` the store logs the first one).
   * Nothing that arrives on the bus can make the listener throw.
   */
  subscribe(
    handler: (message: BusMessage) => void,
    onGap?: (since: number) => void,
    onBad?: (reason: string, count: number) => void,
  ): Promise<() => Promise<void>>;
  /** Publishes a notice for a player to every process (best effort: pub/sub keeps nothing; the record it is about stays fetchable). */
  publishNotice(did: DigitalId, notice: PlayerNotice): Promise<void>;
}

/** Live sessions of IDs, in every process. */
export interface SessionStore {
  /** Records that a live session belongs to an ID. */
  bindSession(binding: SessionBinding, retention: StoreRetention): Promise<void>;
  /** Removes a session binding. */
  unbindSession(did: DigitalId, sessionId: string, processId: string): Promise<void>;
  /** The live sessions of an ID, in every process. */
  sessionsOf(did: DigitalId): Promise<SessionBinding[]>;
}

/** The registry of live warden processes, so that a dead one's session bindings can be swept. */
export interface ProcessRegistryStore {
  /** Tells the store this process is alive until `now + ttlMs`. */
  heartbeat(processId: string, now: number, ttlMs: number): Promise<void>;
  /** Removes the bindings of processes whose heartbeat lapsed before `now`; returns how many bindings went. */
  sweepDeadProcesses(now: number): Promise<number>;
  /** Removes this process's registration and bindings (clean shutdown). */
  retireProcess(processId: string): Promise<void>;
}

/** Offense events: each ID's history and decaying points, and the ladder steps they make due. */
export interface OffenseStore {
  /**
   * Records a batch of offense events (feed, per-ID history, per-ID decaying points) in one
   * atomic round trip, and decides for each event, in that same step, the ladder step it makes
   * due (`escalate()` of src/policy/ladder.ts over the `ladder` passed with it, against the
   * step last issued on the track) and marks it — so no step is issued twice by two batches,
   * two processes or a replay. An event whose `uid` was recorded within
   * {@link OFFENSE_DEDUPE_WINDOW_MS} is not recorded again: it comes back as a `duplicate`
   * with the step its first write decided. Returns one result per event, in order.
   *
   * A store may split the batch into groups that are each atomic (the Redis store: one group
   * per recording bucket, so that each fits in one Cluster slot); the events of one ID are
   * always in one group, in the order given. When some groups are recorded and others fail,
   * it rejects with a {@link PartialBatchError} that carries the results of the recorded
   * ones, so that only the failed events are written again.
   */
  recordOffenses(batch: readonly OffenseRecord[], now: number, eventsRetentionMs: number): Promise<RecordedOffense[]>;
  /** An ID's offense events, newest first: at most `limit`, older than the event `before` if given. */
  offensesOf(did: DigitalId, options: { limit: number; before?: string }): Promise<OffenseEvent[]>;
  /** The ID's raw points per track. */
  pointsOf(did: DigitalId): Promise<Record<string, TrackPoints>>;
  /**
   * Forgiveness (an upheld appeal, a revoke marked wrongful): lowers the track's points to
   * at most `capPoints` (decaying what is stored with `halfLifeMs` to `now` first, never
   * raising it) and sets the mark of the step last issued to `mark` (`null` = none), in one
   * atomic step with the recording script, so that the next offense does not climb past the
   * forgiven step. Nothing happens when the ID has no points on the track, or — with
   * `onlyIfLastAt`, the `at` of the forgiven step — when a later step was issued since (its
   * sanction stands on its own points).
   */
  forgive(
    did: DigitalId,
    track: string,
    capPoints: number,
    mark: number | null,
    now: number,
    halfLifeMs: number,
    onlyIfLastAt?: number,
  ): Promise<void>;
}

/**
 * The live feed of every offense event, in the order recorded (`warden tail`, the admin API's stream).
 *
 * Its position is a cursor: an event's `cursor` when the store gives one (the Redis store's
 * feed has one shard per recording bucket, and its cursor holds a stream id per shard),
 * else its `id`. `"0"` is the start; a plain stream id is "after that id in every shard".
 */
export interface FeedStore {
  /** Events of the live feed after the cursor `after` (`"0"` = from the oldest kept); waits up to `blockMs` for one. */
  readFeed(after: string, options: { count: number; blockMs: number }): Promise<OffenseEvent[]>;
  /** Cursor of the newest event in the feed, or `"0"` when empty. */
  lastFeedId(): Promise<string>;
}

/**
 * `recordOffenses` recorded part of a batch: `results[i]` is event i's result, or null for an
 * event of a group that failed (`code` and `cause` are those of the first failure). Nothing of
 * a failed group was written.
 */
export class PartialBatchError extends WardenError {
  constructor(
    readonly results: readonly (RecordedOffense | null)[],
    first: WardenError,
  ) {
    super(
      first.code,
      `${first.message} (${results.filter((r) => r === null).length} of ${results.length} events not recorded)`,
      {
        cause: first,
      },
    );
  }
}

/** Player reports against an ID within their window. */
export interface ReportStore {
  /** Files a report by `reporter` against `target` with `weight`; one per reporter per target per window. */
  fileReport(
    target: DigitalId,
    reporter: DigitalId,
    weight: number,
    now: number,
    windowMs: number,
  ): Promise<StoreReportResult>;
  /** Zeroes the weight of the reports against an ID (after they turned into an offense); the reporters stay listed until the window ends. */
  clearReports(target: DigitalId): Promise<void>;
  /** Reports against the ID within their window. */
  reportsAgainst(did: DigitalId): Promise<{ reporter: DigitalId; at: number; weight: number }[]>;
}

/** Result of {@link ReviewStore.saveReview}: a write over a stale revision is a conflict (read again, retry). */
export type SaveReviewResult = "saved" | "conflict";

/**
 * Due-process records (src/reviews/model.ts): appeals, report cases, evidence snapshots —
 * each stored whole, by id, in its subject's slot, with its own retention — plus the review
 * queue and the reporters' standing.
 */
export interface ReviewStore {
  /**
   * Saves a record if the stored one is still at revision `expectedRev` (`null`: there must
   * be none yet) — compare-and-set, so two processes or moderators never overwrite each
   * other. The caller sets `record.rev` to `expectedRev + 1` (1 for a new one). Keeps it
   * `keepMs` from now. Keeps the queue in step: a record for which `isQueued()` holds is in
   * the queue of its type (ordered by `openedAt`), any other is not. `involved`: other IDs
   * that take part (reporters, authors of chat lines), so that forgetting one of them finds
   * the record ({@link ReviewStore.involvedIn}); kept as long as the record.
   */
  saveReview(
    record: ReviewRecord,
    expectedRev: number | null,
    keepMs: number,
    involved: readonly DigitalId[],
  ): Promise<SaveReviewResult>;
  /** The record with this id, or null (never stored, expired, or erased). */
  review(id: string): Promise<ReviewRecord | null>;
  /** Every record whose subject is `did`, oldest first. */
  reviewsOf(did: DigitalId): Promise<ReviewRecord[]>;
  /** The oldest `limit` records of a type waiting in the queue. */
  reviewQueue(type: ReviewType, limit: number): Promise<ReviewRecord[]>;
  /** Ids of records `did` takes part in without being their subject (see `involved`). */
  involvedIn(did: DigitalId): Promise<string[]>;
  /** Deletes a record (and takes it out of the queue). */
  deleteReview(id: string): Promise<void>;
  /**
   * Notes one report filed by `reporter` at `now` and answers how many it filed within
   * `windowMs` up to now, this one included — across processes and reconnections.
   */
  countReportBy(reporter: DigitalId, now: number, windowMs: number): Promise<number>;
  /** A reporter's track record (zeros when none). */
  reporterStanding(did: DigitalId): Promise<ReporterStanding>;
  /**
   * Adds one upheld or unfounded case to a reporter's track record, sets the suspension when
   * `suspendUntil` is given, keeps the record `keepMs` from now, and answers the new record.
   */
  noteReporter(
    did: DigitalId,
    outcome: "upheld" | "unfounded",
    keepMs: number,
    suspendUntil?: number,
  ): Promise<ReporterStanding>;
}

/**
 * Ban-evasion signals (src/signals/model.ts): keyed hashes only, each kept `retentionMs`
 * after it was last seen with an ID; links dismissed by a moderator.
 */
export interface SignalStore {
  /**
   * Notes that `did` was seen with `signals` at `now` and answers, for each, the other IDs
   * seen with it within `retentionMs` (newest first, at most `limit + 1`). Entries older than
   * `retentionMs` are dropped as they are met.
   */
  noteSignals(
    did: DigitalId,
    signals: readonly Signal[],
    now: number,
    retentionMs: number,
    limit: number,
  ): Promise<SignalPeers[]>;
  /** The signals an ID was seen with within `retentionMs`, each with its other IDs (as above). */
  signalsOf(did: DigitalId, now: number, retentionMs: number, limit: number): Promise<SignalPeers[]>;
  /** Remembers that the link between `a` and `b` was dismissed (both ways), for `keepMs`. */
  dismissLink(a: DigitalId, b: DigitalId, keepMs: number): Promise<void>;
  /** The IDs whose link with `did` was dismissed. */
  dismissedLinks(did: DigitalId): Promise<DigitalId[]>;
}

/** Counters of the transparency report, and the sanctions in force. No personal data. */
export interface StatsStore {
  /**
   * Adds `counts` to a day's counters and appends `samples` (durations in ms) to that day's
   * sample lists (each kept to its newest 1000), in one step; keeps the day `keepMs`.
   */
  countStats(
    day: string,
    counts: Readonly<Record<string, number>>,
    samples: Readonly<Record<string, number>>,
    keepMs: number,
  ): Promise<void>;
  /** The counters and samples of these days (days without any are left out). */
  statsOf(days: readonly string[]): Promise<DayStats[]>;
  /** Notes a lasting sanction in force until `end` (`null` = permanent). */
  trackActive(sanctionId: string, kind: string, end: number | null): Promise<void>;
  /** Takes a sanction out of the ones in force (revoked, or its record erased). */
  untrackActive(sanctionId: string, kind: string): Promise<void>;
  /** Sanctions in force at `now`, by kind (ended ones are dropped as they are met). */
  countActive(now: number): Promise<Record<string, number>>;
}

/** What is known of an ID besides sanctions and offenses: first sighting, display name. */
export interface ProfileStore {
  /** Notes that an ID was seen; returns when it was first seen (kept `retentionMs` after the last sighting). */
  touchProfile(did: DigitalId, now: number, retentionMs: number): Promise<number>;
  /** Remembers the display name an ID was last seen under (kept `retentionMs` after it was last seen). */
  recordName(did: DigitalId, name: string, now: number, retentionMs: number): Promise<void>;
  /** IDs last seen under a display name (case- and width-insensitive) within `retentionMs`. */
  didsByName(name: string, now: number, retentionMs: number): Promise<{ did: DigitalId; lastSeen: number }[]>;
  /** What the store knows of an ID besides sanctions and events; null if nothing. */
  profileOf(did: DigitalId): Promise<Profile | null>;
}

/** The hash-chained audit log of staff acts (src/admin/audit.ts builds the chain). */
export interface AuditStore {
  /** The audit log's head. */
  auditHead(): Promise<AuditHead>;
  /**
   * Appends `entries` — all of them or none, in one atomic step — if the head's hash is still
   * `expectedPrev` (compare-and-set); trims entries older than `keepAfter`. The entries must
   * chain to that head and to one another (seq + 1, `prev` = the hash before); a batch that
   * does not is refused with `STORE_SCRIPT`. Answers with the head after the call: the new
   * one, or on a conflict the one to rechain on.
   */
  appendAudit(entries: readonly AuditEntry[], expectedPrev: string, keepAfter: number): Promise<AuditAppendResult>;
  /** Audit entries, newest first. */
  auditEntries(options: { limit: number; before?: string }): Promise<AuditEntry[]>;
  /** Audit entries after the entry `after` (`"0"` = from the oldest), oldest first. */
  auditRange(after: string, count: number): Promise<AuditEntry[]>;
}

/**
 * A staff member's credential as stored: the token only as a keyed hash, the record sealed
 * by a MAC under a key the servers hold (src/admin/staff.ts), so that what an insider writes
 * here is refused.
 */
export interface StaffRecord {
  /** The public part of the token (`wst_<id>_…`): how a token finds its record. */
  id: string;
  name: string;
  role: "viewer" | "moderator" | "admin";
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  revokedBy: string | null;
  /** HMAC of the whole token under the staff token key (hex). */
  tokenHash: string;
  /** HMAC of every field above under the staff record key (hex). */
  mac: string;
}

/** Staff credentials (personal tokens issued by an admin). */
export interface StaffStore {
  /** Writes (or overwrites) a staff record by its id. */
  saveStaff(record: StaffRecord): Promise<void>;
  /** One record by its id; null if none. */
  staffById(id: string): Promise<StaffRecord | null>;
  /** Every record, revoked ones too (at most a few thousand: staff, not players). */
  listStaff(): Promise<StaffRecord[]>;
}

/** Erasure of an ID across every role (the right to be forgotten). */
export interface ErasureStore {
  /**
   * Erases everything kept about an ID — sanctions, events, points, bindings, names, reports
   * against it, the records whose subject it is, its reporter record and report count, its
   * signals (and its place in each signal's list of IDs) and its dismissed links; only
   * `keep` (minimal records of active bans) remains. Records it merely takes part in are
   * redacted by the caller ({@link ReviewStore.involvedIn}).
   */
  forget(did: DigitalId, keep: readonly Sanction[], retention: StoreRetention): Promise<void>;
}

/**
 * The whole datastore-neutral contract: every role. Both {@link MemoryStore} and
 * {@link RedisStore} pass the same suite (`test/store-contract.test.ts`). Method names speak
 * of the domain; how a store lays out keys, scripts or maps is its own business, and which
 * store it is, is nobody else's: the contract carries no backend tag.
 */
export interface WardenStore
  extends StoreLifecycle,
    SanctionStore,
    BusStore,
    SessionStore,
    ProcessRegistryStore,
    OffenseStore,
    FeedStore,
    ReportStore,
    ReviewStore,
    StatsStore,
    SignalStore,
    ProfileStore,
    AuditStore,
    StaffStore,
    ErasureStore {}

/** Newest time a did's sanction record must be kept until; `null` = as long as a permanent sanction is active. */
export function sanctionsKeepUntil(sanctions: readonly Sanction[], retentionMs: number): number | null {
  let latest = 0;
  for (const s of sanctions) {
    const over = s.revoked ? s.revoked.at : s.end;
    if (over === null) return null;
    latest = Math.max(latest, over);
  }
  return latest + retentionMs;
}
