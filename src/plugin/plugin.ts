import {
  ErrorCode,
  getMessageBytes,
  Protocol,
  ResponseStatus,
  RoomPlugin,
  ServerError,
  type Client,
  type Room,
} from "@colyseus/core";
import { dispatchAgrees, emptyVerdict, Guard } from "../guard/guard.js";
import { BYTES_PREFIX, type TypeEntry, type TypeTable } from "../guard/types.js";
import type { LiveSession } from "../sanctions/standing.js";
import type { AppealOutcome, PluginHost } from "./host.js";
import { INPUT_TYPE } from "../guard/options.js";
import { banMessage, CLOSE_BANNED } from "../sanctions/enforcer.js";
import { localePreference } from "../sanctions/notice.js";
import { boundText } from "../util/text.js";
import type { ReportOutcome } from "../reports/service.js";
import { decodePayload, FrameKind, frameHead, readFrame, typeKey, UNDECODABLE } from "../guard/frames.js";
import {
  clearBufferedInputs,
  floodDisconnect,
  handlerKeys,
  interceptRoom,
  peerAddress,
  socketOf,
  validationFault,
  OVERSIZED_FRAME,
  watchSocketErrors,
  type ConnectionInfo,
  type FrameFault,
  type HandlerCallback,
} from "./intercept.js";

/** WebSocket readyState OPEN (CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3). */
const OPEN = 1;

// Imported constants read once (a transpiled import can be a getter call on every read).
const { control: CONTROL, data: DATA, bytes: BYTES, request: REQUEST, unknown: UNKNOWN } = FrameKind;

/** Seat reservations older than this are forgotten (Colyseus's own reservations last seconds). */
const SEAT_MEMORY_MS = 10 * 60_000;
/** Longest chat text read from a byte message. */
const MAX_CHAT_BYTES = 4096;

/**
 * The Colyseus room plugin: `plugins = definePlugins([warden.plugin()])`.
 *
 * - `onJoin` (before the room's own): derives the digital ID from the verified auth, asks
 *   the warden's join gate, refuses a banned ID with 4403, binds the session.
 * - every inbound frame: the guard (frame budget, size, protocol code and type as
 *   Colyseus reads them, flood, mute, freeze), synchronously, before Colyseus decodes it.
 * - every message handler: runs only for the type the guard approved, after the chat
 *   detector read the very payload the handler gets.
 * - reconnection: a session the warden closed never comes back.
 * - `onLeave` (after the room's own): unbinds the session.
 * - `report(client, { sessionId, reason })`: player reports, for any room.
 */
export class WardenPlugin extends RoomPlugin {
  override readonly pluginName = "warden" as const;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly types: TypeTable;
  /** The room Colyseus attached this plugin to. */
  private attached: Room | undefined;
  /** The head of the frame being handled, and what the guard decided about it (reused). */
  private readonly head = frameHead();
  private readonly verdict = emptyVerdict<LiveSession>();
  /** When each pending seat was reserved (epoch ms), for sanctions issued before the join. */
  private readonly seats = new Map<string, number>();
  /** What the transport saw of each connecting client (peer address, proxy headers), until its join reads it. */
  private readonly connections = new WeakMap<Client, ConnectionInfo>();

  constructor(private readonly host: PluginHost) {
    super();
    this.types = host.guard.table();
    // Colyseus attaches the room with `plugin.room = room` inside Room.__init, before
    // onCreate and before any message handler is registered: the earliest moment to
    // install the interception, and the only one that also works for the first instance
    // of a class with onUncaughtException.
    Object.defineProperty(this, "room", {
      configurable: true,
      enumerable: false,
      get: () => this.attached,
      set: (room: Room) => {
        this.attached = room;
        interceptRoom(room, {
          inspect: (client, buffer) => this.inspect(this.sessions.get(client.sessionId), client, buffer),
          bindClient: (client) => this.sessions.get(client.sessionId),
          // The bound session while it still is this client's and no leave began (a
          // reconnection replaced the client; a leave ends with the session removed).
          inspectBound: (session, client, buffer) =>
            this.inspect(
              (session as LiveSession).client === client && !(session as LiveSession).leaving
                ? (session as LiveSession)
                : this.sessions.get(client.sessionId),
              client,
              buffer,
            ),
          refuseReconnection: (sessionId) => this.sessions.get(sessionId)?.closedBy ?? this.bannedRefusal(sessionId),
          reconnected: (client) => {
            const session = this.sessions.get(client.sessionId);
            if (session === undefined) return;
            this.connections.delete(client);
            session.client = client;
            session.leaving = false;
            this.watchSocket(session);
          },
          afterFrame: (buffer) => this.afterFrame(buffer),
          leaving: (client) => {
            const session = this.sessions.get(client.sessionId);
            if (session !== undefined) session.leaving = true;
          },
          wrapHandler: (key, callback) => this.wrapHandler(key, callback),
          seatReserved: (sessionId) => this.seatReserved(sessionId),
          connecting: (client, connection) => {
            if (this.host.signals !== null) this.connections.set(client, connection);
          },
        });
      },
    });
  }

