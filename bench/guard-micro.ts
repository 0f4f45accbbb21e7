/**
 * Micro-benchmark of the plugin's per-message hot path, in its own process
 * (`node --expose-gc --import tsx bench/guard-micro.ts`, started by bench/run.ts).
 *
 * Built the way Colyseus builds it: a WardenPlugin attached to a room object
 * (`plugin.room = room` → the interception wraps the room's `_onMessage`, `_onLeave`,
 * `_reserveSeat`, `allowReconnection` and `onMessageEvents.on`), then the room's handlers
 * registered through `room.onMessageEvents.on(...)` as Colyseus's `Room.onMessage` does
 * (so the plugin wraps them), a session bound by the plugin's own `onJoin`, and the exact
 * frame the SDK sends for `room.send("move", { x, y })` (captured from @colyseus/sdk).
 *
 * The room's original `_onMessage` stands in for Colyseus's: it decodes nothing and calls
 * the handler registered for the frame's type with a fixed message, the way RoomMessages
 * does (`events.events[type][0](client, message, SEND_CONTEXT)`). The "bare" version is
 * the same function over the same handlers registered without the plugin. So
 *   wrapped `_onMessage` − bare `_onMessage`
 * is what the plugin adds to every inbound frame: session lookup, guard (frame budget,
 * size, type, flood bucket, mute/freeze), the handler wrapper (dispatch agreement, chat
 * check, mute hold) and the bookkeeping after the frame.
 *
 * The handler wrapper alone (`dispatch_*`): the wrapped vs the bare handler called inside
 * a frame — the plugin's frame state set as its `inspect` leaves it for an approved frame,
 * the same writes in both targets.
 *
 * The clients are real `WebSocketClient`s of @colyseus/ws-transport (over a stand-in
 * socket), 32 of them taking turns, each put in the state Colyseus leaves a joined
 * client in: `state = JOINED` and `delete client._enqueuedMessages` — which turns the
 * object into a dictionary-mode ("slow properties") object, so every `client.x` read on
 * the hot path is a hash lookup, as in a real server. `guard_ns_per_msg` is measured on
 * those; the same on one plain object literal is reported as the best case.
 *
 * Flood limits and the frame budget are on (so the buckets are exercised) at the highest
 * limit the options accept (1e6/s, burst 1e6). The coarse clock does not tick inside a
 * synchronous loop, so no bucket refills during a run: they are reset to full before each
 * run (outside the timed loop), and no run takes more than 1e6 tokens from one ID.
 *
 * Allocation: heapUsed deltas over small chunks of calls after a full GC; the 75th
 * percentile chunk (a chunk in which a scavenge ran shows less, often a negative delta).
 * `calibrationAlloc` (a 2-element array per call, ~32 B) shows that the method sees
 * allocation; the run fails if it does not.
 *
 * Timing: each target runs ROUNDS times (N calls each, interleaved with the other
 * targets); the fastest round counts, since interference from other processes only adds.
 *
 * Prints one JSON line on stdout.
 */
import { performance } from "node:perf_hooks";
import { ClientState } from "@colyseus/core";
import { WebSocketClient } from "@colyseus/ws-transport";
import { Room as SdkRoom } from "@colyseus/sdk";
import { createWarden, MemoryStore } from "../src/index.js";
import { emptyVerdict, type FrameVerdict } from "../src/guard/guard.js";
import type { TypeTable } from "../src/guard/types.js";
import type { LiveSession } from "../src/sanctions/standing.js";
import { FrameKind, frameHead, readFrame } from "../src/guard/frames.js";
import { percentile } from "./lib/stats.js";
import { WARDEN_SECRET } from "./lib/clients.js";

const quick = process.argv.includes("--quick");
const N = quick ? 200_000 : 1_000_000;
const ROUNDS = quick ? 5 : 9;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");

/** The bytes @colyseus/sdk puts on the wire for room.send(type, payload). */
function sdkFrame(type: string, payload: unknown): Buffer {
  const room = new SdkRoom("world");
  let captured: Uint8Array | undefined;
  (room as unknown as { connection: unknown }).connection = {
    isOpen: true,
    send: (data: Uint8Array) => (captured = Uint8Array.from(data)),
  };
  room.send(type, payload);
  if (captured === undefined) throw new Error("sdk did not send");
  return Buffer.from(captured); // the server receives a Buffer from ws
}

