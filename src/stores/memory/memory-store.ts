import { toSanction } from "../../sanctions/codec.js";
import type { DigitalId } from "../../identity/digital-id.js";
import { WardenError } from "../../errors.js";
import type { PlayerNotice, Revocation, Sanction } from "../../sanctions/model.js";
import { didOfSanctionId } from "../../sanctions/model.js";
import { toBusMessage } from "../../sanctions/codec.js";
import { EventEmitter } from "node:events";
import { decay, escalate } from "../../policy/ladder.js";
import {
  OFFENSE_DEDUPE_UPKEEP_MS,
  OFFENSE_DEDUPE_WINDOW_MS,
  type OffenseEvent,
  type OffenseRecord,
  type RecordedOffense,
} from "../../recorder/offense.js";
import type { AuditAppendResult, AuditEntry, AuditHead } from "../audit-records.js";
import { nameKey, normalizeName } from "../names.js";
import {
  didOfReviewId,
  isQueued,
  type DayStats,
  type ReporterStanding,
  type ReviewRecord,
  type ReviewType,
} from "../../reviews/model.js";
import { isInstant } from "../../util/time.js";
import { isDigitalId } from "../../identity/digital-id.js";
import {
  MAX_SIGNALS_PER_JOIN,
  SIGNAL_TYPES,
  type Signal,
  type SignalPeer,
  type SignalPeers,
  type SignalType,
} from "../../signals/model.js";
import type {
  BusMessage,
  Profile,
  SaveReviewResult,
  SessionBinding,
  StoreReportResult,
  StoreRetention,
  StoreRevokeResult,
  TrackPoints,
  WardenStore,
  StaffRecord,
} from "../store.js";
import { sanctionsKeepUntil } from "../store.js";

/** A review record as the memory store keeps it, with the other IDs involved. */
interface StoredReview {
  record: ReviewRecord;
  involved: DigitalId[];
}

/** When an ID was first and last seen with a signal (epoch ms). */
interface Sighting {
  first: number;
  last: number;
}

interface Expiring<T> {
  value: T;
  /** epoch ms; Infinity = no expiry */
  expiresAt: number;
}

/**
 * One ID's points per track (`<track>:s` of the Redis hash is `issuedAt`), and the uids of
 * its recorded events, oldest first, with the step each made due: kept and expired together,
 * like the Redis keys of one ID.
 */
class IdPoints extends Map<string, { points: number; at: number; count: number; issuedAt: number }> {
  readonly recorded = new Map<string, { at: number; step: number | null }>();
  /** When uids past the dedupe window were last dropped (`:recorded` of the Redis hash). */
  upkeptAt = 0;
}

/**
 * The embedded store: everything in this process's memory. For trying the plugin and for
 * single-process development; nothing is shared with other processes or survives a restart.
 * It honours the same retention rules as {@link RedisStore}, lazily on read and on a timer.
 */
