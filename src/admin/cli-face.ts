/**
 * What the CLI's commands need of a server, whichever way it is reached: the admin HTTP API
 * with a personal token (the default), or the store directly (break-glass, `--direct`).
 * Both answer with the same records, so each command prints the same either way.
 */
import type { DigitalId } from "../identity/digital-id.js";
import type { OffenseEvent } from "../recorder/offense.js";
import type { Appeal, EvasionRecord, EvidenceRecord, ReportCase } from "../reviews/model.js";
import type { TransparencyReport } from "../reviews/transparency.js";
import type { Sanction, SanctionKind } from "../sanctions/model.js";
import type { AltLink } from "../signals/model.js";
import type { SessionBinding } from "../stores/store.js";
import type { AuditCheckpoint, AuditEntry, AuditVerification } from "./audit.js";
import { type ApiClient, CliError, EXIT, type SseEvent, readSse, shown } from "./cli-http.js";
import type {
  AdminRevokeResult,
  BanWithAltsResult,
  EvasionDecision,
  IdentityExport,
  IdentitySummary,
  PendingBanView,
} from "./service.js";
import type { StaffRole, StaffView } from "./staff.js";

export interface IssueRequest {
  did: DigitalId;
  kind: SanctionKind;
  reason: string;
  duration?: number;
  rule?: string;
}

/** Issued, or (four-eyes for permanent bans) waiting for a second moderator. */
export type IssueOutcome = { sanction: Sanction } | { pending: Record<string, unknown> };

/** A ban with alts: the preview, the bans issued, or (four-eyes) the proposal waiting for a second moderator. */
export type BanWithAltsOutcome = BanWithAltsResult | { blastRadius: AltLink[]; pending: Record<string, unknown> };

/** What confirming a proposed ban did. */
export interface ConfirmOutcome {
  pending: PendingBanView;
  sanction: Sanction;
  alts: Sanction[];
}

export type CaseAction =
  | { action: "sanction"; kind: SanctionKind; duration?: number; rule?: string; reason: string }
  | { action: "dismiss"; reason: string; unfounded?: boolean };

/** One item of the live feed as `tail` prints it. */
export type TailItem =
  | { type: "offense"; event: OffenseEvent; name?: string }
  | { type: "sanction"; sanction: Sanction; name?: string }
  | { type: "revocation"; data: Record<string, unknown> };

export interface Face {
  readonly mode: "http" | "direct";
  /** Who acts: `staff:<name>` from the credential, or `breakglass:<os user>`. */
  whoami(): Promise<{ actor: string; role: string; where: string }>;
  lookup(query: string, why?: string): Promise<IdentitySummary[]>;
  issue(request: IssueRequest): Promise<IssueOutcome>;
  banWithAlts(
    did: DigitalId,
    request: { reason: string; duration?: number; rule?: string },
    confirm: boolean,
  ): Promise<BanWithAltsOutcome>;
  /** Four-eyes: the proposed permanent bans waiting for a second person (with the subject's name). */
  pendingBans(limit: number): Promise<PendingBanView[]>;
  pendingBan(id: string, why?: string): Promise<PendingBanView>;
  confirmBan(id: string, why?: string): Promise<ConfirmOutcome>;
  cancelBan(id: string, reason: string): Promise<PendingBanView>;
  revoke(id: string, reason: string, options: { wrongful: boolean; withAlts: boolean }): Promise<AdminRevokeResult>;
  sanctionsOf(did: DigitalId, all: boolean, why?: string): Promise<Sanction[]>;
  sessions(did: DigitalId, why?: string): Promise<SessionBinding[]>;
  events(did: DigitalId, limit: number, why?: string): Promise<OffenseEvent[]>;
  export(did: DigitalId, copy: "staff" | "subject", why?: string): Promise<IdentityExport>;
  forget(did: DigitalId, includingSanctions: boolean, why?: string): Promise<{ keptBans: number }>;
  auditLog(limit: number): Promise<AuditEntry[]>;
  verifyAudit(checkpoints: readonly AuditCheckpoint[]): Promise<AuditVerification>;
  appealQueue(limit: number): Promise<Appeal[]>;
  appeal(id: string, why?: string): Promise<{ appeal: Appeal; sanction: Sanction | null }>;
  takeAppeal(id: string): Promise<Appeal>;
  decideAppeal(id: string, decision: { outcome: "upheld" | "rejected"; reason: string; end?: number }): Promise<Appeal>;
  caseQueue(limit: number): Promise<ReportCase[]>;
  reportCase(id: string, why?: string): Promise<ReportCase>;
  decideCase(id: string, decision: CaseAction): Promise<ReportCase>;
  evidence(did: DigitalId, why?: string): Promise<EvidenceRecord[]>;
  transparency(from: string, to: string): Promise<TransparencyReport>;
  alts(did: DigitalId, why?: string): Promise<AltLink[]>;
  evasionQueue(limit: number): Promise<EvasionRecord[]>;
  evasionCase(id: string, why?: string): Promise<EvasionRecord>;
  decideEvasion(id: string, decision: EvasionDecision): Promise<EvasionRecord>;
  staffAdd(name: string, role: StaffRole): Promise<{ staff: StaffView; token: string }>;
  staffList(): Promise<StaffView[]>;
  staffRevoke(name: string): Promise<StaffView>;
  /** Follows the live feed until `signal` aborts or `onItem` returns false. */
  tail(options: { fromStart: boolean }, onItem: (item: TailItem) => boolean, signal: AbortSignal): Promise<void>;
}

