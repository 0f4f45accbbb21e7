/**
 * A benchmark server process: the demo room `world` with the warden plugin
 * (BENCH_VARIANT=plugin: rooms/world.ts's createWorldRoom, with the restrictionField that
 * rooms/app.ts configures, and a Redis store) or without it (BENCH_VARIANT=bare:
 * createWorldRoom(null) in rooms/world.ts, same state and handlers). Everything else is the same in both:
 * WebSocket transport, local presence and driver (matchmaking stays in the process, so
 * that Redis round trips in a join are the plugin's), the demo's 20 s reconnection, a
 * 60 s seat reservation and a 256 KB state encoder buffer (for the 2000-client heap test).
 * The plugin variant runs with BENCH_FLOOD=generous: flood limits no clean load reaches
 * (the token buckets still run on every message).
 *
 * Controlled by the parent over IPC (bench/lib/ipc.ts):
 *   stats          → messages handled by the room's handlers, CPU time, clock
 *   heap           → heap after full GCs (needs --expose-gc)
 *   floorSubscribe → a plain Redis subscriber that closes sessions (propagation floor)
 *   profileStart / profileStop {file} → a CPU profile of a window (BENCH_PROFILE_WINDOWS)
 *   allocStart / allocStop {file} → sampled allocations of a window (BENCH_ALLOC_WINDOWS)
 * Environment: BENCH_VARIANT, JWT_SECRET; for plugin: REDIS_URL, WARDEN_SECRET,
 * WARDEN_PREFIX, BENCH_FLOOD.
 */
import type { AddressInfo } from "node:net";
import { PerformanceObserver, constants as perfConstants, performance } from "node:perf_hooks";
import { defineRoom, defineServer, type Room } from "@colyseus/core";
import { Encoder } from "@colyseus/schema";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { createWarden, type Warden } from "../src/index.js";
import { createWorldRoom, type Avatar } from "../rooms/world.js";
import { ready, serve } from "./lib/ipc.js";

const variant = process.env.BENCH_VARIANT;
if (variant !== "plugin" && variant !== "bare") throw new Error(`BENCH_VARIANT must be plugin or bare, got ${variant}`);
const jwtSecret = process.env.JWT_SECRET ?? "bench-jwt-secret-0123456789";
const roomOptions = { jwtSecret, reconnectSeconds: 20 }; // the demo's default (rooms/app.ts)

/** Messages that reached a handler of the room (after the guard and validation). */
let handled = 0;
let rooms = 0;
const liveRooms = new Set<Room>();

/** Counts calls of the room's registered handlers, the same way in both variants. */
function countHandlers(room: Room): void {
  const events = (
    room as unknown as {
      onMessageEvents: { events: Record<string, ((a: unknown, b: unknown, c: unknown) => unknown)[]> };
    }
  ).onMessageEvents.events;
  for (const type of ["chat", "move", "report"]) {
    const list = events[type];
    if (list === undefined || list.length === 0)
      throw new Error(`bench server: no "${type}" handler registered before onCreate`);
    const original = list[0]!;
    list[0] = function (this: unknown, a: unknown, b: unknown, c: unknown) {
      handled++;
      return original.call(this, a, b, c);
    };
  }
}

/**
 * The heap test connects 2000 SDK clients from one load process, which also decodes every
 * state patch for every client: late in the ramp a client may take longer than Colyseus's
 * default seat reservation (15 s) to open its socket. Same setting in both variants.
 */
const SEAT_RESERVATION_SECONDS = 60;
// The full state of 2000 avatars outgrows the encoder's default 8 KB buffer, and every
// overflow prints a warning and re-encodes. Both variants: what a server this size would set.
Encoder.BUFFER_SIZE = 256 * 1024;

let warden: Warden | undefined;
if (variant === "plugin") {
  const generous = process.env.BENCH_FLOOD === "generous";
  // The most the options accept: a million a second never runs dry at the benchmark's rates.
  const unlimited = { rate: 1e6, burst: 1e6 };
  warden = createWarden({
    secret: process.env.WARDEN_SECRET ?? "bench-warden-secret-0123456789",
    store: process.env.REDIS_URL,
    ...(process.env.WARDEN_PREFIX ? { prefix: process.env.WARDEN_PREFIX } : {}),
    // As rooms/app.ts configures the demo.
    restrictionField: {
      avatarOf: (room, client) => (room.state as { avatars: Map<string, Avatar> }).avatars.get(client.sessionId),
    },
    // The token buckets still run on every message; they just never run dry.
    ...(generous ? { guard: { flood: { default: unlimited, types: { chat: unlimited } }, frames: unlimited } } : {}),
  });
  await warden.ready();
}
// The same subclass for both variants: only the warden (or its absence) differs.
const Base = createWorldRoom(warden ?? null, roomOptions);
const RoomClass: new () => Room = class BenchWorldRoom extends Base {
  override onCreate() {
    this.seatReservationTimeout = SEAT_RESERVATION_SECONDS;
    rooms++;
    liveRooms.add(this);
    countHandlers(this);
  }
  override onDispose() {
    liveRooms.delete(this);
  }
};

