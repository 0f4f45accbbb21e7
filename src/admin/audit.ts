import { createHash } from "node:crypto";
import { WardenError } from "../errors.js";
import type { AuditAction, AuditEntry, AuditFace, AuditHead } from "../stores/audit-records.js";
import type { AuditStore } from "../stores/store.js";

export type { AuditAction, AuditAppendResult, AuditEntry, AuditFace, AuditHead } from "../stores/audit-records.js";

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
  const detail = Object.fromEntries(
    Object.keys(entry.detail)
      .sort()
      .map((k) => [k, entry.detail[k]]),
  );
  return JSON.stringify([
    entry.seq,
    entry.at,
    entry.actor,
    entry.face,
    entry.action,
    entry.target,
    entry.why,
    detail,
    entry.prev,
  ]);
}

export function hashEntry(entry: Omit<AuditEntry, "hash" | "id">): string {
  return createHash("sha256").update(entry.prev).update("\n").update(canonical(entry)).digest("hex");
}

/** Entries for `acts`, chained onto `head` in order. */
function chain(head: AuditHead, acts: readonly AuditAct[], now: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let seq = head.seq;
  let prev = head.hash;
  for (const act of acts) {
    const body = {
      seq: ++seq,
      at: now,
      actor: act.actor.slice(0, 100),
      face: act.face,
      action: act.action,
      target: act.target,
      why: typeof act.why === "string" && act.why.length > 0 ? act.why.slice(0, 500) : null,
      detail: { ...act.detail },
      prev,
    };
    const entry: AuditEntry = { ...body, hash: hashEntry(body) };
    entries.push(entry);
    prev = entry.hash;
  }
  return entries;
}

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /**
   * How long one batch of entries may keep retrying while other processes move the log's
   * head (compare-and-set conflicts) before its appends reject with `STORE_UNAVAILABLE`.
   * @defaultValue 10_000
   */
  contentionTimeoutMs?: number;
  /**
   * Most entries chained together and written in one store call.
   * @defaultValue 100
   */
  maxBatch?: number;
  /**
   * Most acts of this process waiting for their entry; beyond it `append` rejects at once
   * with `STORE_UNAVAILABLE` (the queue stays bounded when the store is slow).
   * @defaultValue 10_000
   */
  maxPending?: number;
}

const DEFAULT_AUDIT_LOG_OPTIONS: Required<AuditLogOptions> = {
  contentionTimeoutMs: 10_000,
  maxBatch: 100,
  maxPending: 10_000,
};

function resolveAuditLogOptions(options: AuditLogOptions): Required<AuditLogOptions> {
  const resolved = { ...DEFAULT_AUDIT_LOG_OPTIONS, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new WardenError(
        "INVALID_OPTION",
        `AuditLog: ${name} must be a positive whole number, got ${String(value)}`,
      );
  }
  return resolved;
}

/** First back-off after a conflict, and the most one back-off may last (ms); full jitter in between. */
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 100;

interface Pending {
  act: AuditAct;
  resolve(entry: AuditEntry): void;
  reject(error: Error): void;
}

