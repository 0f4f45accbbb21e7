import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { WardenError } from "../../errors.js";
import type { DigitalId } from "../../identity/digital-id.js";
import type { PlayerNotice, Revocation, Sanction } from "../../sanctions/model.js";
import { didOfSanctionId } from "../../sanctions/model.js";
import {
  MAX_RECORD_CHARS,
  parseBusMessage,
  parseRevocation,
  parseSanction,
  toBusMessage,
  toSanction,
} from "../../sanctions/codec.js";
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
import type { Signal, SignalPeer, SignalPeers } from "../../signals/model.js";
import type { OffenseEvent, OffenseRecord, RecordedOffense } from "../../recorder/offense.js";
import type { AuditAppendResult, AuditEntry, AuditHead } from "../audit-records.js";
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
import { normalizeName, nameKey } from "../names.js";
import { PartialBatchError, sanctionsKeepUntil } from "../store.js";
import { DEFAULT_BUCKETS, MAX_BUCKETS, RedisKeys } from "./keys.js";
import { openRedis } from "./connection.js";
import { defineScripts, type WardenCommands } from "./scripts.js";
import { storeError, unexpectedReply } from "./errors.js";
import { EPSILON, HYSTERESIS, type ResolvedStep } from "../../policy/ladder.js";
import { OFFENSE_DEDUPE_UPKEEP_MS, OFFENSE_DEDUPE_WINDOW_MS } from "../../recorder/offense.js";
import {
  activeMember,
  boundLimit,
  byOpened,
  checkDid,
  checkDismiss,
  checkForgive,
  checkNoteReporter,
  checkSignalCall,
  checkSignals,
  inOrderGiven,
  checkSave,
  checkStats,
  isDay,
  isTaggable,
  MAX_ACTIVE_KINDS,
  MAX_DAYS,
  MAX_DISMISSED,
  MAX_IDS_PER_SIGNAL,
  MAX_SIGNALS_PER_ID,
  parseSignalField,
  signalField,
  MAX_INDEX_READ,
  MAX_INVOLVED,
  MAX_REPORTS_COUNTED,
  MAX_REVIEW_CHARS,
  MAX_SAMPLES,
  positiveMs,
  REVIEW_TYPES,
  toReview,
} from "../memory/memory-store.js";

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A `redis://` URL, a cluster's seed nodes as `redis-cluster://host:port,host:port`, or an
   * ioredis `Redis` / `Cluster` you own (used as it is; the store never closes it).
   */
  connection: string | Redis | Cluster;
  /**
   * Prefix of every key and channel.
   * @defaultValue `"warden"`
   */
  prefix?: string;
  /**
   * Recording buckets B (1 … 256): an ID's history, points and recorded uids, and one shard of
   * the live feed per bucket, share a hash tag, so that a batch is recorded as at most B atomic
   * script calls, each in one Redis Cluster slot. Fixed for a deployment: every process must
   * use the same B, and changing it moves IDs to other buckets (see README, "Recording
   * buckets"). 1 suits a single Redis or a hash-tagged prefix.
   * @defaultValue `16`
   */
  buckets?: number;
}

/**
 * The production store: ioredis, shared by every server process, on one Redis or a Redis
 * Cluster. One ID's keys share a hash tag (one Cluster slot); its recording keys share its
 * recording bucket's tag with that bucket's feed shard, and a batch of offense events is
 * recorded as one script call per bucket (keys.ts). Sanction writes are one Lua script each (persist + retention + publish, atomically);
 * bindings are plain commands (they span two slots, so no script may hold them together).
 * Review records are saved by compare-and-set in their subject's slot; the review queues
 * (`{reviews}`), the statistics (`{stats}`) and the `involved` indexes of other IDs are kept
 * by separate commands after that write, and whoever reads them re-checks the records.
 * The key layout (keys.ts), the scripts (scripts.ts, lua/) and the mapping of Redis
 * failures to error codes (errors.ts) are its own: none of them is part of the contract.
 */
export class RedisStore implements WardenStore {
  private readonly keys: RedisKeys;
  private readonly redis: Redis & WardenCommands;
  private readonly ownsConnection: boolean;
  private subscriber: Redis | Cluster | undefined;
  private reader: Redis | Cluster | undefined;
  /**
   * What this store dropped because it was not valid (see sanctions/codec.ts): messages on
   * the bus channel, and stored sanction and review records (written by someone with Redis access).
   * The first of each is logged; the rest are only counted here.
   */
  readonly dropped = { busMessages: 0, records: 0 };

