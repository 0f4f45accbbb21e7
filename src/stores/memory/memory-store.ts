import type { DigitalId } from "../../identity/digital-id.js";
import type { Revocation, Sanction } from "../../sanctions/model.js";
import { didOfSanctionId } from "../../sanctions/model.js";
import type { BusMessage, SessionBinding, StoreRetention, StoreRevokeResult, WardenStore } from "../store.js";
import { sanctionsKeepUntil } from "../store.js";

interface Expiring<T> {
  value: T;
  /** epoch ms; Infinity = no expiry */
  expiresAt: number;
}

/**
 * The embedded store: everything in this process's memory. For trying the plugin and for
 * single-process development; nothing is shared with other processes or survives a restart.
 * It honours the same retention rules as {@link RedisStore}, lazily on read and on a timer.
 */
export class MemoryStore implements WardenStore {
  readonly kind = "memory" as const;
  private readonly sanctions = new Map<DigitalId, Expiring<Map<string, Sanction>>>();
  private readonly sessions = new Map<DigitalId, Expiring<Map<string, SessionBinding>>>();
  private readonly processes = new Map<string, number>();
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.dropExpired(), 60_000);
    this.sweeper.unref();
  }

  async connect(): Promise<void> {}

  async saveSanction(sanction: Sanction, retention: StoreRetention): Promise<void> {
    const entry = this.live(this.sanctions, sanction.did) ?? { value: new Map<string, Sanction>(), expiresAt: Infinity };
    entry.value.set(sanction.id, structuredClone(sanction));
    entry.expiresAt = sanctionsKeepUntil([...entry.value.values()], retention.sanctionsMs) ?? Infinity;
    this.sanctions.set(sanction.did, entry);
    this.publish({ type: "issued", sanction: structuredClone(sanction) });
  }

  async revokeSanction(sanctionId: string, revocation: Revocation, retention: StoreRetention): Promise<StoreRevokeResult> {
    const did = didOfSanctionId(sanctionId);
    const entry = did === null ? undefined : this.live(this.sanctions, did);
    const stored = entry?.value.get(sanctionId);
    if (!entry || !stored || did === null) return { status: "not_found" };
    if (stored.revoked) return { status: "already_revoked", sanction: structuredClone(stored) };
    stored.revoked = { ...revocation };
    entry.expiresAt = sanctionsKeepUntil([...entry.value.values()], retention.sanctionsMs) ?? Infinity;
    this.publish({ type: "revoked", did, sanctionId, revocation: { ...revocation } });
    return { status: "revoked", sanction: structuredClone(stored) };
  }

  async sanctionsOf(did: DigitalId): Promise<Sanction[]> {
    const entry = this.live(this.sanctions, did);
    return entry ? [...entry.value.values()].sort((a, b) => a.start - b.start).map((s) => structuredClone(s)) : [];
  }

  async bindSession(binding: SessionBinding, retention: StoreRetention): Promise<void> {
    const entry = this.live(this.sessions, binding.did) ?? { value: new Map<string, SessionBinding>(), expiresAt: 0 };
    entry.value.set(binding.sessionId, { ...binding });
    entry.expiresAt = this.now() + retention.bindingsMs;
    this.sessions.set(binding.did, entry);
  }

  async unbindSession(did: DigitalId, sessionId: string): Promise<void> {
    const entry = this.live(this.sessions, did);
    if (!entry) return;
    entry.value.delete(sessionId);
    if (entry.value.size === 0) this.sessions.delete(did);
  }

  async sessionsOf(did: DigitalId): Promise<SessionBinding[]> {
    const entry = this.live(this.sessions, did);
    return entry ? [...entry.value.values()].map((b) => ({ ...b })) : [];
  }

  async heartbeat(processId: string, now: number, ttlMs: number): Promise<void> {
    this.processes.set(processId, now + ttlMs);
  }

  async sweepDeadProcesses(now: number): Promise<number> {
    let removed = 0;
    for (const [processId, aliveUntil] of this.processes) {
      if (aliveUntil >= now) continue;
      removed += this.removeBindingsOf(processId);
      this.processes.delete(processId);
    }
    return removed;
  }

  async retireProcess(processId: string): Promise<void> {
    this.removeBindingsOf(processId);
    this.processes.delete(processId);
  }

  async subscribe(handler: (message: BusMessage) => void): Promise<() => Promise<void>> {
    this.handlers.add(handler);
    return async () => {
      this.handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.handlers.clear();
  }

  private publish(message: BusMessage): void {
    // Asynchronous like a real bus, so that a publisher never runs subscribers inside its own call.
    for (const handler of this.handlers) queueMicrotask(() => handler(structuredClone(message)));
  }

  private removeBindingsOf(processId: string): number {
    let removed = 0;
    for (const [did, entry] of this.sessions) {
      for (const [sessionId, binding] of entry.value) {
        if (binding.processId === processId) {
          entry.value.delete(sessionId);
          removed++;
        }
      }
      if (entry.value.size === 0) this.sessions.delete(did);
    }
    return removed;
  }

  private live<T>(map: Map<DigitalId, Expiring<T>>, did: DigitalId): Expiring<T> | undefined {
    const entry = map.get(did);
    if (entry && entry.expiresAt <= this.now()) {
      map.delete(did);
      return undefined;
    }
    return entry;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const map of [this.sanctions, this.sessions] as Map<DigitalId, Expiring<unknown>>[]) {
      for (const [did, entry] of map) if (entry.expiresAt <= now) map.delete(did);
    }
  }
}
