import { randomBytes } from "node:crypto";
import express, { type Router } from "express";
import { Cluster, Redis } from "ioredis";
import { AuditLog, auditKeysFrom } from "./admin/audit.js";
import { FeedHub } from "./admin/feed.js";
import { createAdminRouter, type AdminApiOptions } from "./admin/http.js";
import { createConsoleRouter } from "./admin/console.js";
import { StaffService } from "./admin/staff.js";
import { AdminService } from "./admin/service.js";
import { TypedEmitter, type WardenEvents } from "./events.js";
import { WardenError, toError } from "./errors.js";
import { ChatDetector } from "./guard/chat.js";
import { Guard, OFFENSE_TRACKS } from "./guard/guard.js";
import { deriveDigitalId, isValidSubject, type DigitalId } from "./identity/digital-id.js";
import type { Identity } from "./identity/identify.js";
import { resolveOptions, type ResolvedOptions, type WardenOptions } from "./options.js";
import type { ChatCheck, PluginHost } from "./plugin/host.js";
import { batchingSocket } from "./plugin/intercept.js";
import { dropInputsIfFrozen, WardenPlugin } from "./plugin/plugin.js";
import { Escalation } from "./policy/escalation.js";
import { boundEvidence, type Detector, type Evidence, type OffenseEvent } from "./recorder/offense.js";
import { Recorder, type RecorderStats } from "./recorder/recorder.js";
import { ReportService } from "./reports/service.js";
import { createPlayerRouter } from "./admin/player.js";
import { createDueProcess, type DueProcess } from "./reviews/due-process.js";
import { ChatTape } from "./reviews/evidence.js";
import { randomBase32 } from "./util/base32.js";
import type { EvasionRecord, EvidenceRecord } from "./reviews/model.js";
import { Enforcer } from "./sanctions/enforcer.js";
import { SanctionsService } from "./sanctions/service.js";
import type { LiveSession } from "./sanctions/standing.js";
import { CLOSE_BANNED, CLOSE_KICKED } from "./sanctions/enforcer.js";
import { JOIN_TOO_MANY_SESSIONS, JoinGate, type JoinDenial } from "./sessions/gate.js";
import { EvasionService, type RawSignals } from "./signals/evasion.js";
import type { Signal } from "./signals/model.js";
import { ProcessRegistry } from "./sessions/registry.js";
import { createMetrics, originOf, type GateOutcome, type WardenMetrics } from "./metrics/metrics.js";
import { createMetricsRouter, metricsAccess, type MetricsRoutesOptions } from "./metrics/http.js";
import type { Registry } from "prom-client";
import type { Sanction } from "./sanctions/model.js";
import { formatInstant } from "./util/time.js";
import { MemoryStore } from "./stores/memory/memory-store.js";
import { RedisStore } from "./stores/redis/redis-store.js";
import type { SessionBinding, WardenStore } from "./stores/store.js";
import { holdCoarseClock } from "./util/clock.js";
import { withTimeout } from "./util/timeout.js";

export { JOIN_STORE_UNAVAILABLE, JOIN_TOO_MANY_SESSIONS } from "./sessions/gate.js";
export type { JoinDenial } from "./sessions/gate.js";

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