export class MemoryStore implements WardenStore {
  private readonly sanctions = new Map<DigitalId, Expiring<Map<string, Sanction>>>();
  private readonly sessions = new Map<DigitalId, Expiring<Map<string, SessionBinding>>>();
  private readonly processes = new Map<string, number>();
  private readonly handlers = new Set<(message: BusMessage) => void>();
  /** Bus messages dropped because they were not valid (see `subscribe`); the first is logged. */
  readonly dropped = { busMessages: 0 };
  private feed: OffenseEvent[] = [];
  private lastId = { ms: 0, seq: 0 };
  private readonly feedSignal = new EventEmitter();
  private readonly histories = new Map<DigitalId, Expiring<OffenseEvent[]>>();
  private readonly points = new Map<DigitalId, Expiring<IdPoints>>();
  private readonly profiles = new Map<DigitalId, Expiring<Profile>>();
  private readonly names = new Map<string, Map<DigitalId, number>>();
  private audit: AuditEntry[] = [];
  private readonly staffRecords = new Map<string, StaffRecord>();
  private head: AuditHead = { seq: 0, hash: "", trimmed: 0 };
  private readonly reports = new Map<DigitalId, Expiring<Map<DigitalId, { at: number; weight: number }>>>();
  /** Review records by subject, then by id, each with its own retention and the other IDs involved. */
  private readonly reviews = new Map<DigitalId, Map<string, Expiring<StoredReview>>>();
  /** Per ID: the records it takes part in without being their subject → when that record expires. */
  private readonly involvement = new Map<DigitalId, Map<string, number>>();
  /** Per reporter: when it filed its reports within the window, oldest first. */
  private readonly reportedBy = new Map<DigitalId, Expiring<number[]>>();
  private readonly reporters = new Map<DigitalId, Expiring<ReporterStanding>>();
  private readonly stats = new Map<string, Expiring<{ counts: Map<string, number>; samples: Map<string, number[]> }>>();
  /** Sanctions in force: `<kind>|<sanctionId>` → end (Infinity = permanent). */
  private readonly active = new Map<string, number>();
  /** Per signal (`<type>:<hash>`): the IDs seen with it (the Redis keys `sig:{<type>:<hash>}` and its `:first`). */
  private readonly signalIds = new Map<string, Expiring<Map<DigitalId, Sighting>>>();
  /** Per ID: its signals by `<type>:<hash>` (the Redis key `{<did>}:signals`). */
  private readonly idSignals = new Map<DigitalId, Expiring<Map<string, Sighting>>>();
  /** Per ID: the IDs whose link with it was dismissed → until (epoch ms). */
  private readonly dismissals = new Map<DigitalId, Map<DigitalId, number>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.dropExpired(), 60_000);
    this.sweeper.unref();
  }

  async connect(): Promise<void> {}

  async saveSanction(sanction: Sanction, retention: StoreRetention): Promise<void> {
    // The same check a Redis record gets when it is read back: no malformed sanction acts at the join gate.
    if (toSanction(sanction) === null)
      throw new WardenError("INVALID_SANCTION", "saveSanction: not a well-formed sanction");
    const entry = this.live(this.sanctions, sanction.did) ?? {
      value: new Map<string, Sanction>(),
      expiresAt: Infinity,
    };
    entry.value.set(sanction.id, structuredClone(sanction));
    entry.expiresAt = sanctionsKeepUntil([...entry.value.values()], retention.sanctionsMs) ?? Infinity;
    this.sanctions.set(sanction.did, entry);
    this.publish({ type: "issued", sanction: structuredClone(sanction) });
  }

  async revokeSanction(
    sanctionId: string,
    revocation: Revocation,
    retention: StoreRetention,
  ): Promise<StoreRevokeResult> {
    const did = didOfSanctionId(sanctionId);
    const entry = did === null ? undefined : this.live(this.sanctions, did);
    const stored = entry?.value.get(sanctionId);
    if (!entry || !stored || did === null) return { status: "not_found" };
    if (stored.revoked) return { status: "already_revoked", sanction: structuredClone(stored) };
    stored.revoked = { ...revocation };
    entry.expiresAt = sanctionsKeepUntil([...entry.value.values()], retention.sanctionsMs) ?? Infinity;
    this.publish({ type: "revoked", did, sanctionId, revocation: { ...revocation } });
    return { status: "revoked", sanction: structuredClone(stored) };
  }

  async sanctionsOf(did: DigitalId): Promise<Sanction[]> {
    const entry = this.live(this.sanctions, did);
    return entry ? [...entry.value.values()].sort((a, b) => a.start - b.start).map((s) => structuredClone(s)) : [];
  }

  async bindSession(binding: SessionBinding, retention: StoreRetention): Promise<void> {
    const entry = this.live(this.sessions, binding.did) ?? { value: new Map<string, SessionBinding>(), expiresAt: 0 };
    entry.value.set(binding.sessionId, { ...binding });
    entry.expiresAt = this.now() + retention.bindingsMs;
    this.sessions.set(binding.did, entry);
  }

  async unbindSession(did: DigitalId, sessionId: string): Promise<void> {
    const entry = this.live(this.sessions, did);
    if (!entry) return;
    entry.value.delete(sessionId);
    if (entry.value.size === 0) this.sessions.delete(did);
  }

  async sessionsOf(did: DigitalId): Promise<SessionBinding[]> {
    const entry = this.live(this.sessions, did);
    return entry ? [...entry.value.values()].map((b) => ({ ...b })) : [];
  }

  async heartbeat(processId: string, now: number, ttlMs: number): Promise<void> {
    this.processes.set(processId, now + ttlMs);
  }

  async sweepDeadProcesses(now: number): Promise<number> {
    let removed = 0;
    for (const [processId, aliveUntil] of this.processes) {
      if (aliveUntil >= now) continue;
      removed += this.removeBindingsOf(processId);
      this.processes.delete(processId);
    }
    return removed;
  }

  async retireProcess(processId: string): Promise<void> {
    this.removeBindingsOf(processId);
    this.processes.delete(processId);
  }

  async recordOffenses(
    batch: readonly OffenseRecord[],
    now: number,
    eventsRetentionMs: number,
  ): Promise<RecordedOffense[]> {
    const out: RecordedOffense[] = [];
    const expiresAt = now + eventsRetentionMs;
    const forgetBefore = now - Math.min(OFFENSE_DEDUPE_WINDOW_MS, eventsRetentionMs);
    // Upkeep as Redis does it: uids past the window go at most once per OFFENSE_DEDUPE_UPKEEP_MS
    // per ID (at its first event of the batch), noted if one of its events is recorded.
    const upkept = new Map<DigitalId, boolean>();
    for (const { event, halfLifeMs, ladder } of batch) {
      const tracks = this.live(this.points, event.did) ?? { value: new IdPoints(), expiresAt };
      const { uid } = event;
      if (uid !== undefined && !upkept.has(event.did)) {
        const upkeep = now - tracks.value.upkeptAt >= OFFENSE_DEDUPE_UPKEEP_MS;
        upkept.set(event.did, upkeep);
        if (upkeep)
          for (const [old, seen] of tracks.value.recorded)
            if (seen.at < forgetBefore) tracks.value.recorded.delete(old);
      }
      if (uid !== undefined) {
        const seen = tracks.value.recorded.get(uid);
        if (seen !== undefined) {
          out.push({ status: "duplicate", step: seen.step });
          continue;
        }
      }
      const id = this.nextId(now);
      const stored = { ...structuredClone(event), id };
      this.feed.push(stored);
      const history = this.live(this.histories, event.did) ?? { value: [], expiresAt };
      history.value.push(stored);
      history.expiresAt = expiresAt;
      this.histories.set(event.did, history);
      const previous = tracks.value.get(event.track);
      const before = previous ? decay(previous.points, now - previous.at, halfLifeMs) : 0;
      const after = before + event.severity;
      let issuedAt = previous?.issuedAt ?? 0;
      let step: number | null = null;
      if (ladder !== undefined) {
        // The same pure calculator the Lua script mirrors, and the mark set in the same step.
        const due = escalate({ name: event.track, halfLifeMs, ladder }, before, after, issuedAt);
        if (due !== null) {
          step = ladder.indexOf(due);
          issuedAt = due.at;
        }
      }
      tracks.value.set(event.track, { points: after, at: now, count: (previous?.count ?? 0) + 1, issuedAt });
      if (uid !== undefined) tracks.value.recorded.set(uid, { at: now, step });
      if (upkept.get(event.did) === true) tracks.value.upkeptAt = now;
      tracks.expiresAt = expiresAt;
      this.points.set(event.did, tracks);
      out.push({ status: "recorded", id, before, after, step });
    }
    const oldest = now - eventsRetentionMs;
    if ((this.feed[0]?.at ?? Infinity) < oldest) this.feed = this.feed.filter((e) => e.at >= oldest);
    if (out.some((r) => r.status === "recorded")) this.feedSignal.emit("event");
    return out;
  }

  async offensesOf(did: DigitalId, options: { limit: number; before?: string }): Promise<OffenseEvent[]> {
    const history = this.live(this.histories, did)?.value ?? [];
    const older =
      options.before === undefined ? history : history.filter((e) => compareIds(e.id!, options.before!) < 0);
    return older
      .slice(-options.limit)
      .reverse()
      .map((e) => structuredClone(e));
  }

  async readFeed(after: string, options: { count: number; blockMs: number }): Promise<OffenseEvent[]> {
    const pick = () =>
      this.feed
        .filter((e) => compareIds(e.id!, after) > 0)
        .slice(0, options.count)
        .map((e) => structuredClone(e));
    const ready = pick();
    if (ready.length > 0 || options.blockMs <= 0) return ready;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.blockMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.feedSignal.once("event", done);
    });
    return pick();
  }

  async lastFeedId(): Promise<string> {
    return this.feed.at(-1)?.id ?? "0";
  }

  async touchProfile(did: DigitalId, now: number, retentionMs: number): Promise<number> {
    const profile = this.live(this.profiles, did) ?? { value: {}, expiresAt: 0 };
    profile.value.firstSeen ??= now;
    profile.expiresAt = now + retentionMs;
    this.profiles.set(did, profile);
    return profile.value.firstSeen;
  }

  async recordName(did: DigitalId, name: string, now: number, retentionMs: number): Promise<void> {
    const profile = this.live(this.profiles, did) ?? { value: {}, expiresAt: now + retentionMs };
    if (profile.value.name !== undefined) this.names.get(nameKey(profile.value.name))?.delete(did);
    profile.value.name = normalizeName(name);
    profile.value.nameSeen = now;
    this.profiles.set(did, profile);
    const key = nameKey(name);
    const index = this.names.get(key) ?? new Map<DigitalId, number>();
    index.set(did, now);
    this.names.set(key, index);
  }

  async didsByName(name: string, now: number, retentionMs: number): Promise<{ did: DigitalId; lastSeen: number }[]> {
    const index = this.names.get(nameKey(name));
    if (index === undefined) return [];
    return [...index]
      .filter(([, seen]) => seen >= now - retentionMs)
      .sort((a, b) => b[1] - a[1])
      .map(([did, lastSeen]) => ({ did, lastSeen }));
  }

  async profileOf(did: DigitalId): Promise<Profile | null> {
    const profile = this.live(this.profiles, did);
    return profile ? { ...profile.value } : null;
  }

  async pointsOf(did: DigitalId): Promise<Record<string, TrackPoints>> {
    const tracks = this.live(this.points, did);
    const out: Record<string, TrackPoints> = {};
    for (const [track, p] of tracks?.value ?? []) out[track] = { points: p.points, at: p.at, count: p.count };
    return out;
  }

  async reportsAgainst(did: DigitalId): Promise<{ reporter: DigitalId; at: number; weight: number }[]> {
    const reports = this.live(this.reports, did);
    return [...(reports?.value ?? [])].map(([reporter, r]) => ({ reporter, at: r.at, weight: r.weight }));
  }

  async forgive(
    did: DigitalId,
    track: string,
    capPoints: number,
    mark: number | null,
    now: number,
    halfLifeMs: number,
    onlyIfLastAt?: number,
  ): Promise<void> {
    checkForgive(capPoints, mark, halfLifeMs, onlyIfLastAt);
    const stored = this.live(this.points, did)?.value.get(track);
    if (stored === undefined || Number.isNaN(stored.points)) return;
    // A later step issued since: it stands on its own points (as the Redis script does).
    if (onlyIfLastAt !== undefined && stored.issuedAt > onlyIfLastAt + 1e-9) return;
    // As the Redis script does: decay to now, never above the cap, and the mark (0 = none).
    stored.points = Math.min(decay(stored.points, now - stored.at, halfLifeMs), capPoints);
    stored.at = now;
    stored.issuedAt = mark ?? 0;
  }

  async saveReview(
    record: ReviewRecord,
    expectedRev: number | null,
    keepMs: number,
    involved: readonly DigitalId[],
  ): Promise<SaveReviewResult> {
    const { others, json } = checkSave(record, expectedRev, keepMs, involved);
    const byId = this.reviews.get(record.did) ?? new Map<string, Expiring<StoredReview>>();
    const stored = this.live(byId, record.id);
    if ((stored?.value.record.rev ?? null) !== expectedRev) return "conflict";
    const expiresAt = this.now() + Math.ceil(keepMs);
    // Stored as Redis stores it: what JSON keeps of it.
    byId.set(record.id, { value: { record: JSON.parse(json) as ReviewRecord, involved: others }, expiresAt });
    this.reviews.set(record.did, byId);
    for (const d of stored?.value.involved ?? []) if (!others.includes(d)) this.involvement.get(d)?.delete(record.id);
    for (const d of others) {
      const index = this.involvement.get(d) ?? new Map<string, number>();
      index.set(record.id, expiresAt);
      this.involvement.set(d, index);
    }
    return "saved";
  }

  async review(id: string): Promise<ReviewRecord | null> {
    const did = didOfReviewId(id);
    const byId = did === null ? undefined : this.reviews.get(did);
    const stored = byId === undefined ? undefined : this.live(byId, id);
    return stored === undefined ? null : structuredClone(stored.value.record);
  }

  async reviewsOf(did: DigitalId): Promise<ReviewRecord[]> {
    return this.liveReviews(did)
      .sort(byOpened)
      .slice(-MAX_INDEX_READ)
      .map((r) => structuredClone(r));
  }

  async reviewQueue(type: ReviewType, limit: number): Promise<ReviewRecord[]> {
    const queued: ReviewRecord[] = [];
    for (const did of this.reviews.keys())
      for (const record of this.liveReviews(did)) if (record.type === type && isQueued(record)) queued.push(record);
    return queued
      .sort(byOpened)
      .slice(0, boundLimit(limit))
      .map((r) => structuredClone(r));
  }

  async involvedIn(did: DigitalId): Promise<string[]> {
    const index = this.involvement.get(did);
    if (index === undefined) return [];
    const now = this.now();
    for (const [id, expiresAt] of index) if (expiresAt <= now) index.delete(id);
    // In the order of the Redis index: by expiry, then id.
    return [...index]
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, MAX_INDEX_READ)
      .map(([id]) => id);
  }

  async deleteReview(id: string): Promise<void> {
    const did = didOfReviewId(id);
    const byId = did === null ? undefined : this.reviews.get(did);
    const stored = byId?.get(id);
    if (byId === undefined || stored === undefined) return;
    byId.delete(id);
    for (const d of stored.value.involved) this.involvement.get(d)?.delete(id);
  }

  async countReportBy(reporter: DigitalId, now: number, windowMs: number): Promise<number> {
    const window = positiveMs("countReportBy", windowMs);
    const entry = this.live(this.reportedBy, reporter) ?? { value: [], expiresAt: 0 };
    entry.value = entry.value.filter((at) => at >= now - window);
    entry.value.push(now);
    entry.value.sort((a, b) => a - b);
    if (entry.value.length > MAX_REPORTS_COUNTED) entry.value = entry.value.slice(-MAX_REPORTS_COUNTED);
    entry.expiresAt = now + window;
    this.reportedBy.set(reporter, entry);
    return entry.value.length;
  }

  async reporterStanding(did: DigitalId): Promise<ReporterStanding> {
    const entry = this.live(this.reporters, did);
    return entry ? { ...entry.value } : { upheld: 0, unfounded: 0, suspendedUntil: 0 };
  }

  async noteReporter(
    did: DigitalId,
    outcome: "upheld" | "unfounded",
    keepMs: number,
    suspendUntil?: number,
  ): Promise<ReporterStanding> {
    const keep = checkNoteReporter(outcome, keepMs, suspendUntil);
    const entry = this.live(this.reporters, did) ?? {
      value: { upheld: 0, unfounded: 0, suspendedUntil: 0 },
      expiresAt: 0,
    };
    entry.value[outcome] += 1;
    if (suspendUntil !== undefined) entry.value.suspendedUntil = suspendUntil;
    entry.expiresAt = this.now() + keep;
    this.reporters.set(did, entry);
    return { ...entry.value };
  }

  async countStats(
    day: string,
    counts: Readonly<Record<string, number>>,
    samples: Readonly<Record<string, number>>,
    keepMs: number,
  ): Promise<void> {
    checkStats(day, counts, samples);
    const keep = positiveMs("countStats", keepMs);
    const counters = Object.entries(counts);
    const sampled = Object.entries(samples);
    if (counters.length === 0 && sampled.length === 0) return;
    const entry = this.live(this.stats, day) ?? {
      value: { counts: new Map<string, number>(), samples: new Map<string, number[]>() },
      expiresAt: 0,
    };
    for (const [name, amount] of counters) entry.value.counts.set(name, (entry.value.counts.get(name) ?? 0) + amount);
    for (const [name, value] of sampled) {
      const list = entry.value.samples.get(name) ?? [];
      list.push(value);
      entry.value.samples.set(name, list.length > MAX_SAMPLES ? list.slice(-MAX_SAMPLES) : list);
    }
    entry.expiresAt = this.now() + keep;
    this.stats.set(day, entry);
  }

  async statsOf(days: readonly string[]): Promise<DayStats[]> {
    const out: DayStats[] = [];
    for (const day of [...new Set(days)].filter(isDay).slice(0, MAX_DAYS)) {
      const entry = this.live(this.stats, day);
      if (entry === undefined || (entry.value.counts.size === 0 && entry.value.samples.size === 0)) continue;
      out.push({
        day,
        counts: Object.fromEntries(entry.value.counts),
        samples: Object.fromEntries([...entry.value.samples].map(([name, list]) => [name, [...list]])),
      });
    }
    return out;
  }

  async trackActive(sanctionId: string, kind: string, end: number | null): Promise<void> {
    const member = activeMember(sanctionId, kind);
    if (end !== null && (typeof end !== "number" || !Number.isFinite(end)))
      throw new WardenError("STORE_SCRIPT", "trackActive: end is neither a time nor null");
    this.active.set(member, end ?? Infinity);
  }

  async untrackActive(sanctionId: string, kind: string): Promise<void> {
    this.active.delete(activeMember(sanctionId, kind));
  }

  async countActive(now: number): Promise<Record<string, number>> {
    const counts = new Map<string, number>();
    for (const [member, end] of this.active) {
      if (end <= now) {
        this.active.delete(member);
        continue;
      }
      const kind = member.slice(0, member.indexOf("|"));
      if (counts.has(kind) || counts.size < MAX_ACTIVE_KINDS) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return Object.fromEntries(counts);
  }

  async noteSignals(
    did: DigitalId,
    signals: readonly Signal[],
    now: number,
    retentionMs: number,
    limit: number,
  ): Promise<SignalPeers[]> {
    const keep = checkSignalCall("noteSignals", did, now, retentionMs);
    const unique = checkSignals("noteSignals", signals);
    if (unique.length === 0) return [];
    const want = boundLimit(limit) + 1;
    const cutoff = now - keep;
    const expiresAt = this.now() + keep;
    // As Redis does it: the ID's own list first (retention, the sightings, the cap), and the
    // signals it no longer lists lose it; then each signal's list of IDs.
    const own = this.live(this.idSignals, did) ?? { value: new Map<string, Sighting>(), expiresAt };
    const dropped: string[] = [];
    for (const [field, seen] of own.value)
      if (seen.last < cutoff) {
        own.value.delete(field);
        dropped.push(field);
      }
    const noted = unique.map(signalField);
    for (const field of noted) {
      const seen = own.value.get(field);
      own.value.set(
        field,
        seen === undefined
          ? { first: now, last: now }
          : { first: Math.min(seen.first, now), last: Math.max(seen.last, now) },
      );
    }
    const others = [...own.value]
      .filter(([field]) => !noted.includes(field))
      .sort(([a, x], [b, y]) => x.last - y.last || (a < b ? -1 : a > b ? 1 : 0));
    for (const [field] of others.slice(0, Math.max(0, own.value.size - MAX_SIGNALS_PER_ID))) {
      own.value.delete(field);
      dropped.push(field);
    }
    own.expiresAt = expiresAt;
    this.idSignals.set(did, own);
    for (const field of dropped) this.signalIds.get(field)?.value.delete(did);
    const answers = unique.map((signal, i): SignalPeers => {
      const field = noted[i]!;
      const mine = own.value.get(field)!;
      const ids = this.live(this.signalIds, field) ?? { value: new Map<DigitalId, Sighting>(), expiresAt };
      for (const [d, seen] of ids.value) if (seen.last < cutoff) ids.value.delete(d);
      ids.value.set(did, { first: mine.first, last: Math.max(ids.value.get(did)?.last ?? 0, mine.last) });
      if (ids.value.size > MAX_IDS_PER_SIGNAL)
        for (const p of sightings(ids.value).sort(byLastSeen).slice(MAX_IDS_PER_SIGNAL)) ids.value.delete(p.did);
      ids.expiresAt = expiresAt;
      this.signalIds.set(field, ids);
      return { ...signal, firstSeen: mine.first, lastSeen: mine.last, peers: peersIn(ids.value, did, cutoff, want) };
    });
    return inOrderGiven(signals, answers);
  }

  async signalsOf(did: DigitalId, now: number, retentionMs: number, limit: number): Promise<SignalPeers[]> {
    const cutoff = now - checkSignalCall("signalsOf", did, now, retentionMs);
    const want = boundLimit(limit) + 1;
    const own = this.live(this.idSignals, did);
    if (own === undefined) return [];
    return [...own.value]
      .filter(([, seen]) => seen.last >= cutoff)
      .sort(([a, x], [b, y]) => y.last - x.last || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, MAX_SIGNALS_PER_ID)
      .map(([field, seen]) => {
        const ids = this.live(this.signalIds, field)?.value;
        return {
          ...parseSignalField(field)!,
          firstSeen: seen.first,
          lastSeen: seen.last,
          peers: ids === undefined ? [] : peersIn(ids, did, cutoff, want),
        };
      });
  }

  async dismissLink(a: DigitalId, b: DigitalId, keepMs: number): Promise<void> {
    const keep = checkDismiss(a, b, keepMs);
    const now = this.now();
    for (const [one, other] of [
      [a, b],
      [b, a],
    ] as const) {
      // As the Redis script: the later end wins, ended ones go, the soonest to end go past the cap.
      const links = this.dismissals.get(one) ?? new Map<DigitalId, number>();
      links.set(other, Math.max(links.get(other) ?? 0, now + keep));
      for (const [d, until] of links) if (until <= now) links.delete(d);
      if (links.size > MAX_DISMISSED)
        for (const [d] of byEnd(links).slice(0, links.size - MAX_DISMISSED)) links.delete(d);
      this.dismissals.set(one, links);
    }
  }

  async dismissedLinks(did: DigitalId): Promise<DigitalId[]> {
    checkDid("dismissedLinks", did);
    const links = this.dismissals.get(did);
    if (links === undefined) return [];
    const now = this.now();
    for (const [d, until] of links) if (until <= now) links.delete(d);
    return byEnd(links)
      .slice(0, MAX_DISMISSED)
      .map(([d]) => d);
  }

  async forget(did: DigitalId, keep: readonly Sanction[], retention: StoreRetention): Promise<void> {
    this.feed = this.feed.filter((e) => e.did !== did);
    // Its signals, and its place in each signal's list of IDs; its dismissed links, both ways.
    for (const field of this.idSignals.get(did)?.value.keys() ?? []) this.signalIds.get(field)?.value.delete(did);
    this.idSignals.delete(did);
    for (const other of this.dismissals.get(did)?.keys() ?? []) this.dismissals.get(other)?.delete(did);
    this.dismissals.delete(did);
    // The records whose subject it is; those it merely takes part in are redacted by the caller (involvedIn).
    for (const [id, stored] of this.reviews.get(did) ?? [])
      for (const d of stored.value.involved) this.involvement.get(d)?.delete(id);
    this.reviews.delete(did);
    this.involvement.delete(did);
    this.reportedBy.delete(did);
    this.reporters.delete(did);
    const name = this.live(this.profiles, did)?.value.name;
    if (name !== undefined) this.names.get(nameKey(name))?.delete(did);
    for (const map of [this.histories, this.points, this.profiles, this.sessions, this.reports, this.sanctions] as Map<
      DigitalId,
      unknown
    >[])
      map.delete(did);
    if (keep.length > 0) {
      this.sanctions.set(did, {
        value: new Map(keep.map((s) => [s.id, structuredClone(s)] as const)),
        expiresAt: sanctionsKeepUntil(keep, retention.sanctionsMs) ?? Infinity,
      });
    }
  }

  async saveStaff(record: StaffRecord): Promise<void> {
    this.staffRecords.set(record.id, structuredClone(record));
  }

  async staffById(id: string): Promise<StaffRecord | null> {
    const record = this.staffRecords.get(id);
    return record === undefined ? null : structuredClone(record);
  }

  async listStaff(): Promise<StaffRecord[]> {
    return [...this.staffRecords.values()].map((r) => structuredClone(r));
  }

  async auditHead(): Promise<AuditHead> {
    return { ...this.head };
  }

  async appendAudit(
    entries: readonly AuditEntry[],
    expectedPrev: string,
    keepAfter: number,
  ): Promise<AuditAppendResult> {
    if (this.head.hash !== expectedPrev) return { status: "conflict", head: { ...this.head } };
    // The whole batch is checked before any of it is written: all or none, as in Redis.
    let seq = this.head.seq;
    let hash = this.head.hash;
    for (const entry of entries) {
      if (entry.seq !== seq + 1 || entry.prev !== hash) {
        throw new WardenError(
          "STORE_SCRIPT",
          `memory appendAudit refused the batch: its entries do not chain to the log's head (seq ${this.head.seq}) or to one another`,
        );
      }
      seq = entry.seq;
      hash = entry.hash;
    }
    if (entries.length === 0) return { status: "appended", head: { ...this.head } };
    for (const entry of entries) this.audit.push({ ...structuredClone(entry), id: this.nextId(Date.now()) });
    const kept = this.audit.filter((e) => e.at >= keepAfter);
    this.head = { seq, hash, trimmed: this.head.trimmed + (this.audit.length - kept.length) };
    this.audit = kept;
    return { status: "appended", head: { ...this.head } };
  }

  async auditEntries(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    const older =
      options.before === undefined ? this.audit : this.audit.filter((e) => compareIds(e.id!, options.before!) < 0);
    return older
      .slice(-options.limit)
      .reverse()
      .map((e) => structuredClone(e));
  }

  async auditRange(after: string, count: number): Promise<AuditEntry[]> {
    return this.audit
      .filter((e) => compareIds(e.id!, after) > 0)
      .slice(0, count)
      .map((e) => structuredClone(e));
  }

  async fileReport(
    target: DigitalId,
    reporter: DigitalId,
    weight: number,
    now: number,
    windowMs: number,
  ): Promise<StoreReportResult> {
    const entry = this.live(this.reports, target) ?? {
      value: new Map<DigitalId, { at: number; weight: number }>(),
      expiresAt: 0,
    };
    for (const [who, report] of entry.value) if (report.at < now - windowMs) entry.value.delete(who);
    if (entry.value.has(reporter)) return { status: "duplicate" };
    entry.value.set(reporter, { at: now, weight });
    entry.expiresAt = now + windowMs;
    this.reports.set(target, entry);
    let total = 0;
    for (const report of entry.value.values()) total += report.weight;
    return { status: "filed", total };
  }

  async clearReports(target: DigitalId): Promise<void> {
    // Only the weights: the reporters stay listed until the window ends (see RedisStore).
    for (const report of this.live(this.reports, target)?.value.values() ?? []) report.weight = 0;
  }

  async publishNotice(did: DigitalId, notice: PlayerNotice): Promise<void> {
    // Checked as every subscriber checks it: what they would drop is never published.
    const message = toBusMessage({ type: "notice", did, notice });
    if (message === null) throw new WardenError("STORE_SCRIPT", "publishNotice: not a well-formed notice");
    this.publish(message);
  }

  async subscribe(
    handler: (message: BusMessage) => void,
    _onGap?: (since: number) => void,
    onBad?: (reason: string, count: number) => void,
  ): Promise<() => Promise<void>> {
    // What `saveSanction` was given is published as is; check it like a message from another
    // process (sanctions/codec.ts), so that no caller of the store can make a subscriber throw
    // (here a throw would escape from a microtask and end the process).
    const bad = (reason: string) => {
      const count = ++this.dropped.busMessages;
      try {
        if (onBad !== undefined) onBad(reason, count);
        else if (count === 1)
          console.warn(
            `[warden] dropped a ${reason} on the memory bus; further ones are counted in store.dropped.busMessages, not logged`,
          );
      } catch {
        // A reporter that throws changes nothing: the message is dropped either way.
      }
    };
    const checked = (raw: BusMessage) => {
      const message = toBusMessage(raw);
      if (message === null) return bad("malformed message");
      try {
        handler(message);
      } catch (e) {
        bad(`message the handler failed on (${e instanceof Error ? e.message.slice(0, 200) : "not an Error"})`);
      }
    };
    this.handlers.add(checked);
    return async () => {
      this.handlers.delete(checked);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.handlers.clear();
  }

  private nextId(now: number): string {
    const ms = Math.max(now, this.lastId.ms);
    this.lastId = { ms, seq: ms === this.lastId.ms ? this.lastId.seq + 1 : 0 };
    return `${ms}-${this.lastId.seq}`;
  }

  private publish(message: BusMessage): void {
    // Asynchronous like a real bus, so that a publisher never runs subscribers inside its own call.
    for (const handler of this.handlers) queueMicrotask(() => handler(structuredClone(message)));
  }

  private removeBindingsOf(processId: string): number {
    let removed = 0;
    for (const [did, entry] of this.sessions) {
      for (const [sessionId, binding] of entry.value) {
        if (binding.processId === processId) {
          entry.value.delete(sessionId);
          removed++;
        }
      }
      if (entry.value.size === 0) this.sessions.delete(did);
    }
    return removed;
  }

  /** The live review records of a subject (expired ones dropped). */
  private liveReviews(did: DigitalId): ReviewRecord[] {
    const byId = this.reviews.get(did);
    if (byId === undefined) return [];
    const out: ReviewRecord[] = [];
    for (const id of [...byId.keys()]) {
      const stored = this.live(byId, id);
      if (stored !== undefined) out.push(stored.value.record);
    }
    if (byId.size === 0) this.reviews.delete(did);
    return out;
  }

  private live<T>(map: Map<DigitalId, Expiring<T>>, did: DigitalId): Expiring<T> | undefined {
    const entry = map.get(did);
    if (entry && entry.expiresAt <= this.now()) {
      map.delete(did);
      return undefined;
    }
    return entry;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const map of [
      this.sanctions,
      this.sessions,
      this.histories,
      this.points,
      this.profiles,
      this.reports,
      this.reportedBy,
      this.reporters,
      this.stats,
      this.signalIds,
      this.idSignals,
      ...this.reviews.values(),
    ] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
    for (const [did, links] of this.dismissals) {
      for (const [other, until] of links) if (until <= now) links.delete(other);
      if (links.size === 0) this.dismissals.delete(did);
    }
    for (const [did, byId] of this.reviews) if (byId.size === 0) this.reviews.delete(did);
    for (const [did, index] of this.involvement) {
      for (const [id, expiresAt] of index) if (expiresAt <= now) index.delete(id);
      if (index.size === 0) this.involvement.delete(did);
    }
  }
}

/** A signal's IDs as peers (unsorted). */
function sightings(ids: Map<DigitalId, Sighting>): SignalPeer[] {
  return [...ids].map(([did, seen]) => ({ did, firstSeen: seen.first, lastSeen: seen.last }));
}

/** The other IDs seen with a signal since `cutoff`, newest first, at most `want`. */
function peersIn(ids: Map<DigitalId, Sighting>, did: DigitalId, cutoff: number, want: number): SignalPeer[] {
  return sightings(ids)
    .filter((p) => p.did !== did && p.lastSeen >= cutoff)
    .sort(byLastSeen)
    .slice(0, want);
}

/** Dismissed links, the soonest to end first (then by did): the order of the Redis sorted set. */
function byEnd(links: Map<DigitalId, number>): [DigitalId, number][] {
  return [...links].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0));
}

