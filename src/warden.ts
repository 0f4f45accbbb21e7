import { randomBytes } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { TypedEmitter, type WardenEvents } from "./events.js";
import { WardenError, toError } from "./errors.js";
import { deriveDigitalId, isValidSubject, type DigitalId } from "./identity/digital-id.js";
import type { LiveSession, Standing } from "./identity/live-sessions.js";
import { resolveOptions, type Identity, type ResolvedOptions, type WardenOptions } from "./options.js";
import { WardenPlugin } from "./plugin/plugin.js";
import { banMessage, CLOSE_BANNED, CLOSE_KICKED, Enforcer, kickMessage } from "./sanctions/enforcer.js";
import { SanctionsService } from "./sanctions/service.js";
import { MemoryStore } from "./stores/memory/memory-store.js";
import { RedisStore } from "./stores/redis/redis-store.js";
import type { SessionBinding, WardenStore } from "./stores/store.js";
import { withTimeout } from "./util/timeout.js";
import { holdCoarseClock } from "./util/clock.js";
import { ChatDetector } from "./guard/chat.js";
import { Guard, OFFENSE_TRACKS } from "./guard/guard.js";
import { isActive } from "./sanctions/model.js";
import { boundEvidence, type Detector, type Evidence, type OffenseEvent, type RecordedOffense } from "./recorder/offense.js";
import { Recorder, type RecorderStats } from "./recorder/recorder.js";
import { ReportService } from "./reports.js";
import { AuditLog } from "./admin/audit.js";
import { AdminService } from "./admin/service.js";
import { FeedHub } from "./admin/feed.js";
import { createAdminRouter, type AdminApiOptions } from "./admin/http.js";
import express, { type Router } from "express";

/** Counters for dashboards and tests: `warden.stats()`. */
export interface WardenStats extends RecorderStats {
  /** Offenses detected in this process. */
  offenses: number;
  /** Sanctions the policy issued from this process. */
  policySanctions: number;
  /** Store failures seen (each also emitted as `store:error`). */
  storeErrors: number;
  /**
   * Frames whose handler Colyseus picked differently from the type the guard decided on
   * (dropped; 0 unless Colyseus changed how it reads frames — the differential tests say so).
   */
  frameDisagreements: number;
}

/** Why a join was refused: the code and message the client's join promise rejects with. */
export interface JoinDenial {
  code: number;
  message: string;
}

/** Join error code when the store cannot be reached and `failMode` is `"closed"`. */
export const JOIN_STORE_UNAVAILABLE = 4503;

/** Join error code when the ID already holds `maxSessionsPerId` sessions. */
export const JOIN_TOO_MANY_SESSIONS = 4429;



/**
 * A warden: one per server process. Holds the store, the sanctions service, the enforcer
 * of this process's live sessions, and the subscription that brings sanctions issued
 * anywhere to them. Rooms take part through {@link Warden.plugin}.
 */
export class Warden extends TypedEmitter<WardenEvents> {
  /** Options after defaults and validation. */
  readonly options: ResolvedOptions;
  /** Where records live. */
  readonly store: WardenStore;
  /** Issue, revoke and list sanctions: the one path for policy, CLI and API. */
  readonly sanctions: SanctionsService;
  /** This process's id in bindings. */
  readonly processId: string;
  /** @internal The live-session side; used by the plugin. */
  readonly enforcer: Enforcer;
  /** @internal The hot-path detectors; used by the plugin. */
  readonly guard: Guard;
  /** @internal The chat detector and where it looks; null when off. */
  readonly chat: { detector: ChatDetector; types: ReadonlySet<string | number>; field: string; recordText: boolean } | null;
  /** The moderators' service (lookups, sanctions, export, forget — all audited); the HTTP API and the CLI call it. */
  readonly admin: AdminService;
  /** @internal The live feed for SSE clients. */
  readonly feed: FeedHub;
  /** Player reports; rooms call it through `plugin.report(...)`. */
  readonly reports: ReportService;
  /** @internal Background writer of offense events. */
  readonly recorder: Recorder;
  private readonly counters = { offenses: 0, policySanctions: 0, storeErrors: 0, frameDisagreements: 0 };

  private readonly ownsStore: boolean;
  private readonly subscribed: Promise<void>;
  private unsubscribe: (() => Promise<void>) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private storeDown = false;
  /** A binding write failed: rewrite this process's bindings once the store answers again. */
  private rebindPending = false;
  /** Unbinds that failed, retried once the store answers again. */
  private readonly unbindPending = new Map<string, { did: DigitalId; sessionId: string }>();
  private closed = false;
  private readonly releaseClock: () => void;

