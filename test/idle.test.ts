/**
 * The guard's clock costs nothing when nothing happens (issue 14): no interval while no
 * player is connected, none while frames are few (each frame reads the time itself, so the
 * time is exact), a 4 ms interval only while frames come faster than BUSY_FRAMES_PER_S, and
 * none again once they slow down or the warden closes. Real world, real clients.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { coarse, coarseClockRunning } from "../src/util/clock.js";
import { client, JWT_SECRET, waitFor, WARDEN_SECRET } from "./helpers/world.js";

let world: World;
beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: { secret: WARDEN_SECRET, logger: { info() {}, warn() {}, error() {} } },
  });
});
let closed = false;
afterAll(async () => {
  if (!closed) await world?.close();
});

const PING = new Uint8Array([18]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("no interval at a few frames a second, yet every frame is read at its own time", async () => {
  expect(coarseClockRunning()).toBe(false);
  const a = await client(world.port, "idle-a").joinOrCreate("world");
  for (let i = 0; i < 5; i++) {
    await sleep(30);
    const before = Date.now();
    a.send("move", { x: i, y: i });
    // The frame's time is taken when it arrives (nothing else moves coarse.now meanwhile).
    await waitFor(() => coarse.now >= before, `frame ${i} read at its own time`, 1000);
    expect(coarseClockRunning()).toBe(false);
  }
  await a.leave();
});

it("a burst of frames starts the interval, and it stops when they stop", async () => {
  const a = await client(world.port, "idle-burst").joinOrCreate("world");
  // 8 000 pings in one go: the frame budget drops most of them, but the guard inspects them all.
  for (let i = 0; i < 8000; i++) a.connection.send(PING);
  await waitFor(() => coarseClockRunning(), "the interval under the burst", 3000);
  expect(coarse.ticking).toBe(true);
  // Quiet again: a whole window under a quarter of the busy rate hands back to per-frame readings.
  await waitFor(() => !coarseClockRunning(), "the interval stopped after the burst", 3000);
  expect(coarse.ticking).toBe(false);
  // (Not a consented leave: after its flood the frame budget may drop a LEAVE_ROOM frame.)
  await a.leave(false);
});

it("a warden that closes lets the interval go at once, even mid-burst", async () => {
  const b = await client(world.port, "idle-last").joinOrCreate("world");
  for (let i = 0; i < 8000; i++) b.connection.send(PING);
  await waitFor(() => coarseClockRunning(), "the interval under the burst", 3000);
  await world.close();
  closed = true;
  expect(coarseClockRunning()).toBe(false);
});
