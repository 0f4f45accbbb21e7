import { EventEmitter } from "node:events";
import type { Sanction } from "./sanctions/model.js";
import type { SessionBinding } from "./stores/store.js";
import type { EvasionRecord, ReportCase } from "./reviews/model.js";

/** Handed to `sanction:before` listeners; call `cancel` to veto the sanction. */
export interface BeforeSanctionEvent {
  /** The sanction about to be stored and published (read-only). */
  readonly sanction: Readonly<Sanction>;
  /** Vetoes the sanction; `issue()` then resolves `{ status: "cancelled", reason }`. */
  cancel(reason: string): void;
}

/** What the warden did to one live session. */
export interface EnforcementEvent {
  sanction: Sanction;
  sessionId: string;
  roomId: string;
  action: "notice" | "restrict" | "close";
}

/** Typed events of a warden (LibertyBans' cancellable "before" / informational "after" pair). */
export interface WardenEvents {
  /** Synchronous, before a sanction is stored: listeners may cancel it. */
  "sanction:before": [event: BeforeSanctionEvent];
  /** A sanction was stored and published (emitted in the issuing process). */
  "sanction:applied": [sanction: Sanction];
  /** A sanction was revoked (emitted in the revoking process). */
  "sanction:revoked": [sanction: Sanction];
  /** A sanction reached a live session of this process. */
  "sanction:enforced": [event: EnforcementEvent];
  /** A session of this process was bound to its digital ID. */
  "session:bound": [binding: SessionBinding];
  /** A session of this process left. */
  "session:unbound": [binding: SessionBinding];
  /**
   * Reports against a player crossed the threshold and their case entered the review queue
   * (emitted in the process that filed the crossing report): e.g. to alert moderators. The
   * case holds reporters' IDs and reasons — staff data, never for players.
   */
  "case:queued": [record: ReportCase];
  /**
   * An ID joined with a strong link to an ID under an active ban: a suspected evasion
   * entered the review queue (emitted in the process the ID joined). The record names the
   * banned ID and the link's reasons — staff data, never for players.
   */
  "evasion:flagged": [record: EvasionRecord];
  /** The store failed; the warden went on from memory. */
  "store:error": [error: Error, operation: string];
}

/** A small typed wrapper over Node's EventEmitter. */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Emits to every listener; a throwing listener is isolated and reported through `onListenerError`. */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (e) {
        this.onListenerError(event, e);
      }
    }
  }

  protected onListenerError(_event: string, _error: unknown): void {}
}