  constructor(options: WardenOptions) {
    super();
    this.options = resolveOptions(options);
    // Held only once the options are valid: a refused configuration leaves no timer behind.
    this.releaseClock = holdCoarseClock();
    this.processId = this.options.processId ?? `p${randomBytes(6).toString("hex")}`;
    const { store, prefix, logger } = this.options;
    if (store === undefined) {
      logger.warn("no store configured: using the embedded MemoryStore — sanctions are neither shared between processes nor kept across restarts");
      this.store = new MemoryStore();
      this.ownsStore = true;
    } else if (typeof store === "string" || store instanceof Redis || store instanceof Cluster) {
      this.store = new RedisStore({ connection: store, prefix });
      this.ownsStore = true;
    } else {
      this.store = store;
      this.ownsStore = false;
    }
    this.enforcer = new Enforcer(this.options, (event) => this.emit("sanction:enforced", event));
    this.sanctions = new SanctionsService(this.store, this.options.retention, {
      before: (sanction) => {
        let veto: string | null = null;
        this.emit("sanction:before", { sanction, cancel: (reason) => { veto ??= String(reason || "cancelled"); } });
        return veto;
      },
      // Applied here at once, without waiting for the bus's echo (the enforcer acts once).
      issued: (sanction) => {
        this.enforcer.apply({ type: "issued", sanction });
        this.emit("sanction:applied", sanction);
      },
      revoked: (sanction) => {
        if (sanction.revoked) this.enforcer.apply({ type: "revoked", did: sanction.did, sanctionId: sanction.id, revocation: sanction.revoked });
        this.emit("sanction:revoked", sanction);
      },
    });
    this.feed = new FeedHub(this.store, (e) => this.storeFailed("feed", e));
    this.admin = new AdminService(this.store, this.sanctions, new AuditLog(this.store, this.options.retention.auditMs), this.options);
    const chat = this.options.guard.chat;
    if (chat === false) this.chat = null;
    else {
      const { types, field, recordText, ...detector } = chat;
      this.chat = { detector: new ChatDetector(detector), types: new Set(types), field, recordText };
    }
    this.guard = new Guard(
      this.options.guard,
      {
        offense: (session, detector, kind, evidence) => this.offense(session, detector, kind, evidence),
        remind: (session, kind) => this.enforcer.remind(session, kind),
      },
      { muted: this.options.muteTypes, frozen: this.options.freezeTypes, chat: chat === false ? [] : chat.types },
    );
    this.reports = new ReportService(this.store, this.options.reports, {
      offense: (session, detector, kind, evidence) => this.offense(session, detector, kind, evidence),
      storeFailed: (operation, cause) => this.storeFailed(operation, cause),
    });
    this.recorder = new Recorder(this.store, this.options.retention.eventsMs, this.options.recorder, {
      halfLifeOf: (track) => this.options.policy.tracks.get(track)?.halfLifeMs ?? 600_000,
      ladderOf: (track) => this.options.policy.tracks.get(track)?.ladder,
      recorded: (events, results) => this.escalate(events, results),
      failed: (error) => this.storeFailed("recordOffenses", error),
      overflow: (dropped) => this.options.logger.error(`offense buffer full: ${dropped} event(s) dropped so far (store unavailable too long?)`),
    });
    this.subscribed = this.start();
    // Failures are reported through `store:error` and retried; nobody must see an unhandled rejection.
    this.subscribed.catch(() => {});
  }

  /** Resolves once this process receives sanctions published anywhere. */
  ready(): Promise<void> {
    return this.subscribed;
  }

  /** The digital ID of a verified subject, qualified by its issuer when there is one (see {@link Identity.issuer}). */
  digitalId(subject: string, issuer?: string): DigitalId {
    return deriveDigitalId(this.options.secret, subject, issuer);
  }

  /**
   * The verified identity of a joining client through the `identify` option, checked:
   * null when there is none or it is malformed (a throwing `identify` counts as none).
   */
  identify(auth: unknown, joinOptions: unknown): Identity | null {
    let identity: Identity | null | undefined;
    try {
      identity = this.options.identify(auth, joinOptions);
    } catch {
      return null;
    }
    if (typeof identity !== "object" || identity === null || !isValidSubject(identity.subject)) return null;
    if (identity.issuer !== undefined && !isValidSubject(identity.issuer)) return null;
    return identity;
  }