/** A field of an answer, checked for its type: a server answering something else fails with one clear line. */
function field<T>(body: unknown, name: string, kind: "array" | "object", where: string): T {
  const value = (body as Record<string, unknown> | null)?.[name];
  const ok = kind === "array" ? Array.isArray(value) : typeof value === "object" && value !== null;
  if (!ok)
    throw new CliError(
      `${where} answered without the expected "${name}" ${kind}: is it a warden server?`,
      EXIT.failure,
    );
  return value as T;
}

const path = (id: string) => encodeURIComponent(id);

/** Stream ids `<ms>-<seq>` in order. */
export function feedIdAfter(a: string, b: string): boolean {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am! > bm! || (am === bm && (as ?? 0) > (bs ?? 0));
}

/** The live feed broke in a way worth reconnecting for. */
class Interrupted extends Error {
  constructor(override readonly cause: unknown) {
    super("interrupted");
  }
}

/** The CLI over the admin HTTP API: the server's own configuration applies to every act. */
export class HttpFace implements Face {
  readonly mode = "http" as const;

  constructor(
    private readonly api: ApiClient,
    private readonly warn: (line: string) => void,
  ) {}

  private get where() {
    return this.api.where;
  }

  async whoami() {
    const { body } = await this.api.request<{ role?: unknown; actor?: unknown }>("GET", "/whoami");
    if (typeof body.actor !== "string" || typeof body.role !== "string")
      throw new CliError(
        `${this.where} answered /whoami without an actor and role: is it a warden server?`,
        EXIT.failure,
      );
    return { actor: shown(body.actor, 100), role: shown(body.role, 20), where: this.api.base };
  }

  async lookup(query: string, why?: string) {
    const { body } = await this.api.request("GET", "/identities", { query: { q: query }, ...(why ? { why } : {}) });
    return field<IdentitySummary[]>(body, "identities", "array", this.where);
  }

  async issue(request: IssueRequest): Promise<IssueOutcome> {
    const { did, ...rest } = request;
    const { status, body } = await this.api.request("POST", `/identities/${did}/sanctions`, { body: rest });
    if (status === 202) return { pending: field<Record<string, unknown>>(body, "pending", "object", this.where) };
    return { sanction: field<Sanction>(body, "sanction", "object", this.where) };
  }

