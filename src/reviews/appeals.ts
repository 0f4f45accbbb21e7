/**
 * Appeals (internal complaint handling, DSA Art. 20): a sanctioned player contests one
 * sanction — also while banned — and a person other than its issuer decides.
 *
 *   filed ──take──▶ in_review ──decide──▶ upheld (revoked or shortened, points forgiven)
 *     │                 │          └────▶ rejected (with a reason)
 *     └──── withdraw ───┴──────────────▶ withdrawn (by the player, before a decision)
 *
 * Every transition is a compare-and-set on the record's revision: two moderators deciding
 * at once get one decision and one REVIEW_CONFLICT, never two.
 */
import type { DigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import type { PlayerNotice, Sanction } from "../sanctions/model.js";
import type { ReviewStore } from "../stores/store.js";
import { boundText } from "../util/text.js";
import { type Appeal, appealIdOf, didOfReviewId, MAX_APPEAL_TEXT } from "./model.js";
import type { ResolvedDueProcess } from "./options.js";
import type { Transparency } from "./transparency.js";

/** Who decides: the acting staff member as the audit log names them. */
export interface Decider {
  who: string;
}

/** A moderator's decision on an appeal. */
export interface AppealDecision {
  outcome: "upheld" | "rejected";
  reason: string;
  /** For an upheld appeal of a lasting sanction: shorten it to end at this instant instead of revoking it. */
  end?: number;
}

/** What the caller did to the sanction of an upheld appeal. */
export interface AppliedRemedy {
  remedy: "revoked" | "shortened";
  end?: number | null;
}

/** What the appeals need of the rest of the warden. */
export interface AppealHost {
  /** The stored sanction with this id, or null. */
  findSanction(sanctionId: string): Promise<Sanction | null>;
  /** Tells the player (their live sessions, anywhere) about their appeal. Best effort. */
  notify(did: DigitalId, notice: PlayerNotice): void;
}

const MAX_REASON = 500;
const HOUR = 3_600_000;

/**
 * The person an actor string names: `staff:<name>`, `api:<role>:<name>` and `cli:<user>` name
 * `<name>` / `<user>` (so that the same person on the API and on the CLI is one), lower-cased; a
 * shared token without a name (`api:moderator`), `policy` or anything else names itself.
 */
export function personOf(actor: string): string {
  const a = actor.trim().toLowerCase();
  const parts = a.split(":");
  if (parts[0] === "api" && parts.length >= 3) return parts.slice(2).join(":").trim();
  if ((parts[0] === "cli" || parts[0] === "staff") && parts.length >= 2) return parts.slice(1).join(":").trim();
  return a;
}

/** Same person, whatever the face, the case or surrounding spaces (`API:Moderator:Ann` and `cli:ann` are one). */
export function sameActor(a: string, b: string): boolean {
  return personOf(a) === personOf(b);
}

export class AppealService {
  constructor(
    private readonly store: ReviewStore,
    private readonly host: AppealHost,
    private readonly stats: Transparency,
    private readonly options: ResolvedDueProcess,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Files the appeal of `did` against one of its sanctions. Throws `SANCTION_NOT_FOUND` (no
   * such sanction of this player: another player's sanction is "not found" too),
   * `APPEAL_NOT_ALLOWED` (already appealed, lifted, or past the deadline), `RATE_LIMITED`, or
   * `INVALID_REQUEST` (empty text, or longer than {@link MAX_APPEAL_TEXT}: refused, not cut).
   */
  async file(did: DigitalId, sanctionId: unknown, text: unknown, via: Appeal["via"]): Promise<Appeal> {
    if (typeof text !== "string" || text.trim().length === 0)
      throw new WardenError("INVALID_REQUEST", "an appeal needs a text saying why the sanction is wrong");
    if (text.length > MAX_APPEAL_TEXT)
      throw new WardenError(
        "INVALID_REQUEST",
        `an appeal text is at most ${MAX_APPEAL_TEXT} characters, got ${text.length}`,
      );
    const sanction =
      typeof sanctionId === "string" && sanctionId.length <= 64 ? await this.host.findSanction(sanctionId) : null;
    if (sanction === null || sanction.did !== did)
      throw new WardenError("SANCTION_NOT_FOUND", "you have no sanction with this reference");
    const now = this.now();
    const until = Math.max(sanction.statement?.appeal.until ?? 0, sanction.start + this.options.appealWindowMs);
    if (now > until) throw new WardenError("APPEAL_NOT_ALLOWED", "the time to appeal this sanction is over");
    if (sanction.revoked !== undefined)
      throw new WardenError("APPEAL_NOT_ALLOWED", "this sanction was already lifted: there is nothing to appeal");
    if (sanction.statement?.erased)
      throw new WardenError("APPEAL_NOT_ALLOWED", "the details of this sanction were erased at your request");
    const mine = (await this.store.reviewsOf(did)).filter((r) => r.type === "appeal");
    if (mine.some((a) => a.sanctionId === sanction.id))
      throw new WardenError("APPEAL_NOT_ALLOWED", "this sanction was already appealed: one appeal per sanction");
    if (mine.filter((a) => a.openedAt > now - 24 * HOUR).length >= this.options.appealsPerDay)
      throw new WardenError("RATE_LIMITED", `at most ${this.options.appealsPerDay} appeals a day: try again later`);
    const appeal: Appeal = {
      type: "appeal",
      id: appealIdOf(sanction.id),
      did,
      rev: 1,
      openedAt: now,
      state: "filed",
      sanctionId: sanction.id,
      issuedBy: sanction.by,
      text: boundText(text, MAX_APPEAL_TEXT),
      via,
    };
    if ((await this.store.saveReview(appeal, null, this.options.appealRetentionMs, [])) === "conflict")
      throw new WardenError("APPEAL_NOT_ALLOWED", "this sanction was already appealed: one appeal per sanction");
    this.stats.count({ "appeals.filed": 1 });
    this.tell(appeal, "appeal.filed", {});
    return appeal;
  }

  /** The player's own appeals, oldest first. */
  async mine(did: DigitalId): Promise<Appeal[]> {
    return (await this.store.reviewsOf(did)).filter((r): r is Appeal => r.type === "appeal");
  }

  /** One appeal by id; throws `APPEAL_NOT_FOUND`. */
  async get(appealId: unknown): Promise<Appeal> {
    const record =
      typeof appealId === "string" && didOfReviewId(appealId) !== null ? await this.store.review(appealId) : null;
    if (record === null || record.type !== "appeal")
      throw new WardenError("APPEAL_NOT_FOUND", "no appeal with this id");
    return record;
  }

  /** The oldest appeals waiting for a decision. */
  async queue(limit: number): Promise<Appeal[]> {
    return (await this.store.reviewQueue("appeal", limit)).filter((r): r is Appeal => r.type === "appeal");
  }

  /** A moderator takes an appeal into review (not the sanction's issuer). */
  async take(appealId: string, by: Decider): Promise<Appeal> {
    const appeal = await this.get(appealId);
    this.checkFourEyes(appeal, by);
    if (appeal.state !== "filed")
      throw new WardenError("APPEAL_NOT_ALLOWED", `the appeal is ${appeal.state}, not filed`);
    const next: Appeal = {
      ...appeal,
      rev: appeal.rev + 1,
      state: "in_review",
      reviewer: by.who,
      reviewedAt: this.now(),
    };
    await this.save(next, appeal.rev);
    this.tell(next, "appeal.in_review", {});
    return next;
  }

  /**
   * Decides an appeal. The decision is claimed first (compare-and-set), then `remedy` acts on
   * the sanction of an upheld appeal (the caller revokes or shortens it, audited, and forgives
   * its points); the player is told the outcome. Throws `FOUR_EYES` when `by` issued the
   * sanction, `APPEAL_NOT_ALLOWED` when it is no longer open, `REVIEW_CONFLICT` on a race.
   */
  async decide(
    appealId: string,
    decision: AppealDecision,
    by: Decider,
    remedy: (appeal: Appeal, decision: AppealDecision) => Promise<AppliedRemedy>,
  ): Promise<Appeal> {
    const reason = typeof decision.reason === "string" ? boundText(decision.reason, MAX_REASON) : "";
    if (reason.length === 0) throw new WardenError("INVALID_REQUEST", "a decision needs a reason the player will read");
    if (decision.outcome !== "upheld" && decision.outcome !== "rejected")
      throw new WardenError("INVALID_REQUEST", "outcome must be upheld or rejected");
    const appeal = await this.get(appealId);
    this.checkFourEyes(appeal, by);
    if (appeal.state !== "filed" && appeal.state !== "in_review")
      throw new WardenError("APPEAL_NOT_ALLOWED", `the appeal is already ${appeal.state}`);
    const now = this.now();
    let next: Appeal = {
      ...appeal,
      rev: appeal.rev + 1,
      state: decision.outcome,
      decidedAt: now,
      decidedBy: by.who,
      decision: { reason },
    };
    await this.save(next, appeal.rev);
    if (decision.outcome === "upheld") {
      let applied: AppliedRemedy;
      try {
        applied = await remedy(next, { ...decision, reason });
      } catch (e) {
        // The sanction could not be lifted (the store failed, a veto…): the appeal goes back to
        // where it was, so that it can be decided again, rather than saying "upheld" over a
        // sanction still in force.
        const back: Appeal = { ...appeal, rev: next.rev + 1 };
        await this.store.saveReview(back, next.rev, this.options.appealRetentionMs, []).catch(() => undefined);
        throw e;
      }
      const written: Appeal = { ...next, rev: next.rev + 1, decision: { reason, ...applied } };
      // The remedy is recorded on the appeal; a lost write here leaves the decision standing.
      if ((await this.store.saveReview(written, next.rev, this.options.appealRetentionMs, [])) === "saved")
        next = written;
    }
    this.stats.count({ [`appeals.${decision.outcome}`]: 1 }, { appealDecision: now - appeal.openedAt });
    this.tell(next, `appeal.${decision.outcome}`, { reason });
    return next;
  }

  /** The player withdraws their appeal before a decision. */
  async withdraw(did: DigitalId, appealId: unknown): Promise<Appeal> {
    const appeal = await this.get(appealId);
    if (appeal.did !== did) throw new WardenError("APPEAL_NOT_FOUND", "no appeal with this id");
    if (appeal.state !== "filed" && appeal.state !== "in_review")
      throw new WardenError("APPEAL_NOT_ALLOWED", `the appeal is already ${appeal.state}`);
    const next: Appeal = { ...appeal, rev: appeal.rev + 1, state: "withdrawn", decidedAt: this.now() };
    await this.save(next, appeal.rev);
    this.stats.count({ "appeals.withdrawn": 1 });
    this.tell(next, "appeal.withdrawn", {});
    return next;
  }

  private checkFourEyes(appeal: Appeal, by: Decider): void {
    if (sameActor(appeal.issuedBy, by.who))
      throw new WardenError("FOUR_EYES", "the moderator who issued a sanction may not review or decide its appeal");
  }

  private async save(next: Appeal, expectedRev: number): Promise<void> {
    if ((await this.store.saveReview(next, expectedRev, this.options.appealRetentionMs, [])) === "conflict")
      throw new WardenError("REVIEW_CONFLICT", "the appeal changed meanwhile: read it again");
  }

  private tell(appeal: Appeal, key: string, vars: Record<string, string>): void {
    this.host.notify(appeal.did, {
      topic: "appeal",
      key,
      ref: appeal.id,
      state: appeal.state,
      // A notice's vars are bounded (200 characters): the whole reason stays on the appeal, fetchable.
      vars: Object.fromEntries(
        Object.entries({ handle: appeal.sanctionId, ...vars }).map(([k, v]) => [k, boundText(v, 200)]),
      ),
    });
  }
}