// The highest limit the options accept; see the header for why it is enough.
const UNLIMITED = 1_000_000;
if (N > UNLIMITED) throw new Error("a run would empty the flood buckets: raise UNLIMITED or lower N");
const unlimited = { rate: UNLIMITED, burst: UNLIMITED };
const warden = createWarden({
  secret: WARDEN_SECRET,
  store: new MemoryStore(),
  guard: { flood: { default: unlimited, types: { chat: unlimited } }, frames: unlimited },
  logger: { info() {}, warn() {}, error() {} },
});
await warden.ready();
const plugin = warden.plugin();

const move = sdkFrame("move", { x: 12.5, y: -3 });
const chatFrame = sdkFrame("chat", { text: "hello there, anyone up for a quest near the river?" });
const moveMessage = { x: 12.5, y: -3 };
const chatMessage = { text: "hello there, anyone up for a quest near the river?" };
// What RoomMessages hands a handler for a `send` (ROOM_DATA) frame.
const ctx = Object.freeze({ id: undefined, reject: () => undefined, resolve: () => undefined });

// The room's handlers (the same functions with and without the plugin).
type Handler = (client: unknown, message: unknown, ctx: unknown) => unknown;
const handlerCalls = { move: 0, chat: 0, report: 0 };
const onMove: Handler = () => {
  handlerCalls.move++;
};
const onChat: Handler = () => {
  handlerCalls.chat++;
};
const onReport: Handler = () => {
  handlerCalls.report++;
};

/** A nanoevents registry as Colyseus's RoomMessages holds it (null-prototype `events`). */
function registry() {
  return {
    events: Object.create(null) as Record<string, Handler[] | undefined>,
    on(event: string, callback: Handler) {
      (this.events[event] ??= []).push(callback);
      return () => {
        this.events[event] = this.events[event]?.filter((c) => c !== callback);
      };
    },
  };
}
type Registry = ReturnType<typeof registry>;

/**
 * The stand-in for Colyseus's `_onMessage` + `RoomMessages.onData`: decodes nothing, calls
 * the handler registered for the frame's type with a fixed message. One function per
 * registry (separate feedback for the bare and the wrapped room).
 */
function standInOnMessage(events: Registry): (client: unknown, buffer: Buffer) => void {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(
    "registry",
    "chatFrame",
    "chat",
    "move",
    "ctx",
    `return function _onMessage(client, buffer) {
      const d = buffer === chatFrame ? chat : move;
      registry.events[d.type][0](client, d.message, ctx);
    };`,
  ) as (...a: unknown[]) => (client: unknown, buffer: Buffer) => void;
  return factory(
    events,
    chatFrame,
    { type: "chat", message: chatMessage },
    { type: "move", message: moveMessage },
    ctx,
  );
}

// Without the plugin: the handlers registered as they are.
const bareEvents = registry();
bareEvents.on("chat", onChat);
bareEvents.on("move", onMove);
bareEvents.on("report", onReport);
const bareOnMessage = standInOnMessage(bareEvents);

// With the plugin: attached first, handlers registered afterwards (Room.__init, then onCreate).
const events = registry();
const originalOnMessage = standInOnMessage(events);
const originalOn = events.on;
const room = {
  roomName: "world",
  roomId: "benchroom",
  state: undefined,
  maxMessagesPerSecond: Infinity,
  _onMessage: originalOnMessage,
  onMessageEvents: events,
  onMessageValidators: Object.create(null) as Record<string, unknown>,
  _inputController: undefined,
  _reserveSeat: () => Promise.resolve(true),
  allowReconnection: () => Promise.resolve(),
  _onLeave: () => Promise.resolve(),
};
// What Colyseus does in Room.__init: `plugin.room = room`.
(plugin as unknown as { room: unknown }).room = room;
if (room._onMessage === originalOnMessage || events.on === originalOn)
  throw new Error("the plugin did not intercept the room");