  /** The live session of a client in this room, if bound. */
  sessionOf(sessionId: string): LiveSession | undefined {
    return this.sessions.get(sessionId);
  }

  /**
   * Files a player report from `reporter` against another client of this room
   * (`{ sessionId, reason, category? }`). Returns an outcome, never throws: `rejected` (bad
   * input, not in this room, self, too many reports, reporting suspended), `duplicate`, or
   * `filed` with the reporter's `receipt`. `weight` and `queued` are for the server: send
   * the reporter `status`, `receipt` and `reason` only (that others reported the same player
   * is not theirs to know).
   */
  report(reporter: Client, input: unknown): Promise<ReportOutcome> {
    const from = this.sessions.get(reporter.sessionId);
    if (from === undefined)
      return Promise.resolve({ status: "rejected", reason: "reporter is not bound to a digital ID" });
    const { sessionId, reason, category } = (typeof input === "object" && input !== null ? input : {}) as {
      sessionId?: unknown;
      reason?: unknown;
      category?: unknown;
    };
    if (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > 64) {
      return Promise.resolve({ status: "rejected", reason: "a report needs the sessionId of a player in this room" });
    }
    const target = this.sessions.get(sessionId);
    if (target === undefined) return Promise.resolve({ status: "rejected", reason: "that player is not in this room" });
    if (target.did === from.did) return Promise.resolve({ status: "rejected", reason: "you cannot report yourself" });
    return this.host.report(from, target, {
      reason: typeof reason === "string" ? reason : "",
      ...(typeof category === "string" ? { category: category.slice(0, 20) } : {}),
    });
  }

  /**
   * Files the appeal of the client's own sanction (`{ sanctionId, text }`): the in-room way
   * to contest it (a banned player uses the player API). Never throws: `filed` with the
   * appeal id, or `rejected` with the error code and a sentence.
   */
  appeal(client: Client, input: unknown): Promise<AppealOutcome> {
    const from = this.sessions.get(client.sessionId);
    if (from === undefined)
      return Promise.resolve({ status: "rejected", code: "UNAUTHORIZED", reason: "not bound to a digital ID" });
    const { sanctionId, text } = (typeof input === "object" && input !== null ? input : {}) as {
      sanctionId?: unknown;
      text?: unknown;
    };
    return this.host.appeal(from, sanctionId, text);
  }

  protected override async onJoin(client: Client, options?: unknown): Promise<void> {
    const room = this.attached;
    if (room === undefined)
      throw new ServerError(ErrorCode.APPLICATION_ERROR, "warden plugin is not attached to a room");
    const reservedAt = this.seats.get(client.sessionId) ?? Date.now();
    this.seats.delete(client.sessionId);
    // Read once and forgotten here, whatever happens to the join.
    const connection = this.connections.get(client);
    this.connections.delete(client);
    const identity = this.host.identify(client.auth, options);
    if (identity === null)
      throw new ServerError(ErrorCode.AUTH_FAILED, "no verified identity: join with a valid token");
    const did = this.host.digitalId(identity.subject, identity.issuer);
    const { standing, flood } = this.host.acquire(did);
    const session: LiveSession = {
      did,
      sessionId: client.sessionId,
      client,
      room,
      name: typeof identity.name === "string" ? boundText(identity.name, 64) || undefined : undefined,
      standing,
      flood,
      closedBy: null,
      lastNoticeAt: 0,
      // What the player asked for: the join option first (the client knows its UI language), then
      // the identity's; the enforcer resolves it to a locale there are texts for (or the default).
      locale: localePreference(joinLocale(options), identity.locale),
      leaving: false,
      closing: false,
    };
    // Registered before the gate reads the store, so that a sanction published meanwhile reaches it.
    standing.sessions.add(session);
    this.sessions.set(client.sessionId, session);
    let denial = await this.host.admit(session, reservedAt);
    // A kick or ban that reached this process while the gate was reading closes nothing yet: refuse here.
    denial ??= session.closedBy;
    if (denial !== null) {
      this.sessions.delete(client.sessionId);
      this.host.drop(session);
      throw new ServerError(denial.code, denial.message);
    }
    this.host.joined(session);
    this.host.signals?.(session, {
      address: connection?.address ?? peerAddress(client),
      headers: connection?.headers,
      deviceId: joinOption(options, "deviceId"),
    });
    this.watchSocket(session);
  }

