import { assertDigitalId, isDigitalId, type DigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import { decay, type Policy } from "../policy/ladder.js";
import type { OffenseEvent } from "../recorder/offense.js";
import { isActive, type Sanction, type SanctionRequest } from "../sanctions/model.js";
import type { IssueResult, RevokeResult, SanctionsService } from "../sanctions/service.js";
import type {
  AuditStore,
  ErasureStore,
  OffenseStore,
  Profile,
  ProfileStore,
  ReportStore,
  SanctionStore,
  SessionBinding,
  SessionStore,
  StoreRetention,
} from "../stores/store.js";
import type { AuditEntry, AuditFace, AuditLog, AuditVerification } from "./audit.js";

/** Who is acting, from which face, and (for lookups) why. */
export interface Actor {
  face: AuditFace;
  /** `cli:<user>`, `api:moderator`, `api:viewer:<name>`… recorded as the sanction's `by` too. */
  who: string;
  why?: string | null;
}

/** What a moderator sees of an identity at a glance. */
export interface IdentitySummary {
  did: DigitalId;
  profile: Profile | null;
  sessions: SessionBinding[];
  active: Sanction[];
  /** Points per track, decayed to now. */
  points: Record<string, { points: number; count: number }>;
}

/** Everything the store holds about one ID. */
export interface IdentityExport {
  did: DigitalId;
  exportedAt: string;
  profile: Profile | null;
  sessions: SessionBinding[];
  sanctions: Sanction[];
  events: OffenseEvent[];
  points: Record<string, { points: number; count: number }>;
  reportsAgainst: { reporter: DigitalId; at: number; weight: number }[];
  /** Who looked at or acted on this ID: the audit entries about it. */
  audit: AuditEntry[];
}

/** Options of the admin service. */
export interface AdminServiceOptions {
  policy: Policy;
  retention: StoreRetention & { namesMs: number };
}

const MAX_EXPORT_EVENTS = 100_000;

/**
 * The moderators' service: the CLI and the HTTP API are thin faces over it. Every act,
 * and every look at an identity's data, goes into the audit log first.
 */
export class AdminService {
  constructor(
    private readonly store: ProfileStore &
      SessionStore &
      SanctionStore &
      OffenseStore &
      ReportStore &
      AuditStore &
      ErasureStore,
    readonly sanctions: SanctionsService,
    readonly audit: AuditLog,
    private readonly options: AdminServiceOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Finds identities by digital ID or by last-seen display name (audited, one entry per identity shown). */
  async lookup(query: string, actor: Actor): Promise<IdentitySummary[]> {
    if (typeof query !== "string" || query.trim().length === 0)
      throw new WardenError("INVALID_REQUEST", "lookup needs a digital ID or a display name");
    const byDid = isDigitalId(query);
    const dids = byDid
      ? [query]
      : (await this.store.didsByName(query, this.now(), this.options.retention.namesMs)).map((d) => d.did);
    const found: IdentitySummary[] = [];
    for (const did of dids) {
      const summary = await this.summary(did);
      if (summary !== null) found.push(summary);
    }
    if (found.length === 0) {
      await this.record(actor, "lookup", null, { by: byDid ? "did" : "name", found: 0 });
    }
    for (const s of found) await this.record(actor, "lookup", s.did, { by: byDid ? "did" : "name" });
    return found;
  }

  /** One identity's summary (audited); throws IDENTITY_NOT_FOUND when the store holds nothing about it. */
  async identity(did: DigitalId, actor: Actor): Promise<IdentitySummary> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: "summary" });
    const summary = await this.summary(did);
    if (summary === null) throw new WardenError("IDENTITY_NOT_FOUND", `the store holds nothing about ${did}`);
    return summary;
  }

  /** Sanctions of an ID: in force, or every stored one with `all` (audited). */
  async sanctionsOf(did: DigitalId, actor: Actor, options: { all?: boolean } = {}): Promise<Sanction[]> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: options.all ? "all sanctions" : "active sanctions" });
    return options.all ? this.sanctions.history(did) : this.sanctions.active(did);
  }

  /** An ID's offense events, newest first, paged with `before` (audited). */
  async events(did: DigitalId, actor: Actor, options: { limit: number; before?: string }): Promise<OffenseEvent[]> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: "events" });
    return this.store.offensesOf(did, options);
  }

  /** An ID's live sessions in every process (audited). */
  async sessions(did: DigitalId, actor: Actor): Promise<SessionBinding[]> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: "sessions" });
    return this.store.sessionsOf(did);
  }

  /**
   * Issues a sanction as `actor`; `by` (the issuer shown on the sanction) defaults to the
   * actor. The audit entry (with the sanction's id, kind and end) is written before the
   * sanction is stored: no sanction without its entry. A veto is recorded too.
   */
  async issue(request: Omit<SanctionRequest, "by"> & { by?: string }, actor: Actor): Promise<IssueResult> {
    const drafted = this.sanctions.draft({ ...request, by: request.by ?? actor.who });
    if (drafted.status === "cancelled") {
      await this.record(actor, "issue", request.did, { kind: request.kind, cancelled: drafted.reason });
      return drafted;
    }
    const { sanction } = drafted;
    const entry = await this.record(actor, "issue", sanction.did, {
      sanctionId: sanction.id,
      kind: sanction.kind,
      end: sanction.end,
    });
    return this.thenAct(entry, actor, { sanctionId: sanction.id }, () => this.sanctions.commit(sanction));
  }

  /**
   * Revokes a sanction as `actor`, entry first. No entry when there is no such sanction:
   * then nothing happens. If the outcome is not the one the entry announced (another
   * moderator revoked it meanwhile), a second entry says what happened.
   */
  async revoke(sanctionId: string, reason: string, actor: Actor, by: string = actor.who): Promise<RevokeResult> {
    if (typeof sanctionId !== "string") throw new WardenError("INVALID_SANCTION", "a sanction id is a string");
    const existing = await this.sanctions.find(sanctionId);
    if (existing === null) return { status: "not_found" };
    const expected = existing.revoked ? "already_revoked" : "revoked";
    const entry = await this.record(actor, "revoke", existing.id, { status: expected });
    const result = await this.thenAct(entry, actor, {}, () => this.sanctions.revoke(existing.id, { by, reason }));
    if (result.status !== expected) {
      await this.record(actor, "revoke", existing.id, { status: result.status, entry: entry.seq }).catch(() => {});
    }
    return result;
  }

  /** Everything the store holds about an ID, as one document (audited; the entry holds counts, not the data). */
  async export(did: DigitalId, actor: Actor): Promise<IdentityExport> {
    assertDigitalId(did);
    const [profile, sessions, sanctions, events, points, reportsAgainst, audit] = await Promise.all([
      this.store.profileOf(did),
      this.store.sessionsOf(did),
      this.store.sanctionsOf(did),
      this.store.offensesOf(did, { limit: MAX_EXPORT_EVENTS }),
      this.decayedPoints(did),
      this.store.reportsAgainst(did),
      this.auditAbout(did),
    ]);
    await this.record(actor, "export", did, { sanctions: sanctions.length, events: events.length });
    return {
      did,
      exportedAt: new Date(this.now()).toISOString(),
      profile,
      sessions,
      sanctions,
      events,
      points,
      reportsAgainst,
      audit,
    };
  }

  /**
   * Erases an ID's events, history, points, bindings, names and reports. An active ban
   * stays as a minimal record (ID, kind, end) so that erasure is no way out of it, unless
   * `includingSanctions`. The audit entry, written first, records the act, not the erased data.
   */
  async forget(
    did: DigitalId,
    actor: Actor,
    options: { includingSanctions?: boolean } = {},
  ): Promise<{ keptBans: number }> {
    assertDigitalId(did);
    const now = this.now();
    const keep = options.includingSanctions
      ? []
      : (await this.store.sanctionsOf(did))
          .filter((s) => s.kind === "ban" && isActive(s, now))
          .map(
            (s): Sanction => ({
              id: s.id,
              did,
              kind: "ban",
              reason: "(erased)",
              by: "(erased)",
              start: s.start,
              end: s.end,
            }),
          );
    const entry = await this.record(actor, "forget", did, {
      keptBans: keep.length,
      includingSanctions: options.includingSanctions === true,
    });
    await this.thenAct(entry, actor, {}, () => this.store.forget(did, keep, this.options.retention));
    return { keptBans: keep.length };
  }

  /** The audit log, newest first (reading the log is not itself audited). */
  auditLog(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    return this.audit.list(options);
  }

  /** Checks the audit log's hash chain. */
  verifyAudit(): Promise<AuditVerification> {
    return this.audit.verify();
  }

  /** Records that `actor` watches the live feed (before the first event reaches them). */
  async watchFeed(actor: Actor): Promise<void> {
    await this.record(actor, "view", null, { what: "live feed" });
  }

  private record(
    actor: Actor,
    action: AuditEntry["action"],
    target: string | null,
    detail: AuditEntry["detail"],
  ): Promise<AuditEntry> {
    return this.audit.append({ actor: actor.who, face: actor.face, action, target, why: actor.why ?? null, detail });
  }

  /**
   * Performs an act whose entry is already in the log. If the act fails, appends an entry
   * that says so (best effort: the store may be down for it too) and rethrows the failure.
   */
  private async thenAct<T>(
    entry: AuditEntry,
    actor: Actor,
    detail: AuditEntry["detail"],
    act: () => Promise<T>,
  ): Promise<T> {
    try {
      return await act();
    } catch (e) {
      const failed = e instanceof WardenError ? e.code : "INTERNAL";
      await this.record(actor, entry.action, entry.target, { ...detail, failed, entry: entry.seq }).catch(() => {});
      throw e;
    }
  }

  private async summary(did: DigitalId): Promise<IdentitySummary | null> {
    const [profile, sessions, active, points, lastEvent] = await Promise.all([
      this.store.profileOf(did),
      this.store.sessionsOf(did),
      this.sanctions.history(did),
      this.decayedPoints(did),
      this.store.offensesOf(did, { limit: 1 }),
    ]);
    if (
      profile === null &&
      sessions.length === 0 &&
      active.length === 0 &&
      Object.keys(points).length === 0 &&
      lastEvent.length === 0
    )
      return null;
    const now = this.now();
    return { did, profile, sessions, active: active.filter((s) => isActive(s, now)), points };
  }

  private async decayedPoints(did: DigitalId): Promise<Record<string, { points: number; count: number }>> {
    const raw = await this.store.pointsOf(did);
    const now = this.now();
    const out: Record<string, { points: number; count: number }> = {};
    for (const [track, p] of Object.entries(raw)) {
      const halfLife = this.options.policy.tracks.get(track)?.halfLifeMs ?? 600_000;
      out[track] = { points: Math.round(decay(p.points, now - p.at, halfLife) * 1000) / 1000, count: p.count };
    }
    return out;
  }

  private async auditAbout(did: DigitalId): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let after = "0";
    for (;;) {
      const page = await this.store.auditRange(after, 1000);
      if (page.length === 0) return out;
      for (const e of page) if (e.target === did) out.push(e);
      after = page[page.length - 1]!.id ?? after;
    }
  }
}
