import { createHash } from "node:crypto";
import type { WardenStore } from "../stores/store.js";

/** Where a staff act came from. */
export type AuditFace = "cli" | "api" | "code";

/** What was done. Lookups of an identity's data are audited like sanctions. */
export type AuditAction = "lookup" | "view" | "issue" | "revoke" | "export" | "forget";

/** One entry of the hash-chained audit log. */
export interface AuditEntry {
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
  /** Small facts about the act — never the erased or exported data itself. */
  detail: Record<string, string | number | boolean | null>;
  /** Hash of the previous entry ("" for the first). */
  prev: string;
  /** sha256 over prev and this entry's canonical JSON (without `hash`). */
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

/** Result of {@link AuditLog.verify}. */
export type AuditVerification =
  | { ok: true; entries: number; trimmed: number }
  | { ok: false; entries: number; seq: number; id: string | undefined; reason: string };

/** What a caller states about an act; the log adds seq, time and the chain. */
export interface AuditAct {
  actor: string;
  face: AuditFace;
  action: AuditAction;
  target: string | null;
  why?: string | null;
  detail?: AuditEntry["detail"];
}

/** The fields that are hashed, in a fixed order. */
function canonical(entry: Omit<AuditEntry, "hash" | "id">): string {
  const detail = Object.fromEntries(Object.keys(entry.detail).sort().map((k) => [k, entry.detail[k]]));
  return JSON.stringify([entry.seq, entry.at, entry.actor, entry.face, entry.action, entry.target, entry.why, detail, entry.prev]);
}

export function hashEntry(entry: Omit<AuditEntry, "hash" | "id">): string {
  return createHash("sha256").update(entry.prev).update("\n").update(canonical(entry)).digest("hex");
}

/**
 * The tamper-evident audit log: each entry carries the hash of the previous one, so that
 * editing or deleting any entry breaks the chain at that point, and `verify()` says where.
 */
export class AuditLog {
  constructor(
    private readonly store: WardenStore,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Appends an act (compare-and-set on the head; retried if another writer got there first). */
  async append(act: AuditAct): Promise<AuditEntry> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const head = await this.store.auditHead();
      const now = this.now();
      const body = {
        seq: head.seq + 1,
        at: now,
        actor: act.actor.slice(0, 100),
        face: act.face,
        action: act.action,
        target: act.target,
        why: act.why ? act.why.slice(0, 500) : null,
        detail: act.detail ?? {},
        prev: head.hash,
      };
      const entry: AuditEntry = { ...body, hash: hashEntry(body) };
      if (await this.store.appendAudit(entry, head.hash, now - this.retentionMs)) return entry;
    }
    throw new Error("audit log: too much contention, gave up after 50 attempts");
  }

  /** Newest entries first. */
  list(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    return this.store.auditEntries(options);
  }

  /** Walks the whole chain from the oldest kept entry; reports the first entry that does not fit. */
  async verify(): Promise<AuditVerification> {
    const head = await this.store.auditHead();
    let expectedSeq = head.trimmed + 1;
    let prev: string | null = null;
    let count = 0;
    let after = "0";
    for (;;) {
      const page = await this.store.auditRange(after, 1000);
      if (page.length === 0) break;
      for (const entry of page) {
        count++;
        const { hash, id, ...body } = entry;
        if (entry.seq !== expectedSeq) {
          return { ok: false, entries: count, seq: expectedSeq, id, reason: `entry ${expectedSeq} is missing (found ${entry.seq} in its place)` };
        }
        if (prev !== null && entry.prev !== prev) {
          return { ok: false, entries: count, seq: entry.seq, id, reason: `entry ${entry.seq} does not chain to entry ${entry.seq - 1} (prev hash differs)` };
        }
        if (hashEntry(body) !== hash) {
          return { ok: false, entries: count, seq: entry.seq, id, reason: `entry ${entry.seq} was altered (its hash does not match its content)` };
        }
        prev = hash;
        expectedSeq++;
        after = id ?? after;
      }
    }
    if (head.seq !== expectedSeq - 1 || (prev ?? "") !== head.hash) {
      return { ok: false, entries: count, seq: expectedSeq, id: undefined, reason: `the log ends at entry ${expectedSeq - 1} but its head says ${head.seq}: entries were removed from the end` };
    }
    return { ok: true, entries: count, trimmed: head.trimmed };
  }
}
