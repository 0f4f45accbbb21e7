import { assertDigitalId, isDigitalId, type DigitalId } from "../identity/digital-id.js";
import { checkDuration } from "../duration.js";
import { WardenError } from "../errors.js";
import { decay, type Policy } from "../policy/ladder.js";
import type { OffenseEvent } from "../recorder/offense.js";
import { type Grounds, isActive, MAX_REASON_LENGTH, type Sanction, type SanctionRequest } from "../sanctions/model.js";
import type { IssueResult, RevokeResult, SanctionsService } from "../sanctions/service.js";
import { type AppealDecision, type AppealService, type AppliedRemedy, sameActor } from "../reviews/appeals.js";
import type { CaseService, ReportReceipt } from "../reviews/cases.js";
import { forgive } from "../reviews/forgiveness.js";
import type {
  Appeal,
  ConductRule,
  EvasionRecord,
  EvidenceRecord,
  PendingBan,
  ReportCase,
  ReporterStanding,
  ReviewRecord,
} from "../reviews/model.js";
import { type AltLink, SIGNAL_TYPES, type SignalType } from "../signals/model.js";
import type { ResolvedDueProcess } from "../reviews/options.js";
import type { Transparency, TransparencyReport } from "../reviews/transparency.js";
import type {
  AuditStore,
  ErasureStore,
  OffenseStore,
  Profile,
  ProfileStore,
  ReportStore,
  ReviewStore,
  SanctionStore,
  SessionBinding,
  SessionStore,
  StatsStore,
  StoreRetention,
} from "../stores/store.js";
import { randomBase32 } from "../util/base32.js";
import { boundText } from "../util/text.js";
import type { StaffRole, StaffService, StaffView } from "./staff.js";
import type { AuditCheckpoint, AuditEntry, AuditFace, AuditLog, AuditVerification } from "./audit.js";

/** Who is acting, from which face, and (for lookups) why. */
export interface Actor {
  face: AuditFace;
  /** `cli:<user>`, `api:moderator`, `api:viewer:<name>`… recorded as the sanction's `by` too. */
  who: string;
  why?: string | null;
  /** The actor's role (`moderator`, `viewer`…): what a player's statement of reasons names instead of the person. @defaultValue `"moderator"` */
  role?: string;
}

/** The code of conduct as the admin service reads it (src/policy/conduct.ts). */
export interface RuleBook {
  rule(id: string): ConductRule | undefined;
}

/** A moderator's sanction request: the rule broken (by id), besides kind, duration and reason. */
export type StaffSanctionRequest = Omit<SanctionRequest, "by" | "grounds"> & {
  by?: string;
  /** Rule id of the code of conduct; unknown ids are refused with INVALID_REQUEST. */
  rule?: string;
  grounds?: Grounds;
};

/**
 * The ban-evasion service (src/signals/evasion.ts) as the admin service uses it: links with
 * reasons, the evasion queue, decisions, dismissed links, signal counts for exports.
 */
export interface EvasionApi {
  /** Every link of an ID with its reasons, strongest first; dismissed ones marked. */
  alts(did: DigitalId): Promise<AltLink[]>;
  /** The links a ban with alts acts on: strong or medium, not dismissed, not crowded. */
  blastRadius(did: DigitalId): Promise<AltLink[]>;
  /** Open suspected evasions, oldest first. */
  queue(limit: number): Promise<EvasionRecord[]>;
  /** One suspected evasion; throws WardenError CASE_NOT_FOUND. */
  get(id: string): Promise<EvasionRecord>;
  /**
   * Claims the record (compare-and-set), calls `act` for ban/extend (which issues the
   * sanction and answers its id, or null when none was issued), records the outcome; a
   * dismissal remembers the link so that it never flags again.
   */
  decide(
    id: string,
    decision: { action: "ban" | "extend" | "dismiss"; reason: string },
    by: { who: string },
    act: (record: EvasionRecord) => Promise<string | null>,
  ): Promise<EvasionRecord>;
  /** Remembers that the link between two IDs was dismissed (both ways). */
  dismiss(a: DigitalId, b: DigitalId): Promise<void>;
  /** How many signals of each type are kept about an ID: counts only, no hash, no other ID. */
  signalCounts(did: DigitalId): Promise<Record<string, number>>;
}

/** A moderator's decision on a suspected evasion. */
export type EvasionDecision =
  | { action: "ban"; duration?: number; reason: string }
  | { action: "extend"; duration?: number; reason: string }
  | { action: "dismiss"; reason: string };

/** The answer of {@link AdminService.banWithAlts}. */
export interface BanWithAltsResult {
  /** The linked IDs a ban with alts acts on, with their reasons. */
  blastRadius: AltLink[];
  /** With `confirm`: the ban of the ID first, then one ban per alt (each `statement.related` = the first's id). */
  sanctions?: Sanction[];
}

/** The answer of {@link AdminService.revoke}. */
export type AdminRevokeResult = RevokeResult & {
  /**
   * The active sanctions that follow from this one (`statement.related` = its id: bans of
   * its alts, an extension): revoked too with `withAlts`, otherwise offered.
   */
  related: string[];
  /** With `withAlts`: those of `related` this call revoked. */
  relatedRevoked?: string[];
};

/** What a moderator sees of an identity at a glance. */
export interface IdentitySummary {
  did: DigitalId;
  profile: Profile | null;
  sessions: SessionBinding[];
  active: Sanction[];
  /** Points per track, decayed to now. */
  points: Record<string, { points: number; count: number }>;
}

/** A track's ladder as the identity page shows it: its steps (duration null = permanent or once). */
export interface LadderView {
  halfLifeMs: number;
  steps: { at: number; kind: SanctionRequest["kind"]; duration: number | null }[];
}

/** Everything the store holds about one ID. */
export interface IdentityExport {
  did: DigitalId;
  exportedAt: string;
  /** `staff`: full and audited; `subject`: the data subject's own copy, other people redacted (reporters, other players' chat lines, staff names → role). */
  copy: "staff" | "subject";
  profile: Profile | null;
  sessions: SessionBinding[];
  /** With their statements of reasons. */
  sanctions: Sanction[];
  events: OffenseEvent[];
  points: Record<string, { points: number; count: number }>;
  /** Reports against the ID within their window; in the subject's copy without the reporter. */
  reportsAgainst: { reporter?: DigitalId; at: number; weight?: number }[];
  /** Appeals the ID filed. */
  appeals: Appeal[];
  /** Report cases against the ID; in the subject's copy reporters and their reasons are redacted. */
  cases: ReportCase[];
  /** Reports the ID filed (receipts and status). */
  reportsFiled: ReportReceipt[];
  /** The ID's track record as a reporter. */
  reporter: ReporterStanding;
  /** Who looked at or acted on this ID: the audit entries about it (in the subject's copy the actor is a role). */
  audit: AuditEntry[];
  /** With ban-evasion signals on: how many signals of each type are kept about the ID — counts, never values or hashes. */
  signals?: Record<SignalType, number>;
  /** Staff copy only, with signals on: the ID's links to other IDs, with their reasons. */
  alts?: AltLink[];
  /** Permanent bans proposed against the ID under four-eyes (the subject's copy names roles, not people, and no alts). */
  pendingBans: PendingBan[];
}

