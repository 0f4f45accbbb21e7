/**
 * Decoding of sanction data that comes from outside this process: bus messages (anyone who
 * can publish on the channel) and stored records (anyone with write access to Redis).
 *
 * Nothing decoded here is trusted. Each function checks the whole shape — kinds, the id's
 * link to its digital ID, bounded strings, instants a `Date` can hold — and returns a fresh
 * object holding only the known fields, or `null` for anything else. None of them throws,
 * whatever the input (non-JSON, wrong types, `__proto__` keys, deep nesting, huge strings).
 *
 * A sanction's statement of reasons is checked the same way, but a malformed one does not
 * cost the sanction: it is left out (the sanction acts, the player is told its reason), so
 * that junk written next to a valid ban can never turn it into no ban.
 */
import { isDigitalId, type DigitalId } from "../identity/digital-id.js";
import {
  MAX_STATEMENT_FACTS,
  type ConductRule,
  type StatementFact,
  type StatementOfReasons,
} from "../reviews/model.js";
import { boundText } from "../util/text.js";
import { isInstant } from "../util/time.js";
import {
  CAPABILITIES,
  didOfSanctionId,
  isRuleUrl,
  LASTING_KINDS,
  MAX_BY_LENGTH,
  MAX_REASON_LENGTH,
  SANCTION_KINDS,
  STATEMENT_LIMITS,
  type BusMessage,
  type PlayerNotice,
  type Revocation,
  type Sanction,
  type SanctionKind,
} from "./model.js";

/**
 * Longest JSON text decoded (UTF-16 units), refused before `JSON.parse` spends time on it.
 * A sanction with its revocation takes under 3 000; its statement of reasons at its bounds
 * (5 facts of 8 evidence fields of 200 characters, a rule of 80 + 500 + 300) about 12 000
 * more, and up to twice that when every character needs escaping: 32 768 holds the largest
 * record this version writes.
 */
export const MAX_RECORD_CHARS = 32_768;

/** Bounds of a player notice on the bus (see {@link PlayerNotice}). */
export const NOTICE_LIMITS = {
  /** Template key: `appeal.upheld`, `report.received`… */
  key: /^[a-z._]{1,40}$/,
  ref: 80,
  state: 20,
  vars: 8,
  /** A variable's name: what a template's `{placeholder}` can name. */
  varName: /^[a-z][a-z0-9_]{0,31}$/,
  varText: 200,
} as const;

/** A stored sanction record (JSON text), or null when it is not one. */
export function parseSanction(json: unknown): Sanction | null {
  return toSanction(decode(json));
}

/** A stored revocation record (JSON text), or null when it is not one. */
export function parseRevocation(json: unknown): Revocation | null {
  return toRevocation(decode(json));
}

/** A bus message (JSON text), or null when it is not one. */
export function parseBusMessage(json: unknown): BusMessage | null {
  return toBusMessage(decode(json));
}

/** An already-decoded value checked as a sanction (for stores that keep objects). */
export function toSanction(value: unknown): Sanction | null {
  if (!isRecord(value)) return null;
  const { id, did, kind, start, end } = value;
  if (typeof id !== "string" || typeof did !== "string" || didOfSanctionId(id) !== did) return null;
  if (!isKind(kind)) return null;
  const reason = text(value.reason, MAX_REASON_LENGTH);
  const by = text(value.by, MAX_BY_LENGTH);
  if (reason === null || by === null) return null;
  if (!isInstant(start)) return null;
  // Permanent only for lasting kinds; an end never before the start.
  let until: number | null;
  if (end === null && LASTING_KINDS.has(kind)) until = null;
  else if (isInstant(end) && end >= start) until = end;
  else return null;
  const sanction: Sanction = { id, did: did as DigitalId, kind, reason, by, start, end: until };
  if (value.revoked !== undefined) {
    const revoked = toRevocation(value.revoked);
    if (revoked === null) return null;
    sanction.revoked = revoked;
  }
  // A malformed statement is left out: the sanction itself is valid and must still act.
  if (value.statement !== undefined) {
    const statement = toStatement(value.statement, sanction);
    if (statement !== null) sanction.statement = statement;
  }
  return sanction;
}

