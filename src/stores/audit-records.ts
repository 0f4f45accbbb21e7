/**
 * The audit log's records as a store keeps them. They live beside the store contract (not
 * with the log in src/admin/audit.ts, which re-exports them) so that no store depends on
 * the admin module that uses it.
 */

/** Where a staff act came from. */
export type AuditFace = "cli" | "api" | "code" | "player";

/** What was done. Lookups of an identity's data are audited like sanctions. */
export type AuditAction =
  | "lookup"
  | "view"
  | "issue"
  | "revoke"
  | "export"
  | "forget"
  | "appeal"
  | "case"
  /** A staff credential issued or revoked. */
  | "staff";

/** One entry of the hash-chained audit log. */
export interface AuditEntry {
  /** Format: 2 = linked by an HMAC under the servers' audit key; absent = a legacy entry (plain sha256). */
  v?: 2;
  /** 1, 2, 3… without gaps (entries removed by retention are counted in the head). */
  seq: number;
  at: number;
  /** Who: `cli:<user>`, `api:moderator`, `api:viewer:<name>`… */
  actor: string;
  face: AuditFace;
  action: AuditAction;
  /** The digital ID (or sanction id) acted upon; null for e.g. a name search with no hit. */
  target: string | null;
  /** The moderator's stated reason for looking (`--why`), if any. */
  why: string | null;
  /**
   * Small facts about the act — never the erased or exported data itself. An act's entry is
   * written before the act; if the act then fails, a later entry with the same action and
   * target says so: `failed` (the error code) and `entry` (the seq of the act's entry).
   */
  detail: Record<string, string | number | boolean | null>;
  /** Hash of the previous entry ("" for the first). */
  prev: string;
  /** HMAC-SHA256 (under the servers' audit key) over prev and this entry's canonical JSON (without `hash`); sha256 for legacy entries. */
  hash: string;
  /** Store id of the entry (absent until stored). */
  id?: string;
}

/** The head of the log: newest seq and hash, and how many old entries retention removed. */
export interface AuditHead {
  seq: number;
  hash: string;
  trimmed: number;
}

/** Result of `AuditStore.appendAudit`: whether the entries went in, and the log's head after the call. */
export type AuditAppendResult = { status: "appended"; head: AuditHead } | { status: "conflict"; head: AuditHead };
