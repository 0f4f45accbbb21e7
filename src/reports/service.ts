import type { DigitalId } from "../identity/digital-id.js";
import type { LocalProfile } from "../identity/profiles.js";
import type { Detector, Evidence } from "../recorder/offense.js";
import type { Sanction } from "../sanctions/model.js";
import type { LiveSession } from "../sanctions/standing.js";
import type { ReportStore, StoreReportResult } from "../stores/store.js";
import { Ledger } from "../util/ledger.js";
import { boundText } from "../util/text.js";
import type { ReportOptions } from "./options.js";

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
  /** The ID's profile in this process (first seen), if it has one. */
  profileOf(did: DigitalId): LocalProfile | undefined;
}

/** An ID's report bookkeeping in this process. */
interface ReportBook {
  /** Its recent sanctions (any kind): id → start, for the weight of its reports. */
  recentSanctions: Map<string, number>;
  /** When it filed its recent reports, for report-abuse detection. */
  reportTimes: number[];
}

/**
 * Player reports. A report counts only when reporter and target are in the same room (the
 * plugin checks), once per reporter per target per window (the store checks, across
 * processes), with a weight that depends on the reporter's standing; reports turn into a
 * `reported` offense only when their weighted sum within the window crosses the threshold.
 * Many reports from one ID are report abuse, itself an offense.
 */
export class ReportService {
  /** The report bookkeeping of the IDs with sessions here, kept after they leave while it still counts. */
  private readonly books: Ledger<DigitalId, ReportBook>;

  constructor(
    private readonly store: ReportStore,
    private readonly options: Required<ReportOptions>,
    private readonly host: ReportHost,
    private readonly now: () => number = Date.now,
  ) {
    this.books = new Ledger<DigitalId, ReportBook>(
      () => ({ recentSanctions: new Map(), reportTimes: [] }),
      (book) =>
        Math.max(
          ...book.reportTimes.map((t) => t + options.windowMs),
          ...[...book.recentSanctions.values()].map((t) => t + RECENT_SANCTIONS_MS),
          0,
        ),
    );
  }

  /** An ID has a session here now. */
  acquire(did: DigitalId): void {
    this.books.acquire(did);
  }

  /** A session of the ID left. */
  release(did: DigitalId): void {
    this.books.release(did);
  }

  /** Notes sanctions of an ID (of any kind) that started within the last day, for the weight of its reports. */
  noteSanctions(did: DigitalId, sanctions: readonly Pick<Sanction, "id" | "start">[]): void {
    const book = this.books.peek(did);
    if (book === undefined) return;
    const now = this.now();
    for (const s of sanctions) if (s.start > now - RECENT_SANCTIONS_MS) book.recentSanctions.set(s.id, s.start);
    for (const [id, start] of book.recentSanctions)
      if (start <= now - RECENT_SANCTIONS_MS) book.recentSanctions.delete(id);
  }

  /** Stops the bookkeeping's sweep (the warden closed). */
  stop(): void {
    this.books.stop();
  }

  /** The weight of a report by an ID: 1, ×¼ for a brand-new ID, ×½ after a recent sanction, 0 after three. */
  weightOf(reporter: LiveSession, now: number): number {
    const firstSeen = this.host.profileOf(reporter.did)?.firstSeen;
    let weight = 1;
    if (firstSeen === undefined || now - firstSeen < this.options.newIdMs) weight *= 0.25;
    let recent = 0;
    for (const start of this.books.peek(reporter.did)?.recentSanctions.values() ?? [])
      if (start > now - RECENT_SANCTIONS_MS) recent++;
    if (recent >= 3) return 0;
    if (recent >= 1) weight *= 0.5;
    return weight;
  }

  /** Files a report from `reporter` against `target` (both in the same room). */
  async file(reporter: LiveSession, target: LiveSession, reasonText: string): Promise<ReportOutcome> {
    const now = this.now();
    // A bound session's ID always has its book (acquired at join); a throwaway one otherwise.
    const book = this.books.peek(reporter.did) ?? { recentSanctions: new Map(), reportTimes: [] };
    const reportTimes = (book.reportTimes = book.reportTimes.filter((t) => t > now - this.options.windowMs));
    reportTimes.push(now);
    if (reportTimes.length > this.options.maxPerWindow) {
      // Record once when the limit is passed, not for every further report.
      if (reportTimes.length === this.options.maxPerWindow + 1) {
        this.host.offense(reporter, "report", "report_abuse", {
          reports: reportTimes.length,
          windowMs: this.options.windowMs,
        });
      }
      return { status: "rejected", reason: "too many reports: try again later" };
    }
    const weight = this.weightOf(reporter, now);
    let result: StoreReportResult;
    try {
      result = await this.store.fileReport(target.did, reporter.did, weight, now, this.options.windowMs);
    } catch (e) {
      this.host.storeFailed("fileReport", e);
      return { status: "rejected", reason: "reports are unavailable right now" };
    }
    if (result.status === "duplicate") return { status: "duplicate" };
    const escalated = result.total >= this.options.threshold - 1e-9;
    if (escalated) {
      this.host.offense(target, "report", "reported", {
        weight: Math.round(result.total * 100) / 100,
        reason: boundText(reasonText, 120),
      });
      await this.store.clearReports(target.did).catch((e: unknown) => this.host.storeFailed("clearReports", e));
    }
    return { status: "filed", weight, escalated };
  }
}