const server = defineServer({
  rooms: { world: defineRoom(RoomClass) },
  transport: new WebSocketTransport(),
  greet: false,
  gracefullyShutdown: false,
});
await server.listen(0);
const port = (server.transport.server?.address() as AddressInfo | null)?.port;
if (!port) throw new Error("bench server: no port");

/** Time spent in garbage collection (ms, every kind) and the scavenges among it, for the
 * curve's windows: a plugin that allocates per message pays for it here, not in its own
 * functions' samples. */
const gcMs = { total: 0, scavenges: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs.total += entry.duration;
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR)
      gcMs.scavenges++;
  }
}).observe({ entryTypes: ["gc"] });

let heapCalls = 0;
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * The floor of propagation without the warden: a plain Redis subscriber in this process
 * that closes the named session (4401) when a message arrives on `channel` — Redis pub/sub
 * plus Colyseus's own close, nothing else.
 */
async function floorSubscribe(args: { redisUrl: string; channel: string }) {
  const { Redis } = await import("ioredis");
  const subscriber = new Redis(args.redisUrl, { connectionName: "warden-bench-floor" });
  subscriber.on("message", (_channel: string, sessionId: string) => {
    for (const room of liveRooms) room.clients.getById(sessionId)?.leave(4401, "floor");
  });
  await subscriber.subscribe(args.channel);
  return true;
}

/**
 * Window recordings over node:inspector, started and stopped by the parent: a CPU profile
 * (BENCH_PROFILE_WINDOWS=<dir>) and sampled allocations (BENCH_ALLOC_WINDOWS=<dir>, a
 * .heapprofile: every sampled allocation, including what the next scavenge collects —
 * garbage per message is what the curve's CPU ratio pays in the collector).
 */
type Recording = "cpu" | "alloc";
const recordings = new Map<Recording, import("node:inspector/promises").Session>();
const STOP: Record<Recording, string> = { cpu: "Profiler.stop", alloc: "HeapProfiler.stopSampling" };
async function record(kind: Recording, steps: [method: string, params?: object][]) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  for (const [method, params] of steps) await session.post(method, params);
  recordings.set(kind, session);
  return true;
}
async function stopRecording(kind: Recording, file: string) {
  const session = recordings.get(kind);
  if (session === undefined) return false;
  recordings.delete(kind);
  const { profile } = (await session.post(STOP[kind])) as unknown as { profile: unknown };
  session.disconnect();
  const { writeFileSync } = await import("node:fs");
  writeFileSync(file, JSON.stringify(profile));
  return true;
}
// BENCH_ALLOC_LIVE=1: only what is still alive when the window ends (what a window retains);
// =promoted: what survived the scavenges (medium-lived objects, the costly kind).
const allocLive = process.env.BENCH_ALLOC_LIVE;
const profileStart = () =>
  record("cpu", [["Profiler.enable"], ["Profiler.setSamplingInterval", { interval: 500 }], ["Profiler.start"]]);
const profileStop = (args: { file: string }) => stopRecording("cpu", args.file);
const allocStart = () =>
  record("alloc", [
    ["HeapProfiler.enable"],
    [
      "HeapProfiler.startSampling",
      {
        samplingInterval: 256,
        includeObjectsCollectedByMajorGC: allocLive !== "1",
        includeObjectsCollectedByMinorGC: allocLive === undefined,
      },
    ],
  ]);
const allocStop = (args: { file: string }) => stopRecording("alloc", args.file);

serve({
  floorSubscribe,
  profileStart,
  profileStop,
  allocStart,
  allocStop,
  stats: () => ({
    handled,
    rooms,
    clients: [...liveRooms].reduce((n, room) => n + room.clients.length, 0),
    t: performance.now(),
    cpu: process.cpuUsage(),
    gcMs: { ...gcMs },
    wardenStats: warden?.stats() ?? null,
  }),
  heap: async () => {
    if (gc === undefined) throw new Error("start the server with --expose-gc");
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    const m = process.memoryUsage();
    // BENCH_SNAPSHOTS=<dir>: a heap snapshot at each measurement, to diff plugin against bare.
    const snapshots = process.env.BENCH_SNAPSHOTS;
    if (snapshots) {
      const { writeHeapSnapshot } = await import("node:v8");
      writeHeapSnapshot(`${snapshots}/${variant}-${process.pid}-${++heapCalls}.heapsnapshot`);
    }
    return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
  },
});

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  const done = () => process.exit(0); // process.exit lets --cpu-prof write its profile
  setTimeout(done, 3000).unref();
  void server
    .gracefullyShutdown(false)
    .catch(() => {})
    .then(() => warden?.close())
    .finally(done);
});

ready({ port, variant, processId: warden?.processId ?? null, pid: process.pid });