  /**
   * The one error listener of every socket (a closure each was ~130 B per client, a
   * socket → session map 40 B): it finds the session whose client owns the socket, among
   * this room's — an oversized frame is rare, a map entry per client is not.
   */
  private readonly socketError = socketErrorListener(
    (socket) => {
      for (const session of this.sessions.values()) if (socketOf(session.client) === socket) return session;
      return undefined;
    },
    (session) => this.host.offense(session, "payload", "oversized_frame", { limit: "transport maxPayload" }),
  );

  private watchSocket(session: LiveSession): void {
    watchSocketErrors(session.client, this.socketError);
  }

  /** The room closed: its chat lines (evidence snapshots, opt-in) go with it. */
  protected override onDispose(): void {
    const room = this.attached;
    if (room !== undefined) this.host.roomClosed?.(room.roomId);
  }

  protected override async onLeave(client: Client): Promise<void> {
    const session = this.sessions.get(client.sessionId);
    if (session === undefined) return;
    // A room that awaited allowReconnection in its own onLeave: the session lives on in a new client object.
    if (session.client !== client) return;
    this.sessions.delete(client.sessionId);
    await this.host.leave(session);
  }

  /**
   * True while the session's ID is frozen. For rooms that replay the last input on idle
   * ticks (`defineInput`'s `idle` policy reading `latest`): a freeze drops new input frames
   * and the inputs buffered before it, but `latest` is the room's, and only the room knows
   * what standing still means in its input schema.
   */
  isFrozen(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    return session !== undefined && session.standing.freezeUntil > Date.now();
  }

  /** True while the session's ID is muted. */
  isMuted(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    return session !== undefined && session.standing.muteUntil > Date.now();
  }

  /** The hot path: every inbound frame, synchronously, before Colyseus decodes it. */
  private inspect(session: LiveSession | undefined, client: Client, buffer: Buffer): boolean {
    const verdict = this.verdict;
    verdict.session = undefined;
    // A frame reaches room code only after the guard saw it: no session, no frame.
    if (session === undefined || buffer == null) {
      const counts = this.host.guard.counts;
      counts.inspected++;
      counts.noSession++;
      return false;
    }
    const head = this.head;
    readFrame(buffer, head);
    verdict.entry = null;
    verdict.kind = UNKNOWN;
    verdict.hold = verdict.dispatched = verdict.stopped = verdict.inspected = verdict.flagged = verdict.armed = false;
    verdict.refusal = "";
    if (!this.host.guard.inspect(session, this.types, buffer, head, verdict, this.handlerKeys)) {
      this.host.guard.countDrop(verdict);
      // A dropped request is answered, or its sender's promise would hang until it times out
      // (not when the frame budget dropped it: a flood gets no answers).
      if ((verdict.kind as FrameKind) === REQUEST && head.requestId !== undefined)
        refuseRequest(client, head.requestId, verdict.refusal);
      return false;
    }
    verdict.session = session;
    verdict.armed = true;
    // The client acknowledged its join: its avatar exists now, publish a restriction loaded at join.
    if (head.kind === CONTROL && (session.standing.muteUntil !== 0 || session.standing.freezeUntil !== 0)) {
      this.host.publishRestriction(session);
    }
    return true;
  }

  private readonly handlerKeys = (): readonly string[] =>
    this.attached === undefined ? [] : handlerKeys(this.attached, INPUT_TYPE);

