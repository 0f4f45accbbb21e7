/**
 * A load-generator process: real @colyseus/sdk clients (over WebSocket to 127.0.0.1),
 * controlled over IPC by bench/run.ts. Kept out of the server processes so that client
 * work and server work are measured on separate CPUs.
 *   join  { port, count, sub, concurrency, perRoom? }
 *                                            → joins `count` clients to room "world" on
 *                                              `port` (rooms of at most `perRoom`)
 *   pump  { durationMs, rate?, ports?, shape? }
 *                                            → the clients (of `ports`, default all) send
 *                                              round-robin at `rate` msgs/s in total, or as
 *                                              fast as their sockets drain: `move` to a new
 *                                              place (shape "move", the default), `move` to
 *                                              where the avatar already is ("still": no
 *                                              state patch, the message path alone), or a
 *                                              clean `chat` line ("chat": the detector too)
 *   moveOnce                                 → every client sends one `move`
 *   leave                                    → every client leaves (consented)
 */
import { performance } from "node:perf_hooks";
import type { Room } from "@colyseus/sdk";
import { ready, serve } from "./lib/ipc.js";

// BENCH_WS=ws: the SDK's Node fallback transport (the `ws` package) instead of Node 22's
// built-in (undici) WebSocket. The SDK picks `globalThis.WebSocket || ws` at import time.
if (process.env.BENCH_WS === "ws") delete (globalThis as { WebSocket?: unknown }).WebSocket;
const { pool, sdkClient, socketOf } = await import("./lib/clients.js");

const rooms: Room[] = [];
/** Port of the server each room is on (same index as `rooms`). */
const portOf: number[] = [];

/**
 * Joins `count` clients to room "world" on `port`: all into one room (the first one on
 * that port, created if needed), or with `perRoom`, into rooms of at most that many
 * clients (a new room is created whenever the current one is full).
 */
async function join(args: { port: number; count: number; sub: string; concurrency?: number; perRoom?: number }) {
  const latencies: number[] = [];
  const start = rooms.length;
  const onPort = () => rooms.filter((_, i) => portOf[i] === args.port);
  let roomId = onPort().at(-1)?.roomId;
  let next = 0;
  const joinOne = async (mode: "create" | "join") => {
    const i = next++;
    const client = sdkClient(args.port, `${args.sub}-${start + i}`);
    const t0 = performance.now();
    let room: Room;
    try {
      room = mode === "create" ? await client.create("world") : await client.joinById(roomId!);
    } catch (e) {
      const error = e as { code?: number; message?: string; type?: string; reason?: string };
      const what = error.message || error.reason || error.type || Object.prototype.toString.call(e);
      throw new Error(`join ${start + i} failed: ${error.code ?? ""} ${what} (${(e as object)?.constructor?.name})`);
    }
    latencies.push(performance.now() - t0);
    if (mode === "create") roomId = room.roomId;
    room.onMessage("*", () => {});
    rooms.push(room);
    portOf.push(args.port);
  };
  const perRoom = args.perRoom ?? Infinity;
  let joined = onPort().length;
  let remaining = args.count;
  while (remaining > 0) {
    if (roomId === undefined || joined % perRoom === 0) {
      await joinOne("create");
      joined++;
      remaining--;
    }
    const n = Math.min(remaining, perRoom === Infinity ? remaining : perRoom - (joined % perRoom));
    await pool(n, args.concurrency ?? 16, () => joinOne("join"));
    joined += n;
    remaining -= n;
  }
  return { roomId, joined: rooms.length, latencies };
}

let seq = 0;
/** Everyday clean chat (no term of the detector's in it). */
const CHAT_LINES = ["gg", "nice one", "heading north", "anyone up for a race?", "brb", "follow me", "good game"];
/**
 * Sends `move` from every client, round-robin. With `rate` (msgs/s, all clients together):
 * paced on a 1 ms timer (open loop: the same offered load whatever the server does);
 * without: as fast as the sockets drain. A client whose socket holds more than
 * `maxBuffered` bytes is skipped (backpressure: the server is behind).
 */
function pump(args: {
  durationMs: number;
  rate?: number;
  ports?: number[];
  maxBuffered?: number;
  perTick?: number;
  shape?: "move" | "still" | "chat";
}) {
  const shape = args.shape ?? "move";
  const maxBuffered = args.maxBuffered ?? 16 * 1024;
  const perTick = args.perTick ?? 8;
  const targets = args.ports === undefined ? rooms : rooms.filter((_, i) => args.ports!.includes(portOf[i]!));
  const sockets = targets.map(socketOf);
  const t0 = performance.now();
  const deadline = t0 + args.durationMs;
  const cpu0 = process.cpuUsage();
  let sent = 0;
  let blocked = 0;
  let next = 0;
  const sendOne = (): boolean => {
    for (let tries = 0; tries < targets.length; tries++) {
      const i = next++ % targets.length;
      if (sockets[i]!.bufferedAmount > maxBuffered) {
        blocked++;
        continue;
      }
      if (shape === "move") targets[i]!.send("move", { x: ++seq % 1000, y: i });
      else if (shape === "still") targets[i]!.send("move", { x: 1, y: 2 });
      else targets[i]!.send("chat", { text: CHAT_LINES[++seq % CHAT_LINES.length]! });
      sent++;
      return true;
    }
    return false;
  };
  return new Promise<{ sent: number; blocked: number; elapsedMs: number; cpuMs: number }>((resolve) => {
    const finish = () => {
      const cpu = process.cpuUsage(cpu0);
      resolve({ sent, blocked, elapsedMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
    };
    const rate = args.rate;
    if (rate === undefined) {
      const tick = () => {
        if (performance.now() >= deadline) return finish();
        for (let k = 0; k < targets.length * perTick; k++) if (!sendOne()) break;
        setImmediate(tick);
      };
      tick();
    } else {
      const tick = () => {
        const now = performance.now();
        if (now >= deadline) return finish();
        const due = Math.floor(((now - t0) / 1000) * rate);
        while (sent < due) if (!sendOne()) break;
        setTimeout(tick, 1);
      };
      tick();
    }
  });
}

serve({
  join,
  pump,
  moveOnce: () => {
    for (const room of rooms) room.send("move", { x: 1, y: 2 });
    return rooms.length;
  },
  leave: async () => {
    const all = rooms.splice(0);
    portOf.length = 0;
    await pool(all.length, 64, (i) => Promise.race([all[i]!.leave(true), new Promise((r) => setTimeout(r, 5000))]));
    return all.length;
  },
});

ready({ pid: process.pid });
