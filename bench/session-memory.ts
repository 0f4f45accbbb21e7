/**
 * What the plugin keeps in memory per joined client, measured in-process (started by
 * bench/run.ts's heap section, `node --expose-gc`): 2000 sessions bound by the plugin's
 * own `onJoin` in rooms of 100 (stand-in room objects, real `WebSocketClient`s in the
 * state Colyseus leaves them in, the real RedisStore), each having sent one `move`;
 * minus the same clients without the plugin. Then the size of the per-ID structures
 * alone, to say where the bytes are: the ID's flood buckets as the guard's FloodLedger
 * holds them for a held ID (FloodBuckets sized for the slots a `move` uses, in the ID's
 * Standing), and its Standing.
 * Environment: REDIS_URL, WARDEN_PREFIX. Prints one JSON line.
 */
import { EventEmitter } from "node:events";
import { writeHeapSnapshot } from "node:v8";
import { ClientState } from "@colyseus/core";
import { WebSocketClient } from "@colyseus/ws-transport";
import { Room as SdkRoom } from "@colyseus/sdk";
import { createWarden, type WardenPlugin } from "../src/index.js";
import { FloodLedger } from "../src/guard/flood.js";
import { Standing } from "../src/sanctions/standing.js";
import { WARDEN_SECRET } from "./lib/clients.js";
import { round } from "./lib/stats.js";

const N = process.argv.includes("--quick") ? 500 : 2000;
const PER_ROOM = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

const warden = createWarden({
  secret: WARDEN_SECRET,
  store: process.env.REDIS_URL!,
  prefix: process.env.WARDEN_PREFIX!,
  logger: { info() {}, warn() {}, error() {} },
});
await warden.ready();

/**
 * The `ws` socket as far as the plugin touches it: an EventEmitter (as `ws`'s WebSocket is)
 * that already has the error listener Colyseus's transport adds at connection, so that the
 * plugin's own listener costs what it costs on a real socket (a second listener turns the
 * emitter's entry into a two-element array).
 */
class StandInSocket extends EventEmitter {
  readonly readyState = 1;
  constructor() {
    super();
    this.on("error", noop);
  }
  send(): void {}
  close(): void {}
}
function noop(): void {}

const sdk = new SdkRoom("world");
let move: Buffer | undefined;
(sdk as unknown as { connection: unknown }).connection = {
  isOpen: true,
  send: (d: Uint8Array) => (move = Buffer.from(d)),
};
sdk.send("move", { x: 1, y: 2 });

interface StandInRoom {
  roomName: string;
  roomId: string;
  _onMessage(client: unknown, buffer: Buffer): void;
  onMessageEvents: {
    on(event: string, callback: () => void): () => void;
    events: Record<string, (() => void)[] | undefined>;
  };
}
/** What the plugin's interception needs of a room (see src/plugin/intercept.ts). */
function standInRoom(k: number): StandInRoom {
  return {
    roomName: "world",
    roomId: `room${k}`,
    _onMessage() {},
    onMessageEvents: {
      // A nanoevents registry, as Colyseus's RoomMessages holds it.
      events: Object.create(null) as Record<string, (() => void)[] | undefined>,
      on(event: string, callback: () => void) {
        (this.events[event] ??= []).push(callback);
        return () => {
          this.events[event] = this.events[event]?.filter((c) => c !== callback);
        };
      },
    },
    onMessageValidators: Object.create(null) as Record<string, unknown>,
    _inputController: undefined,
    _reserveSeat: () => Promise.resolve(true),
    allowReconnection: () => Promise.resolve(),
    _onLeave: () => Promise.resolve(),
  } as StandInRoom;
}
const plugins: { plugin: WardenPlugin; room: StandInRoom }[] = [];
function roomFor(i: number) {
  const k = Math.floor(i / PER_ROOM);
  if (plugins[k] === undefined) {
    const room = standInRoom(k);
    const plugin = warden.plugin();
    (plugin as unknown as { room: unknown }).room = room;
    // Registered after the plugin is attached, as Colyseus does (Room.__init, then onCreate): wrapped.
    for (const type of ["chat", "move", "report"]) room.onMessageEvents.on(type, () => {});
    plugins[k] = { plugin, room };
  }
  return plugins[k]!;
}
function client(id: string, sub: string): WebSocketClient {
  const c = new WebSocketClient(id, new StandInSocket() as never);
  (c as unknown as { auth: unknown }).auth = { sub, name: sub.slice(0, 16) };
  return c;
}
const kept: unknown[] = [];
async function join(from: number, count: number) {
  for (let i = from; i < from + count; i++) {
    const { plugin, room } = roomFor(i);
    const c = client(`s${i}`, `account-${i}`);
    await (plugin as unknown as { onJoin(c: unknown, o: unknown): Promise<void> }).onJoin(c, {});
    c.state = ClientState.JOINED;
    delete (c as unknown as { _enqueuedMessages?: unknown })._enqueuedMessages;
    room._onMessage(c, move!);
    kept.push(c);
  }
}

await join(0, 50); // warm-up: rooms and code paths exist
await new Promise((r) => setTimeout(r, 300));
const snapshots = process.env.BENCH_SNAPSHOTS; // a folder: heap snapshots before and after the joins, to diff
const h0 = await heap();
if (snapshots) writeHeapSnapshot(`${snapshots}/sessions-before.heapsnapshot`);
await join(50, N);
await new Promise((r) => setTimeout(r, 1000)); // background binds answered
const h1 = await heap();
if (snapshots) writeHeapSnapshot(`${snapshots}/sessions-after.heapsnapshot`);
const bareClients: unknown[] = [];
const h2 = await heap();
for (let i = 0; i < N; i++) {
  const c = client(`b${i}`, `account-${i}`);
  c.state = ClientState.JOINED;
  delete (c as unknown as { _enqueuedMessages?: unknown })._enqueuedMessages;
  bareClients.push(c);
}
const h3 = await heap();
const measure = async (make: (i: number) => unknown) => {
  const held: unknown[] = [];
  const a = await heap();
  for (let i = 0; i < N; i++) held.push(make(i));
  const b = await heap();
  return round((b - a) / N - 8, 0); // minus the array slot holding it
};
// The ID's flood buckets as the guard keeps them, sized by a `move` (its slot).
const ledger = new FloodLedger(() => false);
const dids = Array.from({ length: N }, (_, i) => `${"y".repeat(26)}${i}` as never); // the IDs exist anyway (session, Standing)
const moveSlot = (warden.guard as unknown as { slots: Map<string, number> }).slots.get("move");
if (moveSlot === undefined) throw new Error("the guard has no flood slot for move");
const someLimit = { rate: 1, burst: 1 };
// Held: the buckets live in the ID's Standing (measured with it below), not in the ledger's map.
const homes = dids.map(() => ({ flood: null }));
const floodBuckets = await measure((i) => ledger.acquire(dids[i]!, homes[i]!).take(moveSlot, someLimit, 1));
const standing = await measure(() => new Standing(`${"x".repeat(26)}${Math.random()}` as never));
await warden.close();
console.log(
  JSON.stringify({
    sessions: N,
    roomSize: PER_ROOM,
    pluginBytesPerClient: round((h1 - h0 - (h3 - h2)) / N, 0),
    breakdown: { floodBuckets, standing, rest: round((h1 - h0 - (h3 - h2)) / N - floodBuckets - standing, 0) },
  }),
);
process.exit(0);