/**
 * An already-decoded value checked as the statement of reasons of `sanction`, or null. Only
 * what this version writes passes: every bound of {@link STATEMENT_LIMITS}, at most
 * {@link MAX_STATEMENT_FACTS} facts, an appeal handle that is the sanction's own id.
 */
export function toStatement(value: unknown, sanction: Pick<Sanction, "id" | "start">): StatementOfReasons | null {
  if (!isRecord(value)) return null;
  const { scope, facts, automated, appeal } = value;
  if (!isRecord(scope) || scope.rooms !== "all" || !Array.isArray(scope.capabilities)) return null;
  const capabilities = scope.capabilities;
  if (
    capabilities.length > CAPABILITIES.length ||
    !capabilities.every((c, i) => typeof c === "string" && CAPABILITIES.includes(c) && capabilities.indexOf(c) === i)
  )
    return null;
  const rule = value.rule === null ? null : toRule(value.rule);
  if (rule === undefined) return null;
  if (!isRecord(facts) || !Array.isArray(facts.events) || facts.events.length > MAX_STATEMENT_FACTS) return null;
  const events: StatementFact[] = [];
  for (const event of facts.events) {
    const fact = toFact(event);
    if (fact === null) return null;
    events.push(fact);
  }
  const reports = facts.reports;
  if (typeof reports !== "number" || !Number.isSafeInteger(reports) || reports < 0) return null;
  if (!isRecord(automated) || typeof automated.detection !== "boolean" || typeof automated.decision !== "boolean")
    return null;
  const decidedBy = value.decidedBy;
  if (typeof decidedBy !== "string" || !STATEMENT_LIMITS.role.test(decidedBy)) return null;
  if (!isRecord(appeal) || appeal.handle !== sanction.id || !isInstant(appeal.until) || appeal.until < sanction.start)
    return null;
  const statement: StatementOfReasons = {
    scope: { capabilities: capabilities as string[], rooms: "all" },
    rule,
    // (+ 0 turns -0 into 0: what is read is what JSON would carry.)
    facts: { events, reports: reports + 0 },
    automated: { detection: automated.detection, decision: automated.decision },
    decidedBy,
    appeal: { handle: sanction.id, until: (appeal.until as number) + 0 },
  };
  if (value.ladder !== undefined) {
    const ladder = value.ladder;
    if (
      !isRecord(ladder) ||
      typeof ladder.track !== "string" ||
      !STATEMENT_LIMITS.track.test(ladder.track) ||
      typeof ladder.step !== "number" ||
      !Number.isSafeInteger(ladder.step) ||
      ladder.step < 0 ||
      ladder.step > STATEMENT_LIMITS.maxStep
    )
      return null;
    statement.ladder = { track: ladder.track, step: ladder.step + 0 };
  }
  if (value.related !== undefined) {
    if (typeof value.related !== "string" || didOfSanctionId(value.related) === null) return null;
    statement.related = value.related;
  }
  if (value.erased !== undefined) {
    if (value.erased !== true) return null;
    statement.erased = true;
  }
  return statement;
}

/** A rule as a statement quotes it; undefined when it is not one. */
function toRule(value: unknown): ConductRule | undefined {
  if (!isRecord(value)) return undefined;
  const { id, url } = value;
  if (typeof id !== "string" || !STATEMENT_LIMITS.ruleId.test(id)) return undefined;
  const title = text(value.title, STATEMENT_LIMITS.ruleTitle);
  const body = text(value.text, STATEMENT_LIMITS.ruleText);
  if (title === null || title === "" || body === null) return undefined;
  const rule: ConductRule = { id, title, text: body };
  if (url !== undefined) {
    if (!isRuleUrl(url)) return undefined;
    rule.url = url;
  }
  return rule;
}