// What Room.onMessage does in onCreate (RoomMessages.on → `this.events.on(type, callback)`).
room.onMessageEvents.on("chat", onChat);
room.onMessageEvents.on("move", onMove);
room.onMessageEvents.on("report", onReport);
const wrappedMove = events.events.move![0]!;
const wrappedChat = events.events.chat![0]!;
if (wrappedMove === onMove || wrappedChat === onChat) throw new Error("the plugin did not wrap the handlers");

/** A stand-in for the `ws` socket: what WebSocketClient reads (`readyState` is a getter in ws too). */
class StandInSocket {
  private _readyState = 1;
  get readyState(): number {
    return this._readyState;
  }
  on(): this {
    return this;
  }
  send(): void {}
  close(): void {}
  removeAllListeners(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
}

const CLIENTS = 32;
const clients: WebSocketClient[] = [];
for (let i = 0; i < CLIENTS; i++) {
  const c = new WebSocketClient(`benchsession${i}`, new StandInSocket() as never);
  (c as unknown as { auth: unknown }).auth = { sub: `bench-account-${i}`, name: `bench${i}` };
  await (plugin as unknown as { onJoin(client: unknown, options: unknown): Promise<void> }).onJoin(c, {});
  if (plugin.sessionOf(c.sessionId) === undefined) throw new Error("onJoin did not bind the session");
  // What Colyseus does when the client acknowledges its join (Room._onMessage, JOIN_ROOM).
  c.state = ClientState.JOINED;
  delete (c as unknown as { _enqueuedMessages?: unknown })._enqueuedMessages;
  clients.push(c);
}
// Best case: one plain object literal (fast properties), always the same.
const client = {
  sessionId: "benchsessionplain",
  auth: { sub: "bench-account-plain", name: "bench" },
  state: ClientState.JOINED,
  readyState: 1,
  ref: { on() {} },
  send() {},
  leave() {},
};
await (plugin as unknown as { onJoin(client: unknown, options: unknown): Promise<void> }).onJoin(client, {});
if (plugin.sessionOf(client.sessionId) === undefined) throw new Error("onJoin did not bind the session");

const sessions: LiveSession[] = [...clients, client].map((c) => plugin.sessionOf(c.sessionId)!);
/** Every bound ID's flood buckets full again (the coarse clock does not tick inside a run). */
function refill(): void {
  for (const s of sessions) (s.flood as unknown as { state: Float64Array }).state.fill(0);
}

// The plugin's frame state, and the entries its inspect approves `move` and `chat` frames with.
const verdict = (plugin as unknown as { verdict: FrameVerdict }).verdict;
const session = plugin.sessionOf(client.sessionId)!;
function approvedEntry(frame: Buffer, type: string) {
  const before = handlerCalls[type as keyof typeof handlerCalls];
  room._onMessage(client, frame);
  if (
    handlerCalls[type as keyof typeof handlerCalls] !== before + 1 ||
    !verdict.dispatched ||
    verdict.stopped ||
    verdict.entry?.key !== type
  ) {
    throw new Error(`a clean ${type} frame did not reach its handler through the wrapper`);
  }
  return { entry: verdict.entry, kind: verdict.kind };
}
const moveFrame = approvedEntry(move, "move");
const chatFrameState = approvedEntry(chatFrame, "chat");
if (moveFrame.kind !== FrameKind.data) throw new Error("the move frame is not a data frame");

// One loop function per target (separate feedback, monomorphic call sites).
type Loop = (n: number) => void;
function loopOf(body: string, scope: Record<string, unknown>): Loop {
  const names = Object.keys(scope);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, `return function loop(n) { for (let i = 0; i < n; i++) { ${body} } };`) as (
    ...a: unknown[]
  ) => Loop;
  return factory(...names.map((k) => scope[k]));
}

