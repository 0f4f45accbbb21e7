/**
 * The transparency report (DSA Art. 15/24): what the moderation did over a period, in
 * counts and medians, with no personal data. Counters are kept per UTC day by the store
 * ({@link StatsStore}); this module names them, counts into them, and sums them up.
 */
import { WardenError } from "../errors.js";
import type { Sanction } from "../sanctions/model.js";
import type { StatsStore } from "../stores/store.js";
import type { DayStats } from "./model.js";

/** Report categories a player may give (anything else counts as `other`). */
export const REPORT_CATEGORIES = ["cheating", "harassment", "hate", "spam", "sexual", "other"] as const;
export type ReportCategory = (typeof REPORT_CATEGORIES)[number];

/** Longest period one report covers. */
export const MAX_REPORT_DAYS = 400;

const DAY = 86_400_000;

/** `YYYY-MM-DD` (UTC) of an instant. */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The machine-readable transparency report. */
export interface TransparencyReport {
  period: { from: string; to: string; days: number };
  generatedAt: string;
  /** Reports (notices) received, in total and by category; cases opened and how they ended. */
  notices: {
    received: number;
    byCategory: Record<string, number>;
    casesOpened: number;
    casesActioned: number;
    casesDismissed: number;
    /** Reports refused because the reporter's reporting was suspended for misuse. */
    refusedSuspended: number;
  };
  /** Sanctions issued, by kind, and by source (track of an automated one, `moderator` for a person's own initiative, `reports` after a case). */
  actions: { total: number; byKind: Record<string, number>; bySource: Record<string, number> };
  /** How many actions were detected by a program vs by people, and decided by the policy vs by a person. */
  automation: { detection: { automated: number; human: number }; decision: { automated: number; human: number } };
  /** Median time, ms, from the offense (last fact) to an automated action, and from a case entering the queue to its decision. */
  medianMs: { offenseToAction: number | null; reportToDecision: number | null };
  appeals: {
    filed: number;
    decided: number;
    upheld: number;
    rejected: number;
    withdrawn: number;
    medianDecisionMs: number | null;
  };
  /** Reporters suspended for repeated unfounded reports (Art. 23). */
  misuseSuspensions: number;
  /** Sanctions in force when the report was made, by kind. */
  activeSanctions: Record<string, number>;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** Parses `YYYY-MM-DD` to the epoch ms of its start (UTC), or throws `INVALID_REQUEST`. */
export function parseDay(text: unknown, what: string): number {
  if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(text))
    throw new WardenError("INVALID_REQUEST", `${what} must be a date YYYY-MM-DD`);
  const at = Date.parse(`${text}T00:00:00Z`);
  if (!Number.isFinite(at) || dayOf(at) !== text)
    throw new WardenError("INVALID_REQUEST", `${what} is not a valid date: ${JSON.stringify(text)}`);
  return at;
}

/**
 * Counts into the day's counters. Counting never fails its caller: a store error is handed
 * to `failed` (the warden reports it as `store:error`) and the count is lost — the report
 * says what was counted, and a failed count is visible there as a gap, not as an error
 * thrown at a player.
 */
