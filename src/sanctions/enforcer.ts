import type { DigitalId } from "../identity/digital-id.js";
import { Standing, type LiveSession } from "./standing.js";
import type { EnforcementEvent } from "../events.js";
import type { RestrictionFieldOptions } from "./options.js";
import type { WardenLogger } from "../util/logger.js";
import { formatInstant } from "../util/time.js";
import type { StatementOfReasons } from "../reviews/model.js";
import {
  type BusMessage,
  isActive,
  type PlayerNotice,
  playerStatement,
  SANCTION_KINDS,
  type Sanction,
} from "./model.js";
import { NoticeText } from "./notice.js";

/** What the enforcer needs of the warden's options. */
export interface EnforcerOptions {
  /** Where an avatar's restriction is published (opt-in). */
  restrictionField: Required<RestrictionFieldOptions> | undefined;
  /** Least time between two "you are muted/frozen" notices to one session, in ms. */
  noticeIntervalMs: number;
  logger: WardenLogger;
  /**
   * The player-facing texts, per locale.
   * @defaultValue the built-in texts (`en`, `de`, `fr`, `es`; default `en`)
   */
  notices?: NoticeText;
}

/** WebSocket close code of a kick. */
export const CLOSE_KICKED = 4401;
/** WebSocket close code (and join error code) of a ban. */
export const CLOSE_BANNED = 4403;

/**
 * The `warden:notice` message a client receives: about a sanction (issued, lifted) or about
 * the player's appeal or report. Structured fields for a client that renders its own text,
 * and `message`, the short sentence in the session's `locale`.
 */
export interface WardenNotice {
  /**
   * The sanction kind; `"lifted"` when a mute/freeze/ban was revoked or ran out; `"appeal"`
   * or `"report"` for a due-process notice (then `topic`, `ref`, `state` are set).
   */
  kind: Sanction["kind"] | "lifted" | "appeal" | "report";
  /** The sanction's reason (or the lift's); for a due-process notice its `reason` var, else `""`. */
  reason: string;
  /** End of a lasting sanction (epoch ms); `null` = permanent; absent for warn/kick/lifted. */
  until?: number | null;
  /** For `lifted`: what was lifted. */
  lifted?: Sanction["kind"];
  /** The sanction it is about; for an appeal notice the appealed sanction when its ref names it; absent for a report notice. */
  sanctionId?: string;
  /** The statement of reasons of the sanction (absent for lifted and due-process notices, and for older records). */
  statement?: StatementOfReasons;
  /** One short sentence for the player, in `locale`: what, until when, why, how decided, how to appeal. */
  message: string;
  /** The locale `message` is written in (the session's). */
  locale: string;
  /** For a due-process notice: what it is about. */
  topic?: PlayerNotice["topic"];
  /** For a due-process notice: the appeal id or report receipt. */
  ref?: string;
  /** For a due-process notice: the state reached (`filed`, `upheld`, `received`…). */
  state?: string;
  /** For a due-process notice: its template key and variables (for a client's own texts). */
  key?: string;
  vars?: Record<string, string>;
}

export const NOTICE_TYPE = "warden:notice";

/** A WebSocket close reason may hold 123 bytes; keep well inside it. */
function closeReason(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= 120
    ? text
    : `${bytes
        .subarray(0, 117)
        .toString("utf8")
        .replace(/\uFFFD+$/, "")}...`;
}

/** A socket whose writes can be held and sent together (Node's `net.Socket`: cork/uncork). */
export interface BatchingSocket {
  cork(): void;
  uncork(): void;
}

/** What a short message says instead of a reason erased at the player's request. */
const ERASED_REASON = "details erased at your request";

/** The reason a close or join error may show: never `(erased)` placeholder text. */
function shownReason(s: Sanction): string {
  return s.statement?.erased === true || s.reason === "(erased)" ? ERASED_REASON : s.reason;
}

/** The join error message of a ban: reason and end time. */
export function banMessage(ban: Sanction): string {
  const until = ban.end === null ? "permanently" : `until ${formatInstant(ban.end)}`;
  return `banned ${until}: ${shownReason(ban)}`;
}

/** The close reason (and join error message) of a kick. */
export function kickMessage(kick: Sanction): string {
  return `kicked: ${shownReason(kick)}`;
}

/**
 * Applies sanctions to the live sessions of this process. Holds one {@link Standing} per
 * digital ID with sessions here (or with a ban this process has seen, so that the join
 * gate still knows it when the store is down). Deciding and storing happen elsewhere.
 */
