/**
 * Due process records: what a player is told about a sanction (the statement of reasons),
 * what they can do about it (an appeal), and what people review instead of arithmetic (a
 * case opened by reports). Plain data, kept by the store and shared by the services.
 *
 * Shaped after the EU Digital Services Act (Art. 16 notice and action, Art. 17 statement of
 * reasons, Art. 20 internal complaint handling, Art. 23 misuse): a configurable feature
 * set built to its strictest reading, not a legal claim.
 */
import type { DigitalId } from "../identity/digital-id.js";

import type { AltLink } from "../signals/model.js";

/** Bounded evidence: a few small scalar fields (the shape of an offense event's evidence). */
export type Evidence = Record<string, string | number | boolean>;

/** One rule of the code of conduct, as shown to a player. */
export interface ConductRule {
  /** Stable id (`spam`, `harassment`…): 1-40 of `a-z0-9_-`. */
  id: string;
  title: string;
  text: string;
  url?: string;
}

/** An offense event as a statement of reasons quotes it: what, when, which detector, bounded evidence. */
export interface StatementFact {
  at: number;
  detector: string;
  kind: string;
  track: string;
  evidence: Evidence;
}

/** What the sanctioned player may no longer do, and where. */
export interface SanctionScope {
  /** `chat` (mute), `input` (freeze: moves and every other message but chat), `session` (kick: this session ends), `join` (ban). */
  capabilities: string[];
  /** A sanction acts in every room and process where the ID is present. */
  rooms: "all";
}

/**
 * The statement of reasons of a sanction (DSA Art. 17): created with the sanction, stored
 * with it, delivered before the restriction bites, fetchable later by the player and part of
 * their export. Bounded: at most {@link MAX_STATEMENT_FACTS} facts.
 */
export interface StatementOfReasons {
  scope: SanctionScope;
  /** The rule broken; null when the issuer named none (a moderator's free-text reason only). */
  rule: ConductRule | null;
  facts: {
    /** The offense events that led to it (newest last), bounded. */
    events: StatementFact[];
    /** How many reports triggered it (0 = none): never who. */
    reports: number;
  };
  /** Automated detection (a detector saw it) and automated decision (the policy, not a person, decided). */
  automated: { detection: boolean; decision: boolean };
  /** `policy` for an automated decision, otherwise the issuer's role (`moderator`, `admin`…), never a name. */
  decidedBy: string;
  /** Where and until when to contest it: the handle is the sanction id. */
  appeal: { handle: string; until: number };
  /** For a policy sanction: the track and ladder step (0-based) it came from, so that forgiveness can undo it. */
  ladder?: { track: string; step: number };
  /** Set when the player asked to be forgotten: the details are gone, the sanction (a ban still in force) stays. */
  erased?: true;
  /**
   * The id of the sanction this one follows from (`Grounds.related`), e.g. the original ban
   * of an evader. Staff data: it names another ID, so it is left out of everything a
   * player is shown (notices, the player API, the subject's export).
   */
  related?: string;
}

/** Most facts a statement quotes. */
export const MAX_STATEMENT_FACTS = 5;

/** Longest appeal text; longer is refused (a player must know their text was not cut). */
export const MAX_APPEAL_TEXT = 2000;

/** Longest report reason kept (cut, not refused: reports never throw at the reporter). */
export const MAX_REPORT_REASON = 300;

/** Most reports a case quotes (later ones are counted, not quoted). */
export const MAX_CASE_REPORTS = 50;

/** Most chat lines an evidence snapshot holds. */
export const MAX_SNAPSHOT_LINES = 20;

/** Longest chat line a snapshot keeps. */
export const MAX_SNAPSHOT_LINE = 200;

/** Appeal states: filed → in_review → upheld | rejected, or withdrawn by the player before a decision. */
export type AppealState = "filed" | "in_review" | "upheld" | "rejected" | "withdrawn";

/** Report case states: collecting (below the threshold, not in the queue) → open → actioned | dismissed. */
export type CaseState = "collecting" | "open" | "actioned" | "dismissed";

/** A chat line of an evidence snapshot: pseudonymous ID, bounded text. */
export interface SnapshotLine {
  at: number;
  did: DigitalId;
  text: string;
}

/** The last chat lines of a room around an offense or report (opt-in). */
export interface EvidenceSnapshot {
  room: { name: string; id: string };
  takenAt: number;
  lines: SnapshotLine[];
}

/** Fields every review record has. `rev` counts writes: the store saves a record only over the revision it was read at. */
interface ReviewBase {
  /** `<did>.<8 base32 chars>.<a|c|e|v|b>`: the subject's ID leads, so the record lives in that ID's slot. */
  id: string;
  /** The subject: the sanctioned player (appeal), the reported player (case), the offender (evidence). */
  did: DigitalId;
  rev: number;
  openedAt: number;
  decidedAt?: number;
  /** The deciding actor (kept for staff; a subject's copy shows the role only). */
  decidedBy?: string;
}

/** A player's complaint against one sanction (DSA Art. 20). Its id is `<sanctionId>.a`: one per sanction. */
export interface Appeal extends ReviewBase {
  type: "appeal";
  state: AppealState;
  sanctionId: string;
  /** The sanction's issuer, copied at filing: that actor may not decide the appeal (four-eyes). */
  issuedBy: string;
  text: string;
  via: "http" | "room";
  /** Who took it into review, and when. */
  reviewer?: string;
  reviewedAt?: number;
  decision?: {
    reason: string;
    /** For an upheld appeal: the sanction was revoked, or shortened to `end`. */
    remedy?: "revoked" | "shortened";
    end?: number | null;
  };
}