/** Orders stream ids `<ms>-<seq>` (and the bare `"0"`). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

// ---------------------------------------------------------------------------------------
// Bounds and checks of the due-process roles that both stores apply (RedisStore imports
// them), so that both refuse and bound the same calls.
// ---------------------------------------------------------------------------------------

/** Most ids read from one index (a subject's records, a queue, an involved index) per call. */
export const MAX_INDEX_READ = 1000;
/** Longest review record stored or read back (UTF-16 units of its JSON); real ones take a few thousand. */
export const MAX_REVIEW_CHARS = 262_144;
/** Most other IDs one record may name as involved. */
export const MAX_INVOLVED = 1000;
/** Reports of one reporter kept for its count (the newest): the count stops there. */
export const MAX_REPORTS_COUNTED = 1000;
/** Samples kept per day and name (the newest). */
export const MAX_SAMPLES = 1000;
/** Most days read per call. */
export const MAX_DAYS = 1000;
/** Most kinds of sanctions in force counted (more are junk). */
export const MAX_ACTIVE_KINDS = 64;
export const REVIEW_TYPES: readonly ReviewType[] = ["appeal", "case", "evidence", "evasion", "ban"];

/** A value with what every review record has (id in its subject's slot, type, state, revision, openedAt), or null. */
export function toReview(value: unknown, id?: string): ReviewRecord | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.id !== "string" || (id !== undefined && r.id !== id)) return null;
  if (typeof r.did !== "string" || didOfReviewId(r.id) !== r.did) return null;
  if (!REVIEW_TYPES.includes(r.type as ReviewType) || typeof r.state !== "string") return null;
  if (!Number.isSafeInteger(r.rev) || (r.rev as number) < 1 || !isInstant(r.openedAt)) return null;
  // A suspected evasion names the banned ID and the ban, and carries its link: an object with
  // fields (as saveReview-2.lua reads it, where an empty object and a list look alike).
  if (
    r.type === "evasion" &&
    (!isDigitalId(r.bannedDid) ||
      typeof r.banSanctionId !== "string" ||
      typeof r.link !== "object" ||
      r.link === null ||
      Array.isArray(r.link) ||
      Object.keys(r.link).length === 0)
  )
    return null;
  // Each type's own fields, as the services read them: a record an insider broke reads as
  // none rather than throwing in a service, a listing or a player's export.
  if (!typeFieldsOk(r)) return null;
  return value as ReviewRecord;
}