export class Enforcer {
  private readonly standings = new Map<DigitalId, Standing>();
  /**
   * Messages already applied (`i:<id>` issued, `r:<id>` revoked, `n:<did>:<ref>:<state>`
   * notice): a sanction reaches this process up to three ways — applied locally when issued
   * here, echoed by the bus, and replayed by a resync after the bus was cut — and must act
   * once. A due-process notice may likewise be delivered here directly and echoed by the
   * bus; an appeal or report reaches each state once, so its ref and state name it.
   */
  private readonly applied = new Set<string>();
  /** Kinds of message whose failure to apply was logged already (one line per kind, not one per message). */
  private readonly failedKinds = new Set<string>();
  /** The player-facing texts. */
  readonly notices: NoticeText;

  /**
   * Called for each live session of an ID whose restrictions in this process changed (the
   * room side reacts: the plugin drops inputs buffered before a freeze). One hook for all
   * sessions, not a field on each (8 B per session; issue 14, heap per client).
   */
  restricted: ((session: LiveSession) => void) | undefined = undefined;
  /**
   * The socket under a client if its writes can be batched (set by the warden: reading it is
   * the plugin's business, src/plugin/intercept.ts): a kick's notice and close frame then
   * leave in one write. Without it, or for null, they leave one after the other.
   */
  batching: ((client: LiveSession["client"]) => BatchingSocket | null) | undefined = undefined;

  constructor(
    private readonly options: EnforcerOptions,
    private readonly report: (event: EnforcementEvent) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.notices = options.notices ?? new NoticeText();
  }

  /** The standing of an ID, created on demand. */
  standing(did: DigitalId): Standing {
    let standing = this.standings.get(did);
    if (standing === undefined) {
      standing = new Standing(did);
      this.standings.set(did, standing);
    }
    return standing;
  }

  /** The standing of an ID if this process knows it. */
  peek(did: DigitalId): Standing | undefined {
    return this.standings.get(did);
  }

  /** Adds sanctions loaded from the store (on join) without notifying anyone twice. */
  load(standing: Standing, sanctions: readonly Sanction[]): void {
    const now = this.now();
    for (const s of sanctions) if (isActive(s, now)) standing.keep(s);
    this.refresh(standing);
  }

  /** Registers a session; tells the player of the restrictions in force, then applies them to the avatar. */
  attach(session: LiveSession): void {
    session.locale = this.localeOf(session);
    session.standing.sessions.add(session);
    for (const s of session.standing.sanctions.values()) {
      if (s.kind === "mute" || s.kind === "freeze") this.notify(session, s);
    }
    this.publishRestriction(session);
  }

  /** Unregisters a session; forgets the ID when nothing else keeps it. */
  detach(session: LiveSession): void {
    const standing = session.standing;
    standing.sessions.delete(session);
    if (standing.idle) {
      standing.dispose();
      this.standings.delete(standing.did);
    }
  }

  /**
   * Applies a sanction or revocation (from this process, the bus, or a resync), once.
   * Never throws: it runs inside the bus listener, where a throw would end the process.
   * Messages are checked before they get here (sanctions/codec.ts); a failure anyway is
   * logged once per kind of message and the message is dropped.
   */
  apply(message: BusMessage): void {
    try {
      const key =
        message.type === "issued"
          ? `i:${message.sanction.id}`
          : message.type === "revoked"
            ? `r:${message.sanctionId}`
            : `n:${message.did}:${message.notice.ref}:${message.notice.state}`;
      if (this.applied.has(key)) return;
      this.applied.add(key);
      // Bounded: the oldest keys go first (a Set iterates in insertion order).
      if (this.applied.size > 10_000)
        for (const old of this.applied) {
          this.applied.delete(old);
          if (this.applied.size <= 9_000) break;
        }
      if (message.type === "issued") this.applyIssued(message.sanction);
      else if (message.type === "revoked")
        this.applyRevoked(message.did, message.sanctionId, message.revocation.reason);
      else if (message.type === "notice") this.applyNotice(message.did, message.notice);
    } catch (e) {
      // The kind names a bounded set of lines: anything unexpected shares one.
      const kind =
        message?.type === "revoked"
          ? "revoked"
          : message?.type === "notice"
            ? "notice"
            : message?.type === "issued" && SANCTION_KINDS.includes(message.sanction?.kind)
              ? `issued ${message.sanction.kind}`
              : "malformed";
      if (this.failedKinds.has(kind)) return;
      this.failedKinds.add(kind);
      try {
        this.options.logger.error(
          `could not apply a ${kind} message (further failures of this kind are not logged): ${e instanceof Error ? e.message : String(e)}`,
        );
      } catch {
        // A logger that throws must not turn a dropped message into a dead process.
      }
    }
  }