/**
 * A warden: one per server process. Wires the parts — store, sanctions service, enforcer
 * of this process's live sessions, guard, recorder and escalation, join gate, process
 * registry, reports, the moderators' service — and offers the public API. Rooms take part
 * through {@link Warden.plugin}, which sees only a {@link PluginHost}.
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
  /** The moderators' service (lookups, sanctions, export, forget — all audited); the HTTP API and the CLI call it. */
  readonly admin: AdminService;
  /**
   * Ban evasion: the links between IDs (with reasons), the evasion queue and its decisions.
   * Staff reach it through {@link Warden.admin} (audited); this is the unaudited service.
   */
  readonly evasion: EvasionService;
  /** @internal The live-session side of sanctions. */
  readonly enforcer: Enforcer;
  /** @internal The hot-path detectors. */
  readonly guard: Guard<LiveSession>;
  /** @internal Background writer of offense events. */
  readonly recorder: Recorder;
  private readonly feed: FeedHub;
  /** Personal staff credentials (their keys stay in this process). */
  private readonly staff: StaffService;
  /** The keyed audit log (its keys stay in this process). */
  private readonly audit: AuditLog;
  private readonly reports: ReportService;
  /** Appeals, report cases, transparency counters. */
  private readonly due: DueProcess;
  /** The last chat lines per room, for evidence snapshots (opt-in). */
  private readonly tape: ChatTape | null;
  /** When a snapshot was last kept per `<did>|<roomId>` (bounded), so that a flood makes one record a minute. */
  private readonly evidenceTaken = new Map<string, number>();
  private readonly chat: ChatCheck | null;
  private readonly escalation: Escalation;
  private readonly gate: JoinGate;
  private readonly registry: ProcessRegistry;
  private readonly host: PluginHost;
  private readonly counters = { offenses: 0, storeErrors: 0, frameDisagreements: 0 };
  /** This warden's Prometheus metrics (its own registry). */
  private readonly metrics: WardenMetrics;
  /** The sanction whose propagation was observed last: one observation per sanction, not one per session. */
  private lastPropagated = "";
  /** Sessions whose join's evasion check is under way, by ID (the flag is recorded as their offense). */
  private readonly checking = new Map<DigitalId, LiveSession>();
  private readonly ownsStore: boolean;
  private readonly subscribed: Promise<void>;
  private unsubscribe: (() => Promise<void>) | undefined;
  private storeDown = false;
  /** Refusals (`STORE_SCRIPT`) logged so far: the first few, not a line per batch. */
  private scriptErrorsLogged = 0;
  private closed = false;
  /** Live sessions of this warden's rooms in this process; the coarse clock runs while there is one. */
  private liveSessions = 0;
  private releaseClock: (() => void) | undefined;

  constructor(options: WardenOptions) {
    super();
    this.options = resolveOptions(options);
    const { store, prefix, logger, policy, retention } = this.options;
    this.processId = this.options.processId ?? `p${randomBytes(6).toString("hex")}`;
    if (store === undefined) {
      logger.warn(
        "no store configured: using the embedded MemoryStore — sanctions are neither shared between processes nor kept across restarts",
      );
      this.store = new MemoryStore();
      this.ownsStore = true;
    } else if (typeof store === "string" || store instanceof Redis || store instanceof Cluster) {
      this.store = new RedisStore({ connection: store, prefix });
      this.ownsStore = true;
    } else {
      this.store = store;
      this.ownsStore = false;
    }
    const storeFailed = (operation: string, cause: unknown) => this.storeFailed(operation, cause);
    const closed = () => this.closed;

    // Read at scrape time: the parts keep plain counters, the metrics read them.
    this.metrics = createMetrics({
      guard: () => this.guard.counts,
      recorder: () => this.recorder.stats,
      frameDisagreements: () => this.counters.frameDisagreements,
      storeErrors: () => this.counters.storeErrors,
      auditAppends: () => this.audit.appended,
      liveSessions: () => {
        let n = 0;
        for (const _ of this.enforcer.liveSessions()) n++;
        return n;
      },
    });
    this.enforcer = new Enforcer(this.options, (event) => {
      // Several sessions of one ID are reached in one go: the sanction's latency is observed once.
      if (event.sanction.id !== this.lastPropagated) {
        this.lastPropagated = event.sanction.id;
        this.metrics.propagated(event.sanction.kind, (Date.now() - event.sanction.start) / 1000);
      }
      this.emit("sanction:enforced", event);
    });
    this.enforcer.restricted = dropInputsIfFrozen;
    this.enforcer.batching = batchingSocket;
    const dueOptions = this.options.dueProcess;
    this.tape = dueOptions.evidence.enabled ? new ChatTape(dueOptions.evidence.lines) : null;
    this.sanctions = new SanctionsService(
      this.store,
      retention,
      {
        before: (sanction) => {
          let veto: string | null = null;
          this.emit("sanction:before", {
            sanction,
            cancel: (reason) => {
              veto ??= String(reason || "cancelled");
            },
          });
          return veto;
        },
        // Applied here at once, without waiting for the bus's echo (the enforcer acts once).
        issued: (sanction) => {
          this.metrics.sanction(sanction);
          this.logSanction(sanction);
          this.enforcer.apply({ type: "issued", sanction });
          this.reports.noteSanctions(sanction.did, [sanction]);
          this.due.transparency.issued(sanction);
          this.emit("sanction:applied", sanction);
        },
        revoked: (sanction) => {
          this.due.transparency.revoked(sanction);
          if (sanction.revoked)
            this.enforcer.apply({
              type: "revoked",
              did: sanction.did,
              sanctionId: sanction.id,
              revocation: sanction.revoked,
            });
          this.emit("sanction:revoked", sanction);
        },
      },
      { appealWindowMs: dueOptions.appealWindowMs },
    );
    this.due = createDueProcess(this.store, dueOptions, {
      storeFailed,
      findSanction: (id) => this.sanctions.find(id),
    });
    this.feed = new FeedHub(
      this.store,
      (e) => storeFailed("feed", e),
      async (did) => (await this.store.profileOf(did))?.name ?? null,
    );
    this.evasion = new EvasionService(this.store, this.options.secret, this.options.evasion, {
      flagged: (record) => this.flagged(record),
      // A check still under way when the warden closes meets a closed store: nothing to report.
      storeFailed: (operation, cause) => {
        if (!this.closed) storeFailed(operation, cause);
      },
      // The automatic mute is lifted by the admin service's decision (audited), not here.
      dismissed: () => {},
    });
    this.staff = new StaffService(this.store, this.options.secret, (m) => logger.warn(m));
    // The audit keys live in this process only: derived here, never handed to the store.
    this.audit = new AuditLog(
      this.store,
      retention.auditMs,
      auditKeysFrom(this.options.audit.key ?? this.options.secret),
      Date.now,
      {
        checkpoints: this.options.audit.checkpoints,
        log: logger,
        processId: this.processId,
      },
    );
    this.admin = new AdminService(
      this.store,
      this.sanctions,
      this.audit,
      { ...this.options, forgotten: (did) => this.tape?.forget(did) },
      this.due,
      undefined,
      this.evasion.enabled ? this.evasion : undefined,
      this.staff,
    );

    const chat = this.options.guard.chat;
    if (chat === false) this.chat = null;
    else {
      const { types: _types, field, recordText, tracks, ...detector } = chat;
      this.chat = { detector: new ChatDetector(detector), field, recordText, tracks };
    }
    this.guard = new Guard<LiveSession>(
      this.options.guard,
      {
        offense: (session, detector, kind, evidence) => this.offense(session, detector, kind, evidence),
        remind: (session, kind) => this.enforcer.remind(session, kind),
      },
      { muted: this.options.muteTypes, frozen: this.options.freezeTypes, chat: chat === false ? [] : chat.types },
    );
    this.reports = new ReportService(this.store, this.due.cases, this.due.transparency, this.options.reports, {
      offense: (session, detector, kind, evidence) => this.offense(session, detector, kind, evidence),
      storeFailed,
      present: (did) => (this.enforcer.peek(did)?.sessions.size ?? 0) > 0,
      notify: (did, notice) => this.due.notify(did, notice),
      queued: (target, record) => {
        this.emit("case:queued", record);
        this.interim(target.did, record.count);
      },
      snapshot: (reporter) => this.tape?.snapshot(reporter.room),
    });
    this.escalation = new Escalation(policy, this.options.conduct, this.sanctions, logger, { storeFailed, closed });
    this.recorder = new Recorder(this.store, retention.eventsMs, this.options.recorder, {
      halfLifeOf: (track) => policy.tracks.get(track)?.halfLifeMs ?? 600_000,
      ladderOf: (track) => policy.tracks.get(track)?.ladder,
      recorded: (events, results) => this.escalation.recorded(events, results),
      failed: (error) => storeFailed("recordOffenses", error),
      overflow: (dropped) =>
        logger.error(`offense buffer full: ${dropped} event(s) dropped so far (store unavailable too long?)`),
      flushed: (durationMs, _events, ok) => this.metrics.flushed(durationMs, ok),
    });
    this.gate = new JoinGate(
      this.store,
      this.enforcer,
      { ...this.options, processId: this.processId },
      {
        subscribed: () => this.subscribed,
        closed,
        storeFailed,
        loaded: (session, sanctions) => this.reports.noteSanctions(session.did, sanctions),
      },
    );
    this.registry = new ProcessRegistry(
      this.store,
      this.enforcer,
      { ...this.options, processId: this.processId },
      {
        storeFailed,
        storeRecovered: () => this.storeRecovered(),
        bound: (binding) => this.emit("session:bound", binding),
        unbound: (binding) => this.emit("session:unbound", binding),
      },
    );
    this.host = this.pluginHost();
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
    if (identity.anonymous === true && this.options.anonymousPlayers === "refuse") return null;
    return identity;
  }

  /** A Colyseus room plugin bound to this warden: `plugins = definePlugins([warden.plugin()])`. */
  plugin(): WardenPlugin {
    return new WardenPlugin(this.host);
  }

  /**
   * The admin HTTP API as an express router: `app.use("/warden/api", warden.adminRoutes())`.
   * Configured tokens default to `WARDEN_ADMIN_TOKEN` (admin), `WARDEN_MODERATOR_TOKEN`
   * (moderator) and `WARDEN_VIEWER_TOKEN` (viewer); personal tokens are issued by an admin
   * (`POST /staff`). With no configured token the router is empty (the API is not there)
   * and a line says so.
   */
  adminRoutes(options: AdminApiOptions = {}): Router {
    const env = (name: string) => (process.env[name] ? [process.env[name] as string] : []);
    const tokens = {
      adminTokens: options.adminTokens ?? env("WARDEN_ADMIN_TOKEN"),
      moderatorTokens: options.moderatorTokens ?? env("WARDEN_MODERATOR_TOKEN"),
      viewerTokens: options.viewerTokens ?? env("WARDEN_VIEWER_TOKEN"),
    };
    const router = createAdminRouter(
      this.admin,
      this.feed,
      { ...options, ...tokens },
      (m) => this.options.logger.error(m),
      this.staff,
    );
    if (router === null) {
      this.options.logger.info("admin API disabled: no WARDEN_ADMIN_TOKEN or WARDEN_VIEWER_TOKEN configured");
      return express.Router();
    }
    this.options.logger.info(
      `admin API enabled (${tokens.adminTokens.length} admin, ${tokens.moderatorTokens.length} moderator, ${tokens.viewerTokens.length} viewer token(s) configured; personal staff tokens issued by an admin)`,
    );
    return router;
  }

  /**
   * This warden's Prometheus registry (its own, never prom-client's global one): e.g. to add
   * `collectDefaultMetrics({ register: warden.metricsRegistry })`, or to merge it into an
   * application's own registry with `Registry.merge`.
   */
  get metricsRegistry(): Registry {
    return this.metrics.registry;
  }

  /**
   * The Prometheus endpoint as an express router: `app.use("/warden/metrics",
   * warden.metricsRoutes())`; `GET /` answers the text format. The token defaults to
   * `WARDEN_METRICS_TOKEN`; scrapers send `Authorization: Bearer <token>`. Without a token
   * the router serves nothing (every path 404s, a line says so) unless `{ public: true }`.
   * Throws `INVALID_OPTION` for a token shorter than 16 characters.
   */
  metricsRoutes(options: MetricsRoutesOptions = {}): Router {
    const access = metricsAccess(options, process.env.WARDEN_METRICS_TOKEN);
    const router = createMetricsRouter(this.metrics.registry, access, (m) => this.options.logger.error(m));
    if (router === null) {
      this.options.logger.info(
        "metrics disabled: no WARDEN_METRICS_TOKEN (or metricsRoutes({ token })) configured, and not { public: true }",
      );
      return express.Router();
    }
    this.options.logger.info(
      access.kind === "public" ? "metrics enabled, public (no token)" : "metrics enabled (bearer token)",
    );
    return router;
  }

  /**
   * The moderators' web console as an express router:
   * `app.use("/warden/console", warden.consoleRoutes())`, next to `app.use("/warden/api",
   * warden.adminRoutes())` — the console calls the API at `../api`, relative to itself. Static
   * files only, under a strict Content-Security-Policy; every read and act goes through the
   * admin API with the signed-in person's own token.
   */
  consoleRoutes(): Router {
    return createConsoleRouter();
  }

  /** The live sessions of an ID, in every process. */
  sessions(did: DigitalId): Promise<SessionBinding[]> {
    return this.store.sessionsOf(did);
  }

  /** Counters: events recorded, buffered, overflowed, replayed; offenses; policy sanctions; store errors; frame disagreements. */
  stats(): WardenStats {
    return { ...this.recorder.stats, ...this.counters, policySanctions: this.escalation.issued };
  }

  /**
   * Records an offense of a live session: synchronous, buffered, written in the
   * background; the policy reads the resulting points and may sanction.
   */
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence, trackOf?: string): void {
    const known = OFFENSE_TRACKS[kind] ?? { track: "malformed", severity: 1 };
    const track = trackOf ?? known.track;
    const severity = known.severity;
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
    this.metrics.offense(track, detector);
    this.recorder.record(event);
    if (this.tape !== null && detector === "chat") this.keepEvidence(session, kind);
  }

  /** Stores the room's last chat lines with a chat offense (opt-in evidence snapshot); best effort. */
  private keepEvidence(session: LiveSession, kind: string): void {
    // At most one snapshot per ID and room a minute: a flood of abuse is one record, not thousands.
    const key = `${session.did}|${session.room.roomId}`;
    const now = Date.now();
    const last = this.evidenceTaken.get(key);
    if (last !== undefined && now - last < 60_000) return;
    this.evidenceTaken.delete(key);
    this.evidenceTaken.set(key, now);
    if (this.evidenceTaken.size > 10_000) this.evidenceTaken.delete(this.evidenceTaken.keys().next().value as string);
    const snapshot = this.tape?.snapshot(session.room);
    if (snapshot === undefined) return;
    const suffix = randomBase32(8);
    const record: EvidenceRecord = {
      type: "evidence",
      id: `${session.did}.${suffix}.e`,
      did: session.did,
      rev: 1,
      openedAt: snapshot.takenAt,
      state: "kept",
      kind: kind.slice(0, 40),
      snapshot,
    };
    const others = [...new Set(snapshot.lines.map((l) => l.did))].filter((d) => d !== session.did);
    this.store
      .saveReview(record, null, this.options.dueProcess.evidence.retentionMs, others)
      .catch((e: unknown) => this.storeFailed("saveEvidence", e));
  }

  /**
   * A report case entered the review queue: what reports alone may do meanwhile — by
   * default nothing; at most a warn or a short mute (`dueProcess.reportAction`), never more.
   */
  private interim(did: DigitalId, reports: number): void {
    const action = this.options.dueProcess.reportAction;
    if (action === "none") return;
    const rule = this.options.conduct.ruleForTrack("reported") ?? this.options.conduct.rule("reports") ?? null;
    this.sanctions
      .issue({
        did,
        kind: action,
        reason: "reported by several players; a moderator will review it",
        by: "policy",
        ...(action === "mute" ? { duration: this.options.dueProcess.reportMuteMs } : {}),
        grounds: { rule, reports, automatedDetection: false },
      })
      .catch((e: unknown) => this.storeFailed("interim sanction", e));
  }

  /**
   * The evasion checks of a session that joined: hashed and checked after the join
   * completed (never awaited by it); the raw values go no further than the hashing.
   */
  private checkSignals(session: LiveSession, raw: RawSignals): void {
    setImmediate(() => {
      if (this.closed) return;
      let signals: Signal[];
      try {
        signals = this.evasion.signalsOf(raw);
      } catch {
        return; // values from outside that nothing could read: no signals, nothing else
      }
      if (signals.length === 0) return;
      const did = session.did;
      this.checking.set(did, session);
      void this.evasion.joined(did, signals).finally(() => {
        if (this.checking.get(did) === session) this.checking.delete(did);
      });
    });
  }

  /**
   * A suspected evasion was flagged: a `suspected_evasion` event of the ID (feed, `tail`;
   * the `evasion` track has no ladder unless the operator gives it one, so it never
   * escalates) whose evidence is the link's strength, signal types and the record's id —
   * not the banned ID; `evasion:flagged`; and, if the operator opted in, a short mute while
   * a person decides. Never a ban.
   */
  private flagged(record: EvasionRecord): void {
    const session = this.checking.get(record.did) ?? this.enforcer.peek(record.did)?.sessions.values().next().value;
    if (session !== undefined)
      this.offense(session, "evasion", "suspected_evasion", {
        strength: record.link.strength,
        types: record.link.signals
          .filter((s) => !s.crowded)
          .map((s) => s.type)
          .join(","),
        record: record.id,
      });
    this.emit("evasion:flagged", record);
    const { action, muteMs } = this.options.evasion;
    if (action !== "mute") return;
    this.sanctions
      .issue({
        did: record.did,
        kind: "mute",
        duration: muteMs,
        reason: "suspected use of another account while banned; a moderator will review it",
        by: "policy",
        grounds: { rule: this.options.conduct.rule("evasion") ?? null, automatedDetection: true },
      })
      .then((result) =>
        result.status === "issued" ? this.evasion.noteInterim(record.id, result.sanction.id) : undefined,
      )
      .catch((e: unknown) => this.storeFailed("evasion mute", e));
  }

  /**
   * The player API as an express router: `app.use("/warden/player", warden.playerRoutes())`.
   * A player authenticates with their own game credential (the `verifyPlayer` option) and
   * may read their sanctions and statements, appeal (also while banned), see their reports'
   * outcomes and export their own data. Without `verifyPlayer` the router is empty and a
   * line says so.
   */
  playerRoutes(): Router {
    const verify = this.options.verifyPlayer;
    if (verify === undefined) {
      this.options.logger.info("player API disabled: no verifyPlayer option configured");
      return express.Router();
    }
    const notices = this.options.notices;
    return createPlayerRouter({
      admin: this.admin,
      appeals: this.due.appeals,
      cases: this.due.cases,
      authenticate: async (token) => {
        let identity: Identity | null | undefined;
        try {
          identity = await verify(token);
        } catch {
          return null;
        }
        if (typeof identity !== "object" || identity === null || !isValidSubject(identity.subject)) return null;
        if (identity.issuer !== undefined && !isValidSubject(identity.issuer)) return null;
        if (identity.anonymous === true && this.options.anonymousPlayers === "refuse") return null;
        return this.digitalId(identity.subject, identity.issuer);
      },
      describe: (sanction, locale) => notices.sanction(sanction, locale),
      locale: (requested) => notices.locale(requested),
      logError: (m) => this.options.logger.error(m),
    });
  }

  /** Stops timers and subscriptions, unregisters this process, and closes a store it opened. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.releaseClock?.();
    this.releaseClock = undefined;
    this.guard.ledger.stop();
    this.reports.stop();
    await this.recorder.close(this.options.storeTimeoutMs);
    await this.subscribed.catch(() => {});
    await this.unsubscribe?.().catch(() => {});
    await this.registry.close((work) => withTimeout(work, this.options.storeTimeoutMs, "retire"));
    this.enforcer.clear();
    // A last checkpoint of what this process appended, before the store goes.
    await this.audit.close();
    if (this.ownsStore) await this.store.close();
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.options.logger.error(`a "${event}" listener threw: ${toError(error).message}`);
  }

  /**
   * One line per sanction issued from this process: its pseudonymous ID, kind, reason code
   * (the rule's id, else the ladder's track, else `free_text` — a moderator's own words are
   * not logged), origin and end. Never an account ID, a name or the issuer's name.
   */
  private logSanction(sanction: Sanction): void {
    const statement = sanction.statement;
    const reason = statement?.rule?.id ?? statement?.ladder?.track ?? "free_text";
    const until =
      sanction.kind === "warn" || sanction.kind === "kick"
        ? ""
        : ` until=${sanction.end === null ? "permanent" : formatInstant(sanction.end)}`;
    try {
      this.options.logger.info(
        `sanction issued: did=${sanction.did} kind=${sanction.kind} reason=${reason} origin=${originOf(sanction)}${until} id=${sanction.id}`,
      );
    } catch {
      // A throwing logger must not undo an issued sanction's enforcement.
    }
  }

  /** Records that the store failed, once per outage; the caller goes on from memory. */
  private storeFailed(operation: string, cause: unknown): void {
    const error = toError(cause);
    this.counters.storeErrors++;
    // A refusal (CROSSSLOT, a script error) is no outage: Redis answered, and retrying cannot help.
    if (error instanceof WardenError && error.code === "STORE_SCRIPT") {
      if (this.scriptErrorsLogged++ < 5)
        this.options.logger.error(
          `store refused the call (${operation}): ${error.message}; not retried${operation === "recordOffenses" ? " (the events are dropped, counted in stats().rejected)" : ""}`,
        );
    } else if (!this.storeDown) {
      this.storeDown = true;
      this.options.logger.warn(`store unavailable (${operation}): ${error.message}; going on from memory`);
    }
    this.emit("store:error", error, operation);
  }

  private storeRecovered(): void {
    if (!this.storeDown) return;
    this.storeDown = false;
    this.options.logger.info("store reachable again");
  }

  /** What the room plugin may use of this warden (see {@link PluginHost}). */
  private pluginHost(): PluginHost {
    const { enforcer, guard, registry, reports } = this;
    const release = (session: LiveSession) => {
      enforcer.detach(session);
      guard.ledger.release(session.did, session.standing);
      // The guard's clock runs only while a session can send it frames: an idle process
      // (no players) runs no 4 ms timer (issue 14: 0.017 of a core per idle process).
      if (--this.liveSessions === 0) {
        this.releaseClock?.();
        this.releaseClock = undefined;
      }
    };
    return {
      guard,
      chat: this.chat,
      identify: (auth, joinOptions) => this.identify(auth, joinOptions),
      digitalId: (subject, issuer) => this.digitalId(subject, issuer),
      acquire: (did) => {
        if (this.liveSessions++ === 0 && !this.closed) this.releaseClock = holdCoarseClock();
        const standing = enforcer.standing(did);
        return { standing, flood: guard.ledger.acquire(did, standing) };
      },
      admit: async (session, reservedAt) => {
        const started = performance.now();
        const denial = await this.gate.admit(session, reservedAt);
        this.metrics.gated(performance.now() - started, gateOutcome(denial));
        return denial;
      },
      joined: (session) => {
        enforcer.attach(session);
        registry.bind(session);
      },
      signals: this.evasion.enabled ? (session, raw) => this.checkSignals(session, raw) : null,
      drop: release,
      leave: async (session) => {
        release(session);
        await registry.unbind(session);
      },
      offense: (session, detector, kind, evidence, track) => this.offense(session, detector, kind, evidence, track),
      remind: (session, kind) => enforcer.remind(session, kind),
      publishRestriction: (session) => enforcer.publishRestriction(session),
      report: (from, target, input) => reports.file(from, target, input),
      appeal: async (from, sanctionId, text) => {
        try {
          const appeal = await this.due.appeals.file(from.did, sanctionId, text, "room");
          return { status: "filed", appealId: appeal.id, state: appeal.state };
        } catch (e) {
          const code = e instanceof WardenError ? e.code : "INTERNAL";
          if (!(e instanceof WardenError) || code.startsWith("STORE")) this.storeFailed("appeal", e);
          return {
            status: "rejected",
            code,
            reason:
              e instanceof WardenError && !code.startsWith("STORE") ? e.message : "appeals are unavailable right now",
          };
        }
      },
      noteChat: this.tape === null ? null : (session, text) => this.tape?.note(session.room, session.did, text),
      roomClosed: (roomId) => this.tape?.drop(roomId),
      frameDisagreement: (detail) => {
        if (this.counters.frameDisagreements++ === 0)
          this.options.logger.error(
            `frame decoded differently by the guard and by Colyseus (dropped): ${detail.slice(0, 200)}`,
          );
      },
    };
  }

  private async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new WardenError("CLOSED", "the warden was closed before it connected");
      try {
        await this.store.connect();
        this.unsubscribe = await this.store.subscribe(
          (message) => {
            this.enforcer.apply(message);
            if (message.type === "issued") this.reports.noteSanctions(message.sanction.did, [message.sanction]);
            this.feed.bus(message);
          },
          (since) => void this.registry.resync(since),
          (reason, count) => {
            if (count === 1)
              this.options.logger.warn(`dropped a ${reason} on the bus; further ones are counted, not logged`);
          },
        );
        break;
      } catch (e) {
        this.storeFailed("connect", e);
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, this.options.heartbeatMs)).unref());
      }
    }
    this.storeDown = false;
    await this.registry.start();
  }
}

/** The `outcome` label of a join gate check. */
function gateOutcome(denial: JoinDenial | null): GateOutcome {
  if (denial === null) return "admitted";
  switch (denial.code) {
    case CLOSE_BANNED:
      return "banned";
    case CLOSE_KICKED:
      return "kicked";
    case JOIN_TOO_MANY_SESSIONS:
      return "too_many_sessions";
    default:
      return "unavailable";
  }
}

/**
 * Creates a warden: validates `options` (throwing `INVALID_OPTION` with the option's name),
 * opens the store, and subscribes to sanctions issued anywhere.
 */
export function createWarden(options: WardenOptions): Warden {
  return new Warden(options);
}