/** Options of the admin service. */
/** A proposed ban as staff list it: with the display name the subject was last seen under (null when none is known). */
export type PendingBanView = PendingBan & { name: string | null };

export interface AdminServiceOptions {
  policy: Policy;
  retention: StoreRetention & { namesMs: number };
  conduct: RuleBook;
  /** Retention of cases and evidence, for records rewritten when an ID is forgotten; four-eyes for permanent bans. */
  dueProcess: Pick<ResolvedDueProcess, "caseRetentionMs" | "evidence"> &
    Partial<Pick<ResolvedDueProcess, "fourEyesBans" | "pendingBanMs">>;
  /** Called after an ID was forgotten (the warden drops its chat lines held in memory for evidence snapshots). */
  forgotten?: (did: DigitalId) => void;
}

/** The due-process services the admin service decides through. */
export interface DueProcessServices {
  appeals: AppealService;
  cases: CaseService;
  transparency: Transparency;
}

const MAX_EXPORT_EVENTS = 100_000;

/** Newest audit entries a data subject's own export reads (the staff export reads the whole log). */
export const SUBJECT_AUDIT_SCAN = 20_000;

/** Most audit pages (of 1000 entries) read to find the sanctions that follow from a revoked ban. */
const MAX_RELATED_AUDIT_PAGES = 100;

/** The conduct rule a ban of another account of a banned player quotes (src/policy/conduct.ts). */
export const EVASION_RULE = "evasion";

/** What a ban kept after `forget` says instead of its reason. */
export const ERASED = "details erased at your request";

/** The role an issuer string names (`api:moderator:ann` → moderator; `policy` → policy). */
function roleOfIssuer(by: string): string {
  if (by === "policy") return "policy";
  const parts = by.split(":");
  return parts.length >= 2 && /^[a-z]{1,20}$/.test(parts[1]!) && parts[0] === "api" ? parts[1]! : "moderator";
}

/** Signal counts as an export shows them: one whole number per signal type, nothing else. */
function countsBySignalType(counts: Record<string, number>): Record<SignalType, number> {
  const out = {} as Record<SignalType, number>;
  for (const type of SIGNAL_TYPES) {
    const n = Object.hasOwn(counts, type) ? counts[type] : 0;
    out[type] = typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : 0;
  }
  return out;
}

/** The start (UTC) of the day of an instant. */
function startOfDay(at: number): number {
  return Math.floor(at / 86_400_000) * 86_400_000;
}

