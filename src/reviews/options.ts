import {
  deepFreeze,
  optionalDuration,
  fail,
  keysOf,
  oneOf,
  optionalBoolean,
  optionalNumber,
  readObject,
  show,
} from "../util/validate.js";
import { MIN_APPEAL_WINDOW_MS } from "../sanctions/model.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

export { MIN_APPEAL_WINDOW_MS };

/** The longest automatic mute reports alone may bring (when `reportAction` is `"mute"`). */
export const MAX_REPORT_MUTE_MS = 15 * MINUTE;

/** Opt-in evidence snapshots: the last chat lines of a room around an offense or report. */
export interface EvidenceOptions {
  /**
   * Take snapshots at all.
   * @defaultValue `false`
   */
  enabled?: boolean;
  /**
   * Chat lines per snapshot (1-20).
   * @defaultValue `10`
   */
  lines?: number;
  /**
   * How long a snapshot is kept: milliseconds or a duration string.
   * @defaultValue `"14d"`
   */
  retentionMs?: number | string;
}

/** Due process: appeals, the review queue for reports, reporters' standing, the transparency counters. */
export interface DueProcessOptions {
  /**
   * How long after a sanction starts it can be appealed (at least 183 days).
   * @defaultValue `"183d"`
   */
  appealWindowMs?: number | string;
  /**
   * Appeals one ID may file within 24 hours (across processes).
   * @defaultValue `5`
   */
  appealsPerDay?: number;
  /**
   * How long an appeal is kept after it was filed (at least the appeal window).
   * @defaultValue `"400d"`
   */
  appealRetentionMs?: number | string;
  /**
   * How long a report case is kept after its last change.
   * @defaultValue `"30d"`
   */
  caseRetentionMs?: number | string;
  /**
   * What reports alone may do automatically once their weight crosses the threshold, while
   * the case waits for a person: `"none"` (the default: nothing), `"warn"`, or `"mute"` (for
   * `reportMuteMs`, at most 15 minutes). Reports never kick or ban.
   * @defaultValue `"none"`
   */
  reportAction?: "none" | "warn" | "mute";
  /**
   * Length of the automatic mute of `reportAction: "mute"` (at most 15 minutes).
   * @defaultValue `"10m"`
   */
  reportMuteMs?: number | string;
  /**
   * Dismissed-as-unfounded cases within `reporterRetentionMs` after which an ID's reports are
   * suspended for `suspendMs` (DSA Art. 23 misuse).
   * @defaultValue `3`
   */
  unfoundedLimit?: number;
  /**
   * How long reporting stays suspended after misuse.
   * @defaultValue `"7d"`
   */
  suspendMs?: number | string;
  /**
   * How long a reporter's track record (upheld and unfounded cases) is kept after its last change.
   * @defaultValue `"90d"`
   */
  reporterRetentionMs?: number | string;
  /**
   * How long the transparency counters of a day are kept.
   * @defaultValue `"400d"`
   */
  statsRetentionMs?: number | string;
  /** Evidence snapshots (opt-in). */
  evidence?: EvidenceOptions;
  /**
   * Four-eyes for permanent bans: a staff member's permanent ban is only proposed; it lands
   * when a second person confirms it (`POST /pending-bans/:id/confirm`). Temporary bans and
   * everything else are unchanged. @defaultValue false
   */
  fourEyesBans?: boolean;
  /** How long a proposed permanent ban waits for its confirmation, then expires (1 minute to 30 days). @defaultValue "24h" */
  pendingBanMs?: number | string;
}

/** The validated due-process options, every duration in milliseconds. */
export interface ResolvedDueProcess {
  readonly appealWindowMs: number;
  readonly appealsPerDay: number;
  readonly appealRetentionMs: number;
  readonly caseRetentionMs: number;
  readonly reportAction: "none" | "warn" | "mute";
  readonly reportMuteMs: number;
  readonly unfoundedLimit: number;
  readonly suspendMs: number;
  readonly reporterRetentionMs: number;
  readonly statsRetentionMs: number;
  readonly evidence: { readonly enabled: boolean; readonly lines: number; readonly retentionMs: number };
  readonly fourEyesBans: boolean;
  readonly pendingBanMs: number;
}

/** The due-process defaults. */
export const DUE_PROCESS_DEFAULTS: ResolvedDueProcess = deepFreeze({
  appealWindowMs: MIN_APPEAL_WINDOW_MS,
  appealsPerDay: 5,
  appealRetentionMs: 400 * DAY,
  caseRetentionMs: 30 * DAY,
  reportAction: "none",
  reportMuteMs: 10 * MINUTE,
  unfoundedLimit: 3,
  suspendMs: 7 * DAY,
  reporterRetentionMs: 90 * DAY,
  statsRetentionMs: 400 * DAY,
  evidence: { enabled: false, lines: 10, retentionMs: 14 * DAY },
  fourEyesBans: false,
  pendingBanMs: DAY,
});