const str = (v: unknown, max = 10_000): boolean => typeof v === "string" && v.length <= max;
const num = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);

function linesOk(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.length <= 100 &&
    v.every((l) => typeof l === "object" && l !== null && str(l.did, 64) && str(l.text) && num(l.at))
  );
}

function typeFieldsOk(r: Record<string, unknown>): boolean {
  switch (r.type) {
    case "appeal":
      return str(r.sanctionId, 100) && str(r.issuedBy, 200) && str(r.text) && str(r.via, 20);
    case "case": {
      const evidence = r.evidence as Record<string, unknown> | undefined;
      return (
        num(r.count) &&
        num(r.weight) &&
        Array.isArray(r.reports) &&
        r.reports.length <= 1000 &&
        r.reports.every(
          (x: unknown) =>
            typeof x === "object" &&
            x !== null &&
            str((x as Record<string, unknown>).reporter, 64) &&
            str((x as Record<string, unknown>).receipt, 64) &&
            str((x as Record<string, unknown>).reason) &&
            num((x as Record<string, unknown>).at) &&
            num((x as Record<string, unknown>).weight),
        ) &&
        (evidence === undefined || (typeof evidence === "object" && evidence !== null && linesOk(evidence.lines)))
      );
    }
    case "evidence": {
      const snapshot = r.snapshot as Record<string, unknown> | undefined;
      return typeof snapshot === "object" && snapshot !== null && linesOk(snapshot.lines);
    }
    case "ban":
      return (
        str(r.proposedBy, 200) &&
        str(r.reason, 2000) &&
        isInstant(r.expiresAt) &&
        (r.rule === undefined || str(r.rule, 40)) &&
        (r.alts === undefined ||
          (Array.isArray(r.alts) && r.alts.length <= 1000 && r.alts.every((a) => isDigitalId(a))))
      );
    default:
      return true;
  }
}

