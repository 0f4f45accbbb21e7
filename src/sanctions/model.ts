import { randomBase32 } from "../util/base32.js";
import type { DigitalId } from "../identity/digital-id.js";
import { assertDigitalId } from "../identity/digital-id.js";
import { WardenError } from "../errors.js";
import { boundText } from "../util/text.js";
import { formatInstant, isInstant } from "../util/time.js";
import { checkDuration, MAX_DURATION_MS } from "../duration.js";
import {
  MAX_STATEMENT_FACTS,
  type ConductRule,
  type StatementFact,
  type StatementOfReasons,
} from "../reviews/model.js";

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
  /**
   * The id of a sanction this one follows from (`<did>.<8 base32 chars>`): the original ban
   * of a player whose other account this one is (ban evasion, ban with alts). Revoking the
   * original offers to revoke it too.
   */
  related?: string;
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

const DAY_MS = 86_400_000;

/**
 * Least time a player has to appeal a sanction: six months (DSA Art. 20(1) asks for at
 * least six months after the decision). The deadline is the sanction's start plus the
 * window, written into its statement of reasons.
 */
export const MIN_APPEAL_WINDOW_MS = 183 * DAY_MS;

/**
 * Bounds of a statement of reasons, shared by {@link draftSanction} (which cuts overlong text)
 * and the codec (which refuses a stored or published statement beyond them).
 */
export const STATEMENT_LIMITS = {
  /** A rule id: 1-40 of `a-z0-9_-`. */
  ruleId: /^[a-z0-9_-]{1,40}$/,
  ruleTitle: 80,
  ruleText: 500,
  /** Longest rule URL (http or https only); a longer one is refused, never cut. */
  ruleUrl: 300,
  /** Most evidence fields a fact keeps, longest evidence string and key. */
  factFields: 8,
  factText: 200,
  factKey: 40,
  /** Longest detector, kind and track name of a fact. */
  factName: 40,
  /** A deciding role (`moderator`, `admin`…): 1-40 of `a-z0-9_-`, never a name. */
  role: /^[a-z0-9_-]{1,40}$/,
  /** A ladder track name (as the policy allows them). */
  track: /^[a-z][a-z0-9_-]{0,31}$/,
  /** Highest ladder step index (a ladder has at most 100 steps). */
  maxStep: 99,
} as const;

/** What each kind takes away: the statement's `scope.capabilities`. */
export const SCOPE_OF: Readonly<Record<SanctionKind, readonly string[]>> = Object.freeze({
  warn: Object.freeze([]),
  mute: Object.freeze(["chat"]),
  freeze: Object.freeze(["input"]),
  kick: Object.freeze(["session"]),
  ban: Object.freeze(["join"]),
});

/** Every capability a scope may name. */
export const CAPABILITIES: readonly string[] = Object.freeze(["chat", "input", "session", "join"]);

