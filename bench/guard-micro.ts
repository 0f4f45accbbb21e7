/**
 * Micro-benchmark of the plugin's per-message hot path, in its own process
 * (`node --expose-gc --import tsx bench/guard-micro.ts`, started by bench/run.ts).
 *
 * Built the way Colyseus builds it: a WardenPlugin attached to a room object
 * (`plugin.room = room` → the interception wraps the room's `_onMessage` and
 * `onMessageEvents.emit`), a session bound by the plugin's own `onJoin`, and the exact
 * frame the SDK sends for `room.send("move", { x, y })` (captured from @colyseus/sdk).
 * The room's original `_onMessage` is a no-op here, so
 *   wrapped `_onMessage` − original `_onMessage`
 * is what the plugin adds to every inbound frame (session lookup, guard: size, type,
 * flood bucket, mute/freeze; and the close checks around the room's handler).
 *
 * The clients are real `WebSocketClient`s of @colyseus/ws-transport (over a stand-in
 * socket), 32 of them taking turns, each put in the state Colyseus leaves a joined
 * client in: `state = JOINED` and `delete client._enqueuedMessages` — which turns the
 * object into a dictionary-mode ("slow properties") object, so every `client.x` read on
 * the hot path is a hash lookup, as in a real server. `guard_ns_per_msg` is measured on
 * those; the same on one plain object literal is reported as the best case.
 *
 * Allocation: heapUsed deltas over small chunks of calls after a full GC; the 75th
 * percentile chunk (a chunk in which a scavenge ran shows less, often a negative delta).
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
  (room as unknown as { connection: unknown }).connection = { isOpen: true, send: (data: Uint8Array) => (captured = Uint8Array.from(data)) };
  room.send(type, payload);
  if (captured === undefined) throw new Error("sdk did not send");
  return Buffer.from(captured); // the server receives a Buffer from ws
}

const unlimited = { rate: 1e9, burst: 1e9 };
const warden = createWarden({
  secret: WARDEN_SECRET,
  store: new MemoryStore(),
  guard: { flood: { default: unlimited, types: { chat: unlimited } } },
  logger: { info() {}, warn() {}, error() {} },
});
await warden.ready();
const plugin = warden.plugin();

let sink = 0;
const handlerCalls = { n: 0 };
const originalOnMessage = function (this: unknown, _client: unknown, buffer: Buffer) {
  sink ^= buffer[0]!;
};
const originalEmit = function (this: unknown, _event: string, _a: unknown, _b: unknown, _c: unknown) {
  handlerCalls.n++;
};
const room = {
  roomName: "world",
  roomId: "benchroom",
  state: undefined,
  maxMessagesPerSecond: Infinity,
  _onMessage: originalOnMessage,
  onMessageEvents: { emit: originalEmit, events: { chat: [() => {}], move: [() => {}], report: [() => {}] } as Record<string, unknown> },
  onMessageValidators: {},
  allowReconnection: () => Promise.resolve(),
  _onLeave: () => Promise.resolve(),
};
// What Colyseus does in Room.__init: `plugin.room = room`.
(plugin as unknown as { room: unknown }).room = room;
if (room._onMessage === originalOnMessage || room.onMessageEvents.emit === originalEmit) throw new Error("the plugin did not intercept the room");

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

const move = sdkFrame("move", { x: 12.5, y: -3 });
const chatFrame = sdkFrame("chat", { text: "hello there, anyone up for a quest near the river?" });
const moveMessage = { x: 12.5, y: -3 };
const chatMessage = { text: "hello there, anyone up for a quest near the river?" };
const ctx = Object.freeze({ id: undefined });

// One loop function per target (separate feedback, monomorphic call sites).
type Loop = (n: number) => void;
function loopOf(body: string, scope: Record<string, unknown>): Loop {
  const names = Object.keys(scope);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, `return function loop(n) { for (let i = 0; i < n; i++) { ${body} } };`) as (...a: unknown[]) => Loop;
  return factory(...names.map((k) => scope[k]));
}

const wrappedOnMessage = room._onMessage;
const wrappedEmit = room.onMessageEvents.emit;
const inspect = (plugin as unknown as { inspect(c: unknown, b: Buffer): boolean }).inspect.bind(plugin);
const session = plugin.sessionOf(client.sessionId)!;
const types = (plugin as unknown as { types: unknown }).types;
const keys = () => ["chat", "move", "report"];
const guard = warden.guard;
const calibrationSink: unknown[] = [null];

const targets: Record<string, Loop> = {
  bareOnMessage: loopOf("orig.call(room, clients[i & 31], buf);", { orig: originalOnMessage, room, clients, buf: move }),
  wrappedOnMessage: loopOf("room._onMessage(clients[i & 31], buf);", { room, clients, buf: move }),
  bareOnMessagePlain: loopOf("orig.call(room, client, buf);", { orig: originalOnMessage, room, client, buf: move }),
  wrappedOnMessagePlain: loopOf("room._onMessage(client, buf);", { room, client, buf: move }),
  pluginInspect: loopOf("if (!inspect(clients[i & 31], buf)) throw new Error('dropped');", { inspect, clients, buf: move }),
  guardInspect: loopOf("if (!guard.inspect(session, types, buf, 13, keys)) throw new Error('dropped');", { guard, session, types, buf: move, keys }),
  bareEmitMove: loopOf("orig.call(events, 'move', client, msg, ctx);", { orig: originalEmit, events: room.onMessageEvents, client, msg: moveMessage, ctx }),
  wrappedEmitMove: loopOf("events.emit('move', client, msg, ctx);", { events: room.onMessageEvents, client, msg: moveMessage, ctx }),
  bareEmitChat: loopOf("orig.call(events, 'chat', client, msg, ctx);", { orig: originalEmit, events: room.onMessageEvents, client, msg: chatMessage, ctx }),
  wrappedEmitChat: loopOf("events.emit('chat', client, msg, ctx);", { events: room.onMessageEvents, client, msg: chatMessage, ctx }),
  wrappedOnMessageChat: loopOf("room._onMessage(clients[i & 31], buf);", { room, clients, buf: chatFrame }),
  // Calibration of the allocation measurement: a 2-element array that escapes (~32 bytes).
  calibrationAlloc: loopOf("sink[0] = [i, n];", { sink: calibrationSink }),
};

function timeNs(loop: Loop, n: number): number {
  const t0 = performance.now();
  loop(n);
  return ((performance.now() - t0) * 1e6) / n;
}

function allocBytes(loop: Loop, calls: number, chunk: number): number {
  const deltas: number[] = [];
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

// Warm-up: let every target reach optimized code.
for (const loop of Object.values(targets)) loop(quick ? 50_000 : 200_000);
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, loop] of Object.entries(targets)) {
    if (name.includes("Chat") && r % 3 !== 0) continue; // the chat detector is slow; fewer rounds
    samples[name]!.push(timeNs(loop, name.includes("Chat") ? N / 20 : N));
  }
}
// The fastest round: interference from other processes only ever adds time.
const ns = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)]));
const alloc = Object.fromEntries(Object.entries(targets).map(([k, loop]) => [k, k.includes("Chat") ? allocBytes(loop, N / 20, 100) : allocBytes(loop, N, 10_000)]));

if (handlerCalls.n === 0 || sink === -1) throw new Error("handlers never ran");
if (warden.stats().offenses !== 0) throw new Error(`the clean messages were flagged: ${JSON.stringify(warden.stats())}`);
await warden.close();

const r2 = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    calls: N,
    rounds: ROUNDS,
    frameBytes: move.length,
    // what the plugin adds to each inbound clean `move` frame (interception + guard)
    guard_ns_per_msg: r2(ns.wrappedOnMessage! - ns.bareOnMessage!),
    guard_bytes_per_msg: r2(alloc.wrappedOnMessage! - alloc.bareOnMessage!),
    clients: CLIENTS,
    // the same with one plain-object client (fast properties, always hot): the best case
    guard_ns_per_msg_best_case: r2(ns.wrappedOnMessagePlain! - ns.bareOnMessagePlain!),
    // WardenPlugin.inspect (session lookup + Guard.inspect) alone, and Guard.inspect alone
    plugin_inspect_ns: r2(ns.pluginInspect!),
    guard_inspect_ns: r2(ns.guardInspect!),
    // what it adds to the dispatch of the decoded message (chat detector lookup)
    dispatch_ns_per_move: r2(ns.wrappedEmitMove! - ns.bareEmitMove!),
    dispatch_bytes_per_move: r2(alloc.wrappedEmitMove! - alloc.bareEmitMove!),
    // a clean chat message: frame interception + chat detector on the decoded text
    chat_clean_ns_per_msg: r2(ns.wrappedOnMessageChat! - ns.bareOnMessage! + ns.wrappedEmitChat! - ns.bareEmitChat!),
    chat_clean_bytes_per_msg: r2(alloc.wrappedOnMessageChat! - alloc.bareOnMessage! + alloc.wrappedEmitChat! - alloc.bareEmitChat!),
    raw_ns: Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, r2(v)])),
    raw_bytes: Object.fromEntries(Object.entries(alloc).map(([k, v]) => [k, r2(v)])),
  }),
);