/** Refuses a call that cannot be right (a bug in the caller) or a record too large; answers the other IDs involved, once each, and the record as JSON. */
export function checkSave(
  record: ReviewRecord,
  expectedRev: number | null,
  keepMs: number,
  involved: readonly DigitalId[],
): { others: DigitalId[]; json: string } {
  if (toReview(record) === null)
    throw new WardenError("STORE_SCRIPT", "saveReview: not a review record (id, did, type, state, rev, openedAt)");
  if (expectedRev !== null && (!Number.isSafeInteger(expectedRev) || expectedRev < 1))
    throw new WardenError("STORE_SCRIPT", "saveReview: expectedRev is neither a revision nor null");
  if (record.rev !== (expectedRev ?? 0) + 1)
    throw new WardenError("STORE_SCRIPT", `saveReview: the record's rev must be ${(expectedRev ?? 0) + 1}`);
  positiveMs("saveReview", keepMs);
  if (!Array.isArray(involved) || involved.length > MAX_INVOLVED)
    throw new WardenError("STORE_SCRIPT", `saveReview: involved must be a list of at most ${MAX_INVOLVED} IDs`);
  for (const d of involved)
    if (!isTaggable(d)) throw new WardenError("STORE_SCRIPT", "saveReview: an involved ID is not one");
  const json = JSON.stringify(record);
  if (json.length > MAX_REVIEW_CHARS)
    throw new WardenError(
      "STORE_SCRIPT",
      `saveReview: the record takes ${json.length} characters, over ${MAX_REVIEW_CHARS}`,
    );
  return { others: [...new Set(involved)].filter((d) => d !== record.did), json };
}