  async banWithAlts(did: DigitalId, request: { reason: string; duration?: number; rule?: string }, confirm: boolean) {
    const { body: preview } = await this.api.request("POST", `/identities/${did}/sanctions`, {
      body: { kind: "ban", ...request, withAlts: true },
    });
    const blastRadius = field<AltLink[]>(preview, "blastRadius", "array", this.where);
    if (!confirm) return { blastRadius };
    // Acts on the list just shown: an ID linked after the preview is not banned.
    const { status, body: done } = await this.api.request("POST", `/identities/${did}/sanctions`, {
      body: { kind: "ban", ...request, withAlts: true, confirm: true, alts: blastRadius.map((l) => l.did) },
    });
    // Four-eyes: a permanent ban with alts is proposed (202) and waits for a second moderator.
    if (status === 202)
      return { blastRadius, pending: field<Record<string, unknown>>(done, "pending", "object", this.where) };
    const sanction = field<Sanction>(done, "sanction", "object", this.where);
    return { blastRadius, sanctions: [sanction, ...field<Sanction[]>(done, "alts", "array", this.where)] };
  }

  async pendingBans(limit: number) {
    const { body } = await this.api.request("GET", "/pending-bans", { query: { limit } });
    return field<PendingBanView[]>(body, "pending", "array", this.where);
  }

  async pendingBan(id: string, why?: string) {
    const { body } = await this.api.request("GET", `/pending-bans/${path(id)}`, why ? { why } : {});
    return field<PendingBanView>(body, "pending", "object", this.where);
  }

  async confirmBan(id: string, why?: string) {
    const { body } = await this.api.request<ConfirmOutcome>("POST", `/pending-bans/${path(id)}/confirm`, {
      body: why ? { why } : {},
    });
    field(body, "sanction", "object", this.where);
    if (!Array.isArray(body.alts)) body.alts = [];
    return body;
  }

  async cancelBan(id: string, reason: string) {
    const { body } = await this.api.request("POST", `/pending-bans/${path(id)}/cancel`, { body: { reason } });
    return field<PendingBanView>(body, "pending", "object", this.where);
  }

  async revoke(id: string, reason: string, options: { wrongful: boolean; withAlts: boolean }) {
    const { body } = await this.api.request<AdminRevokeResult>("POST", `/sanctions/${path(id)}/revoke`, {
      body: { reason, ...options },
    });
    field(body, "sanction", "object", this.where);
    if (!Array.isArray(body.related)) body.related = [];
    return body;
  }

  async sanctionsOf(did: DigitalId, all: boolean, why?: string) {
    const { body } = await this.api.request("GET", `/identities/${did}/sanctions`, {
      query: { all: all ? "true" : undefined },
      ...(why ? { why } : {}),
    });
    return field<Sanction[]>(body, "sanctions", "array", this.where);
  }

  async sessions(did: DigitalId, why?: string) {
    const { body } = await this.api.request("GET", `/identities/${did}/sessions`, why ? { why } : {});
    return field<SessionBinding[]>(body, "sessions", "array", this.where);
  }

  async events(did: DigitalId, limit: number, why?: string) {
    // The API pages by at most 1000: follow `next` until `limit` events are read.
    const out: OffenseEvent[] = [];
    let before: string | undefined;
    while (out.length < limit) {
      const page = Math.min(1000, limit - out.length);
      const { body } = await this.api.request("GET", `/identities/${did}/events`, {
        query: { limit: page, before },
        ...(why ? { why } : {}),
      });
      const events = field<OffenseEvent[]>(body, "events", "array", this.where);
      out.push(...events);
      const next = (body as { next?: unknown }).next;
      if (events.length < page || typeof next !== "string") break;
      before = next;
    }
    return out;
  }

  async export(did: DigitalId, copy: "staff" | "subject", why?: string) {
    const { body } = await this.api.request<IdentityExport>("GET", `/identities/${did}/export`, {
      query: { copy },
      ...(why ? { why } : {}),
    });
    return body;
  }

  async forget(did: DigitalId, includingSanctions: boolean, why?: string) {
    const { body } = await this.api.request<{ keptBans: number }>("DELETE", `/identities/${did}`, {
      body: { includingSanctions, ...(why ? { why } : {}) },
    });
    return body;
  }