// As a bound frame calls it (src/plugin/intercept.ts: the session bound per client at join).
const inspect = (plugin as unknown as { inspect(s: unknown, c: unknown, b: Buffer): boolean }).inspect.bind(plugin);
const sessionOf = (plugin as unknown as { sessions: Map<string, unknown> }).sessions;
const boundSessions = clients.map((c) => sessionOf.get((c as { sessionId: string }).sessionId));
if (boundSessions.some((s) => s === undefined)) throw new Error("a bench client has no session");
const types = (plugin as unknown as { types: TypeTable }).types;
const keys = () => ["chat", "move", "report"];
const guard = warden.guard;
const guardHead = frameHead();
const guardVerdict = emptyVerdict();
const calibrationSink: unknown[] = [null];
// Inside a frame: the plugin's state as its inspect leaves it for an approved frame (same writes for bare and wrapped).
const inFrame = (handler: Handler, state: { entry: unknown; kind: number }, message: unknown) =>
  loopOf(
    "v.session = s; v.entry = e; v.kind = k; v.inspected = false; v.dispatched = false; v.armed = true; h(client, msg, ctx); v.session = undefined; v.armed = false;",
    {
      v: verdict,
      s: session,
      e: state.entry,
      k: state.kind,
      h: handler,
      client,
      msg: message,
      ctx,
    },
  );

const targets: Record<string, Loop> = {
  bareOnMessage: loopOf("orig(clients[i & 31], buf);", { orig: bareOnMessage, clients, buf: move }),
  wrappedOnMessage: loopOf("room._onMessage(clients[i & 31], buf);", { room, clients, buf: move }),
  bareOnMessagePlain: loopOf("orig(client, buf);", { orig: bareOnMessage, client, buf: move }),
  wrappedOnMessagePlain: loopOf("room._onMessage(client, buf);", { room, client, buf: move }),
  pluginInspect: loopOf("if (!inspect(sessions[i & 31], clients[i & 31], buf)) throw new Error('dropped');", {
    inspect,
    sessions: boundSessions,
    clients,
    buf: move,
  }),
  guardInspect: loopOf(
    "readFrame(buf, head); if (!guard.inspect(session, types, buf, head, verdict, keys)) throw new Error('dropped');",
    {
      readFrame,
      guard,
      session,
      types,
      buf: move,
      head: guardHead,
      verdict: guardVerdict,
      keys,
    },
  ),
  bareDispatchMove: inFrame(onMove, moveFrame, moveMessage),
  wrappedDispatchMove: inFrame(wrappedMove, moveFrame, moveMessage),
  bareDispatchChat: inFrame(onChat, chatFrameState, chatMessage),
  wrappedDispatchChat: inFrame(wrappedChat, chatFrameState, chatMessage),
  bareOnMessageChat: loopOf("orig(clients[i & 31], buf);", { orig: bareOnMessage, clients, buf: chatFrame }),
  wrappedOnMessageChat: loopOf("room._onMessage(clients[i & 31], buf);", { room, clients, buf: chatFrame }),
  // Calibration of the allocation measurement: a 2-element array that escapes (~32 bytes).
  calibrationAlloc: loopOf("sink[0] = [i, n];", { sink: calibrationSink }),
};
// pluginInspect leaves the plugin "inside a frame" (no afterFrame): close it after each run.
const pluginInspectLoop = targets.pluginInspect!;
targets.pluginInspect = (n) => {
  pluginInspectLoop(n);
  verdict.session = undefined;
  verdict.armed = false;
};

// Every target that dispatches must reach its handler exactly once per call (no silent drop).
const dispatches: Record<string, keyof typeof handlerCalls> = {
  bareOnMessage: "move",
  wrappedOnMessage: "move",
  bareOnMessagePlain: "move",
  wrappedOnMessagePlain: "move",
  bareDispatchMove: "move",
  wrappedDispatchMove: "move",
  bareDispatchChat: "chat",
  wrappedDispatchChat: "chat",
  bareOnMessageChat: "chat",
  wrappedOnMessageChat: "chat",
};
for (const [name, type] of Object.entries(dispatches)) {
  const before = handlerCalls[type];
  targets[name]!(64);
  if (handlerCalls[type] !== before + 64)
    throw new Error(`${name}: ${handlerCalls[type] - before} of 64 calls reached the ${type} handler`);
}
// The wrapped dispatch targets run the wrapper's checks (it marks the frame dispatched only inside a frame).
verdict.dispatched = false;
targets.wrappedDispatchMove!(1);
if (!verdict.dispatched || verdict.stopped)
  throw new Error("the handler wrapper did not check the move inside the frame");

