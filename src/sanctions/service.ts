import { assertDigitalId, type DigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import type { SanctionStore, StoreRetention } from "../stores/store.js";
import {
  didOfSanctionId,
  draftSanction,
  isActive,
  MAX_REASON_LENGTH,
  MIN_APPEAL_WINDOW_MS,
  type Revocation,
  type Sanction,
  type SanctionRequest,
} from "./model.js";
import { boundText } from "../util/text.js";
import { MAX_DURATION_MS } from "../duration.js";

/** Result of {@link SanctionsService.issue}: a veto is an outcome, not an error. */
export type IssueResult = { status: "issued"; sanction: Sanction } | { status: "cancelled"; reason: string };

/** Result of {@link SanctionsService.draft}: a sanction ready to commit, or the veto. */
export type DraftResult = { status: "drafted"; sanction: Sanction } | { status: "cancelled"; reason: string };

/** Result of {@link SanctionsService.revoke}. */
export type RevokeResult =
  | { status: "revoked"; sanction: Sanction }
  | { status: "already_revoked"; sanction: Sanction }
  | { status: "not_found" };

/** Options of {@link SanctionsService}. */
export interface SanctionsServiceOptions {
  /**
   * How long a player may appeal a sanction, from its start (written into its statement of
   * reasons): at least {@link MIN_APPEAL_WINDOW_MS} (183 days), at most 10 years.
   * @defaultValue {@link MIN_APPEAL_WINDOW_MS} (183 days)
   */
  appealWindowMs?: number;
}

/** Hooks the warden gives the service (events). */
export interface SanctionsHooks {
  /** Returns a veto reason, or null to go ahead. */
  before(sanction: Sanction): string | null;
  issued(sanction: Sanction): void;
  revoked(sanction: Sanction): void;
}

/**
 * The one path every sanction takes — the automatic policy, the CLI and the HTTP API all
 * call it. It validates, lets `sanction:before` listeners veto, stores and publishes (the
 * store does both in one step), and never touches a live session itself: the enforcer of
 * every process does that when the published sanction reaches it.
 */
export class SanctionsService {
  /** Drafts that passed validation and the veto and were not committed yet (forgotten with them). */
  private readonly drafts = new WeakSet<Sanction>();
  /** How long a player may appeal, from a sanction's start. */
  readonly appealWindowMs: number;

  /** Throws `INVALID_OPTION` for an appeal window below 183 days or above 10 years. */
  constructor(
    private readonly store: SanctionStore,
    private readonly retention: StoreRetention,
    private readonly hooks: SanctionsHooks,
    options: SanctionsServiceOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    const window = options.appealWindowMs ?? MIN_APPEAL_WINDOW_MS;
    if (!Number.isSafeInteger(window) || window < MIN_APPEAL_WINDOW_MS || window > MAX_DURATION_MS)
      throw new WardenError(
        "INVALID_OPTION",
        `appealWindowMs must be a whole number of milliseconds from ${MIN_APPEAL_WINDOW_MS} (183 days) to ${MAX_DURATION_MS} (10 years), got ${String(window)}`,
      );
    this.appealWindowMs = window;
  }

  /** Issues a sanction: {@link SanctionsService.draft} then {@link SanctionsService.commit}. Throws `INVALID_SANCTION` / `INVALID_DID` for bad input. */
  async issue(request: SanctionRequest): Promise<IssueResult> {
    const drafted = this.draft(request);
    return drafted.status === "cancelled" ? drafted : this.commit(drafted.sanction);
  }

  /**
   * The first half of {@link SanctionsService.issue}: validates the request, builds the sanction (its id is
   * known from here on) and lets `sanction:before` listeners veto it. Nothing is stored;
   * a caller that must record the act first (the audit log) does so, then commits.
   */
  draft(request: SanctionRequest): DraftResult {
    const sanction = draftSanction(request, this.now(), this.appealWindowMs);
    const veto = this.hooks.before(sanction);
    if (veto !== null) return { status: "cancelled", reason: veto };
    this.drafts.add(sanction);
    return { status: "drafted", sanction };
  }

  /**
   * The second half of {@link SanctionsService.issue}: stores and publishes a sanction this service drafted
   * (once: a draft is spent even if storing fails). Anything else is refused with
   * `INVALID_SANCTION`, so that no sanction gets around validation or the veto.
   */
  async commit(sanction: Sanction): Promise<{ status: "issued"; sanction: Sanction }> {
    if (!this.drafts.delete(sanction))
      throw new WardenError(
        "INVALID_SANCTION",
        "only a sanction drafted by this service, and not committed yet, can be committed",
      );
    try {
      await this.store.saveSanction(sanction, this.retention);
    } catch (e) {
      // Not stored, or not known to be: it may be committed again (same id; saving is idempotent by id).
      this.drafts.add(sanction);
      throw e;
    }
    this.hooks.issued(sanction);
    return { status: "issued", sanction };
  }

  /** The stored sanction with this id, or null. */
  async find(sanctionId: string): Promise<Sanction | null> {
    const did = typeof sanctionId === "string" ? didOfSanctionId(sanctionId) : null;
    if (did === null) return null;
    return (await this.store.sanctionsOf(did)).find((s) => s.id === sanctionId) ?? null;
  }

  /** Revokes a sanction by id. */
  async revoke(sanctionId: string, revocation: { by: string; reason: string }): Promise<RevokeResult> {
    if (typeof sanctionId !== "string") throw new WardenError("INVALID_SANCTION", "a sanction id is a string");
    const by = typeof revocation?.by === "string" ? boundText(revocation.by, 100) : "";
    if (by.length === 0) throw new WardenError("INVALID_SANCTION", "a revocation needs an issuer (by)");
    const reason = typeof revocation.reason === "string" ? boundText(revocation.reason, MAX_REASON_LENGTH) : "";
    const record: Revocation = { at: this.now(), by, reason };
    const result = await this.store.revokeSanction(sanctionId, record, this.retention);
    if (result.status === "revoked") this.hooks.revoked(result.sanction);
    return result;
  }

  /** The lasting sanctions in force for an ID. */
  async active(did: DigitalId): Promise<Sanction[]> {
    const now = this.now();
    return (await this.store.sanctionsOf(assertDigitalId(did))).filter((s) => isActive(s, now));
  }

  /** Every stored sanction of an ID (within retention), oldest first. */
  async history(did: DigitalId): Promise<Sanction[]> {
    return this.store.sanctionsOf(assertDigitalId(did));
  }
}