/** One report in a case: who (kept for staff only), when, with what weight and reason. */
export interface CaseReport {
  reporter: DigitalId;
  /** The reporter's receipt (`r` + 12 base32 chars): what they are told and can look up; says nothing about the case or the reported player. */
  receipt: string;
  /** Category the reporter chose (`harassment`, `cheating`…; `other` by default). */
  category: string;
  at: number;
  weight: number;
  reason: string;
  room: string;
}

/** Reports against one player, reviewed by a person (DSA Art. 16). */
export interface ReportCase extends ReviewBase {
  type: "case";
  state: CaseState;
  /** Sum of the weights of the reports counted in this case (the queue is entered on the window's sum: `reports.threshold`). */
  weight: number;
  /** Reports counted (may exceed `reports.length`, which is bounded). */
  count: number;
  reports: CaseReport[];
  /** When the case crossed the threshold and entered the queue. */
  queuedAt?: number;
  evidence?: EvidenceSnapshot;
  /** Set once decided: a sanction was issued (its id) or the reports were dismissed. */
  outcome?: { action: "sanctioned" | "dismissed"; sanctionId?: string; reason: string };
  /** Sanction issued automatically while the case waits (only when the operator allows it: warn or short mute). */
  interim?: string;
}

/** An evidence snapshot kept on its own (taken for an offense). */
export interface EvidenceRecord extends ReviewBase {
  type: "evidence";
  state: "kept";
  /** The offense event's kind that triggered it. */
  kind: string;
  snapshot: EvidenceSnapshot;
}

/**
 * A suspected ban evasion (issue 13): an ID joined with a strong link to an ID under an
 * active ban. A person confirms it (bans the alt, or extends the original) or dismisses it
 * (the link is remembered and never flags again). Id `<did>.<8 base32 chars>.v`.
 */
export interface EvasionRecord extends ReviewBase {
  type: "evasion";
  state: "open" | "confirmed" | "dismissed";
  /** The banned ID it is linked to, and the ban in force when it was flagged. */
  bannedDid: DigitalId;
  banSanctionId: string;
  /** Why: the shared signal types, when seen, how crowded, the strength — no raw value. */
  link: AltLink;
  /** A restriction applied automatically while it waits (operator opt-in; never a ban). */
  interim?: string;
  outcome?: { action: "banned" | "extended" | "dismissed"; sanctionId?: string; reason: string };
}

/**
 * A permanent ban proposed by one moderator, waiting for a second person to confirm it
 * (four-eyes, `dueProcess.fourEyesBans`). Nothing restricts the player while it waits. Id
 * `<did>.<8 base32 chars>.b`. Confirming claims the record (compare-and-set), so two
 * moderators confirming at once issue one ban.
 */
export interface PendingBan extends ReviewBase {
  type: "ban";
  state: "pending" | "confirmed" | "cancelled" | "expired";
  /** The proposing actor (kept for staff): that person may not confirm it. */
  proposedBy: string;
  reason: string;
  /** A rule of the code of conduct, checked when proposed. */
  rule?: string;
  /** With the alts the proposer was shown (a ban with alts): only those are banned on confirmation. */
  alts?: string[];
  /** After this instant it can no longer be confirmed. */
  expiresAt: number;
  outcome?: { action: "confirmed" | "cancelled" | "expired"; sanctionId?: string; reason?: string };
}

export type ReviewRecord = Appeal | ReportCase | EvidenceRecord | EvasionRecord | PendingBan;
export type ReviewType = ReviewRecord["type"];

/** States in which a record waits in the review queue. */
export function isQueued(r: ReviewRecord): boolean {
  return (
    (r.type === "appeal" && (r.state === "filed" || r.state === "in_review")) ||
    (r.type === "case" && r.state === "open") ||
    (r.type === "evasion" && r.state === "open") ||
    (r.type === "ban" && r.state === "pending")
  );
}

const ID = /^([a-z2-7]{26})\.([a-z2-7]{8})(?:\.([a-z2-7]{8}))?\.([acevb])$/;

/** The subject's ID of a review id, or null when it is not one. */
export function didOfReviewId(id: string): DigitalId | null {
  const match = typeof id === "string" ? ID.exec(id) : null;
  return match ? (match[1] as DigitalId) : null;
}

/** The review id of a sanction's appeal. */
export function appealIdOf(sanctionId: string): string {
  return `${sanctionId}.a`;
}

/** Daily counters of the transparency report (DSA Art. 15/24); no personal data. */
export interface DayStats {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** Counter name → count (names: see src/reviews/transparency.ts). */
  counts: Record<string, number>;
  /** Sample name → durations in ms (bounded per day), for medians. */
  samples: Record<string, number[]>;
}

/** A reporter's track record, for the weight of their reports and for misuse (DSA Art. 23). */
export interface ReporterStanding {
  /** Cases their reports were part of that ended in a sanction. */
  upheld: number;
  /** Cases dismissed as unfounded. */
  unfounded: number;
  /** Reporting suspended until (epoch ms), after repeated unfounded reports; 0 = not suspended. */
  suspendedUntil: number;
}