  /** @internal The guard and Colyseus read a frame's type differently: count, log once, never let it through. */
  frameDisagreement(detail: string): void {
    if (this.counters.frameDisagreements++ === 0) this.options.logger.error(`frame decoded differently by the guard and by Colyseus (dropped): ${detail.slice(0, 200)}`);
  }

  /** A Colyseus room plugin bound to this warden: `plugins = definePlugins([warden.plugin()])`. */
  plugin(): WardenPlugin {
    return new WardenPlugin(this);
  }

  /**
   * The admin HTTP API as an express router: `app.use("/warden/api", warden.adminRoutes())`.
   * Tokens default to `WARDEN_ADMIN_TOKEN` (moderator) and `WARDEN_VIEWER_TOKEN` (viewer);
   * with none configured the router is empty (the API is not there) and a line says so.
   */
  adminRoutes(options: AdminApiOptions = {}): Router {
    const moderatorTokens = options.moderatorTokens ?? (process.env.WARDEN_ADMIN_TOKEN ? [process.env.WARDEN_ADMIN_TOKEN] : []);
    const viewerTokens = options.viewerTokens ?? (process.env.WARDEN_VIEWER_TOKEN ? [process.env.WARDEN_VIEWER_TOKEN] : []);
    const router = createAdminRouter(this.admin, this.feed, { moderatorTokens, viewerTokens }, (m) => this.options.logger.error(m));
    if (router === null) {
      this.options.logger.info("admin API disabled: no WARDEN_ADMIN_TOKEN or WARDEN_VIEWER_TOKEN configured");
      return express.Router();
    }
    this.options.logger.info(`admin API enabled (${moderatorTokens.length} moderator, ${viewerTokens.length} viewer token(s))`);
    return router;
  }

  /** The live sessions of an ID, in every process. */
  sessions(did: DigitalId): Promise<SessionBinding[]> {
    return this.store.sessionsOf(did);
  }

  /**
   * The join gate: loads the ID's sanctions into `standing` and says whether it may join.
   * The store is read with a timeout; if it fails, `failMode` decides, and a ban this
   * process already knows refuses the join either way.
   */
  async admit(did: DigitalId, standing: Standing, join: { reservedAt: number; session: LiveSession } | undefined = undefined): Promise<JoinDenial | null> {
    if (this.closed) return { code: JOIN_STORE_UNAVAILABLE, message: "the warden is shutting down" };
    // This process's sessions of the ID (the joining one is registered already): exact, synchronous.
    const cap = this.options.maxSessionsPerId;
    if (standing.sessions.size > cap) return tooManySessions(cap);
    try {
      const [, sanctions, bindings] = await withTimeout(
        Promise.all([this.subscribed, this.store.sanctionsOf(did), join === undefined ? [] : this.store.sessionsOf(did)]),
        this.options.storeTimeoutMs,
        "join check",
      );
      this.enforcer.load(standing, sanctions);
      standing.noteSanctions(sanctions, Date.now(), 86_400_000);
      if (join !== undefined) {
        // Other processes' sessions, as bound in the store (a dead process's are swept within three heartbeats).
        const elsewhere = bindings.filter((b) => b.processId !== this.processId).length;
        if (standing.sessions.size + elsewhere > cap) return tooManySessions(cap);
        // A kick (or warning) issued between the seat reservation and this join found no session to act on: it acts now.
        // (The kick's `start` is the issuing process's clock: processes of one fleet are assumed NTP-synced.)
        const since = join.reservedAt;
        for (const sanction of sanctions) {
          if (sanction.revoked !== undefined || sanction.start < since || (sanction.kind !== "kick" && sanction.kind !== "warn")) continue;
          if (sanction.kind === "kick") return { code: CLOSE_KICKED, message: kickMessage(sanction) };
          this.enforcer.notify(join.session, sanction);
        }
      }
    } catch (e) {
      this.storeFailed("join check", e);
      if (standing.banned === null && this.options.failMode === "closed") {
        return { code: JOIN_STORE_UNAVAILABLE, message: "sanction store unavailable, try again shortly" };
      }
    }
    return standing.banned === null ? null : { code: CLOSE_BANNED, message: banMessage(standing.banned) };
  }