  /** The IDs this process holds state for (live sessions or remembered bans). */
  knownIds(): DigitalId[] {
    return [...this.standings.keys()];
  }

  /** Every live session of this process. */
  *liveSessions(): IterableIterator<LiveSession> {
    for (const standing of this.standings.values()) yield* standing.sessions;
  }

  private applyIssued(sanction: Sanction): void {
    const now = this.now();
    const lasting = isActive(sanction, now);
    // Bans are remembered even without a session here, for the join gate's fail-open path.
    const standing =
      sanction.kind === "ban" && lasting ? this.standing(sanction.did) : this.standings.get(sanction.did);
    if (standing === undefined) return;
    const sessions = [...standing.sessions];
    // The player is told before the restriction bites (DSA Art. 17: the statement comes with
    // the decision, not after it): the notice is queued on the socket before the avatar's
    // restriction changes in state and before the guard drops their first message.
    if (sanction.kind === "kick" || sanction.kind === "ban") {
      // A closing sanction bites with the close: each socket gets its notice, then its close
      // frame, at once; recomputing the standing (its expiry timer, the avatars' field, the
      // room's `restricted` hooks) waits until the sockets are closing — it was on the path
      // from issue to close (issue 14). The ban is kept first: a transport whose leave()
      // runs the room's onLeave at once must find the standing still holding it (not idle,
      // so not forgotten). All of it runs in this one turn: no frame or join comes between.
      if (lasting) standing.keep(sanction);
      for (const session of sessions) {
        // The notice and the close frame leave in one write (one syscall, one segment), the
        // notice first, when the transport's socket can batch writes.
        const socket = this.batching?.(session.client) ?? null;
        socket?.cork();
        try {
          this.notify(session, sanction);
          this.leave(session, sanction);
        } finally {
          socket?.uncork();
        }
      }
      if (lasting) this.refresh(standing);
      for (const session of sessions)
        this.report({ sanction, sessionId: session.sessionId, roomId: session.room.roomId, action: "close" });
      return;
    }
    for (const session of sessions) this.notify(session, sanction);
    if (lasting) {
      standing.keep(sanction);
      this.refresh(standing);
    }
    for (const session of sessions)
      this.report({
        sanction,
        sessionId: session.sessionId,
        roomId: session.room.roomId,
        action: sanction.kind === "warn" ? "notice" : "restrict",
      });
  }

  /** A due-process notice for a player: to every live session of that ID in this process. */
  private applyNotice(did: DigitalId, notice: PlayerNotice): void {
    const standing = this.standings.get(did);
    if (standing === undefined) return;
    for (const session of standing.sessions) {
      const locale = this.localeOf(session);
      const sanctionId =
        notice.topic === "appeal" ? /^([a-z2-7]{26}\.[a-z2-7]{8})\.a$/.exec(notice.ref)?.[1] : undefined;
      const sent: WardenNotice = {
        kind: notice.topic,
        reason: notice.vars.reason ?? "",
        message: this.notices.player(notice, locale),
        locale,
        topic: notice.topic,
        ref: notice.ref,
        state: notice.state,
        key: notice.key,
        vars: { ...notice.vars },
      };
      if (sanctionId !== undefined) sent.sanctionId = sanctionId;
      this.send(session, sent);
    }
  }

  private applyRevoked(did: DigitalId, sanctionId: string, reason: string): void {
    const standing = this.standings.get(did);
    const sanction = standing?.sanctions.get(sanctionId);
    if (standing === undefined || sanction === undefined) return;
    standing.forget(sanctionId);
    this.refresh(standing);
    for (const session of standing.sessions) this.sendLifted(session, sanction, reason);
    if (standing.idle) {
      standing.dispose();
      this.standings.delete(did);
    }
  }