/** True for an absolute `http:` or `https:` URL of at most {@link STATEMENT_LIMITS.ruleUrl} characters, without spaces. */
export function isRuleUrl(value: unknown): value is string {
  if (typeof value !== "string" || value.length > STATEMENT_LIMITS.ruleUrl || !/^https?:\/\/[^\s]+$/i.test(value))
    return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Validates a request and builds the sanction it describes, with its statement of reasons
 * (see {@link draftStatement}). Throws `INVALID_SANCTION`, or `INVALID_DURATION` for a
 * duration over {@link MAX_DURATION_MS}.
 *
 * @param appealWindowMs - How long the player may appeal, from the start: at least
 *   {@link MIN_APPEAL_WINDOW_MS} (six months), at most {@link MAX_DURATION_MS}.
 */
export function draftSanction(request: SanctionRequest, now: number, appealWindowMs = MIN_APPEAL_WINDOW_MS): Sanction {
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
  if (
    !Number.isSafeInteger(appealWindowMs) ||
    appealWindowMs < MIN_APPEAL_WINDOW_MS ||
    appealWindowMs > MAX_DURATION_MS
  )
    throw new WardenError(
      "INVALID_SANCTION",
      `the appeal window must be a whole number of milliseconds from ${MIN_APPEAL_WINDOW_MS} (183 days) to ${MAX_DURATION_MS}, got ${String(appealWindowMs)}`,
    );
  const appealUntil = now + appealWindowMs;
  if (!isInstant(appealUntil))
    throw new WardenError("INVALID_SANCTION", `the appeal deadline would be outside the range of valid times`);
  const suffix = randomBase32(8);
  const id = `${did}.${suffix}`;
  const statement = draftStatement(request.kind, by, request.grounds, { handle: id, until: appealUntil });
  return { id, did, kind: request.kind, reason, by, start: now, end, statement };
}

/**
 * The statement of reasons of a new sanction (DSA Art. 17): the scope from its kind, the
 * rule, the facts (the newest {@link MAX_STATEMENT_FACTS} events, each with bounded evidence),
 * how it was detected and decided, where to appeal, the ladder step. Overlong text is cut,
 * like a reason; a malformed grounds object (a rule without a valid id, a URL that is not
 * http(s), an event without a valid time, a negative report count…) is refused with
 * `INVALID_SANCTION`, so that no statement tells a player something its issuer did not mean.
 */
export function draftStatement(
  kind: SanctionKind,
  by: string,
  grounds: Grounds | undefined,
  appeal: { handle: string; until: number },
): StatementOfReasons {
  if (grounds !== undefined && (typeof grounds !== "object" || grounds === null || Array.isArray(grounds)))
    throw new WardenError("INVALID_SANCTION", "grounds must be an object");
  const g: Grounds = grounds ?? {};
  const events = draftFacts(g.events);
  const reports = g.reports ?? 0;
  if (!Number.isSafeInteger(reports) || reports < 0)
    throw new WardenError("INVALID_SANCTION", `grounds.reports must be a whole number from 0, got ${String(reports)}`);
  if (g.automatedDetection !== undefined && typeof g.automatedDetection !== "boolean")
    throw new WardenError("INVALID_SANCTION", "grounds.automatedDetection must be true or false");
  const decision = by === "policy";
  let decidedBy = "policy";
  if (!decision) {
    if (g.role !== undefined && (typeof g.role !== "string" || !STATEMENT_LIMITS.role.test(g.role)))
      throw new WardenError(
        "INVALID_SANCTION",
        `grounds.role must be 1-40 of a-z, 0-9, _ and - (a role such as "moderator", never a name), got ${JSON.stringify(String(g.role).slice(0, 60))}`,
      );
    decidedBy = g.role ?? "moderator";
  }
  const statement: StatementOfReasons = {
    scope: { capabilities: [...SCOPE_OF[kind]], rooms: "all" },
    rule: draftRule(g.rule),
    facts: { events, reports },
    automated: { detection: g.automatedDetection ?? events.length > 0, decision },
    decidedBy,
    appeal: { handle: appeal.handle, until: appeal.until },
  };
  if (g.ladder !== undefined) {
    const ladder = g.ladder as unknown;
    const { track, step } = (typeof ladder === "object" && ladder !== null ? ladder : {}) as Record<string, unknown>;
    if (
      typeof track !== "string" ||
      !STATEMENT_LIMITS.track.test(track) ||
      !Number.isSafeInteger(step) ||
      (step as number) < 0 ||
      (step as number) > STATEMENT_LIMITS.maxStep
    )
      throw new WardenError("INVALID_SANCTION", "grounds.ladder must be { track: a track name, step: 0-99 }");
    statement.ladder = { track, step: step as number };
  }
  if (g.related !== undefined) {
    if (typeof g.related !== "string" || didOfSanctionId(g.related) === null)
      throw new WardenError("INVALID_SANCTION", "grounds.related must be a sanction id (<did>.<8 base32 characters>)");
    statement.related = g.related;
  }
  return statement;
}

function draftRule(rule: unknown): ConductRule | null {
  if (rule === undefined || rule === null) return null;
  if (typeof rule !== "object" || Array.isArray(rule))
    throw new WardenError("INVALID_SANCTION", "grounds.rule must be a rule { id, title, text, url? } or null");
  const { id, title, text, url } = rule as Record<string, unknown>;
  if (typeof id !== "string" || !STATEMENT_LIMITS.ruleId.test(id))
    throw new WardenError("INVALID_SANCTION", "grounds.rule.id must be 1-40 of a-z, 0-9, _ and -");
  const shownTitle = typeof title === "string" ? boundText(title, STATEMENT_LIMITS.ruleTitle) : "";
  if (shownTitle.length === 0)
    throw new WardenError("INVALID_SANCTION", "grounds.rule.title must be a non-empty string");
  if (typeof text !== "string") throw new WardenError("INVALID_SANCTION", "grounds.rule.text must be a string");
  const out: ConductRule = { id, title: shownTitle, text: boundText(text, STATEMENT_LIMITS.ruleText) };
  if (url !== undefined) {
    if (!isRuleUrl(url))
      throw new WardenError(
        "INVALID_SANCTION",
        `grounds.rule.url must be an http(s) URL of at most ${STATEMENT_LIMITS.ruleUrl} characters`,
      );
    out.url = url;
  }
  return out;
}

/** The newest {@link MAX_STATEMENT_FACTS} events, oldest first, each checked and bounded. */
function draftFacts(events: unknown): StatementFact[] {
  if (events === undefined) return [];
  if (!Array.isArray(events)) throw new WardenError("INVALID_SANCTION", "grounds.events must be an array");
  const facts = events.map((event, i) => draftFact(event, i));
  // Newest last, whatever order they came in (stable for equal times): the newest are kept.
  facts.sort((a, b) => a.at - b.at);
  return facts.slice(-MAX_STATEMENT_FACTS);
}

function draftFact(event: unknown, i: number): StatementFact {
  const e = (typeof event === "object" && event !== null ? event : {}) as Record<string, unknown>;
  const name = (value: unknown) => (typeof value === "string" ? boundText(value, STATEMENT_LIMITS.factName) : "");
  const detector = name(e.detector);
  const kind = name(e.kind);
  const track = name(e.track);
  if (!isInstant(e.at) || detector === "" || kind === "" || track === "")
    throw new WardenError(
      "INVALID_SANCTION",
      `grounds.events[${i}] must be an offense event { at, detector, kind, track, evidence }`,
    );
  return { at: e.at, detector, kind, track, evidence: boundFactEvidence(e.evidence) };
}

/**
 * Evidence as a statement quotes it: at most {@link STATEMENT_LIMITS.factFields} scalar fields
 * (strings cut to 200 characters, keys to 40; finite numbers; booleans), anything else left out.
 */
export function boundFactEvidence(evidence: unknown): StatementFact["evidence"] {
  const entries: [string, string | number | boolean][] = [];
  if (typeof evidence !== "object" || evidence === null || Array.isArray(evidence)) return {};
  for (const [rawKey, value] of Object.entries(evidence as Record<string, unknown>)) {
    if (entries.length >= STATEMENT_LIMITS.factFields) break;
    const key = boundText(rawKey, STATEMENT_LIMITS.factKey);
    if (key === "" || key === "__proto__" || entries.some(([k]) => k === key)) continue;
    if (typeof value === "string") entries.push([key, boundText(value, STATEMENT_LIMITS.factText)]);
    else if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean")
      entries.push([key, value]);
  }
  // fromEntries defines own properties: a key such as "constructor" stays a plain field.
  return Object.fromEntries(entries);
}

/** Splits a sanction id into its digital ID, or returns null when it is not one. */
export function didOfSanctionId(id: string): DigitalId | null {
  const match = SANCTION_ID.exec(id);
  return match ? (match[1] as DigitalId) : null;
}

/** The statement as a player is shown it: without `related` (which names another ID). */
export function playerStatement(statement: StatementOfReasons): StatementOfReasons {
  if (statement.related === undefined) return statement;
  const { related: _related, ...shown } = statement;
  return shown;
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