/** An ID that can sit in a key's hash tag (no braces, no spaces, not empty, bounded). */
export function isTaggable(d: unknown): d is DigitalId {
  return typeof d === "string" && d.length > 0 && d.length <= 128 && !/[{}\s]/.test(d);
}

export function checkForgive(capPoints: number, mark: number | null, halfLifeMs: number, onlyIfLastAt?: number): void {
  if (
    onlyIfLastAt !== undefined &&
    (typeof onlyIfLastAt !== "number" || !Number.isFinite(onlyIfLastAt) || onlyIfLastAt < 0)
  )
    throw new WardenError("STORE_SCRIPT", "forgive: onlyIfLastAt must be a ladder step's points");
  if (typeof capPoints !== "number" || !Number.isFinite(capPoints) || capPoints < 0)
    throw new WardenError("STORE_SCRIPT", "forgive: capPoints must be a number of points, 0 or more");
  if (mark !== null && (typeof mark !== "number" || !Number.isFinite(mark) || mark < 0))
    throw new WardenError("STORE_SCRIPT", "forgive: mark must be a ladder step's points or null");
  if (typeof halfLifeMs !== "number" || !Number.isFinite(halfLifeMs) || halfLifeMs <= 0)
    throw new WardenError("STORE_SCRIPT", "forgive: halfLifeMs must be a positive number of ms");
}

