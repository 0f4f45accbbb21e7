import type { LiveSession } from "./identity/live-sessions.js";
import type { ResolvedOptions } from "./options.js";
import type { Detector, Evidence } from "./recorder/offense.js";
import { boundText } from "./util/text.js";
import type { WardenStore } from "./stores/store.js";

/** What happened to a report. Reports never throw at the reporter. */
export type ReportOutcome =
  | { status: "filed"; weight: number; escalated: boolean }
  | { status: "duplicate" }
  | { status: "rejected"; reason: string };

/** Sanctions within this window lower the weight of an ID's reports. */
const RECENT_SANCTIONS_MS = 86_400_000;

interface ReportHost {
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence): void;
  storeFailed(operation: string, cause: unknown): void;
}

/**
 * Player reports. A report counts only when reporter and target are in the same room (the
 * plugin checks), once per reporter per target per window (the store checks, across
 * processes), with a weight that depends on the reporter's standing; reports turn into a
 * `reported` offense only when their weighted sum within the window crosses the threshold.
 * Many reports from one ID are report abuse, itself an offense.
 */
export class ReportService {
  constructor(
    private readonly store: WardenStore,
    private readonly options: ResolvedOptions["reports"],
    private readonly host: ReportHost,
    private readonly now: () => number = Date.now,
  ) {}

  /** The weight of a report by an ID: 1, ×¼ for a brand-new ID, ×½ after a recent sanction, 0 after three. */
  weightOf(reporter: LiveSession, now: number): number {
    const standing = reporter.standing;
    let weight = 1;
    if (standing.firstSeen === undefined || now - standing.firstSeen < this.options.newIdMs) weight *= 0.25;
    let recent = 0;
    for (const start of standing.recentSanctions?.values() ?? []) if (start > now - RECENT_SANCTIONS_MS) recent++;
    if (recent >= 3) return 0;
    if (recent >= 1) weight *= 0.5;
    return weight;
  }

  /** Files a report from `reporter` against `target` (both in the same room). */
  async file(reporter: LiveSession, target: LiveSession, reasonText: string): Promise<ReportOutcome> {
    const now = this.now();
    const standing = reporter.standing;
    standing.reportTimes = (standing.reportTimes ?? []).filter((t) => t > now - this.options.windowMs);
    standing.reportTimes.push(now);
    if (standing.reportTimes.length > this.options.maxPerWindow) {
      // Record once when the limit is passed, not for every further report.
      if (standing.reportTimes.length === this.options.maxPerWindow + 1) {
        this.host.offense(reporter, "report", "report_abuse", { reports: standing.reportTimes.length, windowMs: this.options.windowMs });
      }
      return { status: "rejected", reason: "too many reports: try again later" };
    }
    const weight = this.weightOf(reporter, now);
    let result;
    try {
      result = await this.store.fileReport(target.did, reporter.did, weight, now, this.options.windowMs);
    } catch (e) {
      this.host.storeFailed("fileReport", e);
      return { status: "rejected", reason: "reports are unavailable right now" };
    }
    if (result.status === "duplicate") return { status: "duplicate" };
    const escalated = result.total >= this.options.threshold - 1e-9;
    if (escalated) {
      this.host.offense(target, "report", "reported", { weight: Math.round(result.total * 100) / 100, reason: boundText(reasonText, 120) });
      await this.store.clearReports(target.did).catch((e: unknown) => this.host.storeFailed("clearReports", e));
    }
    return { status: "filed", weight, escalated };
  }
}