  async auditLog(limit: number) {
    const out: AuditEntry[] = [];
    let before: string | undefined;
    while (out.length < limit) {
      const page = Math.min(1000, limit - out.length);
      const { body } = await this.api.request("GET", "/audit", { query: { limit: page, before } });
      const entries = field<AuditEntry[]>(body, "entries", "array", this.where);
      out.push(...entries);
      const next = (body as { next?: unknown }).next;
      if (entries.length < page || typeof next !== "string") break;
      before = next;
    }
    return out;
  }

  async verifyAudit(checkpoints: readonly AuditCheckpoint[]) {
    if (checkpoints.length > 0)
      throw new CliError(
        "--checkpoints is only in --direct mode: over the API the server verifies against its own checkpoints",
        EXIT.badInput,
      );
    const { body } = await this.api.request<AuditVerification>("GET", "/audit/verify");
    if (typeof (body as { ok?: unknown }).ok !== "boolean")
      throw new CliError(`${this.where} answered /audit/verify without a verdict`, EXIT.failure);
    return body;
  }

  async appealQueue(limit: number) {
    const { body } = await this.api.request("GET", "/appeals", { query: { limit } });
    return field<Appeal[]>(body, "appeals", "array", this.where);
  }

  async appeal(id: string, why?: string) {
    const { body } = await this.api.request<{ appeal: Appeal; sanction: Sanction | null }>(
      "GET",
      `/appeals/${path(id)}`,
      why ? { why } : {},
    );
    field(body, "appeal", "object", this.where);
    return body;
  }

  async takeAppeal(id: string) {
    const { body } = await this.api.request("POST", `/appeals/${path(id)}/review`, { body: {} });
    return field<Appeal>(body, "appeal", "object", this.where);
  }

  async decideAppeal(id: string, decision: { outcome: "upheld" | "rejected"; reason: string; end?: number }) {
    const { body } = await this.api.request("POST", `/appeals/${path(id)}/decide`, { body: decision });
    return field<Appeal>(body, "appeal", "object", this.where);
  }

  async caseQueue(limit: number) {
    const { body } = await this.api.request("GET", "/cases", { query: { limit } });
    return field<ReportCase[]>(body, "cases", "array", this.where);
  }

  async reportCase(id: string, why?: string) {
    const { body } = await this.api.request("GET", `/cases/${path(id)}`, why ? { why } : {});
    return field<ReportCase>(body, "case", "object", this.where);
  }

  async decideCase(id: string, decision: CaseAction) {
    const { body } = await this.api.request("POST", `/cases/${path(id)}/decide`, { body: decision });
    return field<ReportCase>(body, "case", "object", this.where);
  }

  async evidence(did: DigitalId, why?: string) {
    const { body } = await this.api.request("GET", `/identities/${did}/evidence`, why ? { why } : {});
    return field<EvidenceRecord[]>(body, "evidence", "array", this.where);
  }

  async transparency(from: string, to: string) {
    const { body } = await this.api.request<TransparencyReport>("GET", "/transparency", { query: { from, to } });
    return body;
  }

  async alts(did: DigitalId, why?: string) {
    const { body } = await this.api.request("GET", `/identities/${did}/alts`, why ? { why } : {});
    return field<AltLink[]>(body, "alts", "array", this.where);
  }

  async evasionQueue(limit: number) {
    const { body } = await this.api.request("GET", "/evasion", { query: { limit } });
    return field<EvasionRecord[]>(body, "evasion", "array", this.where);
  }

  async evasionCase(id: string, why?: string) {
    const { body } = await this.api.request("GET", `/evasion/${path(id)}`, why ? { why } : {});
    return field<EvasionRecord>(body, "evasion", "object", this.where);
  }

  async decideEvasion(id: string, decision: EvasionDecision) {
    const { body } = await this.api.request("POST", `/evasion/${path(id)}/decide`, { body: decision });
    return field<EvasionRecord>(body, "evasion", "object", this.where);
  }

  async staffAdd(name: string, role: StaffRole) {
    const { body } = await this.api.request<{ staff: StaffView; token: string }>("POST", "/staff", {
      body: { name, role },
    });
    field(body, "staff", "object", this.where);
    if (typeof body.token !== "string") throw new CliError(`${this.where} answered without a token`, EXIT.failure);
    return body;
  }