/** Refuses a noteReporter call that cannot be right; answers the whole ms to keep the record. */
export function checkNoteReporter(outcome: string, keepMs: number, suspendUntil: number | undefined): number {
  if (outcome !== "upheld" && outcome !== "unfounded")
    throw new WardenError("STORE_SCRIPT", `noteReporter: unknown outcome ${JSON.stringify(String(outcome))}`);
  if (suspendUntil !== undefined && !isInstant(suspendUntil))
    throw new WardenError("STORE_SCRIPT", "noteReporter: suspendUntil is not an instant (epoch ms)");
  return positiveMs("noteReporter", keepMs);
}

/** A positive duration in whole ms (what PX and PEXPIRE take); refuses anything else. */
export function positiveMs(operation: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0)
    throw new WardenError("STORE_SCRIPT", `${operation}: a retention or window must be a positive number of ms`);
  return Math.ceil(ms);
}

/** A `limit` as a count of at most MAX_INDEX_READ. */
export function boundLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.min(Math.floor(limit), MAX_INDEX_READ) : 0;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
export function isDay(day: unknown): day is string {
  return typeof day === "string" && DAY.test(day);
}

export function checkStats(
  day: string,
  counts: Readonly<Record<string, number>>,
  samples: Readonly<Record<string, number>>,
): void {
  if (!isDay(day)) throw new WardenError("STORE_SCRIPT", "countStats: day must be YYYY-MM-DD");
  for (const [what, entries] of [
    ["counter", counts],
    ["sample", samples],
  ] as const) {
    if (typeof entries !== "object" || entries === null)
      throw new WardenError("STORE_SCRIPT", `countStats: ${what}s must be an object`);
    for (const [name, value] of Object.entries(entries)) {
      if (name.length === 0 || name.length > 100)
        throw new WardenError("STORE_SCRIPT", `countStats: a ${what} name must be 1-100 characters`);
      if (typeof value !== "number" || !Number.isFinite(value))
        throw new WardenError("STORE_SCRIPT", `countStats: ${what} ${JSON.stringify(name)} is not a number`);
    }
  }
}