const KEYS = keysOf<DueProcessOptions>({
  appealWindowMs: true,
  appealsPerDay: true,
  appealRetentionMs: true,
  caseRetentionMs: true,
  reportAction: true,
  reportMuteMs: true,
  unfoundedLimit: true,
  suspendMs: true,
  reporterRetentionMs: true,
  statsRetentionMs: true,
  evidence: true,
  fourEyesBans: true,
  pendingBanMs: true,
});
const EVIDENCE_KEYS = keysOf<EvidenceOptions>({ enabled: true, lines: true, retentionMs: true });

/** Merges the `dueProcess` option over {@link DUE_PROCESS_DEFAULTS} and validates it. Throws `INVALID_OPTION`. */
export function resolveDueProcess(value: unknown, path = "dueProcess"): ResolvedDueProcess {
  const given = value === undefined ? {} : readObject(path, value, KEYS);
  const d = DUE_PROCESS_DEFAULTS;
  const span = (key: keyof DueProcessOptions, fallback: number): number =>
    optionalDuration(`${path}.${key}`, given[key], fallback);
  const appealWindowMs = span("appealWindowMs", d.appealWindowMs);
  if (appealWindowMs < MIN_APPEAL_WINDOW_MS)
    fail(
      `${path}.appealWindowMs`,
      `must be at least 183 days (a sanction stays open to appeal about six months), got ${show(given.appealWindowMs)}`,
    );
  const appealRetentionMs = span("appealRetentionMs", d.appealRetentionMs);
  if (appealRetentionMs < appealWindowMs)
    fail(
      `${path}.appealRetentionMs`,
      "must be at least dueProcess.appealWindowMs (an appeal is kept while it can be filed)",
    );
  const reportMuteMs = span("reportMuteMs", d.reportMuteMs);
  if (reportMuteMs > MAX_REPORT_MUTE_MS)
    fail(
      `${path}.reportMuteMs`,
      `must be at most 15 minutes (reports alone never bring more), got ${show(given.reportMuteMs)}`,
    );
  const suspendMs = span("suspendMs", d.suspendMs);
  const reporterRetentionMs = span("reporterRetentionMs", d.reporterRetentionMs);
  if (suspendMs > reporterRetentionMs)
    fail(
      `${path}.suspendMs`,
      "must be at most dueProcess.reporterRetentionMs (the suspension is kept with the reporter's record)",
    );
  const pendingBanMs = span("pendingBanMs", d.pendingBanMs);
  if (pendingBanMs < MINUTE || pendingBanMs > 30 * DAY)
    fail(`${path}.pendingBanMs`, `must be from 1 minute to 30 days, got ${show(given.pendingBanMs)}`);
  const ev = given.evidence === undefined ? {} : readObject(`${path}.evidence`, given.evidence, EVIDENCE_KEYS);
  return deepFreeze({
    appealWindowMs,
    appealsPerDay: optionalNumber(`${path}.appealsPerDay`, given.appealsPerDay, d.appealsPerDay, {
      min: 1,
      max: 100,
      integer: true,
    }),
    appealRetentionMs,
    caseRetentionMs: span("caseRetentionMs", d.caseRetentionMs),
    reportAction: oneOf(`${path}.reportAction`, given.reportAction, ["none", "warn", "mute"] as const, d.reportAction),
    reportMuteMs,
    unfoundedLimit: optionalNumber(`${path}.unfoundedLimit`, given.unfoundedLimit, d.unfoundedLimit, {
      min: 1,
      max: 1000,
      integer: true,
    }),
    suspendMs,
    reporterRetentionMs,
    statsRetentionMs: span("statsRetentionMs", d.statsRetentionMs),
    evidence: {
      enabled: optionalBoolean(`${path}.evidence.enabled`, ev.enabled, d.evidence.enabled),
      lines: optionalNumber(`${path}.evidence.lines`, ev.lines, d.evidence.lines, { min: 1, max: 20, integer: true }),
      retentionMs: optionalDuration(`${path}.evidence.retentionMs`, ev.retentionMs, d.evidence.retentionMs),
    },
    fourEyesBans: optionalBoolean(`${path}.fourEyesBans`, given.fourEyesBans, d.fourEyesBans),
    pendingBanMs,
  });
}
