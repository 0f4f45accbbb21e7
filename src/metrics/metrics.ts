import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { GuardCounts } from "../guard/guard.js";
import type { RecorderStats } from "../recorder/recorder.js";
import { SANCTION_KINDS, type Sanction, type SanctionKind } from "../sanctions/model.js";

/**
 * Who issued a sanction, as a metric label and in the sanction's log line — a fixed set:
 * - `policy`: the escalation ladder (an automated decision with a ladder step);
 * - `report`: the interim action on a report case (`dueProcess.reportAction`);
 * - `automatic`: another automated decision (the evasion mute);
 * - `staff`: a person through the admin API (personal or configured token; the console and
 *   the CLI in API mode go through it);
 * - `cli`: the CLI's direct-store (break-glass) mode;
 * - `other`: any other issuer (game code calling `warden.sanctions.issue` with its own `by`).
 */
export const SANCTION_ORIGINS = ["policy", "report", "automatic", "staff", "cli", "other"] as const;
export type SanctionOrigin = (typeof SANCTION_ORIGINS)[number];

/** The origin of a sanction, from its issuer and statement (never a name: a bounded label). */
export function originOf(sanction: Pick<Sanction, "by" | "statement">): SanctionOrigin {
  const by = sanction.by;
  if (by === "policy") {
    if (sanction.statement?.ladder !== undefined) return "policy";
    return (sanction.statement?.facts.reports ?? 0) > 0 ? "report" : "automatic";
  }
  if (by.startsWith("staff:") || by.startsWith("api:")) return "staff";
  if (by.startsWith("cli:")) return "cli";
  return "other";
}

/**
 * Why a frame was dropped: the `reason` label of `warden_frames_dropped_total`, with the
 * {@link GuardCounts} field that counts it (`disagreement` comes from the warden's own
 * counter of frames the guard and Colyseus read differently).
 */
export const DROP_REASONS = {
  frame_budget: "frameBudget",
  oversized: "oversized",
  unknown_type: "unknownType",
  unknown_frame: "unknownFrame",
  rate: "rate",
  muted: "muted",
  frozen: "frozen",
  abusive: "abusive",
  no_session: "noSession",
} as const satisfies Record<string, keyof GuardCounts>;

/** How a join gate check ended: the `outcome` label of `warden_join_gate_seconds`. */
export const GATE_OUTCOMES = ["admitted", "banned", "kicked", "too_many_sessions", "unavailable"] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

/** What the metrics read when Prometheus scrapes (plain counters kept by the parts). */
export interface MetricsSource {
  /** The guard's frame counters. */
  guard(): Readonly<GuardCounts>;
  /** The recorder's counters. */
  recorder(): Readonly<RecorderStats>;
  /** Frames dropped because the guard and Colyseus read them differently. */
  frameDisagreements(): number;
  /** Store failures seen. */
  storeErrors(): number;
  /** Audit entries this process appended. */
  auditAppends(): number;
  /** Live sessions in this process. */
  liveSessions(): number;
}

/** Metrics of one warden: its own registry, and the few calls the parts make off the hot path. */
export interface WardenMetrics {
  /** This warden's registry (never prom-client's global one). */
  readonly registry: Registry;
  /** An offense was detected (a plain integer per track and detector, read at scrape time). */
  offense(track: string, detector: string): void;
  /** A sanction was issued from this process (a plain integer per kind and origin). */
  sanction(sanction: Sanction): void;
  /** A recorder batch's store call ended. */
  flushed(durationMs: number, ok: boolean): void;
  /** A sanction reached live sessions of this process, `seconds` after it was issued. */
  propagated(kind: SanctionKind, seconds: number): void;
  /** A join gate check ended. */
  gated(durationMs: number, outcome: GateOutcome): void;
}

/** Most label pairs one tally keeps; a further pair (none exists today: labels come from fixed sets) counts as `other`. */
const MAX_PAIRS = 64;
/** What a label may look like; anything else counts as `other`. */
const LABEL = /^[a-z][a-z0-9_]{0,31}$/;

/** Counts per pair of labels, bounded (see {@link MAX_PAIRS}). */
class PairTally {
  private readonly counts = new Map<string, { a: string; b: string; n: number }>();

  add(a: string, b: string): void {
    if (!LABEL.test(a)) a = "other";
    if (!LABEL.test(b)) b = "other";
    let key = `${a} ${b}`;
    let entry = this.counts.get(key);
    if (entry === undefined && this.counts.size >= MAX_PAIRS) {
      a = b = "other";
      key = "other other";
      entry = this.counts.get(key);
    }
    if (entry === undefined) this.counts.set(key, { a, b, n: 1 });
    else entry.n++;
  }

  entries(): IterableIterator<{ a: string; b: string; n: number }> {
    return this.counts.values();
  }
}

// Latencies in seconds, from half a millisecond (a local apply) to 10 s (a store timeout).
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Builds a warden's metrics in a registry of its own (two wardens in one process never
 * clash, and nothing lands in prom-client's global registry). Counters and gauges are read
 * from `source` when Prometheus scrapes (`collect`), so the hot path makes no metrics call:
 * the guard bumps plain integers. Only the histograms are observed as things happen — once
 * per recorder batch, per join and per sanction, never per frame. Every label comes from a
 * fixed set: no ID, room or name is ever a label.
 */
