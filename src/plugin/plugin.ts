import { ErrorCode, RoomPlugin, ServerError, type Client, type Room } from "@colyseus/core";
import { decode, type Iterator } from "@colyseus/schema";
import type { LiveSession } from "../identity/live-sessions.js";
import { cleanText } from "../sanctions/model.js";
import { banMessage, CLOSE_BANNED } from "../sanctions/enforcer.js";
import type { Warden } from "../warden.js";
import { interceptRoom } from "./intercept.js";

// Protocol codes (byte 0 & 0x1F) of frames that carry a message type.
const ROOM_DATA = 13;
const ROOM_DATA_BYTES = 17;
const ROOM_REQUEST = 21;
const PROTOCOL_CODE_MASK = 0x1f;

/**
 * The Colyseus room plugin: `plugins = definePlugins([warden.plugin()])`.
 *
 * - `onJoin` (before the room's own): derives the digital ID from the verified auth, asks
 *   the warden's join gate, refuses a banned ID with 4403, binds the session.
 * - every inbound frame: drops the muted/frozen types from memory, synchronously.
 * - reconnection: a session the warden closed never comes back.
 * - `onLeave` (after the room's own): unbinds the session.
 */
export class WardenPlugin extends RoomPlugin {
  override readonly pluginName = "warden" as const;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly muteTypes: ReadonlySet<string | number>;
  private readonly freezeTypes: ReadonlySet<string | number>;
  private host: Room | undefined;

  constructor(private readonly warden: Warden) {
    super();
    this.muteTypes = new Set(warden.options.muteTypes);
    this.freezeTypes = new Set(warden.options.freezeTypes);
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
            if (session !== undefined) session.client = client;
          },
        });
      },
    });
  }

  /** The live session of a client in this room, if bound. */
  sessionOf(sessionId: string): LiveSession | undefined {
    return this.sessions.get(sessionId);
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
      name: typeof identity.name === "string" ? cleanText(identity.name, 64) || undefined : undefined,
      standing,
      closedBy: null,
      lastNoticeAt: 0,
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
    this.warden.bind(session);
  }

  protected override async onLeave(client: Client): Promise<void> {
    const session = this.sessions.get(client.sessionId);
    if (session === undefined) return;
    this.sessions.delete(client.sessionId);
    this.warden.enforcer.detach(session);
    await this.warden.unbind(session);
  }

  /**
   * The hot path: runs for every inbound frame, synchronously, before the room sees it.
   * A session with no restriction costs one Map lookup and two number comparisons.
   */
  private inspect(client: Client, buffer: Buffer): boolean {
    const session = this.sessions.get(client.sessionId);
    if (session === undefined) return true;
    const standing = session.standing;
    if (standing.muteUntil === 0 && standing.freezeUntil === 0) return true;
    return this.inspectRestricted(session, buffer);
  }

  private inspectRestricted(session: LiveSession, buffer: Buffer): boolean {
    const code = buffer[0]! & PROTOCOL_CODE_MASK;
    if (code !== ROOM_DATA && code !== ROOM_DATA_BYTES && code !== ROOM_REQUEST) return true;
    let type: string | number;
    try {
      const it: Iterator = { offset: 1 };
      if (code === ROOM_REQUEST) decode.number(buffer, it);
      type = decode.stringCheck(buffer, it) ? decode.string(buffer, it) : decode.number(buffer, it);
    } catch {
      return true; // undecodable: Colyseus rejects it itself
    }
    const now = Date.now();
    const standing = session.standing;
    if (standing.muteUntil > now && this.muteTypes.has(type)) {
      this.warden.enforcer.remind(session, "mute");
      return false;
    }
    if (standing.freezeUntil > now && this.freezeTypes.has(type)) {
      this.warden.enforcer.remind(session, "freeze");
      return false;
    }
    return true;
  }

  private bannedRefusal(sessionId: string): { code: number; message: string } | null {
    const banned = this.sessions.get(sessionId)?.standing.banned;
    return banned ? { code: CLOSE_BANNED, message: banMessage(banned) } : null;
  }
}