  /**
   * Closes a session for a kick or ban; marks it so that it can never reconnect. The notice
   * goes first (unless `notify` is false: the caller sent it already), then the socket closes.
   */
  close(session: LiveSession, sanction: Sanction, notify = true): void {
    if (notify) this.notify(session, sanction);
    this.leave(session, sanction);
    this.report({ sanction, sessionId: session.sessionId, roomId: session.room.roomId, action: "close" });
  }

  /** Closes the socket of a kicked or banned session (its notice sent already), marking it so that it can never reconnect. */
  private leave(session: LiveSession, sanction: Sanction): void {
    const code = sanction.kind === "ban" ? CLOSE_BANNED : CLOSE_KICKED;
    const message = sanction.kind === "ban" ? banMessage(sanction) : kickMessage(sanction);
    if (session.closedBy === null) session.closedBy = { code, message };
    try {
      session.client.leave(code, closeReason(message));
    } catch (e) {
      this.options.logger.warn(`could not close session ${session.sessionId}: ${(e as Error).message}`);
    }
  }

  /** Sends the notice of a sanction to one session: its statement of reasons and the sentence in the session's locale. */
  notify(session: LiveSession, sanction: Sanction): void {
    const locale = this.localeOf(session);
    const notice: WardenNotice = {
      kind: sanction.kind,
      reason: sanction.reason,
      sanctionId: sanction.id,
      message: this.notices.sanction(sanction, locale),
      locale,
    };
    if (sanction.kind === "mute" || sanction.kind === "freeze" || sanction.kind === "ban") notice.until = sanction.end;
    if (sanction.statement !== undefined) notice.statement = playerStatement(sanction.statement);
    session.lastNoticeAt = this.now();
    this.send(session, notice);
  }

  /** The session's locale, resolved (a session notified before it attached has its request only). */
  private localeOf(session: LiveSession): string {
    return this.notices.locale(session.locale);
  }

  /** Tells a session, at most once per `noticeIntervalMs`, that a message of theirs was dropped. */
  remind(session: LiveSession, kind: "mute" | "freeze"): void {
    const now = this.now();
    if (now - session.lastNoticeAt < this.options.noticeIntervalMs) return;
    for (const s of session.standing.sanctions.values()) {
      if (s.kind === kind && isActive(s, now)) {
        this.notify(session, s);
        return;
      }
    }
  }

  /** Forgets everything (warden closed). */
  clear(): void {
    for (const standing of this.standings.values()) standing.dispose();
    this.standings.clear();
  }

  /** Tells a session a sanction was lifted; `expired` when it ran out (the sentence then gives no reason). */
  private sendLifted(session: LiveSession, sanction: Sanction, reason: string, expired = false): void {
    const locale = this.localeOf(session);
    const message = this.notices.lifted(sanction, expired ? "" : reason, locale);
    this.send(session, { kind: "lifted", lifted: sanction.kind, reason, sanctionId: sanction.id, message, locale });
  }

  private send(session: LiveSession, notice: WardenNotice): void {
    try {
      session.client.send(NOTICE_TYPE, notice);
    } catch (e) {
      this.options.logger.warn(`could not send a notice to session ${session.sessionId}: ${(e as Error).message}`);
    }
  }

  private refresh(standing: Standing): void {
    standing.recompute(this.now(), (expired) => this.onExpiry(expired));
    for (const session of standing.sessions) {
      this.publishRestriction(session);
      try {
        this.restricted?.(session);
      } catch (e) {
        this.options.logger.warn(
          `could not apply a restriction to session ${session.sessionId}: ${(e as Error).message}`,
        );
      }
    }
  }

  private onExpiry(standing: Standing): void {
    const now = this.now();
    for (const s of standing.sanctions.values()) {
      if (!isActive(s, now)) {
        for (const session of standing.sessions) this.sendLifted(session, s, "its time is over", true);
      }
    }
    this.refresh(standing);
    if (standing.idle) {
      standing.dispose();
      this.standings.delete(standing.did);
    }
  }

  /** Writes the restriction into the avatar's schema field, when the game opted in. */
  publishRestriction(session: LiveSession): void {
    const field = this.options.restrictionField;
    if (field === undefined) return;
    try {
      const avatar = field.avatarOf(session.room, session.client) as Record<string, unknown> | undefined;
      if (avatar === undefined || avatar === null) return;
      const value = session.standing.restriction(this.now());
      if (avatar[field.field] !== value) avatar[field.field] = value;
    } catch (e) {
      this.options.logger.warn(`restrictionField.avatarOf failed: ${(e as Error).message}`);
    }
  }
}