  async staffList() {
    const { body } = await this.api.request("GET", "/staff");
    return field<StaffView[]>(body, "staff", "array", this.where);
  }

  async staffRevoke(name: string) {
    const { body } = await this.api.request("DELETE", `/staff/${path(name)}`);
    return field<StaffView>(body, "staff", "object", this.where);
  }

  /**
   * Follows `GET /feed` (Server-Sent Events). When the stream breaks (the server restarts,
   * the network drops, no keep-alive for 45 s), reconnects with backoff and `Last-Event-ID`:
   * the server replays the offense events recorded meanwhile. A refusal (401, 403) ends it.
   */
  async tail(options: { fromStart: boolean }, onItem: (item: TailItem) => boolean, signal: AbortSignal) {
    let last: string | null = options.fromStart ? "0" : null;
    let failures = 0;
    let connected = false;
    for (;;) {
      if (signal.aborted) return;
      const connection = new AbortController();
      const stop = () => connection.abort();
      signal.addEventListener("abort", stop, { once: true });
      let idle: NodeJS.Timeout | undefined;
      const alive = () => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(), 45_000);
      };
      try {
        let res: Response;
        try {
          res = await this.api.stream("/feed", last === null ? {} : { "last-event-id": last }, connection.signal);
        } catch (e) {
          throw new Interrupted(e);
        }
        if (!res.ok) {
          const refusal = await this.api.refusalOf(res);
          // The server restarting, its store down or the feed's budget spent: worth waiting for; a refusal is not.
          if (res.status >= 500 || res.status === 429) throw new Interrupted(refusal);
          throw refusal;
        }
        if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream") || res.body === null)
          throw new CliError(
            `${this.where} answered the live feed with something that is not an event stream`,
            EXIT.failure,
          );
        failures = 0;
        connected = true;
        alive();
        try {
          for await (const sse of readSse(res.body, alive)) {
            alive();
            const item = this.item(sse);
            if (item === null) continue;
            // A stream id, or a sharded feed's composite cursor (one stream id per shard).
            if (
              item.type === "offense" &&
              sse.id &&
              sse.id.length <= 6000 &&
              /^(0|\d{1,20}-\d{1,20})(,(0|\d{1,20}-\d{1,20})){0,255}$/.test(sse.id)
            )
              last = sse.id;
            if (!onItem(item)) return;
          }
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new Interrupted(e);
        }
        // The server ended the stream (it is shutting down): reconnect.
        throw new Interrupted(new Error("the server closed the stream"));
      } catch (e) {
        if (signal.aborted) return;
        if (!(e instanceof Interrupted)) throw e;
        // Never connected: the URL or the server is wrong; say so rather than retry forever.
        if (!connected)
          throw e.cause instanceof CliError
            ? e.cause
            : new CliError(`cannot follow the live feed of ${this.where}`, EXIT.failure);
        failures++;
        const cause = e.cause instanceof Error ? e.cause.message : String(e.cause);
        this.warn(`live feed interrupted (${shown(cause, 160)}): reconnecting`);
      } finally {
        clearTimeout(idle);
        signal.removeEventListener("abort", stop);
        connection.abort();
      }
      if (signal.aborted) return;
      const wait = Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  private item(sse: SseEvent): TailItem | null {
    let data: unknown;
    try {
      data = JSON.parse(sse.data);
    } catch {
      return null;
    }
    if (typeof data !== "object" || data === null) return null;
    const record = data as Record<string, unknown>;
    const name = typeof record.name === "string" ? { name: shown(record.name, 64) } : {};
    if (sse.event === "offense" && typeof record.did === "string")
      return { type: "offense", event: data as OffenseEvent, ...name };
    if (sse.event === "sanction" && typeof record.did === "string")
      return { type: "sanction", sanction: data as Sanction, ...name };
    if (sse.event === "revocation") return { type: "revocation", data: record };
    return null;
  }
}