function timeNs(loop: Loop, n: number): number {
  refill();
  const t0 = performance.now();
  loop(n);
  return ((performance.now() - t0) * 1e6) / n;
}

function allocBytes(loop: Loop, calls: number, chunk: number): number {
  const deltas: number[] = [];
  refill();
  gc!();
  for (let done = 0; done < calls; done += chunk) {
    const before = process.memoryUsage().heapUsed;
    loop(chunk);
    deltas.push((process.memoryUsage().heapUsed - before) / chunk);
  }
  // A chunk in which a scavenge ran shows less (often negative); the others all show the
  // same allocation. Chunks are small (≤ ~200 KB allocated) so that most are GC-free.
  return percentile(deltas, 75);
}

const isChat = (name: string) => name.includes("Chat");
// Warm-up: let every target reach optimized code.
for (const loop of Object.values(targets)) {
  refill();
  loop(quick ? 50_000 : 200_000);
}
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, loop] of Object.entries(targets)) {
    if (isChat(name) && r % 3 !== 0) continue; // the chat detector is slow; fewer rounds
    samples[name]!.push(timeNs(loop, isChat(name) ? N / 20 : N));
  }
}
// The fastest round: interference from other processes only ever adds time.
const ns = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)]));
const alloc = Object.fromEntries(
  Object.entries(targets).map(([k, loop]) => [
    k,
    isChat(k) ? allocBytes(loop, N / 20, 100) : allocBytes(loop, N, 10_000),
  ]),
);

if (!(alloc.calibrationAlloc! >= 16))
  throw new Error(`the allocation measurement does not see a ~32 B allocation (${alloc.calibrationAlloc} B)`);
if (handlerCalls.report !== 0) throw new Error("the report handler ran");
if (warden.stats().offenses !== 0)
  throw new Error(`the clean messages were flagged: ${JSON.stringify(warden.stats())}`);
await warden.close();

const r2 = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    calls: N,
    rounds: ROUNDS,
    frameBytes: move.length,
    // what the plugin adds to each inbound clean `move` frame (interception + guard + handler wrapper)
    guard_ns_per_msg: r2(ns.wrappedOnMessage! - ns.bareOnMessage!),
    guard_bytes_per_msg: r2(alloc.wrappedOnMessage! - alloc.bareOnMessage!),
    clients: CLIENTS,
    // the same with one plain-object client (fast properties, always hot): the best case
    guard_ns_per_msg_best_case: r2(ns.wrappedOnMessagePlain! - ns.bareOnMessagePlain!),
    // WardenPlugin.inspect (bound session + readFrame + Guard.inspect) alone, and readFrame + Guard.inspect alone
    plugin_inspect_ns: r2(ns.pluginInspect!),
    guard_inspect_ns: r2(ns.guardInspect!),
    // what the handler wrapper adds to the dispatch of the decoded `move` inside a frame (part of guard_ns_per_msg)
    dispatch_ns_per_move: r2(ns.wrappedDispatchMove! - ns.bareDispatchMove!),
    dispatch_bytes_per_move: r2(alloc.wrappedDispatchMove! - alloc.bareDispatchMove!),
    // a clean chat message: the whole interception, chat detector on the decoded text included
    chat_clean_ns_per_msg: r2(ns.wrappedOnMessageChat! - ns.bareOnMessageChat!),
    chat_clean_bytes_per_msg: r2(alloc.wrappedOnMessageChat! - alloc.bareOnMessageChat!),
    // the chat handler's wrapper alone (chat detector included)
    chat_dispatch_ns: r2(ns.wrappedDispatchChat! - ns.bareDispatchChat!),
    alloc_calibration_bytes: r2(alloc.calibrationAlloc!),
    raw_ns: Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, r2(v)])),
    raw_bytes: Object.fromEntries(Object.entries(alloc).map(([k, v]) => [k, r2(v)])),
  }),
);