  /** Counters: events recorded, buffered, overflowed; offenses; policy sanctions; store errors; frame disagreements. */
  stats(): WardenStats {
    return { ...this.recorder.stats, ...this.counters };
  }

  /**
   * Records an offense of a live session: synchronous, buffered, written in the
   * background; the policy reads the resulting points and may sanction.
   */
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence): void {
    const { track, severity } = OFFENSE_TRACKS[kind] ?? { track: "malformed", severity: 1 };
    const event: OffenseEvent = {
      at: Date.now(),
      did: session.did,
      room: { name: session.room.roomName, id: session.room.roomId },
      detector,
      kind,
      track,
      severity,
      evidence: boundEvidence(evidence),
    };
    this.counters.offenses++;
    this.recorder.record(event);
  }

  /**
   * Issues the ladder steps the store decided while recording: the store decides and marks
   * each step in the same atomic step that records the event, so no step is issued twice by
   * two batches in flight, two processes or a replay — this only issues what it is handed.
   * A `duplicate` (an event written again because the reply to its first write was lost)
   * carries the step that first write decided and nobody issued yet: it is issued now.
   *
   * A sanction that cannot be stored because the store is unavailable is committed again —
   * the same draft, so the same id: storing is idempotent by id and enforcers apply an id
   * once — a few times with backoff, then given up and logged.
   */
  private escalate(events: readonly OffenseEvent[], results: readonly RecordedOffense[]): void {
    const RETRIES = 5;
    const FIRST_DELAY_MS = 250;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const index = results[i]?.step;
      if (index === null || index === undefined) continue;
      // The recorder passed this track's ladder, so the index is one of its steps.
      const step = this.options.policy.tracks.get(event.track)?.ladder[index];
      if (step === undefined) continue;
      this.counters.policySanctions++;
      const what = `policy ${step.kind} of ${event.did} (${event.track})`;
      let drafted: ReturnType<SanctionsService["draft"]>;
      try {
        drafted = this.sanctions.draft({ did: event.did, kind: step.kind, reason: `automatic: ${event.track} (${event.kind})`, by: "policy", ...(step.duration === undefined ? {} : { duration: step.duration }) });
      } catch (e) {
        this.options.logger.error(`${what} not issued: ${toError(e).message}`);
        continue;
      }
      if (drafted.status === "cancelled") continue;
      const { sanction } = drafted;
      const commit = (attempt: number): void => {
        this.sanctions.commit(sanction).catch((e: unknown) => {
          const code = e instanceof WardenError ? e.code : null;
          if (code === "STORE_UNAVAILABLE" || code === "STORE_SCRIPT") this.storeFailed("policy issue", e);
          // Only an unreachable store is worth waiting for; a refused draft or a script error is not.
          if (code === "STORE_UNAVAILABLE" && attempt < RETRIES && !this.closed) {
            setTimeout(() => commit(attempt + 1), FIRST_DELAY_MS * 2 ** attempt).unref();
          } else {
            this.options.logger.error(`${what} not issued (sanction ${sanction.id}, ${attempt + 1} attempt(s)): ${toError(e).message}`);
          }
        });
      };
      commit(0);
    }
  }

  /** @internal Records a joined session in the store (in the background: a join never waits for it). */
  bind(session: LiveSession): void {
    // After the join completes: these writes are bookkeeping, not part of the join's latency.
    setImmediate(() => this.writeBinding(session));
  }

  private writeBinding(session: LiveSession): void {
    if (session.closedBy !== null || !session.standing.sessions.has(session)) return;
    const now = Date.now();
    const binding = this.bindingOf(session, now);
    this.store.bindSession(binding, this.options.retention).then(
      () => this.emit("session:bound", binding),
      (e: unknown) => {
        this.rebindPending = true;
        this.storeFailed("bindSession", e);
      },
    );
    this.store.touchProfile(session.did, now, this.options.retention.eventsMs).then(
      (first) => {
        session.standing.firstSeen = first;
      },
      (e: unknown) => this.storeFailed("touchProfile", e),
    );
    if (session.name !== undefined) {
      this.store.recordName(session.did, session.name, now, this.options.retention.namesMs).catch((e: unknown) => this.storeFailed("recordName", e));
    }
  }

  /** @internal Removes a session's binding from the store. */
  async unbind(session: LiveSession): Promise<void> {
    try {
      await this.store.unbindSession(session.did, session.sessionId, this.processId);
      this.emit("session:unbound", this.bindingOf(session, 0));
    } catch (e) {
      this.unbindPending.set(`${session.did} ${session.sessionId}`, { did: session.did, sessionId: session.sessionId });
      this.storeFailed("unbindSession", e);
    }
  }

  private bindingOf(session: LiveSession, since: number): SessionBinding {
    return { did: session.did, sessionId: session.sessionId, processId: this.processId, roomName: session.room.roomName, roomId: session.room.roomId, since };
  }

  /** @internal Records that the store failed, once per outage; the caller goes on from memory. */
  storeFailed(operation: string, cause: unknown): void {
    const error = toError(cause);
    this.counters.storeErrors++;
    if (!this.storeDown) {
      this.storeDown = true;
      this.options.logger.warn(`store unavailable (${operation}): ${error.message}; going on from memory`);
    }
    this.emit("store:error", error, operation);
  }

  /** Stops timers and subscriptions, unregisters this process, and closes a store it opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.releaseClock();
    this.guard.ledger.stop();
    clearTimeout(this.heartbeatTimer);
    await this.recorder.close(this.options.storeTimeoutMs);
    await this.subscribed.catch(() => {});
    await this.unsubscribe?.().catch(() => {});
    await withTimeout(this.store.retireProcess(this.processId), this.options.storeTimeoutMs, "retire").catch(() => {});
    this.enforcer.clear();
    if (this.ownsStore) await this.store.close();
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.options.logger.error(`a "${event}" listener threw: ${toError(error).message}`);
  }

  private async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new WardenError("CLOSED", "the warden was closed before it connected");
      try {
        await this.store.connect();
        this.unsubscribe = await this.store.subscribe(
          (message) => {
            this.enforcer.apply(message);
            this.feed.bus(message);
          },
          (since) => void this.resync(since),
          (reason, count) => {
            if (count === 1) this.options.logger.warn(`dropped a ${reason} on the bus; further ones are counted, not logged`);
          },
        );
        break;
      } catch (e) {
        this.storeFailed("connect", e);
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, this.options.heartbeatMs)).unref());
      }
    }
    this.storeDown = false;
    await this.beat();
  }

  /** Rewrites bindings and replays unbinds that failed while the store was away. */
  private async repairBindings(): Promise<void> {
    for (const [key, { did, sessionId }] of this.unbindPending) {
      await this.store.unbindSession(did, sessionId, this.processId);
      this.unbindPending.delete(key);
    }
    if (!this.rebindPending) return;
    const now = Date.now();
    for (const session of this.enforcer.liveSessions()) {
      if (session.closedBy === null) await this.store.bindSession(this.bindingOf(session, now), this.options.retention);
    }
    this.rebindPending = false;
  }

  /**
   * After the bus was cut: reads the sanctions of every ID this process holds from the
   * store and applies what it missed — lasting sanctions in force, kicks and warns issued
   * since the cut, revocations of what it still enforces.
   */
  private async resync(since: number): Promise<void> {
    const now = Date.now();
    for (const did of this.enforcer.knownIds()) {
      try {
        for (const sanction of await this.store.sanctionsOf(did)) {
          if (sanction.revoked) this.enforcer.apply({ type: "revoked", did, sanctionId: sanction.id, revocation: sanction.revoked });
          else if (isActive(sanction, now) || sanction.start >= since - 1000) this.enforcer.apply({ type: "issued", sanction });
        }
      } catch (e) {
        this.storeFailed("resync", e);
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    try {
      await this.store.heartbeat(this.processId, now, this.options.heartbeatMs * 3);
      const swept = await this.store.sweepDeadProcesses(now);
      if (swept > 0) this.options.logger.info(`removed ${swept} session binding(s) of dead processes`);
      await this.repairBindings();
      if (this.storeDown) {
        this.storeDown = false;
        this.options.logger.info("store reachable again");
      }
    } catch (e) {
      this.storeFailed("heartbeat", e);
    }
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => void this.beat(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }
}

function tooManySessions(cap: number): JoinDenial {
  return { code: JOIN_TOO_MANY_SESSIONS, message: `this account already has ${cap} session(s) open: leave one first` };
}

/**
 * Creates a warden: validates `options` (throwing `INVALID_OPTION` with the option's name),
 * opens the store, and subscribes to sanctions issued anywhere.
 */
export function createWarden(options: WardenOptions): Warden {
  return new Warden(options);
}
