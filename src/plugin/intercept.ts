/**
 * The one place where colyseus-warden reaches into Colyseus internals.
 *
 * Colyseus 0.18 offers plugins no per-message hook and no reconnection hook, so the
 * plugin wraps three members of the *room instance* (never `Room.prototype`):
 *
 * 1. `_onMessage(client, buffer)`: every inbound frame of a joined client goes through it
 *    (the room binds it per client at join: `client.ref.on('message', this._onMessage.bind(this, client))`).
 *    Colyseus's own testing package and latency simulator wrap the same method.
 * 2. `allowReconnection(client, seconds)`: a session the warden closed (kick, ban) gets no
 *    reconnection seat, whatever the room's `onDrop` asks for.
 * 3. `onReconnect(client)`: the last gate — a banned ID, or a session the warden closed,
 *    is refused even if a seat was reserved before the sanction arrived.
 * 4. `onMessageEvents.on(type, callback)`: every message handler the room (or a plugin)
 *    registers is wrapped when it is registered — before `onCreate`, since the plugin is
 *    attached first — so that whatever path leads a frame to a handler (`send`,
 *    `sendBytes`, `request`, a `"*"` fallback), the handler runs only for the type the
 *    guard approved, and the chat detector reads exactly the payload the handler gets.
 * 5. `_reserveSeat(sessionId, …)`: when a seat was reserved, so that a kick issued
 *    between matchmaking and the WebSocket join is enforced on that join.
 * 6. the client's raw socket `error` event: the only trace of a frame larger than the
 *    transport's `maxPayload` (the socket is closed before any room code runs).
 * 7. `_inputController.freeze(client)` (Colyseus's own call for a held seat): on a freeze,
 *    inputs buffered before it are dropped.
 * 8. (read, not wrapped) the `ws` socket's `net.Socket` (`client.ref._socket`), corked
 *    around a kick's notice and close frame: see {@link batchingSocket}.
 * 9. `_onJoin(client, authContext, …)`: the WebSocket's auth context (its headers) for the
 *    ban-evasion signals — the plugin's public `onAuth` gets it too, but Colyseus skips that
 *    hook whenever the room's own static `onAuth` returned data. And the socket's peer
 *    address, `client.ref._socket.remoteAddress` (`ws` keeps the upgrade request nowhere;
 *    the auth context's `ip` is the client-written `X-Forwarded-For` when there is one).
 *    See {@link peerAddress}. Either missing only costs the address signal, never a join.
 *
 * It also repairs a Colyseus trap: a room class that defines `onUncaughtException` binds
 * its own lifecycle hooks in the constructor, before the plugin wrappers exist, so the
 * first instance of the class would run without any plugin hook (no join gate!).
 *
 * `test/intercept.test.ts` fails if a Colyseus upgrade moves any of this.
 */
import {
  OnAuthException,
  OnCreateException,
  OnDisposeException,
  OnJoinException,
  OnLeaveException,
  ServerError,
  type Client,
  type Room,
} from "@colyseus/core";

/** What the plugin decides at the intercepted points. */
export interface InterceptHandlers {
  /** Synchronous hot path: true lets the frame through to the room. */
  inspect(client: Client, buffer: Buffer): boolean;
  /** What to bind to a joined client's frames (its session), or undefined for none. */
  bindClient?(client: Client): unknown;
  /** {@link inspect} for a frame of a client bound with `bindClient`'s `session`. */
  inspectBound?(session: unknown, client: Client, buffer: Buffer): boolean;
  /** Returns the refusal for a reconnection, or null to allow it. */
  refuseReconnection(sessionId: string): { code: number; message: string } | null;
  /** A reconnection went through: the session now has a new client object. */
  reconnected(client: Client): void;
  /** After Colyseus handled a frame that `inspect` let through (also when it threw). */
  afterFrame(buffer: Buffer): void;
  /** Colyseus is closing a client (its flood limit calls `_onLeave` directly). */
  leaving(client: Client): void;
  /** Wraps a message handler as it is registered under `key` (`"*"`, a type, `_$b<type>`). */
  wrapHandler(key: string, callback: HandlerCallback): HandlerCallback;
  /** A seat was reserved for `sessionId` (a new join, not a reconnection). */
  seatReserved(sessionId: string): void;
  /** A client is connecting (a join or a reconnection), before any hook: what the transport saw of the connection. */
  connecting?(client: Client, connection: ConnectionInfo): void;
}