export function createMetrics(source: MetricsSource): WardenMetrics {
  const registry = new Registry();
  const registers = [registry];
  const offenses = new PairTally();
  const sanctions = new PairTally();

  new Counter({
    name: "warden_frames_inspected_total",
    help: "Inbound frames the warden saw.",
    registers,
    collect() {
      this.reset();
      this.inc(source.guard().inspected);
    },
  });
  new Counter({
    name: "warden_frames_dropped_total",
    help: "Inbound frames dropped before room code, by reason.",
    labelNames: ["reason"] as const,
    registers,
    collect() {
      this.reset();
      const counts = source.guard();
      for (const [reason, field] of Object.entries(DROP_REASONS)) this.inc({ reason }, counts[field]);
      this.inc({ reason: "disagreement" }, source.frameDisagreements());
    },
  });
  new Counter({
    name: "warden_offenses_total",
    help: "Offenses detected in this process, by track and detector.",
    labelNames: ["track", "detector"] as const,
    registers,
    collect() {
      this.reset();
      for (const { a, b, n } of offenses.entries()) this.inc({ track: a, detector: b }, n);
    },
  });
  new Counter({
    name: "warden_sanctions_total",
    help: "Sanctions issued from this process, by kind and origin (policy, report, automatic, staff, cli, other).",
    labelNames: ["kind", "origin"] as const,
    registers,
    collect() {
      this.reset();
      for (const { a, b, n } of sanctions.entries()) this.inc({ kind: a, origin: b }, n);
    },
  });
  new Gauge({
    name: "warden_recorder_buffered_events",
    help: "Offense events waiting in the recorder's buffer.",
    registers,
    collect() {
      this.set(source.recorder().buffered);
    },
  });
  new Counter({
    name: "warden_recorder_recorded_events_total",
    help: "Offense events the store acknowledged.",
    registers,
    collect() {
      this.reset();
      this.inc(source.recorder().recorded);
    },
  });
  new Counter({
    name: "warden_recorder_overflowed_events_total",
    help: "Offense events dropped because the recorder's buffer was full.",
    registers,
    collect() {
      this.reset();
      this.inc(source.recorder().overflowed);
    },
  });
  new Counter({
    name: "warden_recorder_failed_batches_total",
    help: "Recorder batches the store refused or did not answer (retried, unless refused for good: see rejected).",
    registers,
    collect() {
      this.reset();
      this.inc(source.recorder().failedBatches);
    },
  });
  new Counter({
    name: "warden_recorder_rejected_events_total",
    help: "Offense events dropped because the store refused them for good (STORE_SCRIPT: CROSSSLOT, a script error); never retried.",
    registers,
    collect() {
      this.reset();
      this.inc(source.recorder().rejected);
    },
  });
  const flush = new Histogram({
    name: "warden_recorder_flush_seconds",
    help: "Time of one recorder batch's store call, by result (ok, failed).",
    labelNames: ["result"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const propagation = new Histogram({
    name: "warden_sanction_propagation_seconds",
    help: "From a sanction's issue (its start, on the issuing process's clock) to its application in live sessions of this process, by kind.",
    labelNames: ["kind"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const gate = new Histogram({
    name: "warden_join_gate_seconds",
    help: "Time of the join gate's check (store reads included), by outcome.",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Counter({
    name: "warden_store_errors_total",
    help: "Store failures seen (the warden went on from memory).",
    registers,
    collect() {
      this.reset();
      this.inc(source.storeErrors());
    },
  });
  new Counter({
    name: "warden_audit_appends_total",
    help: "Audit log entries this process appended.",
    registers,
    collect() {
      this.reset();
      this.inc(source.auditAppends());
    },
  });
  new Gauge({
    name: "warden_live_sessions",
    help: "Live sessions in this process.",
    registers,
    collect() {
      this.set(source.liveSessions());
    },
  });

  // Children bound once: an observation does not hash a label object.
  const flushOk = flush.labels("ok");
  const flushFailed = flush.labels("failed");
  const propagationOf = Object.fromEntries(SANCTION_KINDS.map((k) => [k, propagation.labels(k)])) as Record<
    SanctionKind,
    ReturnType<typeof propagation.labels>
  >;
  const gateOf = Object.fromEntries(GATE_OUTCOMES.map((o) => [o, gate.labels(o)])) as Record<
    GateOutcome,
    ReturnType<typeof gate.labels>
  >;

  return {
    registry,
    offense: (track, detector) => offenses.add(track, detector),
    sanction: (sanction) => sanctions.add(sanction.kind, originOf(sanction)),
    flushed: (durationMs, ok) => (ok ? flushOk : flushFailed).observe(durationMs / 1000),
    propagated: (kind, seconds) => propagationOf[kind]?.observe(Math.max(0, seconds)),
    gated: (durationMs, outcome) => gateOf[outcome].observe(durationMs / 1000),
  };
}
