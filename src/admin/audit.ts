import { createHmac, createHash, timingSafeEqual } from "node:crypto";
import { appendFile, readFile } from "node:fs/promises";
import { WardenError } from "../errors.js";
import type { AuditAction, AuditEntry, AuditFace, AuditHead } from "../stores/audit-records.js";
import type { AuditStore } from "../stores/store.js";

export type { AuditAction, AuditAppendResult, AuditEntry, AuditFace, AuditHead } from "../stores/audit-records.js";

/** Result of {@link AuditLog.verify}. */
export type AuditVerification =
  | {
      ok: true;
      entries: number;
      trimmed: number;
      /** Entries of the old, unkeyed format (sha256) at the start of the log: not protected against an insider. */
      legacy: number;
      checkpoints: CheckpointReport;
    }
  | {
      ok: false;
      entries: number;
      seq: number;
      id: string | undefined;
      reason: string;
      checkpoints: CheckpointReport;
    };

/** What {@link AuditLog.verify} made of the checkpoints it was given. */
export interface CheckpointReport {
  /** Checkpoints read (the configured file, plus any passed in). */
  read: number;
  /** Checkpoints whose entry was found with the checkpointed link. */
  matched: number;
  /** Checkpoints of entries that retention has since removed (nothing left to compare). */
  expired: number;
  /** The newest checkpointed seq, or null when there is none. */
  latest: number | null;
  /** Without any checkpoint a cut tail (the newest entries and the head rewritten) cannot be detected: said here. */
  warning: string | null;
}

/**
 * The keys of the audit log, derived from the warden's secret (domain-separated) or given
 * explicitly. Held by the server processes only: never written to the store.
 */
export interface AuditKeys {
  /** Links each keyed entry to the one before (HMAC-SHA256). */
  chain: Buffer;
  /** Signs checkpoints of the head. */
  checkpoint: Buffer;
}

/** The audit keys of a secret: HMAC(secret, label), one label per use. */
export function auditKeysFrom(secret: string | Buffer): AuditKeys {
  const derive = (label: string) => createHmac("sha256", secret).update(label).digest();
  return { chain: derive("warden audit chain v1"), checkpoint: derive("warden audit checkpoint v1") };
}

/** What a caller states about an act; the log adds seq, time and the chain. */
export interface AuditAct {
  actor: string;
  face: AuditFace;
  action: AuditAction;
  target: string | null;
  why?: string | null;
  detail?: AuditEntry["detail"];
}

/** The fields that are linked, in a fixed order (the format version first for keyed entries). */
function canonical(entry: Omit<AuditEntry, "hash" | "id">): string {
  const detail = Object.fromEntries(
    Object.keys(entry.detail)
      .sort()
      .map((k) => [k, entry.detail[k]]),
  );
  const fields = [
    entry.seq,
    entry.at,
    entry.actor,
    entry.face,
    entry.action,
    entry.target,
    entry.why,
    detail,
    entry.prev,
  ];
  return JSON.stringify(entry.v === undefined ? fields : [entry.v, ...fields]);
}

/**
 * The link of an entry: for a keyed entry (`v: 2`) HMAC-SHA256 under the chain key over
 * prev and its canonical JSON; for a legacy entry (no `v`) the plain sha256 of before,
 * which anyone can recompute — kept only to read logs written by earlier versions.
 */
export function hashEntry(entry: Omit<AuditEntry, "hash" | "id">, key?: Buffer): string {
  if (entry.v === undefined)
    return createHash("sha256").update(entry.prev).update("\n").update(canonical(entry)).digest("hex");
  if (entry.v !== 2 || key === undefined) return "";
  return createHmac("sha256", key).update(entry.prev).update("\n").update(canonical(entry)).digest("hex");
}

/** A signed copy of the log's head, kept outside the store (a file, the server log). */
export interface AuditCheckpoint {
  kind: "warden-audit-checkpoint";
  v: 1;
  seq: number;
  hash: string;
  trimmed: number;
  at: number;
  /** The process that took it. */
  process: string;
  /** HMAC-SHA256 under the checkpoint key over the fields above. */
  mac: string;
}

function checkpointMac(cp: Omit<AuditCheckpoint, "mac">, key: Buffer): string {
  return createHmac("sha256", key)
    .update(JSON.stringify([cp.kind, cp.v, cp.seq, cp.hash, cp.trimmed, cp.at, cp.process]))
    .digest("hex");
}

