import type { Client, Room } from "@colyseus/core";
import type { FloodBuckets, FloodHome } from "../guard/flood.js";
import type { DigitalId } from "../identity/digital-id.js";
import { isActive, type Sanction } from "./model.js";

/**
 * One session of this process, bound to its digital ID: what the guard, the enforcer and
 * reports need of it. Each part of the ID's state belongs to the module that keeps it —
 * sanction state (`standing`, here in sanctions), flood buckets (guard), report
 * bookkeeping (reports), profile (identity) — and the session only points at the first two,
 * which the hot path reads.
 */
export interface LiveSession {
  readonly did: DigitalId;
  readonly sessionId: string;
  /** Replaced when the session reconnects. */
  client: Client;
  readonly room: Room;
  readonly name: string | undefined;
  /** The ID's sanctions in force in this process. */
  readonly standing: Standing;
  /** The ID's flood buckets in this process (shared by its sessions, kept after they leave). */
  readonly flood: FloodBuckets;
  /** Set when the warden closed the session: it may never come back by reconnection. */
  closedBy: { code: number; message: string } | null;
  /** Last time a "you are muted/frozen" notice went out (epoch ms). */
  lastNoticeAt: number;
  /**
   * The player's locale for notices. Set at join to what the player asked for (join option
   * `locale`, else the identity's; a tag or a preference list, `""` for none); the enforcer
   * resolves it to a locale there are templates for (`NoticeText.locale`, falling back to
   * the default locale) when the session attaches, and on any notice sent before that.
   */
  locale: string;
  /** Something made the client leave (Colyseus, the room, or the warden). */
  leaving: boolean;
  /** The close was examined for a fault once (see WardenPlugin.afterFrame). */
  closing: boolean;
}

const NO_SANCTIONS: ReadonlyMap<string, Sanction> = new Map();

/** A Standing's lasting sanctions, made with the first one (see `Standing.lasting`). */
interface Lasting {
  readonly known: Map<string, Sanction>;
  banned: Sanction | null;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The live sessions of one ID in this process: almost always one, so the first is a field
 * and only further ones take an array (a `Set` costs ~150 B before its first member;
 * issue 14, heap per client). Iterating walks a snapshot: a session may leave meanwhile.
 */
export class SessionSet implements Iterable<LiveSession> {
  private first: LiveSession | undefined = undefined;
  private rest: LiveSession[] | null = null;

  get size(): number {
    return this.first === undefined ? 0 : 1 + (this.rest?.length ?? 0);
  }

  has(session: LiveSession): boolean {
    return this.first === session || (this.rest?.includes(session) ?? false);
  }

  add(session: LiveSession): this {
    if (this.first === undefined) this.first = session;
    else if (!this.has(session)) this.rest = this.rest === null ? [session] : [...this.rest, session];
    return this;
  }

  delete(session: LiveSession): boolean {
    if (this.first === session) {
      this.first = this.rest?.[0];
      this.rest = this.rest === null || this.rest.length <= 1 ? null : this.rest.slice(1);
      return true;
    }
    const i = this.rest?.indexOf(session) ?? -1;
    if (i < 0) return false;
    this.rest = this.rest!.length === 1 ? null : this.rest!.filter((s) => s !== session);
    return true;
  }

  /** The sessions now (a copy). */
  values(): IterableIterator<LiveSession> {
    const all = this.first === undefined ? [] : this.rest === null ? [this.first] : [this.first, ...this.rest];
    return all.values();
  }

  [Symbol.iterator](): IterableIterator<LiveSession> {
    return this.values();
  }
}

/**
 * What this process knows about one digital ID's sanctions: its live sessions here and
 * the lasting sanctions in force. `muteUntil` / `freezeUntil` are what the hot path reads: 0 = none,
 * Infinity = permanent, else an epoch ms.
 */
export class Standing extends SessionSet implements FloodHome {
  muteUntil = 0;
  freezeUntil = 0;
  /**
   * Its live sessions here. The standing is that set itself (it extends {@link SessionSet}):
   * a set object of its own was 40 B more per ID (issue 14, heap per client).
   */
  get sessions(): SessionSet {
    return this;
  }
  /**
   * When the store first saw the ID (epoch ms), for the weight of its reports; unknown until
   * a join's profile write returns. Here rather than in a profile ledger of its own: one
   * object and one map entry per ID less (issue 14, heap per client).
   */
  firstSeen: number | undefined = undefined;
  /** The ID's flood buckets while it has sessions here (the guard's FloodLedger keeps them here, not in a map). */
  flood: FloodBuckets | null = null;
  /**
   * The lasting sanctions known here, the ban among them and the expiry timer: made when the
   * ID first has one here, which most players never do (one field instead of three: 16 B per
   * ID less; issue 14, heap per client).
   */
  private lasting: Lasting | null = null;

  constructor(readonly did: DigitalId) {
    super();
  }

  /** The ban in force known here (the one that ends last), or null. */
  get banned(): Sanction | null {
    return this.lasting?.banned ?? null;
  }

  /** The lasting sanctions in force known here, by id. */
  get sanctions(): ReadonlyMap<string, Sanction> {
    return this.lasting?.known ?? NO_SANCTIONS;
  }

  /** Keeps a sanction in force (see {@link recompute}). */
  keep(sanction: Sanction): void {
    (this.lasting ??= { known: new Map(), banned: null, timer: undefined }).known.set(sanction.id, sanction);
  }

  /** Forgets a sanction (revoked); true if it was known. */
  forget(sanctionId: string): boolean {
    return this.lasting?.known.delete(sanctionId) ?? false;
  }

  /** Recomputes mute/freeze/ban from the known sanctions; calls `onExpiry` when the next one ends. */
  recompute(now: number, onExpiry: (standing: Standing) => void): void {
    let mute = 0;
    let freeze = 0;
    let ban: Sanction | null = null;
    let next = Infinity;
    const lasting = this.lasting;
    if (lasting !== null) {
      for (const [id, s] of lasting.known) {
        if (!isActive(s, now)) {
          lasting.known.delete(id);
          continue;
        }
        const end = s.end ?? Infinity;
        if (s.kind === "mute") mute = Math.max(mute, end);
        else if (s.kind === "freeze") freeze = Math.max(freeze, end);
        else if (s.kind === "ban" && (ban === null || end > (ban.end ?? Infinity))) ban = s;
        next = Math.min(next, end);
      }
      clearTimeout(lasting.timer);
      lasting.timer = undefined;
      lasting.banned = ban;
    }
    this.muteUntil = mute;
    this.freezeUntil = freeze;
    if (lasting !== null && next !== Infinity) {
      // +1 so that the sanction is over (end is exclusive) when the timer fires.
      lasting.timer = setTimeout(() => onExpiry(this), Math.min(next - now + 1, 2 ** 31 - 1));
      lasting.timer.unref();
    }
  }

  /** `""`, `"muted"`, `"frozen"` or `"muted frozen"`. */
  restriction(now: number): string {
    const muted = this.muteUntil > now;
    const frozen = this.freezeUntil > now;
    return muted && frozen ? "muted frozen" : muted ? "muted" : frozen ? "frozen" : "";
  }

  /** True when nothing keeps this entry worth holding. */
  get idle(): boolean {
    return this.sessions.size === 0 && this.sanctions.size === 0;
  }

  dispose(): void {
    if (this.lasting === null) return;
    clearTimeout(this.lasting.timer);
    this.lasting.timer = undefined;
  }
}
