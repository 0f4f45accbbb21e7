import { banMessage, CLOSE_BANNED, CLOSE_KICKED, kickMessage, type Enforcer } from "../sanctions/enforcer.js";
import type { Sanction } from "../sanctions/model.js";
import type { LiveSession } from "../sanctions/standing.js";
import type { SanctionStore, SessionStore } from "../stores/store.js";
import { withTimeout } from "../util/timeout.js";

/** Why a join was refused: the code and message the client's join promise rejects with. */
export interface JoinDenial {
  code: number;
  message: string;
}

/** Join error code when the store cannot be reached and `failMode` is `"closed"`. */
export const JOIN_STORE_UNAVAILABLE = 4503;

/** Join error code when the ID already holds `maxSessionsPerId` sessions. */
export const JOIN_TOO_MANY_SESSIONS = 4429;

/** What the join gate needs of the warden's options. */
export interface GateOptions {
  processId: string;
  maxSessionsPerId: number;
  storeTimeoutMs: number;
  failMode: "open" | "closed";
}

/** What the join gate reports to, and asks of, the warden. */
export interface GateHooks {
  /** Resolves once this process receives sanctions published anywhere. */
  subscribed(): Promise<void>;
  /** True once the warden closed. */
  closed(): boolean;
  storeFailed(operation: string, cause: unknown): void;
  /** The ID's sanctions, as loaded at its join (for the weight of its reports). */
  loaded(session: LiveSession, sanctions: readonly Sanction[]): void;
}

/**
 * The join gate: loads the ID's sanctions into its standing and says whether the session
 * may join — a ban refuses (4403), the session cap refuses (4429), a kick issued between
 * the seat reservation and this join refuses (4401) and a warning from that window is
 * delivered. The store is read with a timeout; if it fails, `failMode` decides, and a ban
 * this process already knows refuses the join either way.
 */
export class JoinGate {
  constructor(
    private readonly store: Pick<SanctionStore, "sanctionsOf"> & Pick<SessionStore, "sessionsOf">,
    private readonly enforcer: Enforcer,
    private readonly options: GateOptions,
    private readonly hooks: GateHooks,
  ) {}

  /** `session` is registered in its standing already (so a sanction published meanwhile reaches it). */
  async admit(session: LiveSession, reservedAt: number): Promise<JoinDenial | null> {
    if (this.hooks.closed()) return { code: JOIN_STORE_UNAVAILABLE, message: "the warden is shutting down" };
    const { standing, did } = session;
    // This process's sessions of the ID (the joining one included): exact, synchronous.
    const cap = this.options.maxSessionsPerId;
    if (standing.sessions.size > cap) return tooManySessions(cap);
    try {
      const [, sanctions, bindings] = await withTimeout(
        Promise.all([this.hooks.subscribed(), this.store.sanctionsOf(did), this.store.sessionsOf(did)]),
        this.options.storeTimeoutMs,
        "join check",
      );
      this.enforcer.load(standing, sanctions);
      this.hooks.loaded(session, sanctions);
      // Other processes' sessions, as bound in the store (a dead process's are swept within three heartbeats).
      const elsewhere = bindings.filter((b) => b.processId !== this.options.processId).length;
      if (standing.sessions.size + elsewhere > cap) return tooManySessions(cap);
      // A kick (or warning) issued between the seat reservation and this join found no session to act on: it acts now.
      // (The kick's `start` is the issuing process's clock: processes of one fleet are assumed NTP-synced.)
      for (const sanction of sanctions) {
        if (
          sanction.revoked !== undefined ||
          sanction.start < reservedAt ||
          (sanction.kind !== "kick" && sanction.kind !== "warn")
        )
          continue;
        if (sanction.kind === "kick") return { code: CLOSE_KICKED, message: kickMessage(sanction) };
        this.enforcer.notify(session, sanction);
      }
    } catch (e) {
      this.hooks.storeFailed("join check", e);
      if (standing.banned === null && this.options.failMode === "closed") {
        return { code: JOIN_STORE_UNAVAILABLE, message: "sanction store unavailable, try again shortly" };
      }
    }
    return standing.banned === null ? null : { code: CLOSE_BANNED, message: banMessage(standing.banned) };
  }
}

function tooManySessions(cap: number): JoinDenial {
  return { code: JOIN_TOO_MANY_SESSIONS, message: `this account already has ${cap} session(s) open: leave one first` };
}
