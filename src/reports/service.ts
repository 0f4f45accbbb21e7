import type { DigitalId } from "../identity/digital-id.js";
import type { Detector, Evidence } from "../recorder/offense.js";
import type { Sanction } from "../sanctions/model.js";
import type { LiveSession } from "../sanctions/standing.js";
import type { PlayerNotice } from "../sanctions/model.js";
import type { ReportStore, ReviewStore, StoreReportResult } from "../stores/store.js";
import { type CaseService, newReceipt, standingFactor } from "../reviews/cases.js";
import {
  type CaseReport,
  type EvidenceSnapshot,
  MAX_REPORT_REASON,
  type ReportCase,
  type ReporterStanding,
} from "../reviews/model.js";
import { REPORT_CATEGORIES, type Transparency } from "../reviews/transparency.js";
import { formatInstant } from "../util/time.js";
import { WardenError } from "../errors.js";
import { Held, Ledger } from "../util/ledger.js";
import { boundText } from "../util/text.js";
import type { ReportOptions } from "./options.js";

/**
 * What happened to a report. Reports never throw at the reporter. A filed report gets a
 * receipt (`r…`), which is all the reporter ever learns about the case: its status comes
 * later as a notice, or from the player API.
 */
export type ReportOutcome =
  | {
      status: "filed";
      weight: number;
      receipt: string /** This report put the case into the review queue. */;
      queued: boolean;
    }
  | { status: "duplicate" }
  | { status: "rejected"; reason: string };

/** What a reporter says: a free-text reason (kept with the case only) and a category. */
export interface ReportInput {
  reason: string;
  category?: string;
}

/** Sanctions within this window lower the weight of an ID's reports. */
const RECENT_SANCTIONS_MS = 86_400_000;

interface ReportHost {
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence): void;
  storeFailed(operation: string, cause: unknown): void;
  /** The ID has a live session in this process. */
  present(did: DigitalId): boolean;
  /** Tells a player (their live sessions anywhere) about their report. */
  notify(did: DigitalId, notice: PlayerNotice): void;
  /** The case just entered the queue: the operator may allow an interim warn or short mute (never more). */
  queued(target: LiveSession, record: ReportCase): void;
  /** The last chat lines of the room where the report was filed (opt-in evidence). */
  snapshot(reporter: LiveSession): EvidenceSnapshot | undefined;
}

/** An ID's report bookkeeping in this process. */
class ReportBook extends Held {
  /** Its recent sanctions (any kind): id → start, for the weight of its reports; null until it has one (most never do). */
  recentSanctions: Map<string, number> | null = null;
}

/**
 * Player reports. A report counts only when reporter and target are in the same room (the
 * plugin checks), once per reporter per target per window (the store checks, across
 * processes), with a weight that depends on the reporter's standing and track record. Every
 * report goes into the target's case; when the weighted sum within the window crosses the
 * threshold the case enters the review queue, where a person decides (src/reviews/cases.ts).
 * Reports never climb the ladder. More than `maxPerWindow` reports from one ID within the
 * window — counted by the store, so leaving and rejoining, or moving to another process,
 * does not reset it — are report abuse, itself an offense; an ID whose reports were
 * repeatedly dismissed as unfounded is suspended from reporting.
 */
export class ReportService {
  /** The report bookkeeping of the IDs with sessions here, kept after they leave while it still counts. */
  private readonly books: Ledger<DigitalId, ReportBook>;

  constructor(
    private readonly store: ReportStore & ReviewStore,
    private readonly cases: CaseService,
    private readonly stats: Transparency,
    private readonly options: Required<ReportOptions>,
    private readonly host: ReportHost,
    private readonly now: () => number = Date.now,
  ) {
    this.books = new Ledger<DigitalId, ReportBook>(
      () => new ReportBook(),
      (book) => Math.max(...[...(book.recentSanctions?.values() ?? [])].map((t) => t + RECENT_SANCTIONS_MS), 0),
    );
  }

  /**
   * Notes sanctions of an ID (of any kind) that started within the last day, for the weight
   * of its reports: while the ID has a session here, or its book is still kept. A book
   * exists only for an ID with such a sanction, and stays until the last of them stops
   * counting (most IDs never have one: no object and no map entry for them; issue 14).
   */
  noteSanctions(did: DigitalId, sanctions: readonly Pick<Sanction, "id" | "start">[]): void {
    const now = this.now();
    const recent = sanctions.filter((s) => s.start > now - RECENT_SANCTIONS_MS);
    if (this.books.peek(did) === undefined && (recent.length === 0 || !this.host.present(did))) return;
    const book = this.books.acquire(did);
    for (const s of recent) (book.recentSanctions ??= new Map()).set(s.id, s.start);
    const kept = book.recentSanctions;
    if (kept !== null) for (const [id, start] of kept) if (start <= now - RECENT_SANCTIONS_MS) kept.delete(id);
    // Held only for this call: kept afterwards until its last sanction stops counting.
    this.books.release(did);
  }