/**
 * What the transport saw of a connection: the socket's peer address and the
 * `X-Forwarded-For` header as received. Raw values: kept in memory until the join has
 * read them, never stored or logged.
 */
export interface ConnectionInfo {
  address: string | undefined;
  headers: Record<string, string | undefined>;
}

/** A message handler as Colyseus stores it: `(client, payload, ctx)`, or `(client, type, payload)` for `"*"`. */
export type HandlerCallback = (a: unknown, b: unknown, c: unknown) => unknown;

type Hook = "onCreate" | "onAuth" | "onJoin" | "onLeave" | "onDispose";
type ExceptionClass = new (cause: Error, message: string, ...args: unknown[]) => Error;
const HOOK_EXCEPTIONS: Record<Hook, [ExceptionClass, boolean]> = {
  onCreate: [OnCreateException as unknown as ExceptionClass, true],
  onAuth: [OnAuthException as unknown as ExceptionClass, true],
  onJoin: [OnJoinException as unknown as ExceptionClass, true],
  onLeave: [OnLeaveException as unknown as ExceptionClass, true],
  onDispose: [OnDisposeException as unknown as ExceptionClass, false],
};

const repairedClasses = new WeakSet<object>();

interface RoomInternals {
  _onMessage?: (client: Client, buffer: Buffer) => void;
  _onLeave?: (client: Client, code?: number) => Promise<unknown>;
  onMessageEvents?: {
    on: (event: string, callback: HandlerCallback) => () => void;
    events: Record<string, HandlerCallback[] | undefined>;
  };
  _reserveSeat?: (
    sessionId: string,
    joinOptions?: unknown,
    authData?: unknown,
    seconds?: number,
    allowReconnection?: boolean,
    ...rest: unknown[]
  ) => unknown;
  _inputController?: unknown;
  _onJoin?: (client: Client, authContext: unknown, ...rest: unknown[]) => Promise<unknown>;
  onMessageValidators?: Record<string, { "~standard"?: { validate(value: unknown): unknown } }>;
  maxMessagesPerSecond?: number;
  allowReconnection: (client: Client, seconds: number | "manual") => unknown;
  onReconnect?: (client: Client) => unknown;
  onUncaughtException?: (error: Error, methodName: string) => void;
}

/** Thrown when Colyseus no longer has what we intercept. */
export class UnsupportedColyseusError extends Error {
  override readonly name = "UnsupportedColyseusError";
}

/**
 * Installs the interception on one room instance. Called when Colyseus attaches the plugin
 * to the room (`plugin.room = room`, inside `Room.__init`, after the class's hook wrappers
 * were installed on the prototype and before `onCreate`).
 */
