import { WardenError, toError } from "../errors.js";
import type { OffenseEvent, RecordedOffense } from "../recorder/offense.js";
import { MAX_STATEMENT_FACTS, type StatementFact } from "../reviews/model.js";
import type { Grounds, Sanction, SanctionRequest } from "../sanctions/model.js";
import type { DraftResult } from "../sanctions/service.js";
import type { WardenLogger } from "../util/logger.js";
import type { Conduct } from "./conduct.js";
import type { Policy } from "./ladder.js";

/** The part of the sanctions service the escalation uses. */
export interface SanctionIssuer {
  draft(request: SanctionRequest): DraftResult;
  commit(sanction: Sanction): Promise<unknown>;
}

/** What the escalation reports to the warden. */
export interface EscalationHooks {
  storeFailed(operation: string, cause: unknown): void;
  /** True once the warden closed: no more retries. */
  closed(): boolean;
}

const RETRIES = 5;
/** Most ID-and-track pairs whose recent events are kept for statements. */
const MAX_REMEMBERED = 5000;
const FIRST_DELAY_MS = 250;

/**
 * Issues the ladder steps the store decided while recording. The store decides and marks
 * each step in the same atomic step that records the event, so no step is issued twice by
 * two batches in flight, two processes or a replay — this only issues what it is handed.
 * A `duplicate` (an event written again because the reply to its first write was lost)
 * carries the step that first write decided and nobody issued yet: it is issued now.
 *
 * Each sanction carries its grounds for the statement of reasons: the rule the track enforces
 * (from the code of conduct), the triggering event as the fact, automated detection and
 * decision, the track and ladder step.
 *
 * A sanction that cannot be stored because the store is unavailable is committed again —
 * the same draft, so the same id: storing is idempotent by id and enforcers apply an id
 * once — a few times with backoff, then given up and logged.
 */
export class Escalation {
  /** Sanctions this escalation issued (drafted and handed to the store). */
  issued = 0;
  /** The last events per `<did>|<track>` recorded here, for statements of reasons. */
  private readonly recent = new Map<string, StatementFact[]>();

  constructor(
    private readonly policy: Policy,
    private readonly conduct: Conduct,
    private readonly sanctions: SanctionIssuer,
    private readonly logger: WardenLogger,
    private readonly hooks: EscalationHooks,
  ) {}

  /** The recorder wrote `events`; `results` say, in order, which step each one reached. */
  recorded(events: readonly OffenseEvent[], results: readonly RecordedOffense[]): void {
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      this.remember(event);
      const index = results[i]?.step;
      if (index === null || index === undefined) continue;
      // The recorder passed this track's ladder, so the index is one of its steps.
      const step = this.policy.tracks.get(event.track)?.ladder[index];
      if (step === undefined) continue;
      this.issued++;
      const what = `policy ${step.kind} of ${event.did} (${event.track})`;
      let drafted: DraftResult;
      try {
        drafted = this.sanctions.draft({
          did: event.did,
          kind: step.kind,
          reason: `automatic: ${event.track} (${event.kind})`,
          by: "policy",
          ...(step.duration === undefined ? {} : { duration: step.duration }),
          grounds: this.grounds(event, index),
        });
      } catch (e) {
        this.logger.error(`${what} not issued: ${toError(e).message}`);
        continue;
      }
      if (drafted.status === "cancelled") continue;
      this.commit(drafted.sanction, what, 0);
    }
  }

  /** Why the policy sanctions: the rule of the event's track, the events that led there, the ladder step. */
  private grounds(event: OffenseEvent, step: number): Grounds {
    const key = `${event.did}|${event.track}`;
    const recent = this.recent.get(key) ?? [];
    // Reports filed against the player (a `reported` event carries their count). A
    // `report_abuse` event counts reports the player filed: those are not what it answers.
    const reports =
      event.detector === "report" && event.kind !== "report_abuse" && typeof event.evidence.reports === "number"
        ? Math.max(0, Math.floor(event.evidence.reports))
        : 0;
    return {
      rule: this.conduct.ruleForTrack(event.track) ?? null,
      events: recent.slice(-MAX_STATEMENT_FACTS),
      reports: Number.isSafeInteger(reports) ? reports : 0,
      automatedDetection: true,
      ladder: { track: event.track, step },
    };
  }

  /**
   * Keeps the last few events of each ID and track this process recorded, so that a
   * statement quotes the offenses that led to the step, not only the last one. Bounded:
   * {@link MAX_STATEMENT_FACTS} per key, {@link MAX_REMEMBERED} keys (oldest dropped first).
   */
  private remember(event: OffenseEvent): void {
    const key = `${event.did}|${event.track}`;
    let list = this.recent.get(key);
    if (list === undefined) {
      list = [];
      if (this.recent.size >= MAX_REMEMBERED) this.recent.delete(this.recent.keys().next().value as string);
    } else this.recent.delete(key);
    this.recent.set(key, list);
    list.push({
      at: event.at,
      detector: event.detector,
      kind: event.kind,
      track: event.track,
      evidence: event.evidence,
    });
    if (list.length > MAX_STATEMENT_FACTS) list.shift();
  }

  private commit(sanction: Sanction, what: string, attempt: number): void {
    this.sanctions.commit(sanction).catch((e: unknown) => {
      const code = e instanceof WardenError ? e.code : null;
      if (code === "STORE_UNAVAILABLE" || code === "STORE_SCRIPT") this.hooks.storeFailed("policy issue", e);
      // Only an unreachable store is worth waiting for; a refused draft or a script error is not.
      if (code === "STORE_UNAVAILABLE" && attempt < RETRIES && !this.hooks.closed()) {
        setTimeout(() => this.commit(sanction, what, attempt + 1), FIRST_DELAY_MS * 2 ** attempt).unref();
      } else {
        this.logger.error(
          `${what} not issued (sanction ${sanction.id}, ${attempt + 1} attempt(s)): ${toError(e).message}`,
        );
      }
    });
  }
}
