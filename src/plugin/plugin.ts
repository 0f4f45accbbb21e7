import { ErrorCode, RoomPlugin, ServerError, type Client, type Room } from "@colyseus/core";
import { unpack } from "msgpackr";
import { readType, ROOM_DATA, ROOM_DATA_BYTES, ROOM_REQUEST } from "../guard/guard.js";
import { numberLength, TypeTable } from "../guard/types.js";
import type { LiveSession } from "../identity/live-sessions.js";
import { banMessage, CLOSE_BANNED } from "../sanctions/enforcer.js";
import { boundText } from "../util/text.js";
import type { ReportOutcome } from "../reports.js";
import type { Warden } from "../warden.js";
import { floodDisconnect, handlerKeys, interceptRoom, validationFault, watchLeave, watchOversizedFrames, type FrameFault } from "./intercept.js";

const PROTOCOL_CODE_MASK = 0x1f;
const JOIN_ROOM = 10;

/**
 * The Colyseus room plugin: `plugins = definePlugins([warden.plugin()])`.
 *
 * - `onJoin` (before the room's own): derives the digital ID from the verified auth, asks
 *   the warden's join gate, refuses a banned ID with 4403, binds the session.
 * - every inbound frame: the guard (size, type, flood, mute, freeze), synchronously.
 * - every decoded chat message: the chat detector.
 * - reconnection: a session the warden closed never comes back.
 * - `onLeave` (after the room's own): unbinds the session.
 * - `report(client, { sessionId, reason })`: player reports, for any room.
 */
export class WardenPlugin extends RoomPlugin {
  override readonly pluginName = "warden" as const;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly types: TypeTable;
  private host: Room | undefined;
  /** The session whose frame is being handled (see closedWhileHandling). */
  private framing: LiveSession | undefined;

  constructor(private readonly warden: Warden) {
    super();
    this.types = new TypeTable(warden.guard.slotOf, new Set(warden.options.muteTypes), new Set(warden.options.freezeTypes));
    // Colyseus attaches the room with `plugin.room = room` inside Room.__init, before
    // onCreate: the earliest moment to install the interception, and the only one that
    // also works for the first instance of a class with onUncaughtException.
    Object.defineProperty(this, "room", {
      configurable: true,
      enumerable: false,
      get: () => this.host,
      set: (room: Room) => {
        this.host = room;
        interceptRoom(room, {
          inspect: (client, buffer) => this.inspect(client, buffer),
          refuseReconnection: (sessionId) => this.sessions.get(sessionId)?.closedBy ?? this.bannedRefusal(sessionId),
          reconnected: (client) => {
            const session = this.sessions.get(client.sessionId);
            if (session === undefined) return;
            session.client = client;
            session.leaving = false;
            watchLeave(client, () => (session.leaving = true));
          },
          afterFrame: (buffer) => {
            const session = this.framing;
            if (session !== undefined && session.leaving && !session.closing) this.closedWhileHandling(session, buffer);
          },
          leaving: (client) => {
            const session = this.sessions.get(client.sessionId);
            if (session !== undefined) session.leaving = true;
          },
          dispatch: (type, client, message) => this.dispatch(type, client, message),
        });
      },
    });
  }

  /** The live session of a client in this room, if bound. */
  sessionOf(sessionId: string): LiveSession | undefined {
    return this.sessions.get(sessionId);
  }

