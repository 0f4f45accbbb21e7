import { randomBytes } from "node:crypto";
import type { DigitalId } from "../identity/digital-id.js";
import { assertDigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import { boundText } from "../util/text.js";
import { formatInstant, isInstant } from "../util/time.js";
import { checkDuration, MAX_DURATION_MS } from "../duration.js";
import type { ConductRule, StatementFact, StatementOfReasons } from "../reviews/model.js";

/** The sanctions the warden can apply, mildest first. */
export const SANCTION_KINDS = ["warn", "mute", "freeze", "kick", "ban"] as const;
export type SanctionKind = (typeof SANCTION_KINDS)[number];

/** Kinds that last (and so may carry a duration); `warn` and `kick` act once. */
export const LASTING_KINDS: ReadonlySet<SanctionKind> = new Set(["mute", "freeze", "ban"]);

/** Longest reason kept; longer reasons are cut, never refused. */
export const MAX_REASON_LENGTH = 500;

/** Longest issuer (`by`) kept; longer ones are cut. */
export const MAX_BY_LENGTH = 100;

/** Who lifted a sanction, when and why. */
export interface Revocation {
  at: number;
  by: string;
  reason: string;
}

/** A sanction as stored and as published to every process. Times are epoch milliseconds. */
export interface Sanction {
  /** `<did>.<8 base32 chars>`: the ID is part of the sanction id, so a revoke finds its record in one slot. */
  id: string;
  did: DigitalId;
  kind: SanctionKind;
  reason: string;
  /** Issuer: `policy`, `cli:<user>`, `api:<role>`… */
  by: string;
  start: number;
  /** End time; `null` = permanent. For `warn` and `kick`, equal to `start`. */
  end: number | null;
  revoked?: Revocation;
  /** The statement of reasons (src/reviews/model.ts): every sanction drafted by this version has one. */
  statement?: StatementOfReasons;
}

/**
 * What the issuer knows about why: turned into the sanction's statement of reasons by
 * {@link draftSanction} (which adds the scope, the appeal handle and its deadline).
 */
export interface Grounds {
  /** The rule broken (from the code of conduct), or null/omitted when none applies. */
  rule?: ConductRule | null;
  /** The offense events that led to it (bounded to MAX_STATEMENT_FACTS, newest kept). */
  events?: readonly StatementFact[];
  /** How many reports triggered it. */
  reports?: number;
  /** A detector saw it (default: true when `events` is not empty). */
  automatedDetection?: boolean;
  /** The issuer's role when a person decided (`moderator`, `admin`…); `by === "policy"` means automated. */
  role?: string;
  /** For a policy sanction: the track and 0-based ladder step. */
  ladder?: { track: string; step: number };
}

/**
 * A due-process message for a player, sent to their live sessions wherever they are: the
 * receipt and outcome of a report they filed, the progress and outcome of their appeal.
 * Rendered per session in its locale (src/sanctions/notice.ts) from a template `key` and
 * bounded `vars` (at most 8, strings of at most 200 characters).
 */
export interface PlayerNotice {
  topic: "appeal" | "report";
  /** Template key, e.g. `appeal.upheld`, `report.received` (see NOTICE_KEYS in src/sanctions/notice.ts). */
  key: string;
  /** The appeal id or case receipt id it is about. */
  ref: string;
  /** The state it reached (`filed`, `upheld`, `received`, `actioned`…). */
  state: string;
  vars: Record<string, string>;
}

/** What travels between processes: a sanction issued or revoked, or a notice for a player, anywhere. */
export type BusMessage =
  | { type: "issued"; sanction: Sanction }
  | { type: "revoked"; did: DigitalId; sanctionId: string; revocation: Revocation }
  | { type: "notice"; did: DigitalId; notice: PlayerNotice };

/** What a caller asks for; see {@link SanctionsService.issue}. */
export interface SanctionRequest {
  did: DigitalId;
  kind: SanctionKind;
  /** Milliseconds; omitted = permanent (mute, freeze, ban). Refused for warn and kick. */
  duration?: number;
  reason: string;
  by: string;
  /** Why, for the statement of reasons; omitted = a statement with the reason only. */
  grounds?: Grounds;
}

const SANCTION_ID = /^([a-z2-7]{26})\.([a-z2-7]{8})$/;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * Validates a request and builds the sanction it describes. Throws `INVALID_SANCTION`, or
 * `INVALID_DURATION` for a duration over {@link MAX_DURATION_MS}.
 */
export function draftSanction(request: SanctionRequest, now: number): Sanction {
  const did = assertDigitalId(request.did);
  if (!SANCTION_KINDS.includes(request.kind)) {
    throw new WardenError(
      "INVALID_SANCTION",
      `unknown sanction kind ${JSON.stringify(request.kind)}: use one of ${SANCTION_KINDS.join(", ")}`,
    );
  }
  const reason = typeof request.reason === "string" ? boundText(request.reason, MAX_REASON_LENGTH) : "";
  if (reason.length === 0) throw new WardenError("INVALID_SANCTION", "a sanction needs a reason");
  const by = typeof request.by === "string" ? boundText(request.by, MAX_BY_LENGTH) : "";
  if (by.length === 0) throw new WardenError("INVALID_SANCTION", "a sanction needs an issuer (by)");
  let end: number | null;
  if (request.duration === undefined) {
    end = LASTING_KINDS.has(request.kind) ? null : now;
  } else {
    if (!LASTING_KINDS.has(request.kind)) {
      throw new WardenError("INVALID_SANCTION", `${request.kind} cannot have a duration: it acts once`);
    }
    // Too long is INVALID_DURATION, like a too long `--for` or API duration; malformed stays INVALID_SANCTION.
    if (typeof request.duration === "number" && request.duration > MAX_DURATION_MS) checkDuration(request.duration);
    if (!Number.isSafeInteger(request.duration) || request.duration <= 0) {
      throw new WardenError(
        "INVALID_SANCTION",
        `duration must be a positive whole number of milliseconds, got ${String(request.duration)}`,
      );
    }
    end = now + request.duration;
  }
  // A clock gone wrong must not store an instant no Date can hold.
  if (!isInstant(now) || (end !== null && !isInstant(end))) {
    throw new WardenError(
      "INVALID_SANCTION",
      `the sanction would start or end outside the range of valid times (now = ${String(now)})`,
    );
  }
  const suffix = Array.from(randomBytes(8), (b) => ID_ALPHABET[b & 31]).join("");
  return { id: `${did}.${suffix}`, did, kind: request.kind, reason, by, start: now, end };
}

/** Splits a sanction id into its digital ID, or returns null when it is not one. */
export function didOfSanctionId(id: string): DigitalId | null {
  const match = SANCTION_ID.exec(id);
  return match ? (match[1] as DigitalId) : null;
}

/** A lasting sanction that is neither revoked nor over at `now`. */
export function isActive(s: Sanction, now: number): boolean {
  return LASTING_KINDS.has(s.kind) && s.revoked === undefined && (s.end === null || s.end > now);
}

/** The player-facing sentence of a sanction: what, why, until when. */
export function describeSanction(s: Pick<Sanction, "kind" | "reason" | "end">): string {
  const until = !LASTING_KINDS.has(s.kind) ? "" : s.end === null ? " permanently" : ` until ${formatInstant(s.end)}`;
  const verb =
    { warn: "warned", mute: "muted", freeze: "frozen", kick: "kicked", ban: "banned" }[s.kind] ?? "sanctioned";
  return `You are ${verb}${until}: ${s.reason}`;
}
