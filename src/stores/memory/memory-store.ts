import { toSanction } from "../../sanctions/codec.js";
import type { DigitalId } from "../../identity/digital-id.js";
import { WardenError } from "../../errors.js";
import type { Revocation, Sanction } from "../../sanctions/model.js";
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
import type {
  BusMessage,
  Profile,
  SessionBinding,
  StoreReportResult,
  StoreRetention,
  StoreRevokeResult,
  TrackPoints,
  WardenStore,
} from "../store.js";
import { sanctionsKeepUntil } from "../store.js";

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
  private head: AuditHead = { seq: 0, hash: "", trimmed: 0 };
  private readonly reports = new Map<DigitalId, Expiring<Map<DigitalId, { at: number; weight: number }>>>();
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

  async forget(did: DigitalId, keep: readonly Sanction[], retention: StoreRetention): Promise<void> {
    this.feed = this.feed.filter((e) => e.did !== did);
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
    for (const map of [this.sanctions, this.sessions, this.histories, this.points, this.profiles, this.reports] as Map<
      DigitalId,
      Expiring<unknown>
    >[]) {
      for (const [did, entry] of map) if (entry.expiresAt <= now) map.delete(did);
    }
  }
}

/** Orders stream ids `<ms>-<seq>` (and the bare `"0"`). */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}