/** A fact as a statement quotes it; null when it is not one. */
function toFact(value: unknown): StatementFact | null {
  if (!isRecord(value) || !isInstant(value.at)) return null;
  const detector = text(value.detector, STATEMENT_LIMITS.factName);
  const kind = text(value.kind, STATEMENT_LIMITS.factName);
  const track = text(value.track, STATEMENT_LIMITS.factName);
  if (!detector || !kind || !track) return null;
  const evidence = value.evidence;
  if (!isRecord(evidence)) return null;
  const entries = Object.entries(evidence);
  if (entries.length > STATEMENT_LIMITS.factFields) return null;
  const fields: [string, string | number | boolean][] = [];
  for (const [key, field] of entries) {
    if (
      key.length === 0 ||
      key.length > STATEMENT_LIMITS.factKey ||
      key === "__proto__" ||
      boundText(key, STATEMENT_LIMITS.factKey) !== key
    )
      return null;
    if (typeof field === "string") {
      const shown = text(field, STATEMENT_LIMITS.factText);
      if (shown === null) return null;
      fields.push([key, shown]);
    } else if (typeof field === "number" && Number.isFinite(field)) {
      fields.push([key, field + 0]);
    } else if (typeof field === "boolean") {
      fields.push([key, field]);
    } else return null;
  }
  return { at: (value.at as number) + 0, detector, kind, track, evidence: Object.fromEntries(fields) };
}

/** An already-decoded value checked as a player notice. */
export function toPlayerNotice(value: unknown): PlayerNotice | null {
  if (!isRecord(value)) return null;
  const { topic, key, state, vars } = value;
  if (topic !== "appeal" && topic !== "report") return null;
  if (typeof key !== "string" || !NOTICE_LIMITS.key.test(key)) return null;
  const ref = text(value.ref, NOTICE_LIMITS.ref);
  if (!ref) return null;
  if (typeof state !== "string" || state.length === 0 || state.length > NOTICE_LIMITS.state) return null;
  if (!/^[a-z0-9_.-]+$/.test(state)) return null;
  if (!isRecord(vars)) return null;
  const entries = Object.entries(vars);
  if (entries.length > NOTICE_LIMITS.vars) return null;
  const fields: [string, string][] = [];
  for (const [name, field] of entries) {
    if (!NOTICE_LIMITS.varName.test(name)) return null;
    const shown = text(field, NOTICE_LIMITS.varText);
    if (shown === null) return null;
    fields.push([name, shown]);
  }
  return { topic, key, ref, state, vars: Object.fromEntries(fields) };
}

/** An already-decoded value checked as a revocation. */
export function toRevocation(value: unknown): Revocation | null {
  if (!isRecord(value) || !isInstant(value.at)) return null;
  const by = text(value.by, MAX_BY_LENGTH);
  const reason = text(value.reason, MAX_REASON_LENGTH);
  if (by === null || reason === null) return null;
  return { at: value.at, by, reason };
}

/** An already-decoded value checked as a bus message. */
export function toBusMessage(value: unknown): BusMessage | null {
  if (!isRecord(value)) return null;
  if (value.type === "issued") {
    const sanction = toSanction(value.sanction);
    return sanction === null ? null : { type: "issued", sanction };
  }
  if (value.type === "revoked") {
    const { did, sanctionId } = value;
    if (typeof did !== "string" || typeof sanctionId !== "string" || didOfSanctionId(sanctionId) !== did) return null;
    const revocation = toRevocation(value.revocation);
    return revocation === null ? null : { type: "revoked", did, sanctionId, revocation };
  }
  if (value.type === "notice") {
    const { did } = value;
    if (!isDigitalId(did)) return null;
    const notice = toPlayerNotice(value.notice);
    return notice === null ? null : { type: "notice", did, notice };
  }
  return null;
}

/** JSON text → value; `undefined` for anything that is not bounded, parseable JSON text. */
function decode(json: unknown): unknown {
  if (typeof json !== "string" || json.length > MAX_RECORD_CHARS) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isKind(value: unknown): value is SanctionKind {
  return typeof value === "string" && (SANCTION_KINDS as readonly string[]).includes(value);
}

/** A string of at most `max` units, cleaned as stored text is; null for anything else. */
function text(value: unknown, max: number): string | null {
  return typeof value === "string" && value.length <= max ? boundText(value, max) : null;
}