export class Transparency {
  constructor(
    private readonly store: StatsStore,
    private readonly keepMs: number,
    private readonly failed: (operation: string, cause: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds counts (and duration samples) to today's counters. */
  count(counts: Record<string, number>, samples: Record<string, number> = {}): void {
    this.store
      .countStats(dayOf(this.now()), counts, samples, this.keepMs)
      .catch((e: unknown) => this.failed("countStats", e));
  }

  /** A sanction was issued: its kind, source, how it was detected and decided, and (automated) the time from its offense. */
  issued(sanction: Sanction): void {
    const st = sanction.statement;
    const automatedDecision = st?.automated.decision ?? sanction.by === "policy";
    const automatedDetection = st?.automated.detection ?? automatedDecision;
    const source =
      st?.ladder?.track ??
      (st !== undefined && st.facts.reports > 0 ? "reports" : automatedDecision ? "policy" : "moderator");
    const counts: Record<string, number> = {
      "actions.total": 1,
      [`actions.kind.${sanction.kind}`]: 1,
      [`actions.source.${source}`]: 1,
      [automatedDetection ? "detection.automated" : "detection.human"]: 1,
      [automatedDecision ? "decision.automated" : "decision.human"]: 1,
    };
    const samples: Record<string, number> = {};
    const last = st?.facts.events.at(-1)?.at;
    if (automatedDecision && last !== undefined && sanction.start >= last)
      samples.offenseToAction = sanction.start - last;
    this.count(counts, samples);
    if (sanction.kind === "mute" || sanction.kind === "freeze" || sanction.kind === "ban")
      this.store
        .trackActive(sanction.id, sanction.kind, sanction.end)
        .catch((e: unknown) => this.failed("trackActive", e));
  }

  /** A sanction was revoked: it is no longer in force. */
  revoked(sanction: Sanction): void {
    this.store.untrackActive(sanction.id, sanction.kind).catch((e: unknown) => this.failed("untrackActive", e));
  }

  /** Sums the counters of `[from, to]` (whole UTC days, both included) into the report. */
  async report(from: string, to: string): Promise<TransparencyReport> {
    const start = parseDay(from, "from");
    const end = parseDay(to, "to");
    if (end < start) throw new WardenError("INVALID_REQUEST", "to is before from");
    const days = (end - start) / DAY + 1;
    if (days > MAX_REPORT_DAYS)
      throw new WardenError("INVALID_REQUEST", `a report covers at most ${MAX_REPORT_DAYS} days, asked ${days}`);
    const names: string[] = [];
    for (let at = start; at <= end; at += DAY) names.push(dayOf(at));
    const [stats, active] = await Promise.all([this.store.statsOf(names), this.store.countActive(this.now())]);
    return summarize(from, to, days, stats, active, new Date(this.now()).toISOString());
  }
}

/** Sums daily counters into a report (pure; exported for tests). */
export function summarize(
  from: string,
  to: string,
  days: number,
  stats: readonly DayStats[],
  active: Record<string, number>,
  generatedAt: string,
): TransparencyReport {
  // Null-prototype maps: a counter or sample name read back from the store (an insider's
  // `__proto__`, say) is only ever a key.
  const c: Record<string, number> = Object.create(null);
  const s: Record<string, number[]> = Object.create(null);
  for (const day of stats) {
    for (const [k, v] of Object.entries(day.counts)) c[k] = (c[k] ?? 0) + v;
    for (const [k, v] of Object.entries(day.samples))
      if (Array.isArray(v)) (s[k] ??= []).push(...v.filter((x) => typeof x === "number" && Number.isFinite(x)));
  }
  const prefixed = (prefix: string): Record<string, number> => {
    const out: Record<string, number> = Object.create(null);
    for (const [k, v] of Object.entries(c)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
    return out;
  };
  const n = (k: string) => c[k] ?? 0;
  return {
    period: { from, to, days },
    generatedAt,
    notices: {
      received: n("reports.received"),
      byCategory: prefixed("reports.category."),
      casesOpened: n("cases.opened"),
      casesActioned: n("cases.actioned"),
      casesDismissed: n("cases.dismissed"),
      refusedSuspended: n("reports.suspended"),
    },
    actions: { total: n("actions.total"), byKind: prefixed("actions.kind."), bySource: prefixed("actions.source.") },
    automation: {
      detection: { automated: n("detection.automated"), human: n("detection.human") },
      decision: { automated: n("decision.automated"), human: n("decision.human") },
    },
    medianMs: { offenseToAction: median(s.offenseToAction ?? []), reportToDecision: median(s.reportToDecision ?? []) },
    appeals: {
      filed: n("appeals.filed"),
      decided: n("appeals.upheld") + n("appeals.rejected"),
      upheld: n("appeals.upheld"),
      rejected: n("appeals.rejected"),
      withdrawn: n("appeals.withdrawn"),
      medianDecisionMs: median(s.appealDecision ?? []),
    },
    misuseSuspensions: n("misuse.suspensions"),
    activeSanctions: active,
  };
}

/** The report as CSV: one `section,metric,value` row per figure. */
export function reportToCsv(report: TransparencyReport): string {
  const rows: string[] = ["section,metric,value"];
  const walk = (section: string, value: unknown): void => {
    if (value === null || typeof value !== "object") {
      const text = value === null ? "" : String(value);
      const dot = section.indexOf(".");
      const [head, rest] = dot < 0 ? [section, ""] : [section.slice(0, dot), section.slice(dot + 1)];
      rows.push(`${head},${rest.replace(/[,\n"]/g, "_")},${text.replace(/[,\n"]/g, "_")}`);
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(section === "" ? k : `${section}.${k}`, v);
  };
  walk("", report);
  return `${rows.join("\n")}\n`;
}