function macMatches(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checkpoints from JSON lines (a checkpoint file, or log lines holding one); lines that are not checkpoints are passed over. */
export function parseCheckpoints(text: string): AuditCheckpoint[] {
  const found: AuditCheckpoint[] = [];
  for (const line of text.split("\n")) {
    const start = line.indexOf('{"kind":"warden-audit-checkpoint"');
    if (start < 0) continue;
    try {
      const cp = JSON.parse(line.slice(start)) as Partial<AuditCheckpoint>;
      if (
        cp.kind === "warden-audit-checkpoint" &&
        cp.v === 1 &&
        Number.isSafeInteger(cp.seq) &&
        typeof cp.hash === "string" &&
        Number.isSafeInteger(cp.trimmed) &&
        Number.isSafeInteger(cp.at) &&
        typeof cp.process === "string" &&
        typeof cp.mac === "string"
      )
        found.push(cp as AuditCheckpoint);
    } catch {
      // Not JSON: not a checkpoint.
    }
  }
  return found;
}

/** Entries for `acts`, chained onto `head` in order. */
function chain(head: AuditHead, acts: readonly AuditAct[], now: number, key: Buffer): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let seq = head.seq;
  let prev = head.hash;
  for (const act of acts) {
    const body = {
      v: 2 as const,
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
    const entry: AuditEntry = { ...body, hash: hashEntry(body, key) };
    entries.push(entry);
    prev = entry.hash;
  }
  return entries;
}

/** Where and how often the log's head is checkpointed outside the store. */
export interface AuditCheckpointOptions {
  /**
   * A file the checkpoints are appended to, one JSON line each (created if missing). Keep it
   * off the Redis host, e.g. on the server's own disk shipped to log storage; several
   * processes may share one path or keep one each.
   * @defaultValue none
   */
  file?: string;
  /**
   * Also write each checkpoint as one line to the warden's logger (info), so that a log
   * pipeline keeps them. @defaultValue true
   */
  log?: boolean;
  /** A checkpoint after this many new entries. @defaultValue 20 */
  everyEntries?: number;
  /** …and at least this often while entries keep coming (ms). @defaultValue 60_000 */
  everyMs?: number;
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
  /** Checkpoints of the head outside the store; none unless given. */
  checkpoints?: AuditCheckpointOptions;
  /** Where checkpoint lines and checkpoint failures go (the warden's logger). */
  log?: { info(message: string): void; warn(message: string): void };
  /** Names the process in its checkpoints. @defaultValue `"p<pid>"` */
  processId?: string;
}

type ResolvedAuditLogOptions = Required<Omit<AuditLogOptions, "checkpoints" | "log" | "processId">> & {
  checkpoints: Required<Omit<AuditCheckpointOptions, "file">> & { file: string | undefined };
  enabled: boolean;
};

const DEFAULT_AUDIT_LOG_OPTIONS = {
  contentionTimeoutMs: 10_000,
  maxBatch: 100,
  maxPending: 10_000,
};

function resolveAuditLogOptions(options: AuditLogOptions): ResolvedAuditLogOptions {
  const { checkpoints, log: _log, processId: _p, ...numbers } = options;
  const resolved = { ...DEFAULT_AUDIT_LOG_OPTIONS, ...numbers };
  const cp = { log: true, everyEntries: 20, everyMs: 60_000, ...checkpoints };
  for (const [name, value] of [
    ...Object.entries(resolved),
    ["checkpoints.everyEntries", cp.everyEntries],
    ["checkpoints.everyMs", cp.everyMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || (value as number) <= 0)
      throw new WardenError(
        "INVALID_OPTION",
        `AuditLog: ${name} must be a positive whole number, got ${String(value)}`,
      );
  }
  if (cp.file !== undefined && (typeof cp.file !== "string" || cp.file.length === 0 || cp.file.length > 4096))
    throw new WardenError("INVALID_OPTION", "AuditLog: checkpoints.file must be a path (1-4096 characters)");
  return {
    ...resolved,
    checkpoints: { log: cp.log !== false, everyEntries: cp.everyEntries, everyMs: cp.everyMs, file: cp.file },
    enabled: checkpoints !== undefined,
  };
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
  private readonly options: ResolvedAuditLogOptions;
  private readonly queue: Pending[] = [];
  private writing = false;
  /** The head as the last store call left it; null = read it from the store first. */
  private head: AuditHead | null = null;
  private readonly processId: string;
  private readonly log: { info(message: string): void; warn(message: string): void } | undefined;
  /** The head this process last checkpointed, and when. */
  private lastCheckpoint: { seq: number; at: number } | null = null;
  /** Checkpoint writes one after another (lines of one process stay in order). */
  private checkpointing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Checkpoints that could not be written (file errors), for stats and tests. */
  checkpointFailures = 0;
  /** Entries this process appended (acknowledged by the store), for metrics. */
  appended = 0;

  constructor(
    private readonly store: AuditStore,
    private readonly retentionMs: number,
    private readonly keys: AuditKeys,
    private readonly now: () => number = Date.now,
    options: AuditLogOptions = {},
  ) {
    this.options = resolveAuditLogOptions(options);
    if (
      !(keys?.chain instanceof Buffer) ||
      keys.chain.length < 32 ||
      !(keys.checkpoint instanceof Buffer) ||
      keys.checkpoint.length < 32
    )
      throw new WardenError("INVALID_OPTION", "AuditLog: needs its keys (auditKeysFrom(secret)), 32 bytes each");
    this.processId = options.processId ?? `p${process.pid}`;
    this.log = options.log;
    if (this.options.enabled) {
      // Entries that came in since the last checkpoint are checkpointed within everyMs even if no more come.
      this.timer = setInterval(() => {
        if (this.head !== null && this.head.seq > (this.lastCheckpoint?.seq ?? 0)) this.checkpoint(this.head);
      }, this.options.checkpoints.everyMs);
      this.timer.unref();
    }
  }

  /** Stops the checkpoint timer and writes a last checkpoint of what this process appended. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.enabled && this.head !== null && this.head.seq > (this.lastCheckpoint?.seq ?? 0))
      this.checkpoint(this.head);
    await this.checkpointing;
  }

  /** Resolves once the checkpoints taken so far are written (or their failure logged). */
  flushCheckpoints(): Promise<void> {
    return this.checkpointing;
  }

  /** Takes a checkpoint when enough entries or time have passed since the last one. */
  private maybeCheckpoint(head: AuditHead): void {
    if (!this.options.enabled) return;
    const last = this.lastCheckpoint;
    const { everyEntries, everyMs } = this.options.checkpoints;
    if (last === null || head.seq - last.seq >= everyEntries || this.now() - last.at >= everyMs) this.checkpoint(head);
  }

  /** Signs the head and hands it to the sinks, off the act's path; a failed write is logged, never thrown. */
  private checkpoint(head: AuditHead): void {
    const at = this.now();
    this.lastCheckpoint = { seq: head.seq, at };
    const body: Omit<AuditCheckpoint, "mac"> = {
      kind: "warden-audit-checkpoint",
      v: 1,
      seq: head.seq,
      hash: head.hash,
      trimmed: head.trimmed,
      at,
      process: this.processId,
    };
    const line = JSON.stringify({ ...body, mac: checkpointMac(body, this.keys.checkpoint) });
    const { file, log } = this.options.checkpoints;
    if (log) this.log?.info(`audit checkpoint ${line}`);
    if (file !== undefined) {
      this.checkpointing = this.checkpointing.then(() =>
        appendFile(file, `${line}\n`, { mode: 0o600 }).catch((e: unknown) => {
          this.checkpointFailures++;
          this.log?.warn(
            `audit checkpoint of entry ${head.seq} not written to ${file}: ${e instanceof Error ? e.message : String(e)}`,
          );
        }),
      );
    }
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
      const entries = chain(head, acts, now, this.keys.chain);
      const result = await this.store.appendAudit(entries, head.hash, now - this.retentionMs);
      this.head = result.head;
      if (result.status === "appended") {
        this.appended += entries.length;
        this.maybeCheckpoint(result.head);
        return entries;
      }
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

  /** The checkpoints of the configured file (none when there is no file or it does not exist yet). */
  async checkpointsFromFile(): Promise<AuditCheckpoint[]> {
    const file = this.options.checkpoints.file;
    if (file === undefined) return [];
    try {
      return parseCheckpoints(await readFile(file, "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new WardenError("INTERNAL", `audit verify: cannot read the checkpoint file: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /**
   * Walks the whole chain from the oldest kept entry under the key and holds it against the
   * checkpoints (the configured file's, plus `options.checkpoints`, e.g. those of other
   * processes' files or from the log pipeline); reports the first thing that does not fit.
   * Entries appended while it walks (by this or another process) are walked too.
   */
  async verify(options: { checkpoints?: readonly AuditCheckpoint[] } = {}): Promise<AuditVerification> {
    const given = [...(await this.checkpointsFromFile()), ...(options.checkpoints ?? [])];
    const report: CheckpointReport = { read: given.length, matched: 0, expired: 0, latest: null, warning: null };
    const failed = (seq: number, id: string | undefined, entries: number, reason: string): AuditVerification => ({
      ok: false,
      entries,
      seq,
      id,
      reason,
      checkpoints: report,
    });
    // Checkpoints first: one not signed by this server's key is a forgery (or another deployment's).
    const wanted = new Map<number, AuditCheckpoint>();
    for (const cp of given) {
      const { mac, ...body } = cp;
      if (!macMatches(checkpointMac(body, this.keys.checkpoint), mac))
        return failed(
          cp.seq,
          undefined,
          0,
          `the checkpoint of entry ${cp.seq} is not signed with this server's key (forged, or from another deployment)`,
        );
      const seen = wanted.get(cp.seq);
      if (seen !== undefined && seen.hash !== cp.hash)
        return failed(
          cp.seq,
          undefined,
          0,
          `two signed checkpoints of entry ${cp.seq} disagree: the log was rewritten between them`,
        );
      if (seen === undefined || cp.at < seen.at) wanted.set(cp.seq, cp);
      report.latest = Math.max(report.latest ?? 0, cp.seq);
    }
    if (given.length === 0)
      report.warning =
        "no checkpoint to compare with: a cut of the newest entries (with the head rewritten to match) cannot be detected; configure audit checkpoints";

    let head = await this.store.auditHead();
    for (const cp of wanted.values()) {
      if (cp.seq > head.trimmed) continue;
      // Gone by retention — unless it was checkpointed too recently for retention to have taken it.
      if (cp.at - this.options.checkpoints.everyMs - 60_000 > this.now() - this.retentionMs)
        return failed(
          cp.seq,
          undefined,
          0,
          `entry ${cp.seq} was checkpointed at ${new Date(cp.at).toISOString()}, inside the retention window, but the log says retention removed it`,
        );
      report.expired++;
    }
    let expectedSeq = head.trimmed + 1;
    let prev: string | null = null;
    let count = 0;
    let legacy = 0;
    let keyed = false;
    let after = "0";
    for (let round = 0; ; round++) {
      for (;;) {
        const page = await this.store.auditRange(after, 1000);
        if (page.length === 0) break;
        for (const entry of page) {
          count++;
          const { hash, id, ...body } = entry;
          if (entry.seq !== expectedSeq)
            return failed(expectedSeq, id, count, `entry ${expectedSeq} is missing (found ${entry.seq} in its place)`);
          if (prev !== null && entry.prev !== prev)
            return failed(
              entry.seq,
              id,
              count,
              `entry ${entry.seq} does not chain to entry ${entry.seq - 1} (prev hash differs)`,
            );
          if (body.v === undefined) {
            // The old format, which anyone can recompute: only before the first keyed entry.
            if (keyed)
              return failed(
                entry.seq,
                id,
                count,
                `entry ${entry.seq} is unkeyed after keyed entries: it was rewritten`,
              );
            legacy++;
          } else keyed = true;
          if (!macMatches(hashEntry(body, this.keys.chain), hash))
            return failed(
              entry.seq,
              id,
              count,
              `entry ${entry.seq} was altered (its link does not match its content under the server's key)`,
            );
          const cp = wanted.get(entry.seq);
          if (cp !== undefined) {
            if (cp.hash !== hash)
              return failed(
                entry.seq,
                id,
                count,
                `entry ${entry.seq} is not the one checkpointed at ${new Date(cp.at).toISOString()}: the log was rewritten from there`,
              );
            report.matched++;
          }
          prev = hash;
          expectedSeq++;
          after = id ?? after;
        }
      }
      const walked = expectedSeq - 1;
      if (walked === head.seq && (prev ?? "") === head.hash) {
        if (report.latest !== null && report.latest > walked)
          return failed(
            walked + 1,
            undefined,
            count,
            `the log ends at entry ${walked} but a signed checkpoint saw entry ${report.latest}: the newest entries were cut`,
          );
        return { ok: true, entries: count, trimmed: head.trimmed, legacy, checkpoints: report };
      }
      // The head moved while we walked (entries appended meanwhile)? Then walk on to the new head (a few times at most).
      if (round < 5) {
        const again = await this.store.auditHead();
        if (again.seq !== head.seq || again.hash !== head.hash) {
          head = again;
          continue;
        }
      }
      if (walked < head.seq)
        return failed(
          expectedSeq,
          undefined,
          count,
          `the log ends at entry ${walked} but its head says ${head.seq}: entries were removed from the end`,
        );
      if (walked === head.seq)
        return failed(
          walked,
          undefined,
          count,
          `entry ${walked} is not the one the head names (hash differs): the newest entry was replaced`,
        );
      return failed(
        head.seq + 1,
        undefined,
        count,
        `the log goes on to entry ${walked} but its head says ${head.seq}: entries were added without moving the head`,
      );
    }
  }
}
