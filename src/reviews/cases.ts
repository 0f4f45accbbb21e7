/**
 * Report cases (notice and action, DSA Art. 16): reports against a player are collected in
 * one case; once their weight crosses the threshold the case enters the review queue, where
 * a person decides — reports alone never climb the ladder. Deciding tells every reporter the
 * outcome (acted or not, never the other player's data) and updates their track record:
 * upheld reports gain weight; repeated unfounded ones suspend reporting (Art. 23).
 */
import { BASE32_ALPHABET, randomBase32 } from "../util/base32.js";
import type { DigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import type { PlayerNotice } from "../sanctions/model.js";
import type { ReviewStore } from "../stores/store.js";
import { boundText } from "../util/text.js";
import {
  type CaseReport,
  didOfReviewId,
  type EvidenceSnapshot,
  MAX_CASE_REPORTS,
  type ReportCase,
  type ReporterStanding,
} from "./model.js";
import type { ResolvedDueProcess } from "./options.js";
import type { Transparency } from "./transparency.js";

const ALPHABET = BASE32_ALPHABET;
const token = randomBase32;

/** A fresh reporter's receipt: says nothing about the case or the reported player. */
export function newReceipt(): string {
  return `r${token(12)}`;
}

/** What a reporter sees of a report they filed. */
export interface ReportReceipt {
  receipt: string;
  at: number;
  category: string;
  /** `received` (waiting), `actioned` (a person acted), `not_actioned` (a person decided no action was needed). */
  status: "received" | "actioned" | "not_actioned";
}

/** A moderator's decision on a case. */
export type CaseDecision =
  | { action: "sanction"; reason: string }
  | {
      action: "dismiss";
      reason: string /** The reports were unfounded: counts against each reporter. */;
      unfounded?: boolean;
    };

/** What the cases need of the rest of the warden. */
export interface CaseHost {
  notify(did: DigitalId, notice: PlayerNotice): void;
  storeFailed(operation: string, cause: unknown): void;
}

/** Attempts to add a report to a case that others write at the same moment (each round, one writer wins). */
const RETRIES = 60;

/** Case ids count up per reported player: `<did>.<generation in 8 base32 digits>.c`. */
function caseId(target: DigitalId, generation: number): string {
  let digits = "";
  for (let g = generation, i = 0; i < 8; i++, g = Math.floor(g / 32)) digits = ALPHABET[g % 32] + digits;
  return `${target}.${digits}.c`;
}

/** The generation of a case id (0 for a case id of another form, e.g. random). */
function generationOf(id: string): number {
  const digits = id.split(".")[1] ?? "";
  let g = 0;
  for (const ch of digits) g = g * 32 + Math.max(0, ALPHABET.indexOf(ch));
  return digits.length === 8 ? g : 0;
}

export class CaseService {
  constructor(
    private readonly store: ReviewStore,
    private readonly host: CaseHost,
    private readonly stats: Transparency,
    private readonly options: ResolvedDueProcess,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds a report to the target's case (opening one if none is collecting or open) and
   * queues the case when `total` (the reports' weighted sum within the window) reaches
   * `threshold`. Answers the case and whether this report queued it.
   */
  async collect(
    target: DigitalId,
    report: CaseReport,
    total: number,
    threshold: number,
    snapshot: () => EvidenceSnapshot | undefined,
  ): Promise<{ record: ReportCase; queued: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      // The target's newest case: added to while it collects or waits; once decided, the next
      // report opens the next generation. The id is the same for every writer that gets here
      // at once, so concurrent first reports meet on one record (compare-and-set), never
      // open a case each.
      let newest: ReportCase | undefined;
      for (const r of await this.store.reviewsOf(target))
        if (r.type === "case" && (newest === undefined || generationOf(r.id) >= generationOf(newest.id))) newest = r;
      const current =
        newest !== undefined && (newest.state === "collecting" || newest.state === "open") ? newest : undefined;
      const base: ReportCase = current ?? {
        type: "case",
        id: caseId(target, newest === undefined ? 1 : generationOf(newest.id) + 1),
        did: target,
        rev: 0,
        openedAt: now,
        state: "collecting",
        weight: 0,
        count: 0,
        reports: [],
      };
      const reports = base.reports.length < MAX_CASE_REPORTS ? [...base.reports, report] : base.reports;
      const next: ReportCase = {
        ...base,
        rev: base.rev + 1,
        count: base.count + 1,
        weight: Math.round((base.weight + report.weight) * 100) / 100,
        reports,
      };
      const queued = next.state === "collecting" && total >= threshold - 1e-9;
      if (queued) {
        next.state = "open";
        next.queuedAt = now;
        const evidence = this.options.evidence.enabled ? snapshot() : undefined;
        if (evidence !== undefined) next.evidence = evidence;
      }
      const involved = [
        ...new Set([...next.reports.map((r) => r.reporter), ...(next.evidence?.lines.map((l) => l.did) ?? [])]),
      ].filter((d) => d !== target);
      const result = await this.store.saveReview(
        next,
        current ? current.rev : null,
        this.options.caseRetentionMs,
        involved,
      );
      if (result === "saved") {
        if (queued) this.stats.count({ "cases.opened": 1 });
        return { record: next, queued };
      }
      if (attempt >= RETRIES) throw new WardenError("REVIEW_CONFLICT", "the case kept changing: report not added");
      // A little jitter, so that writers who lost a round do not all come back together.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 1 + attempt)));
    }
  }

  /** One case by id; throws `CASE_NOT_FOUND`. */
  async get(caseId: unknown): Promise<ReportCase> {
    const record =
      typeof caseId === "string" && didOfReviewId(caseId) !== null ? await this.store.review(caseId) : null;
    if (record === null || record.type !== "case")
      throw new WardenError("CASE_NOT_FOUND", "no report case with this id");
    return record;
  }

  /** The oldest cases waiting for a person. */
  async queue(limit: number): Promise<ReportCase[]> {
    return (await this.store.reviewQueue("case", limit)).filter((r): r is ReportCase => r.type === "case");
  }

  /** Cases against an ID (staff view). */
  async against(did: DigitalId): Promise<ReportCase[]> {
    return (await this.store.reviewsOf(did)).filter((r): r is ReportCase => r.type === "case");
  }

  /**
   * Decides a case: claimed first (compare-and-set), then for `sanction` the caller's `act`
   * issues it (audited, by the deciding person) and returns its id. Every reporter is told
   * the outcome and their track record is updated.
   */
  async decide(
    caseId: string,
    decision: CaseDecision,
    by: { who: string },
    act: (record: ReportCase) => Promise<string | null>,
  ): Promise<ReportCase> {
    const reason = typeof decision.reason === "string" ? boundText(decision.reason, 500) : "";
    if (reason.length === 0) throw new WardenError("INVALID_REQUEST", "a decision needs a reason");
    const record = await this.get(caseId);
    if (record.state !== "open" && record.state !== "collecting")
      throw new WardenError("REVIEW_CONFLICT", `the case is already ${record.state}`);
    const now = this.now();
    const actioned = decision.action === "sanction";
    const claimed: ReportCase = {
      ...record,
      rev: record.rev + 1,
      state: actioned ? "actioned" : "dismissed",
      decidedAt: now,
      decidedBy: by.who,
      outcome: { action: actioned ? "sanctioned" : "dismissed", reason },
    };
    const involved = [...new Set(record.reports.map((r) => r.reporter))];
    if ((await this.store.saveReview(claimed, record.rev, this.options.caseRetentionMs, involved)) === "conflict")
      throw new WardenError("REVIEW_CONFLICT", "the case changed meanwhile: read it again");
    let final = claimed;
    // Acted on only if a sanction was in fact issued (a `sanction:before` veto issues none):
    // reporters are told "actioned", and credited, only then.
    let acted = false;
    if (actioned) {
      const sanctionId = await act(claimed);
      if (sanctionId !== null) {
        acted = true;
        const withId: ReportCase = {
          ...claimed,
          rev: claimed.rev + 1,
          outcome: { action: "sanctioned", sanctionId, reason },
        };
        if ((await this.store.saveReview(withId, claimed.rev, this.options.caseRetentionMs, involved)) === "saved")
          final = withId;
      }
    }
    this.stats.count(
      { [actioned ? "cases.actioned" : "cases.dismissed"]: 1 },
      { reportToDecision: now - (record.queuedAt ?? record.openedAt) },
    );
    const unfounded = decision.action === "dismiss" && decision.unfounded === true;
    for (const report of record.reports) {
      this.host.notify(report.reporter, {
        topic: "report",
        key: acted ? "report.actioned" : "report.not_actioned",
        ref: report.receipt,
        state: acted ? "actioned" : "not_actioned",
        vars: {},
      });
    }
    for (const reporter of involved) {
      if (!acted && !unfounded) continue;
      await this.noteReporter(reporter, acted ? "upheld" : "unfounded").catch((e: unknown) =>
        this.host.storeFailed("noteReporter", e),
      );
    }
    return final;
  }

  /** Adds a case to a reporter's record; suspends their reporting after too many unfounded ones. */
  private async noteReporter(reporter: DigitalId, outcome: "upheld" | "unfounded"): Promise<void> {
    const now = this.now();
    const before = await this.store.reporterStanding(reporter);
    const suspend =
      outcome === "unfounded" && before.unfounded + 1 >= this.options.unfoundedLimit && before.suspendedUntil <= now;
    const until = now + this.options.suspendMs;
    await this.store.noteReporter(reporter, outcome, this.options.reporterRetentionMs, suspend ? until : undefined);
    if (!suspend) return;
    this.stats.count({ "misuse.suspensions": 1 });
    this.host.notify(reporter, {
      topic: "report",
      key: "report.suspended",
      ref: "reporting",
      state: "suspended",
      vars: { until: new Date(until).toISOString() },
    });
  }

  /** The receipts of the reports an ID filed that are still kept (newest first): status only, nothing about the other player. */
  async receipts(reporter: DigitalId): Promise<ReportReceipt[]> {
    const ids = (await this.store.involvedIn(reporter)).slice(0, 200);
    const out: ReportReceipt[] = [];
    for (const id of ids) {
      const record = await this.store.review(id);
      if (record === null || record.type !== "case") continue;
      const status: ReportReceipt["status"] =
        record.state === "actioned" ? "actioned" : record.state === "dismissed" ? "not_actioned" : "received";
      for (const r of record.reports)
        if (r.reporter === reporter) out.push({ receipt: r.receipt, at: r.at, category: r.category, status });
    }
    return out.sort((a, b) => b.at - a.at);
  }
}

/** The weight multiplier of a reporter's track record: upheld reports count more (up to ×2), an unfounded one halves it. */
export function standingFactor(standing: ReporterStanding): number {
  let factor = 1 + 0.25 * Math.min(4, standing.upheld);
  if (standing.unfounded > 0) factor *= 0.5;
  return factor;
}