/** The data subject's copy of an export: other people redacted. */
export function redactForSubject(full: IdentityExport): IdentityExport {
  const sanction = (s: Sanction): Sanction => {
    const out: Sanction = { ...s, by: roleOfIssuer(s.by) };
    if (s.revoked) out.revoked = { ...s.revoked, by: roleOfIssuer(s.revoked.by) };
    // `related` names another ID's sanction (the original ban of a linked account): not the subject's.
    if (s.statement?.related !== undefined) {
      const { related: _related, ...statement } = s.statement;
      out.statement = statement;
    }
    return out;
  };
  const { alts: _alts, ...rest } = full;
  return {
    ...rest,
    sanctions: full.sanctions.map(sanction),
    pendingBans: full.pendingBans.map((b) => {
      const { alts: _a, proposedBy, decidedBy, ...kept } = b;
      return {
        ...kept,
        proposedBy: roleOfIssuer(proposedBy),
        ...(decidedBy === undefined ? {} : { decidedBy: roleOfIssuer(decidedBy) }),
      };
    }),
    // Only the day: exact times, weights and rooms would let a player work out who reported them.
    reportsAgainst: full.reportsAgainst.map(({ at }) => ({ at: startOfDay(at) })),
    appeals: full.appeals.map((a) => {
      const { reviewer: _r, decidedBy, issuedBy, ...rest } = a;
      return {
        ...rest,
        issuedBy: roleOfIssuer(issuedBy),
        ...(decidedBy === undefined ? {} : { decidedBy: roleOfIssuer(decidedBy) }),
      };
    }),
    cases: full.cases.map((c) => {
      const { decidedBy, evidence, ...rest } = c;
      return {
        ...rest,
        reports: c.reports.map((r) => ({
          ...r,
          at: startOfDay(r.at),
          room: "(redacted)",
          reporter: "(redacted)" as DigitalId,
          receipt: "(redacted)",
          reason: "(redacted)",
        })),
        ...(decidedBy === undefined ? {} : { decidedBy: roleOfIssuer(decidedBy) }),
        ...(evidence === undefined
          ? {}
          : { evidence: { ...evidence, lines: evidence.lines.filter((l) => l.did === full.did) } }),
      };
    }),
    audit: full.audit.map((e) => {
      // An issue entry's `related` is another ID's sanction id, as in the statement.
      const { related: _related, ...detail } = e.detail;
      return { ...e, actor: roleOfIssuer(e.actor), why: null, detail };
    }),
  };
}

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
      ReviewStore &
      StatsStore &
      AuditStore &
      ErasureStore,
    readonly sanctions: SanctionsService,
    readonly audit: AuditLog,
    private readonly options: AdminServiceOptions,
    readonly due: DueProcessServices,
    // Read at each call (not captured): a test may move the wall clock.
    private readonly now: () => number = () => Date.now(),
    private readonly evasion?: EvasionApi,
    /** Personal staff credentials (the admin API's); absent where none are managed (the CLI's direct mode). */
    private readonly staff?: StaffService,
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

  /**
   * One identity's summary (audited), with the ladder of each track it has points on (where
   * it stands); throws IDENTITY_NOT_FOUND when the store holds nothing about it.
   */
  async identity(did: DigitalId, actor: Actor): Promise<IdentitySummary & { ladders: Record<string, LadderView> }> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: "summary" });
    const summary = await this.summary(did);
    if (summary === null) throw new WardenError("IDENTITY_NOT_FOUND", `the store holds nothing about ${did}`);
    const ladders: Record<string, LadderView> = {};
    for (const track of Object.keys(summary.points)) {
      const resolved = this.options.policy.tracks.get(track);
      if (resolved === undefined) continue;
      ladders[track] = {
        halfLifeMs: resolved.halfLifeMs,
        steps: resolved.ladder.map((s) => ({ at: s.at, kind: s.kind, duration: s.duration ?? null })),
      };
    }
    return { ...summary, ladders };
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
  async issue(request: StaffSanctionRequest, actor: Actor): Promise<IssueResult> {
    this.refuseUnconfirmed(request);
    return this.issueChecked(request, actor);
  }

  /** Four-eyes is on and this is a permanent ban: it is proposed ({@link proposeBan}), never issued by one person. */
  needsConfirmation(request: { kind: string; duration?: number | undefined }): boolean {
    return this.options.dueProcess.fourEyesBans === true && request.kind === "ban" && request.duration === undefined;
  }

  private refuseUnconfirmed(request: { kind: string; duration?: number | undefined }): void {
    if (this.needsConfirmation(request))
      throw new WardenError(
        "CONFIRMATION_REQUIRED",
        "four-eyes is on: a permanent ban is proposed (POST /identities/:did/sanctions) and lands when a second moderator confirms it — or give a duration",
      );
  }

  /** {@link issue} without the four-eyes check (a confirmed proposal, or a temporary sanction). */
  private async issueChecked(
    request: StaffSanctionRequest,
    actor: Actor,
    extra: AuditEntry["detail"] = {},
  ): Promise<IssueResult> {
    const { rule: ruleId, grounds: given, by, ...rest } = request;
    let rule: ConductRule | null = given?.rule ?? null;
    if (ruleId !== undefined) {
      const found = typeof ruleId === "string" ? this.options.conduct.rule(ruleId) : undefined;
      if (found === undefined)
        throw new WardenError(
          "INVALID_REQUEST",
          `no rule ${JSON.stringify(String(ruleId).slice(0, 40))} in the code of conduct`,
        );
      rule = found;
    }
    const grounds: Grounds = { ...given, rule, role: given?.role ?? actor.role ?? "moderator" };
    const drafted = this.sanctions.draft({ ...rest, by: by ?? actor.who, grounds });
    if (drafted.status === "cancelled") {
      await this.record(actor, "issue", request.did, { kind: request.kind, cancelled: drafted.reason });
      return drafted;
    }
    const { sanction } = drafted;
    const entry = await this.record(actor, "issue", sanction.did, {
      sanctionId: sanction.id,
      kind: sanction.kind,
      end: sanction.end,
      ...(rule === null ? {} : { rule: rule.id }),
      ...(grounds.related === undefined ? {} : { related: grounds.related }),
      ...extra,
    });
    return this.thenAct(entry, actor, { sanctionId: sanction.id }, () => this.sanctions.commit(sanction));
  }

  // ---------------------------------------------------------------------------------------
  // Four-eyes for permanent bans: proposed by one person, confirmed by another.
  // ---------------------------------------------------------------------------------------

  /**
   * Proposes a permanent ban (audited): nothing restricts the player until a second person
   * confirms it within `dueProcess.pendingBanMs`. With `alts`, confirming bans those alts
   * too (the ones the proposer was shown, still linked then).
   */
  async proposeBan(
    did: DigitalId,
    request: { reason: string; rule?: string; alts?: readonly string[] },
    actor: Actor,
  ): Promise<PendingBan> {
    assertDigitalId(did);
    if (typeof request.reason !== "string" || request.reason.trim().length === 0)
      throw new WardenError("INVALID_SANCTION", "a ban needs a reason");
    if (request.rule !== undefined && this.options.conduct.rule(request.rule) === undefined)
      throw new WardenError(
        "INVALID_REQUEST",
        `no rule ${JSON.stringify(String(request.rule).slice(0, 40))} in the code of conduct`,
      );
    const alts = request.alts === undefined ? undefined : [...new Set(request.alts)];
    if (alts !== undefined && (alts.length > 1000 || !alts.every((a) => isDigitalId(a))))
      throw new WardenError("INVALID_REQUEST", "alts: at most 1000 digital IDs");
    if (alts !== undefined) this.evasionOn();
    const now = this.now();
    const waitMs = this.options.dueProcess.pendingBanMs ?? 86_400_000;
    const record: PendingBan = {
      id: `${did}.${randomBase32(8)}.b`,
      did,
      type: "ban",
      state: "pending",
      rev: 1,
      openedAt: now,
      proposedBy: actor.who,
      reason: boundText(request.reason, MAX_REASON_LENGTH),
      ...(request.rule === undefined ? {} : { rule: request.rule }),
      ...(alts === undefined ? {} : { alts }),
      expiresAt: now + waitMs,
    };
    const entry = await this.record(actor, "issue", did, {
      pendingBan: record.id,
      kind: "ban",
      step: "proposed",
      ...(alts === undefined ? {} : { alts: alts.length }),
    });
    await this.thenAct(entry, actor, { pendingBan: record.id }, async () => {
      if ((await this.store.saveReview(record, null, this.pendingKeepMs(), [])) !== "saved")
        throw new WardenError("REVIEW_CONFLICT", "a proposed ban with this id exists: try again");
    });
    return record;
  }

  /** Proposed permanent bans waiting for a second person, oldest first (audited); ones past their time are closed as expired. */
  async pendingBans(actor: Actor, limit = 50): Promise<PendingBanView[]> {
    await this.record(actor, "view", null, { what: "pending bans" });
    const now = this.now();
    const out: PendingBan[] = [];
    for (const r of await this.store.reviewQueue("ban", limit)) {
      if (r.type !== "ban") continue;
      if (r.expiresAt <= now) await this.closePending(r, "expired", null, "not confirmed in time").catch(() => null);
      else out.push(r);
    }
    return Promise.all(out.map((r) => this.named(r)));
  }

  /** One proposed ban (audited), with the subject's display name. */
  async pendingBan(id: string, actor: Actor): Promise<PendingBanView> {
    const record = await this.findPending(id);
    await this.record(actor, "view", record.did, { what: "pending ban", pendingBan: record.id });
    return this.named(record);
  }

  /**
   * A proposal with the display name its subject was last seen under, as the feed's items
   * carry it: a moderator confirms a ban on a name, not on 26 characters. A name that cannot
   * be read (the store failed) is null rather than the list failing.
   */
  private async named(record: PendingBan): Promise<PendingBanView> {
    const name = await this.store
      .profileOf(record.did)
      .then((p) => p?.name ?? null)
      .catch(() => null);
    return { ...record, name };
  }

  /**
   * Confirms a proposed ban as a second person (FOUR_EYES for the proposer): the record is
   * claimed by compare-and-set first — of two moderators confirming at once, one issues the
   * ban and the other gets PENDING_BAN_CLOSED — then the ban is issued with the confirming
   * person as its issuer and the proposer in its audit entry (so neither decides its appeal).
   */
  async confirmBan(
    id: string,
    actor: Actor,
  ): Promise<{ pending: PendingBanView; sanction: Sanction; alts: Sanction[] }> {
    const record = await this.findPending(id);
    if (sameActor(record.proposedBy, actor.who))
      throw new WardenError("FOUR_EYES", "the moderator who proposed a permanent ban may not confirm it");
    this.assertOpen(record);
    const entry = await this.record(actor, "issue", record.did, { pendingBan: record.id, step: "confirm" });
    const claimed = await this.thenAct(entry, actor, {}, () => this.closePending(record, "confirmed", actor));
    const request = { did: record.did, kind: "ban" as const, reason: record.reason };
    const rule = record.rule === undefined ? {} : { rule: record.rule };
    const extra = { pendingBan: record.id, proposedBy: record.proposedBy };
    let first: IssueResult;
    try {
      first = await this.issueChecked({ ...request, ...rule }, actor, extra);
    } catch (e) {
      // Not issued (the store failed): the proposal waits again, for a retry (best effort).
      await this.store
        .saveReview({ ...record, rev: claimed.rev + 1 }, claimed.rev, this.pendingKeepMs(), [])
        .catch(() => null);
      throw e;
    }
    if (first.status !== "issued") throw new WardenError("SANCTION_CANCELLED", `cancelled: ${first.reason}`);
    const alts: Sanction[] = [];
    if (record.alts !== undefined && this.evasion !== undefined) {
      const seen = new Set(record.alts);
      for (const link of await this.evasion.blastRadius(record.did)) {
        if (link.did === record.did || !seen.has(link.did)) continue;
        const alt = await this.issueChecked(
          { ...request, did: link.did, grounds: this.evasionGrounds(first.sanction.id, actor) },
          actor,
          extra,
        );
        if (alt.status === "issued") alts.push(alt.sanction);
      }
    }
    // Best effort: the record names the ban it became (the audit log has it in any case).
    const done: PendingBan = {
      ...claimed,
      rev: claimed.rev + 1,
      outcome: { action: "confirmed", sanctionId: first.sanction.id },
    };
    const kept = await this.store
      .saveReview(done, claimed.rev, this.pendingKeepMs(), [])
      .catch(() => "conflict" as const);
    return { pending: await this.named(kept === "saved" ? done : claimed), sanction: first.sanction, alts };
  }

  /** Cancels a proposed ban (audited): the proposer or any other moderator may. */
  async cancelBan(id: string, reason: string, actor: Actor): Promise<PendingBanView> {
    const record = await this.findPending(id);
    this.assertOpen(record);
    const entry = await this.record(actor, "issue", record.did, { pendingBan: record.id, step: "cancel" });
    const closed = await this.thenAct(entry, actor, {}, () =>
      this.closePending(record, "cancelled", actor, boundText(reason, MAX_REASON_LENGTH)),
    );
    return this.named(closed);
  }

  /** A proposal is kept a day past the longest it can wait, so whoever looks then reads what became of it. */
  private pendingKeepMs(): number {
    return (this.options.dueProcess.pendingBanMs ?? 86_400_000) + 86_400_000;
  }

  private async findPending(id: string): Promise<PendingBan> {
    const record =
      typeof id === "string" && id.length <= 64 && /^[a-z2-7]{26}\.[a-z2-7]{8}\.b$/.test(id)
        ? await this.store.review(id)
        : null;
    if (record === null || record.type !== "ban")
      throw new WardenError(
        "PENDING_BAN_NOT_FOUND",
        `no proposed ban with id ${JSON.stringify(String(id).slice(0, 80))}`,
      );
    return record;
  }

  private assertOpen(record: PendingBan): void {
    if (record.state !== "pending")
      throw new WardenError("PENDING_BAN_CLOSED", `the proposed ban was already ${record.state}`);
    if (record.expiresAt <= this.now())
      throw new WardenError("PENDING_BAN_CLOSED", "the proposed ban has expired: propose it again");
  }

  /** Moves a pending record to its final state by compare-and-set; PENDING_BAN_CLOSED when someone was first. */
  private async closePending(
    record: PendingBan,
    state: "confirmed" | "cancelled" | "expired",
    actor: Actor | null,
    reason?: string,
  ): Promise<PendingBan> {
    const now = this.now();
    const next: PendingBan = {
      ...record,
      state,
      rev: record.rev + 1,
      decidedAt: now,
      ...(actor === null ? {} : { decidedBy: actor.who }),
      outcome: { action: state, ...(reason === undefined ? {} : { reason }) },
    };
    if ((await this.store.saveReview(next, record.rev, this.pendingKeepMs(), [])) !== "saved")
      throw new WardenError("PENDING_BAN_CLOSED", "another moderator confirmed or cancelled this ban meanwhile");
    return next;
  }

  /**
   * Revokes a sanction as `actor`, entry first. No entry when there is no such sanction:
   * then nothing happens. If the outcome is not the one the entry announced (another
   * moderator revoked it meanwhile), a second entry says what happened.
   *
   * For a ban, the answer lists the active sanctions that follow from it (`related`: the
   * bans of its alts, an extension); `withAlts` revokes them too, each audited.
   */
  async revoke(
    sanctionId: string,
    reason: string,
    actor: Actor,
    by: string = actor.who,
    options: { wrongful?: boolean; withAlts?: boolean } = {},
  ): Promise<AdminRevokeResult> {
    if (typeof sanctionId !== "string") throw new WardenError("INVALID_SANCTION", "a sanction id is a string");
    const existing = await this.sanctions.find(sanctionId);
    if (existing === null) return { status: "not_found", related: [] };
    // Looked for first: if the search fails, nothing was revoked.
    const related = await this.relatedTo(existing);
    const result = await this.revokeOne(existing, reason, actor, by, options.wrongful === true);
    if (result.status === "not_found") return { ...result, related: [] };
    if (options.withAlts !== true || related.length === 0)
      return { ...result, related: related.map((s) => s.id), ...(options.withAlts ? { relatedRevoked: [] } : {}) };
    const relatedRevoked: string[] = [];
    // The player of a related ban reads this reason: it must not name the original (another ID).
    const why = boundText(
      `lifted together with the ban it followed from${reason ? `: ${reason}` : ""}`,
      MAX_REASON_LENGTH,
    );
    for (const s of related) {
      const r = await this.revokeOne(s, why, actor, by, false);
      if (r.status === "revoked") relatedRevoked.push(s.id);
    }
    return { ...result, related: related.map((s) => s.id), relatedRevoked };
  }

  /** {@link revoke} of one found sanction, without looking for the ones that follow from it. */
  private async revokeOne(
    existing: Sanction,
    reason: string,
    actor: Actor,
    by: string,
    wrongful: boolean,
  ): Promise<RevokeResult> {
    const expected = existing.revoked ? "already_revoked" : "revoked";
    const entry = await this.record(actor, "revoke", existing.id, {
      status: expected,
      ...(wrongful ? { wrongful } : {}),
    });
    const result = await this.thenAct(entry, actor, {}, () => this.sanctions.revoke(existing.id, { by, reason }));
    if (result.status !== expected) {
      await this.record(actor, "revoke", existing.id, { status: result.status, entry: entry.seq }).catch(() => {});
    }
    // Forgiven once: a sanction already revoked (and maybe forgiven) is not forgiven again.
    if (wrongful && result.status === "revoked") await this.forgiveSanction(existing, actor);
    return result;
  }

  /**
   * The active sanctions whose statement names `original` as the one they follow from. Looked
   * for among the IDs linked to its ID (and the ID itself: an extension), and among the IDs
   * the audit log shows were sanctioned with it as `related` since it started — found there
   * even once the signals that linked them have expired.
   */
  private async relatedTo(original: Sanction): Promise<Sanction[]> {
    if (original.kind !== "ban") return [];
    const candidates = new Set<DigitalId>([original.did]);
    if (this.evasion !== undefined) for (const link of await this.evasion.alts(original.did)) candidates.add(link.did);
    let after = `${Math.max(0, original.start - 60_000)}-0`;
    for (let pages = 0; pages < MAX_RELATED_AUDIT_PAGES; pages++) {
      const page = await this.store.auditRange(after, 1000);
      for (const e of page)
        if (e.action === "issue" && e.detail.related === original.id && e.target !== null && isDigitalId(e.target))
          candidates.add(e.target);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id ?? after;
    }
    const now = this.now();
    const out: Sanction[] = [];
    for (const did of candidates)
      for (const s of await this.store.sanctionsOf(did))
        if (s.id !== original.id && s.statement?.related === original.id && isActive(s, now)) out.push(s);
    return out.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  }

  // ---------------------------------------------------------------------------------------
  // Ban evasion: links between IDs, the evasion queue, bans with alts.
  // ---------------------------------------------------------------------------------------

  private evasionOn(): EvasionApi {
    if (this.evasion === undefined) throw new WardenError("INVALID_REQUEST", "ban-evasion signals are off");
    return this.evasion;
  }

  /** The IDs linked to `did`, each with the signal types shared, when, how crowded, how strong (audited). */
  async alts(did: DigitalId, actor: Actor): Promise<AltLink[]> {
    assertDigitalId(did);
    const evasion = this.evasionOn();
    await this.record(actor, "view", did, { what: "alts" });
    return evasion.alts(did);
  }

  /** Suspected evasions waiting for a person, oldest first (audited as one look at the queue). */
  async evasionQueue(actor: Actor, limit = 50): Promise<EvasionRecord[]> {
    const evasion = this.evasionOn();
    await this.record(actor, "view", null, { what: "evasion queue" });
    return evasion.queue(limit);
  }

  /** One suspected evasion with its link explanation (audited). */
  async evasionCase(id: string, actor: Actor): Promise<EvasionRecord> {
    const evasion = this.evasionOn();
    const record = await evasion.get(id);
    await this.record(actor, "view", record.did, { what: "evasion", caseId: record.id });
    return record;
  }

  /**
   * Decides a suspected evasion (audited first). `ban`: the suspected alt is banned (for
   * `duration`, permanent when omitted) under the `evasion` rule, its statement naming the
   * original ban as `related`. `extend`: the banned ID gets a new ban from now for
   * `duration` (permanent when omitted), related to the original, which stays as it is —
   * refused when it would end no later than the original. `dismiss`: no sanction; the link
   * is remembered and never flags again, and the restriction applied automatically while it
   * waited (`interim`) is revoked.
   */
  async decideEvasion(id: string, decision: EvasionDecision, actor: Actor): Promise<EvasionRecord> {
    const evasion = this.evasionOn();
    // A sanction that cannot be drafted is refused before the record is claimed.
    if (decision.action !== "dismiss" && decision.duration !== undefined) checkDuration(decision.duration);
    if (decision.action !== "dismiss") this.refuseUnconfirmed({ kind: "ban", duration: decision.duration });
    if (decision.action === "extend") {
      // Checked before the record is claimed: an extension that extends nothing is refused, never half done.
      const record = await evasion.get(id);
      const original = await this.sanctions.find(record.banSanctionId);
      const now = this.now();
      if (original !== null && isActive(original, now)) {
        if (original.end === null)
          throw new WardenError("INVALID_REQUEST", "the original ban is permanent: there is nothing to extend");
        if (decision.duration !== undefined && now + decision.duration <= original.end)
          throw new WardenError(
            "INVALID_REQUEST",
            "duration: the extension would end before the original ban does — give a longer one",
          );
      }
    }
    const entry = await this.record(actor, "case", id, { evasion: true, action: decision.action });
    const decided = await this.thenAct(entry, actor, {}, () =>
      evasion.decide(id, { action: decision.action, reason: decision.reason }, { who: actor.who }, async (record) => {
        if (decision.action === "dismiss") return null;
        const result = await this.issue(
          {
            did: decision.action === "ban" ? record.did : record.bannedDid,
            kind: "ban",
            reason: decision.reason,
            ...(decision.duration === undefined ? {} : { duration: decision.duration }),
            grounds: this.evasionGrounds(record.banSanctionId, actor),
          },
          actor,
        );
        return result.status === "issued" ? result.sanction.id : null;
      }),
    );
    // Not the same player: the restriction applied automatically while it waited is lifted (audited).
    if (decided.state === "dismissed" && decided.interim !== undefined) {
      const interim = await this.sanctions.find(decided.interim);
      if (interim !== null && interim.did === decided.did && isActive(interim, this.now()))
        await this.revokeOne(interim, `suspected evasion dismissed: ${decision.reason}`, actor, actor.who, false);
    }
    return decided;
  }

  /**
   * Bans `did` and the IDs linked to it. Without `confirm` only the blast radius is answered
   * (which IDs, through which signals, how strong; audited as a look) and nothing is issued.
   * With it, `did` is banned first, then each ID of the blast radius — for the same
   * duration, under the `evasion` rule, its statement naming the first ban as `related` —
   * every ban audited. A ban vetoed by a `sanction:before` listener is left out; a vetoed
   * first ban is SANCTION_CANCELLED and nothing else is issued.
   */
  async banWithAlts(
    did: DigitalId,
    request: { duration?: number; reason: string; rule?: string; by?: string },
    actor: Actor,
    options: {
      confirm: boolean;
      /**
       * The alts the moderator saw in the preview: with it, only those of them still in the
       * blast radius are banned — never an ID that joined the radius after the preview.
       */
      only?: readonly string[];
    },
  ): Promise<BanWithAltsResult> {
    assertDigitalId(did);
    const evasion = this.evasionOn();
    if (options.confirm) this.refuseUnconfirmed({ kind: "ban", duration: request.duration });
    if (request.rule !== undefined && this.options.conduct.rule(request.rule) === undefined)
      throw new WardenError(
        "INVALID_REQUEST",
        `no rule ${JSON.stringify(String(request.rule).slice(0, 40))} in the code of conduct`,
      );
    const seen = options.only === undefined ? null : new Set(options.only);
    const blastRadius = (await evasion.blastRadius(did)).filter(
      (link) => link.did !== did && (seen === null || seen.has(link.did)),
    );
    await this.record(actor, "view", did, { what: "blast radius", alts: blastRadius.length });
    if (!options.confirm) return { blastRadius };
    const duration = request.duration === undefined ? {} : { duration: request.duration };
    const first = await this.issue(
      {
        did,
        kind: "ban",
        reason: request.reason,
        ...duration,
        ...(request.rule === undefined ? {} : { rule: request.rule }),
        ...(request.by === undefined ? {} : { by: request.by }),
      },
      actor,
    );
    if (first.status !== "issued") throw new WardenError("SANCTION_CANCELLED", `cancelled: ${first.reason}`);
    const sanctions = [first.sanction];
    for (const link of blastRadius) {
      const alt = await this.issue(
        {
          did: link.did,
          kind: "ban",
          reason: request.reason,
          ...duration,
          ...(request.by === undefined ? {} : { by: request.by }),
          grounds: this.evasionGrounds(first.sanction.id, actor),
        },
        actor,
      );
      if (alt.status === "issued") sanctions.push(alt.sanction);
    }
    return { blastRadius, sanctions };
  }

  /** Grounds of a ban of another account of a banned player: the `evasion` rule, linked by signals, following `related`. */
  private evasionGrounds(related: string, actor: Actor): Grounds {
    return {
      rule: this.options.conduct.rule(EVASION_RULE) ?? null,
      role: actor.role ?? "moderator",
      automatedDetection: true,
      related,
    };
  }

  /** Takes back a policy sanction's ladder step (audited); see src/reviews/forgiveness.ts. */
  private async forgiveSanction(sanction: Sanction, actor: Actor): Promise<void> {
    if (sanction.statement?.ladder === undefined) return;
    const entry = await this.record(actor, "revoke", sanction.id, { forgiven: sanction.statement.ladder.track });
    await this.thenAct(entry, actor, {}, () => forgive(this.store, this.options.policy, sanction, this.now()));
  }

  // ---------------------------------------------------------------------------------------
  // Due process: the review queue, appeals, report cases, the transparency report.
  // ---------------------------------------------------------------------------------------

  /** Appeals waiting for a decision, oldest first (audited as one look at the queue). */
  async appealQueue(actor: Actor, limit = 50): Promise<Appeal[]> {
    await this.record(actor, "view", null, { what: "appeal queue" });
    return this.due.appeals.queue(limit);
  }

  /** One appeal with its sanction (audited). */
  async appeal(appealId: string, actor: Actor): Promise<{ appeal: Appeal; sanction: Sanction | null }> {
    const appeal = await this.due.appeals.get(appealId);
    await this.record(actor, "view", appeal.did, { what: "appeal", appealId: appeal.id });
    return { appeal, sanction: await this.sanctions.find(appeal.sanctionId) };
  }

  /** Takes an appeal into review (audited; not by the sanction's issuer). */
  async takeAppeal(appealId: string, actor: Actor): Promise<Appeal> {
    await this.checkFourEyes(appealId, actor);
    const entry = await this.record(actor, "appeal", appealId, { state: "in_review" });
    return this.thenAct(entry, actor, {}, () => this.due.appeals.take(appealId, actor));
  }

  /**
   * Decides an appeal (audited first; not by the sanction's issuer: FOUR_EYES). Upheld: the
   * sanction is revoked — or, with `end`, shortened (revoked and issued again ending then) —
   * and its ladder step forgiven.
   */
  async decideAppeal(appealId: string, decision: AppealDecision, actor: Actor): Promise<Appeal> {
    const { sanction } = await this.checkFourEyes(appealId, actor);
    if (decision.end !== undefined) {
      // Checked before the decision is claimed: a shortening that cannot be applied is refused, never turned into a revoke.
      const now = this.now();
      const lasting = sanction !== null && sanction.end !== sanction.start;
      if (
        decision.outcome !== "upheld" ||
        !lasting ||
        decision.end <= now ||
        (sanction.end !== null && decision.end >= sanction.end)
      )
        throw new WardenError(
          "INVALID_REQUEST",
          "end: only an upheld appeal of a mute, freeze or ban can shorten it, to an instant after now and before its current end",
        );
    }
    const entry = await this.record(actor, "appeal", appealId, {
      outcome: decision.outcome,
      ...(decision.end === undefined ? {} : { end: decision.end }),
    });
    return this.thenAct(entry, actor, {}, () =>
      this.due.appeals.decide(appealId, decision, actor, async (appeal, d): Promise<AppliedRemedy> => {
        const sanction = await this.sanctions.find(appeal.sanctionId);
        if (sanction === null) return { remedy: "revoked" };
        const why = `appeal upheld: ${d.reason}`;
        if (
          d.end !== undefined &&
          sanction.end !== sanction.start &&
          (sanction.end === null || d.end < sanction.end) &&
          d.end > this.now()
        ) {
          await this.revokeOne(sanction, why, actor, actor.who, false);
          const shorter = await this.issue(
            {
              did: sanction.did,
              kind: sanction.kind,
              duration: d.end - this.now(),
              reason: `${sanction.reason} (shortened on appeal)`,
              grounds: {
                rule: sanction.statement?.rule ?? null,
                events: sanction.statement?.facts.events ?? [],
                reports: sanction.statement?.facts.reports ?? 0,
                automatedDetection: sanction.statement?.automated.detection ?? false,
              },
            },
            actor,
          );
          await this.forgiveSanction(sanction, actor);
          return { remedy: "shortened", end: shorter.status === "issued" ? shorter.sanction.end : d.end };
        }
        await this.revokeOne(sanction, why, actor, actor.who, true);
        return { remedy: "revoked" };
      }),
    );
  }

  /** Report cases waiting for a person, oldest first (audited). */
  async caseQueue(actor: Actor, limit = 50): Promise<ReportCase[]> {
    await this.record(actor, "view", null, { what: "case queue" });
    return this.due.cases.queue(limit);
  }

  /** One report case with its reports, reasons and evidence (audited: it holds reporters' words and chat lines). */
  async reportCase(caseId: string, actor: Actor): Promise<ReportCase> {
    const record = await this.due.cases.get(caseId);
    await this.record(actor, "view", record.did, {
      what: "case",
      caseId: record.id,
      evidence: record.evidence !== undefined,
    });
    return record;
  }

  /**
   * Decides a report case (audited first). `sanction` issues `kind` as the deciding person,
   * with the case's report count in its statement; `dismiss` with `unfounded` counts against
   * every reporter (misuse). Every reporter is told the outcome.
   */
  async decideCase(
    caseId: string,
    decision:
      | { action: "sanction"; kind: SanctionRequest["kind"]; duration?: number; rule?: string; reason: string }
      | { action: "dismiss"; reason: string; unfounded?: boolean },
    actor: Actor,
  ): Promise<ReportCase> {
    if (decision.action === "sanction") this.refuseUnconfirmed(decision);
    const entry = await this.record(actor, "case", caseId, {
      action: decision.action,
      ...(decision.action === "sanction" ? { kind: decision.kind } : { unfounded: decision.unfounded === true }),
    });
    return this.thenAct(entry, actor, {}, () =>
      this.due.cases.decide(caseId, decision, actor, async (record) => {
        if (decision.action !== "sanction") return null;
        const result = await this.issue(
          {
            did: record.did,
            kind: decision.kind,
            reason: decision.reason,
            ...(decision.duration === undefined ? {} : { duration: decision.duration }),
            ...(decision.rule === undefined ? {} : { rule: decision.rule }),
            grounds: { reports: record.count, automatedDetection: false },
          },
          actor,
        );
        return result.status === "issued" ? result.sanction.id : null;
      }),
    );
  }

  /**
   * Four-eyes, against everyone who issued the appeal's sanction: its `by` (checked by the
   * appeal service too) and the actor of the audit entry that issued it — which differ when
   * the CLI's `--by` named someone else. The entry is looked for from a minute before the
   * sanction started, so the search stays short however long the log is.
   */
  private async checkFourEyes(appealId: string, actor: Actor): Promise<{ appeal: Appeal; sanction: Sanction | null }> {
    const appeal = await this.due.appeals.get(appealId);
    const sanction = await this.sanctions.find(appeal.sanctionId);
    const issuers = new Set([appeal.issuedBy]);
    if (sanction !== null) {
      let after = `${Math.max(0, sanction.start - 60_000)}-0`;
      for (let pages = 0; pages < 20; pages++) {
        const page = await this.store.auditRange(after, 500);
        if (page.length === 0) break;
        for (const e of page)
          if (e.action === "issue" && e.detail?.sanctionId === sanction.id) {
            issuers.add(e.actor);
            // A confirmed four-eyes ban: its proposer took part in the decision too.
            if (typeof e.detail.proposedBy === "string") issuers.add(e.detail.proposedBy);
          }
        after = page[page.length - 1]!.id ?? after;
        if (page[page.length - 1]!.at > sanction.start + 60_000) break;
      }
    }
    for (const issuer of issuers)
      if (sameActor(issuer, actor.who))
        throw new WardenError("FOUR_EYES", "the moderator who issued a sanction may not review or decide its appeal");
    return { appeal, sanction };
  }

  /** The evidence snapshots kept with an ID's chat offenses (audited: they hold other players' lines). */
  async evidence(did: DigitalId, actor: Actor): Promise<EvidenceRecord[]> {
    assertDigitalId(did);
    await this.record(actor, "view", did, { what: "evidence" });
    return (await this.store.reviewsOf(did)).filter((r): r is EvidenceRecord => r.type === "evidence");
  }

  /** The transparency report of `[from, to]` (UTC days); no personal data, so not audited. */
  transparency(from: string, to: string): Promise<TransparencyReport> {
    return this.due.transparency.report(from, to);
  }

  /**
   * Everything the store holds about an ID, as one document (audited; the entry holds counts,
   * not the data). The staff copy is full. The subject's copy (`copy: "subject"`, what the
   * player API hands a player about themselves) redacts other people: reporters' IDs and
   * reasons, other players' chat lines, staff names (replaced by their role).
   */
  async export(did: DigitalId, actor: Actor, options: { copy?: "staff" | "subject" } = {}): Promise<IdentityExport> {
    assertDigitalId(did);
    const copy = options.copy ?? "staff";
    const [profile, sessions, sanctions, events, points, reportsAgainst, audit, reviews, reportsFiled, reporter] =
      await Promise.all([
        this.store.profileOf(did),
        this.store.sessionsOf(did),
        this.store.sanctionsOf(did),
        this.store.offensesOf(did, { limit: MAX_EXPORT_EVENTS }),
        this.decayedPoints(did),
        this.store.reportsAgainst(did),
        this.auditAbout(did, copy),
        this.store.reviewsOf(did),
        this.due.cases.receipts(did),
        this.store.reporterStanding(did),
      ]);
    const [signalCounts, alts] = await Promise.all([
      this.evasion?.signalCounts(did),
      copy === "staff" ? this.evasion?.alts(did) : undefined,
    ]);
    await this.record(actor, "export", did, { sanctions: sanctions.length, events: events.length, copy });
    const appeals = reviews.filter((r): r is Appeal => r.type === "appeal");
    const cases = reviews.filter((r): r is ReportCase => r.type === "case");
    const full: IdentityExport = {
      did,
      exportedAt: new Date(this.now()).toISOString(),
      copy,
      profile,
      sessions,
      sanctions,
      events,
      points,
      reportsAgainst,
      appeals,
      cases,
      reportsFiled,
      reporter,
      audit,
      ...(signalCounts === undefined ? {} : { signals: countsBySignalType(signalCounts) }),
      ...(alts === undefined ? {} : { alts }),
      pendingBans: reviews.filter((r): r is PendingBan => r.type === "ban"),
    };
    return copy === "staff" ? full : redactForSubject(full);
  }

  /**
   * Erases an ID's events, history, points, bindings, names, reports, appeals and cases, and
   * redacts it from the records it only takes part in (reports it filed, its chat lines in
   * others' evidence). An active ban stays as a minimal record (ID, kind, end, a statement
   * saying the details were erased at the player's request) so that erasure is no way out of
   * it, unless `includingSanctions`. The audit entry, written first, records the act, not the
   * erased data.
   */
  async forget(
    did: DigitalId,
    actor: Actor,
    options: { includingSanctions?: boolean } = {},
  ): Promise<{ keptBans: number }> {
    assertDigitalId(did);
    const now = this.now();
    const stored = await this.store.sanctionsOf(did);
    const keep = options.includingSanctions
      ? []
      : stored
          .filter((s) => s.kind === "ban" && isActive(s, now))
          .map(
            (s): Sanction => ({
              id: s.id,
              did,
              kind: "ban",
              reason: ERASED,
              // The issuer's role survives (policy or a staff role), never a name.
              by: roleOfIssuer(s.by),
              start: s.start,
              end: s.end,
              ...(s.statement === undefined
                ? {}
                : {
                    statement: {
                      scope: s.statement.scope,
                      rule: null,
                      facts: { events: [], reports: 0 },
                      automated: s.statement.automated,
                      decidedBy: s.statement.decidedBy,
                      appeal: s.statement.appeal,
                      erased: true as const,
                    },
                  }),
            }),
          );
    const entry = await this.record(actor, "forget", did, {
      keptBans: keep.length,
      includingSanctions: options.includingSanctions === true,
    });
    await this.thenAct(entry, actor, {}, async () => {
      const involved = await this.store.involvedIn(did);
      await this.store.forget(did, keep, this.options.retention);
      for (const id of involved) await this.redactFrom(id, did);
      this.options.forgotten?.(did);
      const kept = new Set(keep.map((s) => s.id));
      for (const s of stored) if (!kept.has(s.id)) await this.store.untrackActive(s.id, s.kind);
    });
    return { keptBans: keep.length };
  }

  /**
   * Removes a forgotten ID from a record it took part in: its reports (and their reasons),
   * its chat lines; a suspected evasion that linked another ID to it is deleted.
   */
  private async redactFrom(id: string, did: DigitalId): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const record = await this.store.review(id);
      if (record === null || record.did === did) return;
      // A suspected evasion linked to the forgotten ID: without that ID it explains nothing.
      if (record.type === "evasion") {
        if (record.bannedDid === did) await this.store.deleteReview(record.id);
        return;
      }
      let next: ReviewRecord;
      if (record.type === "case") {
        next = {
          ...record,
          reports: record.reports.filter((r) => r.reporter !== did),
          ...(record.evidence === undefined
            ? {}
            : { evidence: { ...record.evidence, lines: record.evidence.lines.filter((l) => l.did !== did) } }),
        };
      } else if (record.type === "evidence") {
        next = {
          ...record,
          snapshot: { ...record.snapshot, lines: record.snapshot.lines.filter((l) => l.did !== did) },
        };
      } else return;
      next.rev = record.rev + 1;
      const keepMs =
        record.type === "evidence"
          ? this.options.dueProcess.evidence.retentionMs
          : this.options.dueProcess.caseRetentionMs;
      const others =
        next.type === "case"
          ? [...new Set([...next.reports.map((r) => r.reporter), ...(next.evidence?.lines.map((l) => l.did) ?? [])])]
          : next.type === "evidence"
            ? [...new Set(next.snapshot.lines.map((l) => l.did))]
            : [];
      if (
        (await this.store.saveReview(
          next,
          record.rev,
          keepMs,
          others.filter((d) => d !== next.did),
        )) === "saved"
      )
        return;
    }
  }

  /** The audit log, newest first (reading the log is not itself audited). */
  auditLog(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    return this.audit.list(options);
  }

  /** Checks the audit log's hash chain. */
  verifyAudit(options: { checkpoints?: readonly AuditCheckpoint[] } = {}): Promise<AuditVerification> {
    return this.audit.verify(options);
  }

  private staffService(): StaffService {
    if (this.staff === undefined)
      throw new WardenError("NOT_FOUND", "staff credentials are managed by the servers' admin API");
    return this.staff;
  }

  /** Issues a personal token (audited before it is issued); the token is in the answer only. */
  async addStaff(name: string, role: StaffRole, actor: Actor): Promise<{ staff: StaffView; token: string }> {
    const staff = this.staffService();
    const detail = { op: "add", role };
    const entry = await this.record(actor, "staff", `staff:${name}`, detail);
    return this.thenAct(entry, actor, detail, () => staff.add(name, role, actor.who));
  }

  /** Every staff member (no tokens, no hashes). */
  listStaff(): Promise<StaffView[]> {
    return this.staffService().list();
  }

  /** Revokes a person's credential (audited before it is revoked). */
  async revokeStaff(name: string, actor: Actor): Promise<StaffView> {
    const staff = this.staffService();
    const detail = { op: "revoke" };
    const entry = await this.record(actor, "staff", `staff:${name}`, detail);
    return this.thenAct(entry, actor, detail, () => staff.revoke(name, actor.who));
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

  /**
   * The audit entries about an ID, oldest first. The staff copy walks the whole log; the
   * subject's copy (which any player may ask for) reads at most the newest
   * {@link SUBJECT_AUDIT_SCAN} entries, so that players cannot make the server read the
   * whole log again and again.
   */
  private async auditAbout(did: DigitalId, copy: "staff" | "subject"): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    if (copy === "subject") {
      let before: string | undefined;
      for (let read = 0; read < SUBJECT_AUDIT_SCAN; read += 1000) {
        const page = await this.store.auditEntries(before === undefined ? { limit: 1000 } : { limit: 1000, before });
        for (const e of page) if (e.target === did) out.push(e);
        if (page.length < 1000) break;
        before = page[page.length - 1]!.id;
        if (before === undefined) break;
      }
      return out.reverse();
    }
    let after = "0";
    for (;;) {
      const page = await this.store.auditRange(after, 1000);
      if (page.length === 0) return out;
      for (const e of page) if (e.target === did) out.push(e);
      after = page[page.length - 1]!.id ?? after;
    }
  }
}