/** Whatever a store threw, as a WardenError (a store that is down never looks like a plain Error). */
function asStoreError(error: unknown): WardenError {
  if (error instanceof WardenError) return error;
  return new WardenError(
    "STORE_UNAVAILABLE",
    `audit log: the store failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/**
 * The tamper-evident audit log: each entry carries the hash of the previous one, so that
 * editing or deleting any entry breaks the chain at that point, and `verify()` says where.
 *
 * Appends never race within a process: one store call is in flight per log, and the acts
 * that arrive meanwhile are chained together and written by the next call, in one atomic
 * step. Between processes the store's compare-and-set decides; the loser rechains on the
 * head it is told and retries after a jittered back-off, for up to `contentionTimeoutMs`.
 * An append resolves once its entry is stored, or rejects with a `WardenError`.
 */
export class AuditLog {
  private readonly options: Required<AuditLogOptions>;
  private readonly queue: Pending[] = [];
  private writing = false;
  /** The head as the last store call left it; null = read it from the store first. */
  private head: AuditHead | null = null;

  constructor(
    private readonly store: AuditStore,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
    options: AuditLogOptions = {},
  ) {
    this.options = resolveAuditLogOptions(options);
  }

  /** Appends an act; resolves with its entry once stored (queued behind the appends in flight). */
  append(act: AuditAct): Promise<AuditEntry> {
    // A malformed act is refused alone, here: in a batch it would sink the acts chained with it.
    if (
      typeof act?.actor !== "string" ||
      typeof act.face !== "string" ||
      typeof act.action !== "string" ||
      (act.target !== null && typeof act.target !== "string")
    ) {
      return Promise.reject(
        new WardenError(
          "INVALID_REQUEST",
          "audit log: an act needs an actor, a face, an action and a target (string or null)",
        ),
      );
    }
    if (this.queue.length >= this.options.maxPending) {
      return Promise.reject(
        new WardenError(
          "STORE_UNAVAILABLE",
          `audit log: ${this.queue.length} acts already wait for the store; try again`,
        ),
      );
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ act, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** Writes the queue, one batch at a time, until it is empty. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch);
        try {
          const entries = await this.write(batch.map((p) => p.act));
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(entries[i]!);
        } catch (e) {
          // The store may or may not have taken the batch (a reply lost on the way): read the head afresh next time.
          this.head = null;
          const error = asStoreError(e);
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Chains `acts` onto the head and stores them, rechaining and retrying while other writers move the head. */
  private async write(acts: readonly AuditAct[]): Promise<AuditEntry[]> {
    const started = performance.now();
    let head = this.head ?? (await this.store.auditHead());
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const entries = chain(head, acts, now);
      const result = await this.store.appendAudit(entries, head.hash, now - this.retentionMs);
      this.head = result.head;
      if (result.status === "appended") return entries;
      head = result.head;
      const left = this.options.contentionTimeoutMs - (performance.now() - started);
      if (left <= 0) {
        throw new WardenError(
          "STORE_UNAVAILABLE",
          `audit log: other writers kept moving the head for ${this.options.contentionTimeoutMs} ms (${attempt} attempts); the entry was not written`,
        );
      }
      const backoff = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt - 1, 16));
      await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, left)));
    }
  }

  /** Newest entries first. */
  list(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    return this.store.auditEntries(options);
  }

  /**
   * Walks the whole chain from the oldest kept entry; reports the first entry that does not
   * fit. Entries appended while it walks (by this or another process) are walked too.
   */
  async verify(): Promise<AuditVerification> {
    let head = await this.store.auditHead();
    let expectedSeq = head.trimmed + 1;
    let prev: string | null = null;
    let count = 0;
    let after = "0";
    for (let round = 0; ; round++) {
      for (;;) {
        const page = await this.store.auditRange(after, 1000);
        if (page.length === 0) break;
        for (const entry of page) {
          count++;
          const { hash, id, ...body } = entry;
          if (entry.seq !== expectedSeq) {
            return {
              ok: false,
              entries: count,
              seq: expectedSeq,
              id,
              reason: `entry ${expectedSeq} is missing (found ${entry.seq} in its place)`,
            };
          }
          if (prev !== null && entry.prev !== prev) {
            return {
              ok: false,
              entries: count,
              seq: entry.seq,
              id,
              reason: `entry ${entry.seq} does not chain to entry ${entry.seq - 1} (prev hash differs)`,
            };
          }
          if (hashEntry(body) !== hash) {
            return {
              ok: false,
              entries: count,
              seq: entry.seq,
              id,
              reason: `entry ${entry.seq} was altered (its hash does not match its content)`,
            };
          }
          prev = hash;
          expectedSeq++;
          after = id ?? after;
        }
      }
      const walked = expectedSeq - 1;
      if (walked === head.seq && (prev ?? "") === head.hash) return { ok: true, entries: count, trimmed: head.trimmed };
      // The head moved while we walked (entries appended meanwhile)? Then walk on to the new head (a few times at most).
      if (round < 5) {
        const again = await this.store.auditHead();
        if (again.seq !== head.seq || again.hash !== head.hash) {
          head = again;
          continue;
        }
      }
      if (walked < head.seq) {
        return {
          ok: false,
          entries: count,
          seq: expectedSeq,
          id: undefined,
          reason: `the log ends at entry ${walked} but its head says ${head.seq}: entries were removed from the end`,
        };
      }
      if (walked === head.seq) {
        return {
          ok: false,
          entries: count,
          seq: walked,
          id: undefined,
          reason: `entry ${walked} is not the one the head names (hash differs): the newest entry was replaced`,
        };
      }
      return {
        ok: false,
        entries: count,
        seq: head.seq + 1,
        id: undefined,
        reason: `the log goes on to entry ${walked} but its head says ${head.seq}: entries were added without moving the head`,
      };
    }
  }
}