export function interceptRoom(room: Room, handlers: InterceptHandlers): void {
  const internals = room as unknown as RoomInternals;
  repairFirstInstanceHooks(room);

  const onMessage = internals._onMessage;
  if (typeof onMessage !== "function") {
    throw new UnsupportedColyseusError(
      "colyseus-warden: Room._onMessage is missing; this Colyseus version is not supported",
    );
  }
  const wrapped = function (this: Room, client: Client, buffer: Buffer): void {
    if (!handlers.inspect(client, buffer)) return;
    // Colyseus closes a client for its own flood limit (maxMessagesPerSecond), an
    // undecodable payload or a failed validate() — and records nothing. Notice it afterwards.
    // Whether Colyseus closed the client meanwhile is a flag on our own session (set by the
    // leave hooks below), not a read of the client: reads on a joined client are slow
    // (Colyseus deletes a property on it, which leaves V8 with a dictionary-mode object).
    try {
      onMessage.call(this, client, buffer);
    } finally {
      handlers.afterFrame(buffer);
    }
  };
  // Colyseus binds `_onMessage` once per client when the join completes, after the room's
  // onJoin (`client.ref.on('message', this._onMessage.bind(this, client))`). Bound here to the
  // client's session as well, every frame skips finding it (a read of `client.sessionId` on
  // a dictionary-mode client and a map lookup, both cache misses at realistic rates; issue
  // 14). `inspectBound` falls back to the lookup when the session no longer is this client's.
  const bindClient = handlers.bindClient;
  const inspectBound = handlers.inspectBound;
  if (bindClient !== undefined && inspectBound !== undefined) {
    const frameOfSession = function (this: Room, session: unknown, client: Client, buffer: Buffer): void {
      if (!inspectBound(session, client, buffer)) return;
      try {
        onMessage.call(this, client, buffer);
      } finally {
        handlers.afterFrame(buffer);
      }
    };
    const bind = Function.prototype.bind;
    Object.defineProperty(wrapped, "bind", {
      value: function (this: typeof wrapped, thisArg: unknown, ...args: unknown[]) {
        const client = args[0] as Client | undefined;
        const session = args.length === 1 && client != null ? bindClient(client) : undefined;
        return session === undefined
          ? bind.call(this, thisArg, ...args)
          : bind.call(frameOfSession, thisArg, session, client);
      },
    });
  }
  internals._onMessage = wrapped;

  const events = internals.onMessageEvents;
  if (typeof events?.on !== "function" || typeof events.events !== "object") {
    throw new UnsupportedColyseusError(
      "colyseus-warden: Room#onMessageEvents is missing; this Colyseus version is not supported",
    );
  }
  const on = events.on;
  events.on = function (this: unknown, key: string, callback: HandlerCallback) {
    return on.call(this, key, handlers.wrapHandler(String(key), callback));
  };
  // Handlers registered before the plugin was attached (none in Colyseus 0.18, where plugins come first).
  for (const [key, callbacks] of Object.entries(events.events)) {
    if (callbacks !== undefined) events.events[key] = callbacks.map((callback) => handlers.wrapHandler(key, callback));
  }

  const reserveSeat = internals._reserveSeat;
  if (typeof reserveSeat !== "function") {
    throw new UnsupportedColyseusError(
      "colyseus-warden: Room._reserveSeat is missing; this Colyseus version is not supported",
    );
  }
  internals._reserveSeat = function (
    this: Room,
    sessionId: string,
    joinOptions?: unknown,
    authData?: unknown,
    seconds?: number,
    allowReconnection?: boolean,
    ...rest: unknown[]
  ) {
    if (allowReconnection !== true) handlers.seatReserved(sessionId);
    return reserveSeat.call(this, sessionId, joinOptions, authData, seconds, allowReconnection, ...rest);
  };

  // The connection's auth context (headers) and the socket's peer, for the ban-evasion signals.
  // Optional: without it a join has no address signal, nothing else changes (the test says so).
  const onJoin = internals._onJoin;
  const connecting = handlers.connecting;
  if (typeof onJoin === "function" && connecting !== undefined) {
    internals._onJoin = function (this: Room, client: Client, authContext: unknown, ...rest: unknown[]) {
      try {
        connecting(client, connectionInfo(client, authContext));
      } catch {
        // Signals are best effort: the join goes on without them.
      }
      return onJoin.call(this, client, authContext, ...rest);
    };
  }

  // Colyseus's own flood limit closes through `_onLeave` (synchronously, inside `_onMessage`).
  const onLeave = internals._onLeave;
  if (typeof onLeave !== "function") {
    throw new UnsupportedColyseusError(
      "colyseus-warden: Room._onLeave is missing; this Colyseus version is not supported",
    );
  }
  internals._onLeave = function (this: Room, client: Client, code?: number) {
    handlers.leaving(client);
    return onLeave.call(this, client, code);
  };

  const allowReconnection = internals.allowReconnection;
  internals.allowReconnection = function (this: Room, client: Client, seconds: number | "manual") {
    const refusal = handlers.refuseReconnection(client.sessionId);
    // Colyseus itself answers a refused reconnection with a rejected promise ("not joined").
    if (refusal !== null) return Promise.reject(new ServerError(refusal.code, refusal.message));
    return allowReconnection.call(this, client, seconds);
  };

  const onReconnect = internals.onReconnect;
  internals.onReconnect = async function (this: Room, client: Client): Promise<void> {
    const refusal = handlers.refuseReconnection(client.sessionId);
    if (refusal !== null) throw new ServerError(refusal.code, refusal.message);
    handlers.reconnected(client);
    if (onReconnect !== undefined) await onReconnect.call(this, client);
  };
}