  constructor(options: RedisStoreOptions) {
    const buckets = options.buckets ?? DEFAULT_BUCKETS;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS)
      throw new WardenError(
        "INVALID_OPTION",
        `buckets must be a whole number from 1 to ${MAX_BUCKETS}, got ${String(buckets)}`,
      );
    this.keys = new RedisKeys(options.prefix ?? "warden", buckets);
    this.ownsConnection = typeof options.connection === "string";
    // A Redis or Cluster passed in is used as it is (its options, its retries, its lifetime).
    const connection = typeof options.connection === "string" ? openRedis(options.connection) : options.connection;
    // A connection error is reported through the commands that fail; without a listener
    // ioredis would print "Unhandled error event" for every reconnect attempt.
    if (this.ownsConnection) connection.on("error", () => {});
    this.redis = defineScripts(connection);
  }

  /**
   * Runs one operation's Redis calls; whatever they throw leaves as a `WardenError`
   * (`storeError`: the one mapping of Redis failures to codes).
   */
  private async run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw storeError(operation, e);
    }
  }

  async connect(): Promise<void> {
    await this.run("connect", async () => {
      if (this.redis.status === "wait") await this.redis.connect();
      await this.redis.ping();
    });
  }

  async saveSanction(sanction: Sanction, retention: StoreRetention): Promise<void> {
    // The check every stored record gets when it is read back: what would be skipped then is never written.
    if (toSanction(sanction) === null)
      throw new WardenError("INVALID_SANCTION", "saveSanction: not a well-formed sanction");
    const { revoked: _ignored, ...record } = sanction;
    // Serialised once: the bus message embeds the record's text as it is stored, byte for
    // byte — what JSON.stringify({ type: "issued", sanction: record }) gives, without the
    // second pass over the statement (it was on the path from issue to close, issue 14).
    const recordJson = JSON.stringify(record);
    await this.run("saveSanction", () =>
      this.redis.saveSanction(
        this.keys.sanctions(sanction.did),
        sanction.id,
        recordJson,
        retention.sanctionsMs,
        this.keys.busChannel(),
        issuedMessageJson(recordJson),
      ),
    );
  }

  async revokeSanction(
    sanctionId: string,
    revocation: Revocation,
    retention: StoreRetention,
  ): Promise<StoreRevokeResult> {
    const did = didOfSanctionId(sanctionId);
    if (did === null) return { status: "not_found" };
    const message: BusMessage = { type: "revoked", did, sanctionId, revocation };
    const reply = await this.run("revokeSanction", () =>
      this.redis.revokeSanction(
        this.keys.sanctions(did),
        sanctionId,
        JSON.stringify(revocation),
        retention.sanctionsMs,
        this.keys.busChannel(),
        JSON.stringify(message),
      ),
    );
    const [status, sanctionJson, previousJson] = reply;
    if (status === 0) return { status: "not_found" };
    if (sanctionJson === undefined) throw unexpectedReply("revokeSanction", reply);
    // The record was written by whoever had Redis access: one that is not a sanction of this
    // id is, for the warden, no sanction at all.
    const sanction = parseSanction(sanctionJson);
    if (sanction === null || sanction.id !== sanctionId) {
      this.droppedRecord(did, sanctionId);
      return { status: "not_found" };
    }
    if (status === 2 && previousJson !== undefined) {
      const previous = parseRevocation(previousJson);
      // An unreadable revocation: the script still counts the sanction as revoked, so say so, without details.
      if (previous === null) this.droppedRecord(did, `${sanctionId}:r`);
      const { revoked: _stored, ...unrevoked } = sanction;
      return {
        status: "already_revoked",
        sanction: previous === null ? unrevoked : { ...unrevoked, revoked: previous },
      };
    }
    return { status: "revoked", sanction: { ...sanction, revoked: revocation } };
  }

  async sanctionsOf(did: DigitalId): Promise<Sanction[]> {
    const all = await this.run("sanctionsOf", () => this.redis.hgetall(this.keys.sanctions(did)));
    const out: Sanction[] = [];
    for (const [field, json] of Object.entries(all)) {
      if (field.endsWith(":r")) continue;
      // Records are checked like bus messages: a junk one is skipped (and counted), never thrown on.
      const sanction = parseSanction(json);
      if (sanction === null || sanction.id !== field || sanction.did !== did) {
        this.droppedRecord(did, field);
        continue;
      }
      const revocationJson = all[`${field}:r`];
      if (revocationJson !== undefined) {
        const revocation = parseRevocation(revocationJson);
        // An unreadable revocation lifts nothing: the sanction stays in force.
        if (revocation === null) this.droppedRecord(did, `${field}:r`);
        else sanction.revoked = revocation;
      } else {
        delete sanction.revoked;
      }
      out.push(sanction);
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /** Counts a stored record that is not a valid sanction, revocation or review record; logs the first. */
  private droppedRecord(did: DigitalId, field: string, what = "sanction record"): void {
    if (++this.dropped.records > 1) return;
    console.warn(
      `[warden] skipped an unreadable ${what} ${JSON.stringify(field.slice(0, 80))} of ${did} (written outside the warden?); further ones are counted in store.dropped.records, not logged`,
    );
  }

  async bindSession(binding: SessionBinding, retention: StoreRetention): Promise<void> {
    const sessionsKey = this.keys.sessions(binding.did);
    const processKey = this.keys.processSessions(binding.processId);
    await this.run("bindSession", () =>
      Promise.all([
        this.redis.hset(sessionsKey, binding.sessionId, JSON.stringify(binding)),
        this.redis.pexpire(sessionsKey, retention.bindingsMs),
        this.redis.sadd(processKey, `${binding.did} ${binding.sessionId}`),
        this.redis.pexpire(processKey, retention.bindingsMs),
      ]),
    );
  }

  async unbindSession(did: DigitalId, sessionId: string, processId: string): Promise<void> {
    await this.run("unbindSession", () =>
      Promise.all([
        this.redis.hdel(this.keys.sessions(did), sessionId),
        this.redis.srem(this.keys.processSessions(processId), `${did} ${sessionId}`),
      ]),
    );
  }

  async sessionsOf(did: DigitalId): Promise<SessionBinding[]> {
    return this.run("sessionsOf", async () => {
      const all = await this.redis.hvals(this.keys.sessions(did));
      return all.map((json) => JSON.parse(json) as SessionBinding);
    });
  }

  async heartbeat(processId: string, now: number, ttlMs: number): Promise<void> {
    await this.run("heartbeat", () => this.redis.zadd(this.keys.processes(), now + ttlMs, processId));
  }

  async sweepDeadProcesses(now: number): Promise<number> {
    return this.run("sweepDeadProcesses", async () => {
      const dead = await this.redis.zrangebyscore(this.keys.processes(), "-inf", `(${now}`);
      let removed = 0;
      for (const processId of dead) {
        removed += await this.removeBindingsOf(processId);
        await this.redis.zrem(this.keys.processes(), processId);
      }
      return removed;
    });
  }

  async retireProcess(processId: string): Promise<void> {
    await this.run("retireProcess", async () => {
      await this.removeBindingsOf(processId);
      await this.redis.zrem(this.keys.processes(), processId);
    });
  }

  async recordOffenses(
    batch: readonly OffenseRecord[],
    now: number,
    eventsRetentionMs: number,
  ): Promise<RecordedOffense[]> {
    if (batch.length === 0) return [];
    // One group per recording bucket: its feed shard and its IDs' keys share one slot, so each
    // group is one atomic script call on a cluster too. An ID's events are all in its bucket's
    // group, in the order given. The groups run in parallel (at most B calls).
    const groups = new Map<number, number[]>();
    batch.forEach(({ event }, i) => {
      const bucket = this.keys.bucketOf(event.did);
      const members = groups.get(bucket);
      if (members === undefined) groups.set(bucket, [i]);
      else members.push(i);
    });
    const results: (RecordedOffense | null)[] = new Array(batch.length).fill(null);
    const outcomes = await Promise.allSettled(
      [...groups].map(async ([bucket, members]) => {
        const replies = await this.recordGroup(
          bucket,
          members.map((i) => batch[i]!),
          now,
          eventsRetentionMs,
        );
        members.forEach((i, j) => {
          results[i] = replies[j]!;
        });
      }),
    );
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failures.length === 0) return results as RecordedOffense[];
    const first = storeError("recordOffenses", failures[0]!.reason);
    // Nothing recorded: the plain error, as for any failed call.
    if (failures.length === outcomes.length) throw first;
    throw new PartialBatchError(results, first);
  }

  /** One bucket's group of a batch: one call of the recording script, every key in the bucket's slot. */
  private async recordGroup(
    bucket: number,
    group: readonly OffenseRecord[],
    now: number,
    eventsRetentionMs: number,
  ): Promise<RecordedOffense[]> {
    const keys: string[] = [this.keys.feedShard(bucket)];
    const args: (string | number)[] = [
      now,
      eventsRetentionMs,
      Math.min(OFFENSE_DEDUPE_WINDOW_MS, eventsRetentionMs),
      HYSTERESIS,
      EPSILON,
      OFFENSE_DEDUPE_UPKEEP_MS,
    ];
    for (const { event, halfLifeMs, ladder } of group) {
      keys.push(this.keys.events(event.did), this.keys.points(event.did), this.keys.recorded(event.did));
      args.push(
        JSON.stringify(event),
        event.uid ?? "",
        event.track,
        event.severity,
        halfLifeMs,
        ladder === undefined ? "" : ladderText(ladder),
      );
    }
    const reply: unknown = await this.run("recordOffenses", () =>
      this.redis.recordOffenses(keys.length, ...keys, ...args),
    );
    if (!Array.isArray(reply) || reply.length !== group.length)
      throw unexpectedReply("recordOffenses", reply, ` for ${group.length} events`);
    return (reply as unknown[]).map(parseRecorded);
  }

  async offensesOf(did: DigitalId, options: { limit: number; before?: string }): Promise<OffenseEvent[]> {
    const read = (key: string) =>
      this.redis.xrevrange(key, options.before ? `(${options.before}` : "+", "-", "COUNT", options.limit);
    return this.run("offensesOf", async () => {
      // The history written before buckets (same {did} slot as the ID's other keys) is read
      // beside the new one until it expires (see README, "Migrating to recording buckets").
      const [current, legacy] = await Promise.all([read(this.keys.events(did)), read(this.keys.legacyEvents(did))]);
      const entries = legacy.length === 0 ? current : [...current, ...legacy].sort((a, b) => compareIds(b[0], a[0]));
      return entries.slice(0, options.limit).map(parseEntry);
    });
  }

  /** The feed shards' keys, bucket by bucket. */
  private feedShards(): string[] {
    return Array.from({ length: this.keys.buckets }, (_, k) => this.keys.feedShard(k));
  }

  async readFeed(after: string, options: { count: number; blockMs: number }): Promise<OffenseEvent[]> {
    const from = parseFeedCursor(after, this.keys.buckets);
    const shards = this.feedShards();
    return this.run("readFeed", async () => {
      let replies: ([string, [string, string[]][]] | null)[];
      if (!isCluster(this.redis) || this.keys.buckets === 1) {
        // One Redis: one XREAD over every shard, blocking on a connection of its own (a blocking
        // read would stall every other command on a shared one).
        const connection = options.blockMs > 0 ? (this.reader ??= this.redis.duplicate()) : this.redis;
        const block = options.blockMs > 0 ? ["BLOCK", options.blockMs] : [];
        const reply = (await (connection as Redis).xread(
          // @ts-expect-error ioredis's overloads do not cover a spread of BLOCK arguments
          "COUNT",
          options.count,
          ...block,
          "STREAMS",
          ...shards,
          ...from,
        )) as [string, [string, string[]][]][] | null;
        const byKey = new Map(reply?.map((r) => [r[0], r] as const) ?? []);
        replies = shards.map((key) => byKey.get(key) ?? null);
      } else {
        // A cluster: the shards live in many slots, so one non-blocking XREAD per shard (each
        // routed to its node), polled every 50 ms until something came or `blockMs` passed.
        const deadline = Date.now() + options.blockMs;
        for (;;) {
          replies = await Promise.all(
            shards.map(async (key, k) => {
              const reply = await this.redis.xread("COUNT", options.count, "STREAMS", key, from[k]!);
              return reply?.[0] ?? null;
            }),
          );
          if (replies.some((r) => r !== null && r[1].length > 0) || Date.now() >= deadline) break;
          await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
        }
      }
      return mergeShards(replies, from, options.count, this.keys.buckets);
    });
  }

  async lastFeedId(): Promise<string> {
    return this.run("lastFeedId", async () => {
      const lasts = await Promise.all(
        this.feedShards().map(async (key) => {
          const [last] = await this.redis.xrevrange(key, "+", "-", "COUNT", 1);
          return last?.[0] ?? "0";
        }),
      );
      return feedCursor(lasts);
    });
  }

  async touchProfile(did: DigitalId, now: number, retentionMs: number): Promise<number> {
    const key = this.keys.profile(did);
    return this.run("touchProfile", async () => {
      await this.redis.hsetnx(key, "first", now);
      const [first] = await Promise.all([this.redis.hget(key, "first"), this.redis.pexpire(key, retentionMs)]);
      return first === null ? now : Number(first);
    });
  }

  async fileReport(
    target: DigitalId,
    reporter: DigitalId,
    weight: number,
    now: number,
    windowMs: number,
  ): Promise<StoreReportResult> {
    const [status, total] = await this.run("fileReport", () =>
      this.redis.fileReport(
        this.keys.reports(target),
        this.keys.reportWeights(target),
        reporter,
        weight,
        now,
        windowMs,
      ),
    );
    return status === 0 ? { status: "duplicate" } : { status: "filed", total: Number(total) };
  }

  async clearReports(target: DigitalId): Promise<void> {
    // Only the weights: the reporters stay listed until the window ends, so that the same
    // reporters cannot report again at once (brigading).
    await this.run("clearReports", () => this.redis.del(this.keys.reportWeights(target)));
  }

  async recordName(did: DigitalId, name: string, now: number, retentionMs: number): Promise<void> {
    const index = this.keys.name(nameKey(name));
    const profile = this.keys.profile(did);
    await this.run("recordName", async () => {
      const previous = await this.redis.hget(profile, "name");
      if (previous !== null && nameKey(previous) !== nameKey(name))
        await this.redis.zrem(this.keys.name(nameKey(previous)), did);
      await Promise.all([
        this.redis.hset(profile, "name", normalizeName(name), "nameSeen", now),
        this.redis.zadd(index, now, did),
        this.redis.zremrangebyscore(index, "-inf", `(${now - retentionMs}`),
        this.redis.pexpire(index, retentionMs),
      ]);
    });
  }

  async didsByName(name: string, now: number, retentionMs: number): Promise<{ did: DigitalId; lastSeen: number }[]> {
    const flat = await this.run("didsByName", () =>
      this.redis.zrevrangebyscore(this.keys.name(nameKey(name)), "+inf", now - retentionMs, "WITHSCORES"),
    );
    const out: { did: DigitalId; lastSeen: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ did: flat[i]!, lastSeen: Number(flat[i + 1]) });
    return out;
  }

  async profileOf(did: DigitalId): Promise<Profile | null> {
    const raw = await this.run("profileOf", () => this.redis.hgetall(this.keys.profile(did)));
    if (Object.keys(raw).length === 0) return null;
    const profile: Profile = {};
    if (raw.first !== undefined) profile.firstSeen = Number(raw.first);
    if (raw.name !== undefined) profile.name = raw.name;
    if (raw.nameSeen !== undefined) profile.nameSeen = Number(raw.nameSeen);
    return profile;
  }

  async pointsOf(did: DigitalId): Promise<Record<string, TrackPoints>> {
    const raw = await this.run("pointsOf", () => this.redis.hgetall(this.keys.points(did)));
    const out: Record<string, TrackPoints> = {};
    for (const [field, value] of Object.entries(raw)) {
      if (field.includes(":")) continue; // <track>:t, <track>:n, <track>:s belong to <track>
      out[field] = { points: Number(value), at: Number(raw[`${field}:t`] ?? 0), count: Number(raw[`${field}:n`] ?? 0) };
    }
    return out;
  }

  async reportsAgainst(did: DigitalId): Promise<{ reporter: DigitalId; at: number; weight: number }[]> {
    const [flat, weights] = await this.run("reportsAgainst", () =>
      Promise.all([
        this.redis.zrange(this.keys.reports(did), 0, -1, "WITHSCORES"),
        this.redis.hgetall(this.keys.reportWeights(did)),
      ]),
    );
    const out: { reporter: DigitalId; at: number; weight: number }[] = [];
    for (let i = 0; i < flat.length; i += 2)
      out.push({ reporter: flat[i]!, at: Number(flat[i + 1]), weight: Number(weights[flat[i]!] ?? 0) });
    return out;
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
    await this.run("forgive", () =>
      this.redis.forgive(
        this.keys.points(did),
        track,
        capPoints,
        mark === null ? "" : String(mark),
        now,
        halfLifeMs,
        onlyIfLastAt === undefined ? "" : String(onlyIfLastAt),
      ),
    );
  }

  async saveReview(
    record: ReviewRecord,
    expectedRev: number | null,
    keepMs: number,
    involved: readonly DigitalId[],
  ): Promise<SaveReviewResult> {
    const { others, json } = checkSave(record, expectedRev, keepMs, involved);
    const keep = Math.ceil(keepMs);
    const reply = await this.run("saveReview", () =>
      this.redis.saveReview(
        this.keys.review(record.did, record.id),
        this.keys.reviews(record.did),
        expectedRev === null ? "" : expectedRev,
        record.rev,
        json,
        keep,
        record.id,
        record.openedAt,
        JSON.stringify(others),
      ),
    );
    if (reply[0] === 0) return "conflict";
    if (reply[0] !== 1) throw unexpectedReply("saveReview", reply);
    // The rest is in other slots: after the write, each step safe to repeat, readers re-check.
    await this.run("saveReview", async () => {
      const now = Date.now();
      const dropped = involvedList(reply[1]).filter((d) => !others.includes(d));
      await Promise.all([
        ...dropped.map((d) => this.redis.zrem(this.keys.involved(d), record.id)),
        ...others.map((d) => this.redis.noteInvolved(this.keys.involved(d), now, now + keep, record.id)),
        this.syncQueue(record.id, record),
      ]);
    });
    return "saved";
  }

  async review(id: string): Promise<ReviewRecord | null> {
    return this.run("review", () => this.readReview(id));
  }

  async reviewsOf(did: DigitalId): Promise<ReviewRecord[]> {
    return this.run("reviewsOf", async () => {
      const index = this.keys.reviews(did);
      // The newest MAX_INDEX_READ by `openedAt`, oldest first.
      const ids = await this.redis.zrange(index, -MAX_INDEX_READ, -1);
      const read = await Promise.all(ids.map((id) => this.readStored(did, id)));
      const out: ReviewRecord[] = [];
      const gone: string[] = [];
      read.forEach(({ record, missing }, i) => {
        if (record !== null && record.did === did) out.push(record);
        else if (missing) gone.push(ids[i]!);
      });
      if (gone.length > 0) await this.redis.zrem(index, ...gone);
      return out.sort(byOpened);
    });
  }

  async reviewQueue(type: ReviewType, limit: number): Promise<ReviewRecord[]> {
    const wanted = boundLimit(limit);
    if (wanted === 0 || !REVIEW_TYPES.includes(type)) return [];
    return this.run("reviewQueue", async () => {
      const queue = this.keys.reviewQueue(type);
      const out: ReviewRecord[] = [];
      const stale: { id: string; seen: ReviewRecord | null }[] = [];
      // Ids whose record is gone or no longer waits are skipped (and taken out after), so
      // read on until `limit` are found, at most MAX_INDEX_READ ids in all.
      for (let start = 0; out.length < wanted && start < MAX_INDEX_READ; ) {
        const count = Math.min(wanted - out.length, MAX_INDEX_READ - start);
        const ids = await this.redis.zrange(queue, start, start + count - 1);
        const read = await Promise.all(ids.map((id) => this.readReview(id)));
        read.forEach((record, i) => {
          if (record !== null && record.type === type && isQueued(record)) out.push(record);
          else stale.push({ id: ids[i]!, seen: record });
        });
        if (ids.length < count) break;
        start += ids.length;
      }
      await Promise.all(stale.map(({ id, seen }) => this.syncQueue(id, seen)));
      return out;
    });
  }

  async involvedIn(did: DigitalId): Promise<string[]> {
    return this.run("involvedIn", async () => {
      const key = this.keys.involved(did);
      await this.redis.zremrangebyscore(key, "-inf", Date.now());
      return this.redis.zrange(key, 0, MAX_INDEX_READ - 1);
    });
  }

  async deleteReview(id: string): Promise<void> {
    const did = didOfReviewId(id);
    if (did === null) return;
    await this.run("deleteReview", async () => {
      const involved = await this.redis.deleteReview(this.keys.review(did, id), this.keys.reviews(did), id);
      await Promise.all([
        ...involvedList(involved).map((d) => this.redis.zrem(this.keys.involved(d), id)),
        this.syncQueue(id, null),
      ]);
    });
  }

  async countReportBy(reporter: DigitalId, now: number, windowMs: number): Promise<number> {
    const window = positiveMs("countReportBy", windowMs);
    // Unique per call, so that two reports in the same millisecond count twice.
    const member = `${now}:${randomBytes(6).toString("hex")}`;
    const count = await this.run("countReportBy", () =>
      this.redis.countReportBy(this.keys.reportedBy(reporter), now, window, member, MAX_REPORTS_COUNTED),
    );
    if (typeof count !== "number") throw unexpectedReply("countReportBy", count);
    return count;
  }

  async reporterStanding(did: DigitalId): Promise<ReporterStanding> {
    const [upheld, unfounded, suspendedUntil] = await this.run("reporterStanding", () =>
      this.redis.hmget(this.keys.reporter(did), "upheld", "unfounded", "suspendedUntil"),
    );
    return { upheld: whole(upheld), unfounded: whole(unfounded), suspendedUntil: whole(suspendedUntil) };
  }

  async noteReporter(
    did: DigitalId,
    outcome: "upheld" | "unfounded",
    keepMs: number,
    suspendUntil?: number,
  ): Promise<ReporterStanding> {
    const keep = checkNoteReporter(outcome, keepMs, suspendUntil);
    const reply = await this.run("noteReporter", () =>
      this.redis.noteReporter(this.keys.reporter(did), outcome, keep, suspendUntil ?? ""),
    );
    if (!Array.isArray(reply) || reply.length !== 3) throw unexpectedReply("noteReporter", reply);
    const [upheld, unfounded, suspendedUntil] = reply;
    return { upheld: whole(upheld), unfounded: whole(unfounded), suspendedUntil: whole(suspendedUntil) };
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
    const keys = [
      this.keys.statsDay(day),
      this.keys.statsSampleNames(day),
      ...sampled.map(([name]) => this.keys.statsSamples(day, name)),
    ];
    const args: (string | number)[] = [keep, counters.length, ...counters.flat(), ...sampled.flat(), MAX_SAMPLES];
    await this.run("countStats", () => this.redis.countStats(keys.length, ...keys, ...args));
  }

  async statsOf(days: readonly string[]): Promise<DayStats[]> {
    const wanted = [...new Set(days)].filter(isDay).slice(0, MAX_DAYS);
    return this.run("statsOf", async () => {
      // HSCAN / SSCAN with a COUNT: one bounded read each, however much junk a key holds.
      const firsts = await Promise.all(
        wanted.map((day) =>
          Promise.all([
            this.redis.hscan(this.keys.statsDay(day), "0", "COUNT", MAX_COUNTERS),
            this.redis.sscan(this.keys.statsSampleNames(day), "0", "COUNT", MAX_SAMPLE_NAMES),
          ]),
        ),
      );
      const found = await Promise.all(
        wanted.map(async (day, i): Promise<DayStats | null> => {
          const [[, flat], [, names]] = firsts[i]!;
          // (Object.fromEntries: a stored name such as `__proto__` stays a plain key.)
          const counted: [string, number][] = [];
          for (let j = 0; j + 1 < flat.length && j < 2 * MAX_COUNTERS; j += 2) {
            const value = Number(flat[j + 1]);
            if (Number.isFinite(value)) counted.push([flat[j]!, value]);
          }
          const lists = names.slice(0, MAX_SAMPLE_NAMES);
          const read = await Promise.all(
            lists.map((name) => this.redis.lrange(this.keys.statsSamples(day, name), -MAX_SAMPLES, -1)),
          );
          const sampled = lists
            .map((name, j) => [name, read[j]!.map(Number).filter(Number.isFinite)] as const)
            .filter(([, values]) => values.length > 0);
          if (counted.length === 0 && sampled.length === 0) return null;
          return { day, counts: Object.fromEntries(counted), samples: Object.fromEntries(sampled) };
        }),
      );
      return found.filter((d) => d !== null);
    });
  }

  async trackActive(sanctionId: string, kind: string, end: number | null): Promise<void> {
    const member = activeMember(sanctionId, kind);
    if (end !== null && (typeof end !== "number" || !Number.isFinite(end)))
      throw new WardenError("STORE_SCRIPT", "trackActive: end is neither a time nor null");
    await this.run("trackActive", () =>
      this.redis.zadd(this.keys.activeSanctions(), end === null ? "+inf" : end, member),
    );
  }

  async untrackActive(sanctionId: string, kind: string): Promise<void> {
    const member = activeMember(sanctionId, kind);
    await this.run("untrackActive", () => this.redis.zrem(this.keys.activeSanctions(), member));
  }

  async countActive(now: number): Promise<Record<string, number>> {
    const flat = await this.run("countActive", () =>
      this.redis.countActive(this.keys.activeSanctions(), now, MAX_ACTIVE_KINDS),
    );
    if (!Array.isArray(flat)) throw unexpectedReply("countActive", flat);
    const counted: [string, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) counted.push([String(flat[i]), Number(flat[i + 1])]);
    return Object.fromEntries(counted);
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
    return this.run("noteSignals", async () => {
      // The ID's own list first: it decides when the ID was first seen with each signal, and
      // `forget` finds there every signal whose list of IDs may hold the ID.
      const own = parseOwn(
        await this.redis.noteOwnSignals(
          this.keys.signals(did),
          now,
          keep,
          MAX_SIGNALS_PER_ID,
          ...unique.map(signalField),
        ),
        unique.length,
      );
      // Then each signal's keys (a slot of their own each), sent together: one round trip.
      const [, ...answers] = await Promise.all([
        Promise.all(own.dropped.map((signal) => this.dropFromSignal(signal, did))),
        ...unique.map((signal, i) =>
          this.redis.noteSignalId(
            this.keys.signal(signal.type, signal.hash),
            this.keys.signalFirst(signal.type, signal.hash),
            did,
            own.seen[i]!.first,
            own.seen[i]!.last,
            now,
            keep,
            want,
            MAX_IDS_PER_SIGNAL,
          ),
        ),
      ]);
      return inOrderGiven(
        signals,
        unique.map((signal, i) => ({
          ...signal,
          firstSeen: own.seen[i]!.first,
          lastSeen: own.seen[i]!.last,
          peers: parsePeers(answers[i], did, now - keep, want),
        })),
      );
    });
  }

  async signalsOf(did: DigitalId, now: number, retentionMs: number, limit: number): Promise<SignalPeers[]> {
    const keep = checkSignalCall("signalsOf", did, now, retentionMs);
    const want = boundLimit(limit) + 1;
    return this.run("signalsOf", async () => {
      // One bounded read (the list holds at most MAX_SIGNALS_PER_ID; more is junk).
      const [, flat] = await this.redis.hscan(this.keys.signals(did), "0", "COUNT", 4 * MAX_SIGNALS_PER_ID);
      const own: { signal: Signal; field: string; first: number; last: number }[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const signal = parseSignalField(flat[j]);
        const seen = parseSighting(flat[j + 1]);
        if (signal !== null && seen !== null && seen.last >= now - keep) own.push({ signal, field: flat[j]!, ...seen });
      }
      own.sort((a, b) => b.last - a.last || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
      const kept = own.slice(0, MAX_SIGNALS_PER_ID);
      const answers = await Promise.all(
        kept.map(({ signal }) =>
          this.redis.signalPeers(
            this.keys.signal(signal.type, signal.hash),
            this.keys.signalFirst(signal.type, signal.hash),
            did,
            now,
            keep,
            want,
          ),
        ),
      );
      return kept.map(({ signal, first, last }, i) => ({
        ...signal,
        firstSeen: first,
        lastSeen: last,
        peers: parsePeers(answers[i], did, now - keep, want),
      }));
    });
  }

  async dismissLink(a: DigitalId, b: DigitalId, keepMs: number): Promise<void> {
    const keep = checkDismiss(a, b, keepMs);
    const now = Date.now();
    // Two slots: one script call each, sent together.
    await this.run("dismissLink", () =>
      Promise.all([
        this.redis.dismissLink(this.keys.dismissed(a), b, now + keep, now, MAX_DISMISSED),
        this.redis.dismissLink(this.keys.dismissed(b), a, now + keep, now, MAX_DISMISSED),
      ]),
    );
  }

  async dismissedLinks(did: DigitalId): Promise<DigitalId[]> {
    checkDid("dismissedLinks", did);
    const now = Date.now();
    const others = await this.run("dismissedLinks", () =>
      this.redis.zrangebyscore(this.keys.dismissed(did), `(${now}`, "(8640000000000000", "LIMIT", 0, MAX_DISMISSED),
    );
    return others.filter((d) => isDigitalId(d) && d !== did);
  }

  /** Takes an ID out of one signal's list of IDs (both keys). */
  private async dropFromSignal(signal: Signal, did: DigitalId): Promise<void> {
    await Promise.all([
      this.redis.zrem(this.keys.signal(signal.type, signal.hash), did),
      this.redis.hdel(this.keys.signalFirst(signal.type, signal.hash), did),
    ]);
  }

  /** Takes an ID out of the list of IDs of every signal its own list names (all of it, page by page). */
  private async forgetSignals(did: DigitalId): Promise<void> {
    const key = this.keys.signals(did);
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, "COUNT", 1000);
      cursor = next;
      const signals = flat.filter((_, j) => j % 2 === 0).map(parseSignalField);
      await Promise.all(signals.map((signal) => (signal === null ? null : this.dropFromSignal(signal, did))));
    } while (cursor !== "0");
  }

  /** Takes an ID off the dismissed lists of the IDs its own list names (page by page), emptying its own. */
  private async forgetDismissed(did: DigitalId): Promise<void> {
    const key = this.keys.dismissed(did);
    for (;;) {
      const others = await this.redis.zrange(key, 0, MAX_INDEX_READ - 1);
      if (others.length === 0) break;
      await Promise.all(
        others.filter((d) => isDigitalId(d)).map((other) => this.redis.zrem(this.keys.dismissed(other), did)),
      );
      await this.redis.zrem(key, ...others);
    }
  }

  /** A review record by id: null when there is none the warden can read. */
  private async readReview(id: string): Promise<ReviewRecord | null> {
    const did = didOfReviewId(id);
    return did === null ? null : (await this.readStored(did, id)).record;
  }

  /** A stored review record, checked; `missing` when there is no key at all (not merely junk). */
  private async readStored(did: DigitalId, id: string): Promise<{ record: ReviewRecord | null; missing: boolean }> {
    const [rev = null, json = null] = await this.redis.hmget(this.keys.review(did, id), "rev", "json");
    if (rev === null && json === null) return { record: null, missing: true };
    const record = parseReview(id, rev, json);
    if (record === null) this.droppedRecord(did, id, "review record");
    return { record, missing: false };
  }

  /**
   * Puts a record in the queue of its type, or takes it out of every queue, as `written`
   * (what was just saved, or seen) says; then reads the record again and, if it changed
   * meanwhile, does the same for what it is now. The queues are in another slot than the
   * record, so a writer that finished first may reach the queue last: whoever looks last
   * leaves the queue as the newest record says.
   */
  private async syncQueue(id: string, written: ReviewRecord | null): Promise<void> {
    let applied = written;
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        REVIEW_TYPES.map((type) =>
          applied !== null && applied.type === type && isQueued(applied)
            ? this.redis.zadd(this.keys.reviewQueue(type), applied.openedAt, id)
            : this.redis.zrem(this.keys.reviewQueue(type), id),
        ),
      );
      const now = await this.readReview(id);
      if ((now?.rev ?? null) === (applied?.rev ?? null)) return;
      applied = now;
    }
  }

  /** Deletes the review records whose subject is `did` (every one, page by page) and takes them out of the queues and of the involved indexes. */
  private async forgetReviews(did: DigitalId): Promise<void> {
    const index = this.keys.reviews(did);
    for (;;) {
      const ids = await this.redis.zrange(index, 0, MAX_INDEX_READ - 1);
      if (ids.length === 0) break;
      await Promise.all(
        ids.map(async (id) => {
          const involved = await this.redis.deleteReview(this.keys.review(did, id), index, id);
          await Promise.all(involvedList(involved).map((d) => this.redis.zrem(this.keys.involved(d), id)));
        }),
      );
      await Promise.all(REVIEW_TYPES.map((type) => this.redis.zrem(this.keys.reviewQueue(type), ...ids)));
    }
  }

  async forget(did: DigitalId, keep: readonly Sanction[], retention: StoreRetention): Promise<void> {
    await this.run("forget", async () => {
      // The feed holds the ID's events under the same ids as its own history: remove those
      // first, from its bucket's shard (and, for a history from before buckets, from the old feed).
      const history = this.keys.events(did);
      const shard = this.keys.feedShard(this.keys.bucketOf(did));
      for (const [stream, feed] of [
        [history, shard],
        [this.keys.legacyEvents(did), this.keys.legacyFeed()],
      ] as const) {
        let after = "-";
        for (;;) {
          const page = await this.redis.xrange(stream, after === "-" ? "-" : `(${after}`, "+", "COUNT", 1000);
          if (page.length === 0) break;
          await this.redis.xdel(feed, ...page.map(([id]) => id));
          after = page[page.length - 1]![0];
        }
      }
      const name = await this.redis.hget(this.keys.profile(did), "name");
      if (name !== null) await this.redis.zrem(this.keys.name(nameKey(name)), did);
      const bindings = await this.sessionsOf(did);
      for (const b of bindings) await this.redis.srem(this.keys.processSessions(b.processId), `${did} ${b.sessionId}`);
      // The records whose subject it is; those it merely takes part in are redacted by the caller (involvedIn).
      await this.forgetReviews(did);
      await this.redis.del(this.keys.involved(did), this.keys.reportedBy(did), this.keys.reporter(did));
      // Its place in each signal's list of IDs and in the other IDs' dismissed lists; then its own lists.
      await this.forgetSignals(did);
      await this.forgetDismissed(did);
      await this.redis.del(this.keys.signals(did), this.keys.dismissed(did));
      // Two DELs: the recording keys live in the bucket's slot, the others in the ID's.
      await this.redis.del(history, this.keys.points(did), this.keys.recorded(did));
      await this.redis.del(
        this.keys.legacyEvents(did),
        ...this.keys.legacyRecording(did),
        this.keys.profile(did),
        this.keys.sessions(did),
        this.keys.reports(did),
        this.keys.reportWeights(did),
        this.keys.sanctions(did),
      );
      // The minimal records of active bans are written back quietly: nothing to publish, they are in force already.
      if (keep.length > 0) {
        const key = this.keys.sanctions(did);
        await this.redis.hset(key, ...keep.flatMap((s) => [s.id, JSON.stringify(s)]));
        const until = sanctionsKeepUntil(keep, retention.sanctionsMs);
        if (until !== null) await this.redis.pexpireat(key, until);
      }
    });
  }

  async saveStaff(record: StaffRecord): Promise<void> {
    await this.run("saveStaff", () => this.redis.hset(this.keys.staff(), record.id, JSON.stringify(record)));
  }

  async staffById(id: string): Promise<StaffRecord | null> {
    const json = await this.run("staffById", () => this.redis.hget(this.keys.staff(), id));
    return json === null ? null : parseStaff(json);
  }

  async listStaff(): Promise<StaffRecord[]> {
    const all = await this.run("listStaff", () => this.redis.hvals(this.keys.staff()));
    return all.map(parseStaff).filter((r): r is StaffRecord => r !== null);
  }

  async auditHead(): Promise<AuditHead> {
    const head = await this.run("auditHead", () => this.redis.hgetall(this.keys.auditHead()));
    return { seq: Number(head.seq ?? 0), hash: head.hash ?? "", trimmed: Number(head.trimmed ?? 0) };
  }

  async appendAudit(
    entries: readonly AuditEntry[],
    expectedPrev: string,
    keepAfter: number,
  ): Promise<AuditAppendResult> {
    const args: (string | number)[] = [expectedPrev, keepAfter, entries.length];
    for (const entry of entries) {
      const { id: _id, ...stored } = entry;
      args.push(entry.seq, entry.prev, entry.hash, JSON.stringify(stored));
    }
    // A batch that does not chain is refused by the script (WARDEN_UNCHAINED → STORE_SCRIPT in `run`).
    const reply = await this.run("appendAudit", () =>
      this.redis.appendAudit(this.keys.auditLog(), this.keys.auditHead(), ...args),
    );
    const [code, seq, hash, trimmed] = reply;
    const head: AuditHead = { seq: Number(seq), hash: String(hash), trimmed: Number(trimmed) };
    if (code === 1) return { status: "appended", head };
    if (code === 0) return { status: "conflict", head };
    throw unexpectedReply("appendAudit", reply);
  }

  async auditEntries(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    return this.run("auditEntries", async () => {
      const page = await this.redis.xrevrange(
        this.keys.auditLog(),
        options.before ? `(${options.before}` : "+",
        "-",
        "COUNT",
        options.limit,
      );
      return page.map(parseAudit);
    });
  }

  async auditRange(after: string, count: number): Promise<AuditEntry[]> {
    return this.run("auditRange", async () => {
      const page = await this.redis.xrange(
        this.keys.auditLog(),
        after === "0" ? "-" : `(${after}`,
        "+",
        "COUNT",
        count,
      );
      return page.map(parseAudit);
    });
  }

  async publishNotice(did: DigitalId, notice: PlayerNotice): Promise<void> {
    // Checked as every subscriber checks it: what they would drop is never published.
    const message = toBusMessage({ type: "notice", did, notice });
    if (message === null) throw new WardenError("STORE_SCRIPT", "publishNotice: not a well-formed notice");
    await this.run("publishNotice", () => this.redis.publish(this.keys.busChannel(), JSON.stringify(message)));
  }

  async subscribe(
    handler: (message: BusMessage) => void,
    onGap?: (since: number) => void,
    onBad?: (reason: string, count: number) => void,
  ): Promise<() => Promise<void>> {
    const channel = this.keys.busChannel();
    const subscriber = this.subscriber ?? this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on("error", () => {});
    // ioredis re-subscribes by itself after a reconnect; what was published in between is gone.
    let lostAt: number | null = null;
    subscriber.on("close", () => {
      lostAt ??= Date.now();
    });
    subscriber.on("ready", () => {
      if (lostAt !== null && onGap !== undefined) onGap(lostAt);
      lostAt = null;
    });
    // Anyone who can publish on the channel reaches this listener, and a throw here would end
    // the process: every message is checked (sanctions/codec.ts), a bad one is counted and
    // reported (the first logged when no `onBad` is given), and the handler's own failures
    // stay here too.
    const bad = (reason: string) => {
      const count = ++this.dropped.busMessages;
      try {
        if (onBad !== undefined) onBad(reason, count);
        else if (count === 1)
          console.warn(
            `[warden] dropped a ${reason} on the bus channel ${channel}; further ones are counted in store.dropped.busMessages, not logged`,
          );
      } catch {
        // A reporter that throws changes nothing: the message is dropped either way.
      }
    };
    const listener = (from: string, payload: string) => {
      if (from !== channel) return;
      const message = parseBusMessage(payload);
      if (message === null)
        return bad(
          typeof payload === "string" && payload.length > MAX_RECORD_CHARS ? "message too long" : "malformed message",
        );
      try {
        handler(message);
      } catch (e) {
        bad(`message the handler failed on (${e instanceof Error ? e.message.slice(0, 200) : "not an Error"})`);
      }
    };
    subscriber.on("message", listener);
    // On a cluster, the subscription lives on one node the Cluster picked; when that node
    // dies, fails over or leaves, ioredis moves it to another node quietly (`-node`, no
    // `close`/`ready`), and what was published meanwhile is gone: watched separately.
    const probe =
      isCluster(subscriber) && onGap !== undefined ? watchClusterSubscription(subscriber, channel, onGap) : null;
    await this.run("subscribe", () =>
      probe === null ? subscriber.subscribe(channel) : subscriber.subscribe(channel, probe.channel),
    ).catch((e: unknown) => {
      subscriber.off("message", listener);
      probe?.stop();
      throw e;
    });
    probe?.start();
    return async () => {
      subscriber.off("message", listener);
      probe?.stop();
      if (subscriber.listenerCount("message") === 0)
        await subscriber.unsubscribe(channel, ...(probe === null ? [] : [probe.channel])).catch(() => {});
    };
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
    this.reader?.disconnect();
    this.reader = undefined;
    if (this.ownsConnection) {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  private async removeBindingsOf(processId: string): Promise<number> {
    const processKey = this.keys.processSessions(processId);
    const members = await this.redis.smembers(processKey);
    // Sent together, not one round trip each: a dead process may have held thousands.
    await Promise.all(
      members.map((member) => {
        const [did, sessionId] = member.split(" ") as [DigitalId, string];
        return this.redis.hdel(this.keys.sessions(did), sessionId);
      }),
    );
    await this.redis.del(processKey);
    return members.length;
  }
}

/** How often a cluster subscription proves it is live (a probe published and received), ms. */
const PROBE_EVERY_MS = 500;
/** How often it probes while a loss is suspected, until the subscription answers again. */
const PROBE_LOST_MS = 50;

/**
 * Watches the bus subscription of a Cluster and calls `onGap(since)` after it was lost and is
 * live again, so that the warden resyncs what it may have missed (issue 12, part 2).
 *
 * ioredis keeps a Cluster's subscription on one node and, when that node's connection ends
 * or the node leaves the cluster (a kill, a failover, a resharding), re-subscribes on
 * another node without a `close`/`ready` of the Cluster. Three signals count as a loss:
 * the Cluster's `-node` / `+node` / `node error` events (topology changed: maybe ours);
 * the `close` of the node connection that carries the subscription (the one unavoidable
 * reach into ioredis: `cluster.subscriber.getInstance()`, kept to this function; the
 * failover test in test/cluster/ fails if an upgrade breaks it), and a change of that
 * connection seen since the last probe. A loss is over when a probe published after it
 * comes back on a channel subscribed with the same SUBSCRIBE as the bus channel — so the
 * bus is subscribed again — and only then does the resync run, from the last moment the
 * subscription was known to be live.
 */
function watchClusterSubscription(
  cluster: Cluster,
  busChannel: string,
  onGap: (since: number) => void,
): { channel: string; start(): void; stop(): void } {
  const channel = `${busChannel}:probe:${randomBytes(6).toString("hex")}`;
  let confirmedAt = Date.now();
  let lostSince: number | null = null;
  let sent = 0;
  let awaiting: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let carrier: Redis | null = null;
  const currentCarrier = (): Redis | null => {
    const inner = (cluster as unknown as { subscriber?: { getInstance?: () => Redis | null } }).subscriber;
    return typeof inner?.getInstance === "function" ? inner.getInstance() : null;
  };
  const lost = () => {
    if (stopped) return;
    lostSince ??= confirmedAt;
    // Only a probe sent after the loss proves the bus is subscribed again.
    awaiting = null;
    schedule(0);
  };
  const watchCarrier = () => {
    const now = currentCarrier();
    if (now === carrier) return;
    if (carrier !== null) lost();
    carrier = now;
    now?.once("close", lost);
  };
  const tick = () => {
    timer = undefined;
    if (stopped) return;
    watchCarrier();
    awaiting = ++sent;
    cluster.publish(channel, String(awaiting)).catch(() => lost());
    schedule(lostSince === null ? PROBE_EVERY_MS : PROBE_LOST_MS);
  };
  function schedule(ms: number): void {
    if (stopped) return;
    if (timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(timer);
    }
    timer = setTimeout(tick, ms);
    timer.unref();
  }
  const onProbe = (from: string, payload: string) => {
    if (from !== channel || Number(payload) !== awaiting) return;
    awaiting = null;
    watchCarrier();
    if (lostSince !== null) {
      const since = lostSince;
      lostSince = null;
      try {
        onGap(since);
      } catch {
        // The resync reports its own failures; a throw must not stop the watch.
      }
    }
    confirmedAt = Date.now();
  };
  const topology = () => lost();
  return {
    channel,
    start() {
      cluster.on("message", onProbe);
      for (const event of ["-node", "+node", "node error"]) cluster.on(event, topology);
      watchCarrier();
      schedule(PROBE_EVERY_MS);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      cluster.off("message", onProbe);
      for (const event of ["-node", "+node", "node error"]) cluster.off(event, topology);
      carrier?.off("close", lost);
    },
  };
}

/** True for an ioredis Cluster (by its `nodes` method: the caller's ioredis may be another copy). */
function isCluster(connection: Redis | Cluster): connection is Cluster {
  return typeof (connection as Partial<Cluster>).nodes === "function" && connection.isCluster === true;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

/** Orders two stream ids (`<ms>-<seq>`, or `"0"`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a === "0" ? [0n, 0n] : a.split("-").map((x) => BigInt(x));
  const [bm, bs] = b === "0" ? [0n, 0n] : b.split("-").map((x) => BigInt(x));
  if (am! !== bm!) return am! < bm! ? -1 : 1;
  return as! === bs! ? 0 : as! < bs! ? -1 : 1;
}

/** The composite cursor of the feed: one stream id per shard, comma-separated; one shard: its id. */
function feedCursor(ids: readonly string[]): string {
  return ids.join(",");
}

/**
 * A feed cursor read back as one stream id per shard. `"0"` or one stream id (the cursor of a
 * one-shard feed, or of the feed before buckets): that id in every shard. A cursor of another
 * number of shards (B was changed): its lowest id in every shard, so nothing is skipped.
 */
function parseFeedCursor(cursor: string, shards: number): string[] {
  const ids = cursor.split(",");
  if (ids.length > MAX_BUCKETS || !ids.every((id) => id === "0" || STREAM_ID.test(id)))
    throw new WardenError("INVALID_REQUEST", `not a feed cursor: ${JSON.stringify(cursor.slice(0, 80))}`);
  if (ids.length === shards) return ids;
  const lowest = ids.reduce((a, b) => (compareIds(a, b) <= 0 ? a : b));
  return new Array<string>(shards).fill(lowest);
}

/**
 * Merges what each shard answered into one list in stream-id order (the shard's index breaks
 * ties), at most `count`, each event with the cursor just after it: the shards' positions
 * advance only over the events handed out, so a page cut short skips nothing.
 */
function mergeShards(
  replies: readonly ([string, [string, string[]][]] | null)[],
  from: readonly string[],
  count: number,
  shards: number,
): OffenseEvent[] {
  const all: { shard: number; entry: [string, string[]] }[] = [];
  replies.forEach((reply, shard) => {
    for (const entry of reply?.[1] ?? []) all.push({ shard, entry });
  });
  all.sort((a, b) => compareIds(a.entry[0], b.entry[0]) || a.shard - b.shard);
  const position = [...from];
  return all.slice(0, count).map(({ shard, entry }) => {
    position[shard] = entry[0];
    const event = parseEntry(entry);
    return shards === 1 ? event : { ...event, cursor: feedCursor(position) };
  });
}

/** A stream entry (`[id, ["e", json]]`) back into an event. */
function parseEntry([id, fields]: [string, string[]]): OffenseEvent {
  const json = fields[fields.indexOf("e") + 1] ?? "{}";
  return { ...(JSON.parse(json) as OffenseEvent), id };
}

/** A staff record as stored; null for anything that does not even parse (the MAC check refuses the rest). */
function parseStaff(json: string): StaffRecord | null {
  try {
    const value = JSON.parse(json) as StaffRecord;
    return typeof value === "object" && value !== null && typeof value.id === "string" ? value : null;
  } catch {
    return null;
  }
}

function parseAudit([id, fields]: [string, string[]]): AuditEntry {
  const json = fields[fields.indexOf("e") + 1] ?? "{}";
  return { ...(JSON.parse(json) as AuditEntry), id };
}

/** A ladder as the recording script takes it (`"1 3 6 10"`), built once per ladder. */
const ladderTexts = new WeakMap<readonly ResolvedStep[], string>();
function ladderText(ladder: readonly ResolvedStep[]): string {
  let text = ladderTexts.get(ladder);
  if (text === undefined) {
    // String(n) is the shortest text that reads back as the same double (Lua's tonumber too).
    text = ladder.map((step) => String(step.at)).join(" ");
    ladderTexts.set(ladder, text);
  }
  return text;
}

/** One event's answer of the recording script: `{1, id, before, after, step}` or `{0, step}` (step -1 = none). */
function parseRecorded(entry: unknown): RecordedOffense {
  if (Array.isArray(entry)) {
    if (entry[0] === 1 && entry.length === 5) {
      const [, id, before, after, step] = entry as [number, string, string, string, number];
      return { status: "recorded", id, before: Number(before), after: Number(after), step: step >= 0 ? step : null };
    }
    if (entry[0] === 0 && entry.length === 2) {
      const step = entry[1] as number;
      return { status: "duplicate", step: step >= 0 ? step : null };
    }
  }
  throw unexpectedReply("recordOffenses", entry, " for an event");
}

/** Most counters and sample lists read per day (more are junk). */
const MAX_COUNTERS = 1000;
const MAX_SAMPLE_NAMES = 100;
/** A review record read back (rev field, JSON), checked: null for anything the warden did not write. */
function parseReview(id: string, rev: string | null, json: string | null): ReviewRecord | null {
  if (rev === null || json === null || json.length > MAX_REVIEW_CHARS) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  const record = toReview(value, id);
  return record !== null && record.rev === Number(rev) ? record : null;
}

/** The involved list stored with a record (JSON written by saveReview), checked: junk gives none. */
function involvedList(stored: unknown): DigitalId[] {
  if (typeof stored !== "string" || stored === "" || stored.length > 200 * MAX_INVOLVED) return [];
  try {
    const value: unknown = JSON.parse(stored);
    return Array.isArray(value) ? value.slice(0, MAX_INVOLVED).filter(isTaggable) : [];
  } catch {
    return [];
  }
}

/** The answer of noteOwnSignals-1.lua, checked: a first and last sighting per signal noted, the signals dropped. */
function parseOwn(reply: unknown, count: number): { seen: { first: number; last: number }[]; dropped: Signal[] } {
  if (!Array.isArray(reply) || reply.length !== 2) throw unexpectedReply("noteSignals", reply);
  const [pairs, dropped] = reply as unknown[];
  if (!Array.isArray(pairs) || pairs.length !== 2 * count || !Array.isArray(dropped))
    throw unexpectedReply("noteSignals", reply);
  const seen: { first: number; last: number }[] = [];
  for (let i = 0; i < count; i++) {
    const [first, last] = [pairs[2 * i], pairs[2 * i + 1]];
    if (!isInstant(first) || !isInstant(last) || first > last) throw unexpectedReply("noteSignals", reply);
    seen.push({ first, last });
  }
  return { seen, dropped: dropped.map(parseSignalField).filter((s) => s !== null) };
}

const WHOLE = /^\d{1,16}$/;
/** A whole instant read back as text; null for anything else. */
function instantText(value: unknown): number | null {
  if (typeof value !== "string" || !WHOLE.test(value)) return null;
  const n = Number(value);
  return isInstant(n) ? n : null;
}

/** `<first>:<last>` of an ID's list of signals, checked; null for junk. */
function parseSighting(value: unknown): { first: number; last: number } | null {
  if (typeof value !== "string") return null;
  const colon = value.indexOf(":");
  const first = instantText(value.slice(0, colon));
  const last = instantText(value.slice(colon + 1));
  return colon > 0 && first !== null && last !== null && first <= last ? { first, last } : null;
}

/** `[did, first, last, …]` of a signal's script, checked: junk entries (not an ID, not instants) are skipped, never thrown on. */
function parsePeers(reply: unknown, did: DigitalId, cutoff: number, want: number): SignalPeer[] {
  if (!Array.isArray(reply)) throw unexpectedReply("signal peers", reply);
  const peers: SignalPeer[] = [];
  for (let i = 0; i + 2 < reply.length && peers.length < want; i += 3) {
    const peer: unknown = reply[i];
    const firstSeen = instantText(reply[i + 1]);
    const lastSeen = instantText(reply[i + 2]);
    if (!isDigitalId(peer) || peer === did || firstSeen === null || lastSeen === null) continue;
    if (firstSeen > lastSeen || lastSeen < cutoff) continue;
    peers.push({ did: peer, firstSeen, lastSeen });
  }
  return peers;
}

/** A count or instant read back: a whole number from 0, anything else 0. */
function whole(value: unknown): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * The bus message of an issued sanction (`{"type":"issued","sanction":…}`) around the
 * sanction's own JSON text: the same text as JSON.stringify of the message object
 * (`type` first, then `sanction`), and decoded by parseBusMessage like any other.
 */
function issuedMessageJson(sanctionJson: string): string {
  return `{"type":"issued","sanction":${sanctionJson}}`;
}