  /**
   * Wraps one message handler: whatever path a frame takes to it (send, sendBytes, request,
   * a "*" fallback), it runs only for the type the guard approved, and after the chat
   * detector read the payload it is handed. Calls outside a frame (room code) pass through.
   */
  private wrapHandler(key: string, callback: HandlerCallback): HandlerCallback {
    const verdict = this.verdict;
    const wildcard = key === "*";
    const bytesHandler = key.startsWith(BYTES_PREFIX);
    // Colyseus calls handlers without a `this` of any use (they are bound when registered).
    return (a: unknown, b: unknown, c: unknown): unknown => {
      if (!verdict.armed) return callback(a, b, c);
      const entry = verdict.entry;
      // The common case first, without a call: a typed handler of the approved type, no chat, not held.
      if (
        entry !== null &&
        !entry.chat &&
        !verdict.hold &&
        !wildcard &&
        key === (bytesHandler ? entry.bytesKey : entry.key) &&
        bytesHandler === (verdict.kind === BYTES)
      ) {
        verdict.armed = false;
        verdict.dispatched = true;
        return callback(a, b, c);
      }
      // A "*" handler gets (client, type, payload); the others (client, payload, ctx).
      if (!this.admits(key, wildcard ? b : undefined, wildcard ? c : b, wildcard ? undefined : c)) return undefined;
      verdict.armed = false;
      verdict.dispatched = true;
      return callback(a, b, c);
    };
  }

  /** Decides whether the handler filed under `key` may run for the frame being handled. */
  private admits(key: string, wildcardType: unknown, payload: unknown, ctx: unknown): boolean {
    const verdict = this.verdict;
    const session = verdict.session!;
    const entry = verdict.entry;
    if (!dispatchAgrees(key, wildcardType, verdict, this.types)) {
      verdict.stopped = true;
      this.host.frameDisagreement(
        `guard approved ${entry?.key ?? "(no type)"}, Colyseus dispatched ${wildcardType === undefined ? key : String(wildcardType)}`,
      );
      return false;
    }
    if (entry?.chat) {
      if (!verdict.inspected) {
        verdict.inspected = true;
        verdict.flagged = this.detect(session, entry, payload);
        // Counted once per frame (further handlers of the type are refused too, not counted again).
        if (verdict.flagged) this.host.guard.counts.abusive++;
      }
      if (verdict.flagged) return this.stop(ctx, "message refused");
    }
    if (verdict.hold) {
      if (!verdict.stopped) this.host.guard.counts.muted++;
      this.host.remind(session, "mute");
      return this.stop(ctx, "you are muted");
    }
    return true;
  }

  /** Drops the frame in a handler wrapper; a request is answered REJECTED rather than left hanging. */
  private stop(ctx: unknown, reason: string): false {
    this.verdict.stopped = true;
    if (this.verdict.kind === REQUEST && typeof (ctx as { reject?: unknown } | undefined)?.reject === "function") {
      (ctx as { reject(reason: unknown): unknown }).reject(reason);
    }
    return false;
  }

  /** The chat detector on a payload; records and returns true when it flags it. */
  private detect(session: LiveSession, entry: TypeEntry, payload: unknown): boolean {
    const chat = this.host.chat;
    if (chat === null) return false;
    const text = chatText(payload, chat.field);
    if (text === undefined) return false;
    this.host.noteChat?.(session, text);
    // The player's locale and the room's name add the vocabularies the operator opted in.
    const match = chat.detector.check(text, session.locale, session.room.roomName);
    if (match === null) return false;
    this.host.offense(
      session,
      "chat",
      "abusive_text",
      {
        type: entry.key.slice(0, 32),
        term: match.term,
        source: match.source,
        category: match.category,
        ...(chat.recordText ? { text } : {}),
      },
      chat.tracks[match.category],
    );
    return true;
  }

  /**
   * After Colyseus handled a frame the guard let through: if Colyseus refused it (closed
   * the client, or answered a request with an error) and no handler ran, record why, once.
   */
  private afterFrame(buffer: Buffer): void {
    const verdict = this.verdict;
    const session = verdict.session;
    verdict.session = undefined;
    verdict.armed = false;
    const room = this.attached;
    if (session === undefined || room === undefined) return;
    // Something made the client leave: Colyseus's own onLeave path, or a `client.leave()` during
    // the frame (Colyseus refusing it, or room code), which closes the socket at once. Read off
    // the socket rather than by wrapping `client.leave` per client: an own property on the
    // (dictionary-mode) client object grew its property store by ~900 B (issue 14).
    // `readyState` is Colyseus's own (ClientPrivate): every transport keeps it.
    // Only when no handler ran: a handler that ran means Colyseus accepted the frame, and its
    // own flood close goes through `_onLeave` (the leaving flag) — one read of the
    // dictionary-mode client less on every handled frame.
    if (
      session.leaving ||
      (!verdict.dispatched && ((session.client as { readyState?: number }).readyState ?? OPEN) > OPEN)
    ) {
      if (session.closing) return;
      session.closing = true;
      this.recordFault(
        session,
        buffer,
        floodDisconnect(room, session.client) ?? (verdict.dispatched ? null : this.frameFault(room, buffer)),
      );
      return;
    }
    if (verdict.kind === REQUEST && !verdict.dispatched && !verdict.stopped)
      this.recordFault(session, buffer, this.frameFault(room, buffer));
  }