/**
 * For the first instance of a room class with `onUncaughtException`, the constructor bound
 * the class's own hooks (unwrapped) as instance properties. Rebind them to the prototype's
 * plugin-aware versions, wrapped the way Colyseus wraps them.
 */
function repairFirstInstanceHooks(room: Room): void {
  const ctor = room.constructor;
  if (repairedClasses.has(ctor)) return;
  repairedClasses.add(ctor);
  const internals = room as unknown as RoomInternals & Record<Hook, unknown>;
  const onError = internals.onUncaughtException;
  if (typeof onError !== "function") return;
  const proto = Object.getPrototypeOf(room) as Record<Hook, unknown>;
  for (const hook of Object.keys(HOOK_EXCEPTIONS) as Hook[]) {
    if (!Object.hasOwn(room, hook) || typeof proto[hook] !== "function") continue;
    const method = (proto[hook] as (...args: unknown[]) => unknown).bind(room);
    const [Exception, rethrow] = HOOK_EXCEPTIONS[hook];
    const report = (e: unknown, args: unknown[]) => {
      const error = e instanceof Error ? e : new Error(String(e));
      onError.call(room, new Exception(error, error.message, ...args), hook);
      if (rethrow) throw e;
    };
    internals[hook] = (...args: unknown[]) => {
      try {
        const result = method(...args);
        return result instanceof Promise ? result.catch((e: unknown) => report(e, args)) : result;
      } catch (e) {
        return report(e, args);
      }
    };
  }
}

/**
 * The room's handler keys with at least one handler (message types, `"*"`, `_$b<type>` for
 * byte messages), and `inputType` when the room called `defineInput`.
 */
export function handlerKeys(room: Room, inputType: string): string[] {
  const internals = room as unknown as RoomInternals;
  const events = internals.onMessageEvents?.events ?? {};
  const keys = Object.keys(events).filter((key) => (events[key]?.length ?? 0) > 0);
  if (internals._inputController !== undefined) keys.push(inputType);
  return keys;
}

/** A frame's fault as Colyseus sees it: undecodable, or failing the type's `validate()` schema. */
export type FrameFault = { kind: "flood_disconnect" | "undecodable" | "invalid"; detail: string };

/** Did Colyseus close the client for its own flood limit (`maxMessagesPerSecond`)? */
export function floodDisconnect(room: Room, client: Client): FrameFault | null {
  const counted = (client as unknown as { _numMessagesLastSecond?: number })._numMessagesLastSecond ?? 0;
  const limit = (room as unknown as RoomInternals).maxMessagesPerSecond ?? Infinity;
  return counted > limit
    ? { kind: "flood_disconnect", detail: `${counted} messages/s > maxMessagesPerSecond ${limit}` }
    : null;
}

/** Runs the room's `validate()` schema of `type` (if any) the way Colyseus does; the first issue, or null. */
export function validationFault(room: Room, type: string | number, message: unknown): FrameFault | null {
  const validator = (room as unknown as RoomInternals).onMessageValidators?.[String(type)]?.["~standard"];
  if (validator === undefined) return null;
  const result = validator.validate(message) as
    | { issues?: readonly { message?: string; path?: readonly unknown[] }[] }
    | Promise<unknown>;
  if (result instanceof Promise || !result.issues || result.issues.length === 0) return null;
  const issue = result.issues[0]!;
  const path =
    issue.path
      ?.map((p) =>
        typeof p === "object" && p !== null && "key" in p ? String((p as { key: unknown }).key) : String(p),
      )
      .join(".") ?? "";
  return { kind: "invalid", detail: `${path ? `${path}: ` : ""}${issue.message ?? "invalid"}` };
}

