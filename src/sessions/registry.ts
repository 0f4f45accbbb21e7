import type { DigitalId } from "../identity/digital-id.js";
import { isActive } from "../sanctions/model.js";
import type { Enforcer } from "../sanctions/enforcer.js";
import type { LiveSession } from "../sanctions/standing.js";
import type {
  ProcessRegistryStore,
  ProfileStore,
  SanctionStore,
  SessionBinding,
  SessionStore,
  StoreRetention,
} from "../stores/store.js";
import type { WardenLogger } from "../util/logger.js";

/** What the registry reports to the warden. */
export interface RegistryHooks {
  storeFailed(operation: string, cause: unknown): void;
  /** The store answered again after a failure. */
  storeRecovered(): void;
  bound(binding: SessionBinding): void;
  unbound(binding: SessionBinding): void;
}

/** What the registry needs of the warden's options. */
export interface RegistryOptions {
  processId: string;
  heartbeatMs: number;
  retention: StoreRetention & { eventsMs: number; namesMs: number };
  logger: WardenLogger;
}

/**
 * This process in the store: the bindings of its live sessions (so that any process, the
 * CLI and the API can find an ID's sessions), its heartbeat (a process silent for three
 * periods is dead and its bindings are swept by the others), the repair of what failed
 * while the store was away, and the resync of sanctions after the bus was cut.
 */
export class ProcessRegistry {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** A binding write failed: rewrite this process's bindings once the store answers again. */
  private rebindPending = false;
  /** Unbinds that failed, retried once the store answers again. */
  private readonly unbindPending = new Map<string, { did: DigitalId; sessionId: string }>();
  private closed = false;

  constructor(
    private readonly store: SessionStore & ProcessRegistryStore & ProfileStore & Pick<SanctionStore, "sanctionsOf">,
    private readonly enforcer: Enforcer,
    private readonly options: RegistryOptions,
    private readonly hooks: RegistryHooks,
  ) {}

  /** Records a joined session in the store (in the background: a join never waits for it). */
  bind(session: LiveSession): void {
    // After the join completes: these writes are bookkeeping, not part of the join's latency.
    setImmediate(() => this.writeBinding(session));
  }

  /** Removes a session's binding from the store. */
  async unbind(session: LiveSession): Promise<void> {
    try {
      await this.store.unbindSession(session.did, session.sessionId, this.options.processId);
      this.hooks.unbound(this.bindingOf(session, 0));
    } catch (e) {
      this.unbindPending.set(`${session.did} ${session.sessionId}`, { did: session.did, sessionId: session.sessionId });
      this.hooks.storeFailed("unbindSession", e);
    }
  }

  /** Starts the heartbeat (the first beat now). */
  start(): Promise<void> {
    return this.beat();
  }

  /** Stops the heartbeat and removes this process's registration and bindings. */
  async close(retire: (work: Promise<void>) => Promise<void>): Promise<void> {
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    await retire(this.store.retireProcess(this.options.processId)).catch(() => {});
  }

  /**
   * After the bus was cut: reads the sanctions of every ID this process holds from the
   * store and applies what it missed — lasting sanctions in force, kicks and warns issued
   * since the cut, revocations of what it still enforces.
   */
  async resync(since: number): Promise<void> {
    const now = Date.now();
    for (const did of this.enforcer.knownIds()) {
      try {
        for (const sanction of await this.store.sanctionsOf(did)) {
          if (sanction.revoked)
            this.enforcer.apply({ type: "revoked", did, sanctionId: sanction.id, revocation: sanction.revoked });
          else if (isActive(sanction, now) || sanction.start >= since - 1000)
            this.enforcer.apply({ type: "issued", sanction });
        }
      } catch (e) {
        this.hooks.storeFailed("resync", e);
      }
    }
  }

  private writeBinding(session: LiveSession): void {
    if (session.closedBy !== null || !session.standing.sessions.has(session)) return;
    const now = Date.now();
    const { retention } = this.options;
    const binding = this.bindingOf(session, now);
    this.store.bindSession(binding, retention).then(
      () => this.hooks.bound(binding),
      (e: unknown) => {
        this.rebindPending = true;
        this.hooks.storeFailed("bindSession", e);
      },
    );
    this.store.touchProfile(session.did, now, retention.eventsMs).then(
      (first) => {
        session.standing.firstSeen = first;
      },
      (e: unknown) => this.hooks.storeFailed("touchProfile", e),
    );
    if (session.name !== undefined) {
      this.store
        .recordName(session.did, session.name, now, retention.namesMs)
        .catch((e: unknown) => this.hooks.storeFailed("recordName", e));
    }
  }

  private bindingOf(session: LiveSession, since: number): SessionBinding {
    return {
      did: session.did,
      sessionId: session.sessionId,
      processId: this.options.processId,
      roomName: session.room.roomName,
      roomId: session.room.roomId,
      since,
    };
  }

  /** Rewrites bindings and replays unbinds that failed while the store was away. */
  private async repairBindings(): Promise<void> {
    for (const [key, { did, sessionId }] of this.unbindPending) {
      await this.store.unbindSession(did, sessionId, this.options.processId);
      this.unbindPending.delete(key);
    }
    if (!this.rebindPending) return;
    const now = Date.now();
    for (const session of this.enforcer.liveSessions()) {
      if (session.closedBy === null) await this.store.bindSession(this.bindingOf(session, now), this.options.retention);
    }
    this.rebindPending = false;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    try {
      await this.store.heartbeat(this.options.processId, now, this.options.heartbeatMs * 3);
      const swept = await this.store.sweepDeadProcesses(now);
      if (swept > 0) this.options.logger.info(`removed ${swept} session binding(s) of dead processes`);
      await this.repairBindings();
      this.hooks.storeRecovered();
    } catch (e) {
      this.hooks.storeFailed("heartbeat", e);
    }
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => void this.beat(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }
}