/** The member of a sanction in force (`<kind>|<sanctionId>`): refuses a kind that would make it ambiguous. */
export function activeMember(sanctionId: string, kind: string): string {
  if (typeof kind !== "string" || !/^[a-z0-9_-]{1,40}$/.test(kind))
    throw new WardenError("STORE_SCRIPT", "trackActive: kind must be 1-40 of a-z, 0-9, _ and -");
  if (typeof sanctionId !== "string" || sanctionId.length === 0 || sanctionId.length > 200)
    throw new WardenError("STORE_SCRIPT", "trackActive: not a sanction id");
  return `${kind}|${sanctionId}`;
}

/** Oldest first by `openedAt`, then by id (the order of a sorted set with equal scores). */
export function byOpened(a: ReviewRecord, b: ReviewRecord): number {
  return a.openedAt - b.openedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// ---------------------------------------------------------------------------------------
// Bounds and checks of the ban-evasion signals (SignalStore), shared by both stores.
// ---------------------------------------------------------------------------------------

/** Most signals kept per ID (the least recently seen go first; the ones just noted stay). */
export const MAX_SIGNALS_PER_ID = 16;
/** Most IDs kept per signal (the most recently seen): above any `limit + 1` peers plus the ID itself. */
export const MAX_IDS_PER_SIGNAL = 1024;
/** Most dismissed links kept per ID (the ones that end soonest go first). */
export const MAX_DISMISSED = 1000;

const SIGNAL_HASH = /^[a-z2-7]{26}$/;

/** A signal as the stores take it: a known type and a 26-character base32 keyed hash. */
export function isSignal(value: unknown): value is Signal {
  if (typeof value !== "object" || value === null) return false;
  const { type, hash } = value as Record<string, unknown>;
  return SIGNAL_TYPES.includes(type as SignalType) && typeof hash === "string" && SIGNAL_HASH.test(hash);
}

/** The field naming a signal in an ID's list: `<type>:<hash>`. */
export function signalField(signal: Signal): string {
  return `${signal.type}:${signal.hash}`;
}

/** A field `<type>:<hash>` back into a signal; null for anything else (junk). */
export function parseSignalField(field: unknown): Signal | null {
  if (typeof field !== "string") return null;
  const colon = field.indexOf(":");
  const signal = { type: field.slice(0, colon), hash: field.slice(colon + 1) };
  return colon > 0 && isSignal(signal) ? (signal as Signal) : null;
}

/** Refuses an ID that is not one (it names keys) with STORE_SCRIPT. */
export function checkDid(operation: string, did: unknown): DigitalId {
  if (!isDigitalId(did)) throw new WardenError("STORE_SCRIPT", `${operation}: not a digital ID`);
  return did;
}

/** Refuses a signal call about an ID that cannot be right (not an ID, no instant, no retention); answers the retention in whole ms. */
export function checkSignalCall(operation: string, did: DigitalId, now: number, retentionMs: number): number {
  checkDid(operation, did);
  if (!isInstant(now)) throw new WardenError("STORE_SCRIPT", `${operation}: now is not an instant (epoch ms)`);
  return positiveMs(operation, retentionMs);
}

/** Refuses signals that are not (an unknown type, a hash that is no keyed hash, too many); answers them once each, in the order given. */
export function checkSignals(operation: string, signals: readonly Signal[]): Signal[] {
  if (!Array.isArray(signals) || signals.length > MAX_SIGNALS_PER_JOIN)
    throw new WardenError("STORE_SCRIPT", `${operation}: signals must be a list of at most ${MAX_SIGNALS_PER_JOIN}`);
  const unique = new Map<string, Signal>();
  for (const signal of signals) {
    if (!isSignal(signal))
      throw new WardenError(
        "STORE_SCRIPT",
        `${operation}: a signal is not a known type with a 26-character base32 keyed hash`,
      );
    unique.set(signalField(signal), { type: signal.type, hash: signal.hash });
  }
  return [...unique.values()];
}

/** Refuses a dismissal that cannot be right (two IDs, not the same one; a positive time to keep it). */
export function checkDismiss(a: DigitalId, b: DigitalId, keepMs: number): number {
  checkDid("dismissLink", a);
  checkDid("dismissLink", b);
  if (a === b) throw new WardenError("STORE_SCRIPT", "dismissLink: an ID has no link with itself");
  return positiveMs("dismissLink", keepMs);
}

/** The answers for the signals noted once each, as one per signal given (in that order; a signal given twice is answered twice). */
export function inOrderGiven(given: readonly Signal[], answers: readonly SignalPeers[]): SignalPeers[] {
  const byField = new Map(answers.map((a) => [signalField(a), a] as const));
  return given.map((signal) => {
    const answer = byField.get(signalField(signal))!;
    return { ...answer, peers: answer.peers.map((p) => ({ ...p })) };
  });
}

/** Most recently seen first, then by did (descending): the order of a sorted set read newest first. */
export function byLastSeen(a: SignalPeer, b: SignalPeer): number {
  return b.lastSeen - a.lastSeen || (a.did < b.did ? 1 : a.did > b.did ? -1 : 0);
}