/** The `ws` error of a frame over the transport's maxPayload (the socket is closed 1009 after it). */
export const OVERSIZED_FRAME = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";

/**
 * The `net.Socket` under a client when its transport has one that batches writes (cork /
 * uncork): Colyseus's WebSocketTransport keeps the `ws` WebSocket in `client.ref`, and `ws`
 * its socket in `_socket` (not public: read defensively). Null for any other transport.
 * The enforcer corks it around a kick's notice and close frame (one write, notice first).
 */
export function batchingSocket(client: Client): { cork(): void; uncork(): void } | null {
  try {
    const socket = (client as unknown as { ref?: { _socket?: { cork?: unknown; uncork?: unknown } } } | null)?.ref
      ?._socket;
    return typeof socket?.cork === "function" && typeof socket.uncork === "function"
      ? (socket as { cork(): void; uncork(): void })
      : null;
  } catch {
    return null;
  }
}

/** The raw socket of a client (`client.ref`), undefined on a transport without one. */
export function socketOf(client: Client): object | undefined {
  const ref = (client as unknown as { ref?: unknown }).ref;
  return typeof ref === "object" && ref !== null ? ref : undefined;
}

/**
 * Adds `listener` (one function for every client: it is called with the socket as `this`)
 * to the errors of the client's socket, and returns that socket (undefined on a transport
 * without one), so that the caller can tell whose socket it was.
 */
export function watchSocketErrors(
  client: Client,
  listener: (this: object, error: { code?: string } | undefined) => void,
): object | undefined {
  const socket = (
    client as unknown as {
      ref?: { on?: (event: string, listener: (this: object, error: { code?: string }) => void) => void };
    }
  ).ref;
  if (typeof socket?.on !== "function") return undefined;
  socket.on("error", listener);
  return socket;
}

/**
 * Drops the inputs a client sent before (Colyseus's own `RoomInput.freeze`, which it uses
 * for a seat held for reconnection): a room draining the buffer each tick then has nothing
 * to replay. `latest` stays the room's. No-op for rooms without `defineInput`.
 */
export function clearBufferedInputs(room: Room, client: Client): void {
  const inputs = (room as unknown as { _inputController?: { freeze?: (client: Client) => void } })._inputController;
  inputs?.freeze?.(client);
}

/** Proxy headers Colyseus reads its `AuthContext.ip` from before the peer address (src/Transport.ts `resolveClientIp`). */
const PROXY_HEADERS = ["x-real-ip", "x-forwarded-for", "x-client-ip"] as const;

/**
 * The socket's peer address of a client: `client.ref._socket.remoteAddress` on the
 * `ws` transport (a private field of `ws`'s WebSocket, set from the upgrade request's
 * socket; `ws` offers no public accessor). Undefined on a transport without it.
 * `test/evasion.test.ts` fails if a Colyseus or `ws` upgrade moves it.
 */
export function peerAddress(client: Client): string | undefined {
  const socket = (client as unknown as { ref?: { _socket?: { remoteAddress?: unknown } } }).ref?._socket;
  const address = socket?.remoteAddress;
  return typeof address === "string" ? address : undefined;
}

/**
 * What the transport saw of a connection, from the client and the auth context Colyseus
 * built at the WebSocket upgrade (`headers` a fetch `Headers`, `ip` its own guess). The
 * peer address comes from the socket; when a transport has none, the context's `ip` stands
 * in for it only if no proxy header was sent (then `ip` is the peer; otherwise it is
 * whatever the client wrote).
 */
export function connectionInfo(client: Client, authContext: unknown): ConnectionInfo {
  const context = (typeof authContext === "object" && authContext !== null ? authContext : {}) as {
    ip?: unknown;
    headers?: { get?: (name: string) => string | null };
  };
  const headers: Record<string, string | undefined> = {};
  const read = typeof context.headers?.get === "function" ? context.headers : undefined;
  for (const name of PROXY_HEADERS) {
    const value = read?.get?.(name);
    if (typeof value === "string") headers[name] = value;
  }
  let address = peerAddress(client);
  if (address === undefined && typeof context.ip === "string" && Object.keys(headers).length === 0)
    address = context.ip;
  return { address, headers };
}