  /** Stops the bookkeeping's sweep (the warden closed). */
  stop(): void {
    this.books.stop();
  }

  /**
   * The weight of a report by an ID: 1, ×¼ for a brand-new ID, ×½ after a recent sanction, 0
   * after three; times its track record (upheld reports up to ×2, an unfounded one ×½).
   */
  weightOf(reporter: LiveSession, now: number, standing?: ReporterStanding): number {
    const firstSeen = reporter.standing.firstSeen;
    let weight = 1;
    if (firstSeen === undefined || now - firstSeen < this.options.newIdMs) weight *= 0.25;
    let recent = 0;
    for (const start of this.books.peek(reporter.did)?.recentSanctions?.values() ?? [])
      if (start > now - RECENT_SANCTIONS_MS) recent++;
    if (recent >= 3) return 0;
    if (recent >= 1) weight *= 0.5;
    return standing === undefined ? weight : weight * standingFactor(standing);
  }

  /** Files a report from `reporter` against `target` (both in the same room). */
  async file(reporter: LiveSession, target: LiveSession, input: ReportInput): Promise<ReportOutcome> {
    const now = this.now();
    const category = (REPORT_CATEGORIES as readonly string[]).includes(input.category ?? "")
      ? input.category!
      : "other";
    let standing: ReporterStanding;
    let filedInWindow: number;
    try {
      standing = await this.store.reporterStanding(reporter.did);
      if (standing.suspendedUntil > now) {
        this.stats.count({ "reports.suspended": 1 });
        return {
          status: "rejected",
          reason: `your reports are suspended until ${formatInstant(standing.suspendedUntil)} after repeated unfounded reports`,
        };
      }
      filedInWindow = await this.store.countReportBy(reporter.did, now, this.options.windowMs);
    } catch (e) {
      this.host.storeFailed("fileReport", e);
      return { status: "rejected", reason: "reports are unavailable right now" };
    }
    if (filedInWindow > this.options.maxPerWindow) {
      // Record once when the limit is passed, not for every further report.
      if (filedInWindow === this.options.maxPerWindow + 1) {
        this.host.offense(reporter, "report", "report_abuse", {
          reports: filedInWindow,
          windowMs: this.options.windowMs,
        });
      }
      return { status: "rejected", reason: "too many reports: try again later" };
    }
    const weight = this.weightOf(reporter, now, standing);
    let result: StoreReportResult;
    try {
      result = await this.store.fileReport(target.did, reporter.did, weight, now, this.options.windowMs);
    } catch (e) {
      this.host.storeFailed("fileReport", e);
      return { status: "rejected", reason: "reports are unavailable right now" };
    }
    if (result.status === "duplicate") return { status: "duplicate" };
    const receipt = newReceipt();
    const report: CaseReport = {
      reporter: reporter.did,
      receipt,
      category,
      at: now,
      weight: Math.round(weight * 100) / 100,
      reason: boundText(input.reason ?? "", MAX_REPORT_REASON),
      room: reporter.room.roomName,
    };
    let queued = false;
    try {
      const collected = await this.cases.collect(target.did, report, result.total, this.options.threshold, () =>
        this.host.snapshot(reporter),
      );
      queued = collected.queued;
      if (queued) {
        // The weights start again from zero for the target's next case; the reporters stay
        // listed until the window ends (still one report per reporter per window).
        await this.store.clearReports(target.did).catch((e: unknown) => this.host.storeFailed("clearReports", e));
        this.host.queued(target, collected.record);
      }
    } catch (e) {
      // Contention that outlasted every retry is not an outage; anything else is the store's.
      if (!(e instanceof WardenError && e.code === "REVIEW_CONFLICT")) this.host.storeFailed("collectReport", e);
      return { status: "rejected", reason: "reports are unavailable right now" };
    }
    // Counted once the report is in its case: the transparency report counts what moderators can see.
    this.stats.count({ "reports.received": 1, [`reports.category.${category}`]: 1 });
    this.host.notify(reporter.did, {
      topic: "report",
      key: "report.received",
      ref: receipt,
      state: "received",
      vars: {},
    });
    return { status: "filed", weight, receipt, queued };
  }
}