  /** Why Colyseus would refuse the frame just handled: an undecodable payload, or its `validate()` schema. */
  private frameFault(room: Room, buffer: Buffer): FrameFault | null {
    const head = this.head;
    if (head.kind === BYTES) {
      return validationFault(room, BYTES_PREFIX + typeKey(buffer, head), buffer.subarray(head.payloadOffset));
    }
    if (head.kind !== DATA && head.kind !== REQUEST) return null;
    const message = decodePayload(buffer, head);
    if (message === UNDECODABLE) return { kind: "undecodable", detail: "payload is not valid msgpack" };
    return validationFault(room, typeKey(buffer, head), message);
  }

  private recordFault(session: LiveSession, buffer: Buffer, fault: FrameFault | null): void {
    if (fault === null) return;
    this.host.offense(session, fault.kind === "flood_disconnect" ? "colyseus" : "payload", fault.kind, {
      type: Guard.evidenceType(buffer, this.head),
      detail: fault.detail,
    });
  }

  private seatReserved(sessionId: string): void {
    const now = Date.now();
    if (this.seats.size >= 1000)
      for (const [id, at] of this.seats) if (at < now - SEAT_MEMORY_MS) this.seats.delete(id);
    this.seats.set(sessionId, now);
  }

  private bannedRefusal(sessionId: string): { code: number; message: string } | null {
    const banned = this.sessions.get(sessionId)?.standing.banned;
    return banned ? { code: CLOSE_BANNED, message: banMessage(banned) } : null;
  }
}

/** The `locale` field of the join options, if any (client-controlled: it only picks the language of notices). */
function joinLocale(options: unknown): unknown {
  return joinOption(options, "locale");
}

/** A field of the join options (client-controlled), or undefined; a getter that throws counts as none. */
function joinOption(options: unknown, field: string): unknown {
  if (typeof options !== "object" || options === null) return undefined;
  try {
    return (options as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}

/** Answers a request the guard dropped: REJECTED with the reason, as a handler's `ctx.reject(reason)` would. */
function refuseRequest(client: Client, requestId: number, reason: string): void {
  try {
    client.enqueueRaw(getMessageBytes[Protocol.ROOM_RESPONSE](requestId, ResponseStatus.REJECTED, reason));
  } catch {
    // The socket is going away: nobody is waiting for the answer.
  }
}

/** The text of a chat payload: the message itself, its text field, or a byte message read as UTF-8. */
function chatText(payload: unknown, field: string): string | undefined {
  if (typeof payload === "string") return payload;
  if (payload instanceof Uint8Array)
    return Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, MAX_CHAT_BYTES)).toString(
      "utf8",
    );
  if (typeof payload === "object" && payload !== null) {
    const text = (payload as Record<string, unknown>)[field];
    return typeof text === "string" ? text : undefined;
  }
  return undefined;
}

/**
 * A session's restrictions changed (the enforcer's `restricted` hook, set by the warden): a
 * freeze drops new input frames in the guard, and the inputs buffered before it here, so that
 * a tick draining the buffer does not replay them (see isFrozen for `latest`).
 */
export function dropInputsIfFrozen(session: LiveSession): void {
  if (session.standing.freezeUntil > Date.now()) clearBufferedInputs(session.room, session.client);
}

/** The socket error listener shared by a plugin's sockets: a frame over maxPayload is an offense of its session. */
function socketErrorListener(
  sessionOf: (socket: object) => LiveSession | undefined,
  oversized: (session: LiveSession) => void,
): (this: object, error: { code?: string } | undefined) => void {
  return function (this: object, error) {
    if (error?.code !== OVERSIZED_FRAME) return;
    const session = sessionOf(this);
    if (session !== undefined) oversized(session);
  };
}