  /**
   * Files a player report from `reporter` against another client of this room. Returns
   * an outcome, never throws: `rejected` (bad input, not in this room, self, too many
   * reports), `duplicate`, or `filed` (with `escalated` when the reports against the
   * target crossed the threshold and became an offense).
   */
  report(reporter: Client, input: unknown): Promise<ReportOutcome> {
    const from = this.sessions.get(reporter.sessionId);
    if (from === undefined) return Promise.resolve({ status: "rejected", reason: "reporter is not bound to a digital ID" });
    const { sessionId, reason } = (typeof input === "object" && input !== null ? input : {}) as { sessionId?: unknown; reason?: unknown };
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64) {
      return Promise.resolve({ status: "rejected", reason: "a report needs the sessionId of a player in this room" });
    }
    const target = this.sessions.get(sessionId);
    if (target === undefined) return Promise.resolve({ status: "rejected", reason: "that player is not in this room" });
    if (target.did === from.did) return Promise.resolve({ status: "rejected", reason: "you cannot report yourself" });
    return this.warden.reports.file(from, target, typeof reason === "string" ? reason : "");
  }

  protected override async onJoin(client: Client, options?: unknown): Promise<void> {
    const room = this.host;
    if (room === undefined) throw new ServerError(ErrorCode.APPLICATION_ERROR, "warden plugin is not attached to a room");
    let identity;
    try {
      identity = this.warden.options.identify(client.auth, options);
    } catch {
      identity = null;
    }
    if (!identity || typeof identity.subject !== "string" || identity.subject.length === 0) {
      throw new ServerError(ErrorCode.AUTH_FAILED, "no verified identity: join with a valid token");
    }
    const did = this.warden.digitalId(identity.subject);
    const enforcer = this.warden.enforcer;
    const standing = enforcer.standing(did);
    const session: LiveSession = {
      did,
      sessionId: client.sessionId,
      client,
      room,
      name: typeof identity.name === "string" ? boundText(identity.name, 64) || undefined : undefined,
      standing,
      closedBy: null,
      lastNoticeAt: 0,
      leaving: false,
      closing: false,
    };
    // Registered before the gate reads the store, so that a sanction published meanwhile reaches it.
    standing.sessions.add(session);
    this.sessions.set(client.sessionId, session);
    const denial = await this.warden.admit(did, standing);
    if (denial !== null) {
      this.sessions.delete(client.sessionId);
      enforcer.detach(session);
      throw new ServerError(denial.code, denial.message);
    }
    enforcer.attach(session);
    watchOversizedFrames(client, () => this.warden.offense(session, "payload", "oversized_frame", { limit: "transport maxPayload" }));
    watchLeave(client, () => (session.leaving = true));
    this.warden.bind(session);
  }

  protected override async onLeave(client: Client): Promise<void> {
    const session = this.sessions.get(client.sessionId);
    if (session === undefined) return;
    this.sessions.delete(client.sessionId);
    this.warden.enforcer.detach(session);
    await this.warden.unbind(session);
  }

  /** The hot path: every inbound frame, synchronously, before the room sees it. */
  private inspect(client: Client, buffer: Buffer): boolean {
    const session = this.sessions.get(client.sessionId);
    this.framing = session;
    if (session === undefined || buffer.length === 0) return true;
    const code = buffer[0]! & PROTOCOL_CODE_MASK;
    if (code === ROOM_DATA || code === ROOM_DATA_BYTES) return this.warden.guard.inspect(session, this.types, buffer, code, this.handlerKeys);
    if (code === ROOM_REQUEST) return this.warden.guard.inspect(session, this.types, buffer, code, this.handlerKeys) && this.inspectRequest(session, client, buffer);
    // The client acknowledged its join: its avatar exists now, publish a restriction loaded at join.
    if (code === JOIN_ROOM && (session.standing.muteUntil !== 0 || session.standing.freezeUntil !== 0)) this.warden.enforcer.publishRestriction(session);
    return true;
  }

  private readonly handlerKeys = (): readonly string[] => (this.host === undefined ? [] : handlerKeys(this.host));

  /** The chat detector, on the decoded message (no second decode of the frame). */
  private dispatch(type: string | number, client: Client, message: unknown): boolean {
    const chat = this.warden.chat;
    if (chat === null || !chat.types.has(type)) return true;
    const session = this.sessions.get(client.sessionId);
    if (session === undefined) return true;
    const text = typeof message === "string" ? message : typeof message === "object" && message !== null ? (message as Record<string, unknown>)[chat.field] : undefined;
    if (typeof text !== "string") return true;
    const match = chat.detector.check(text);
    if (match === null) return true;
    this.warden.offense(session, "chat", "abusive_text", {
      type: String(type).slice(0, 32),
      term: match.term,
      source: match.source,
      ...(chat.recordText ? { text } : {}),
    });
    return false;
  }

  /** Colyseus closed the session's client while handling `buffer`: record why, once, unless the room meant it. */
  private closedWhileHandling(session: LiveSession, buffer: Buffer): void {
    const room = this.host;
    if (room === undefined) return;
    session.closing = true;
    this.recordFault(session, buffer, floodDisconnect(room, session.client) ?? this.frameFault(room, buffer));
  }

  /**
   * Requests (`room.request(type, …)`) reach their handler without the dispatch the chat
   * detector watches, and Colyseus answers a bad one with an error instead of closing: so
   * a request is decoded here (requests are rare; ordinary messages never pay for this).
   */
  private inspectRequest(session: LiveSession, client: Client, buffer: Buffer): boolean {
    const room = this.host;
    if (room === undefined) return true;
    const decoded = decodeFrame(buffer);
    if (decoded !== "undecodable" && decoded !== null && !this.dispatch(decoded.type, client, decoded.message)) return false;
    this.recordFault(session, buffer, this.frameFault(room, buffer, decoded));
    return true;
  }

  private frameFault(room: Room, buffer: Buffer, decoded = decodeFrame(buffer)): FrameFault | null {
    if (decoded === "undecodable") return { kind: "undecodable", detail: "payload is not valid msgpack" };
    return decoded === null ? null : validationFault(room, decoded.type, decoded.message);
  }

  private recordFault(session: LiveSession, buffer: Buffer, fault: FrameFault | null): void {
    if (fault === null) return;
    this.warden.offense(session, fault.kind === "flood_disconnect" ? "colyseus" : "payload", fault.kind, {
      type: readType(buffer, typeOffset(buffer)),
      detail: fault.detail,
    });
  }

  private bannedRefusal(sessionId: string): { code: number; message: string } | null {
    const banned = this.sessions.get(sessionId)?.standing.banned;
    return banned ? { code: CLOSE_BANNED, message: banMessage(banned) } : null;
  }
}

function typeOffset(buffer: Buffer): number {
  return (buffer[0]! & PROTOCOL_CODE_MASK) === ROOM_REQUEST ? 1 + numberLength(buffer, 1) : 1;
}

/** Decodes a data frame's type and payload (rare path, after Colyseus rejected it). */
function decodeFrame(buffer: Buffer): { type: string | number; message: unknown } | "undecodable" | null {
  const code = buffer[0]! & PROTOCOL_CODE_MASK;
  if (code !== ROOM_DATA && code !== ROOM_REQUEST) return null;
  const offset = typeOffset(buffer);
  const type = readType(buffer, offset);
  // Skip the encoded type: re-encode its length the way readType decoded it.
  const it = { offset };
  try {
    const first = buffer[offset]!;
    if ((first & 0xe0) === 0xa0) it.offset += 1 + (first & 0x1f);
    else if (first === 0xd9) it.offset += 2 + buffer[offset + 1]!;
    else it.offset += numberLength(buffer, offset);
    const message = buffer.length > it.offset ? unpack(buffer.subarray(it.offset)) : undefined;
    return { type, message };
  } catch {
    return "undecodable";
  }
}
