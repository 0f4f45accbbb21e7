/**
 * An idle warden costs nothing per tick (issue 14): the guard's 4 ms coarse clock runs only
 * while a player is connected to a warden room in this process. Real world, real client.
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
afterAll(async () => world?.close());

it("the coarse clock runs while a session is live and stops when the last one leaves", async () => {
  expect(coarseClockRunning()).toBe(false);
  const a = await client(world.port, "idle-a").joinOrCreate("world");
  const b = await client(world.port, "idle-b").joinOrCreate("world");
  expect(coarseClockRunning()).toBe(true);
  // It is a running clock, not a flag: the time moves.
  const before = coarse.now;
  await new Promise((r) => setTimeout(r, 30));
  expect(coarse.now).toBeGreaterThan(before);
  await a.leave();
  await waitFor(async () => (await world.warden.sessions(world.warden.digitalId("idle-a"))).length === 0, "a left");
  expect(coarseClockRunning()).toBe(true);
  await b.leave();
  await waitFor(() => !coarseClockRunning(), "the clock stopped with the last session");
  // A refused join (no token) acquires nothing and leaves the clock stopped.
  await expect(client(world.port, null).joinOrCreate("world")).rejects.toThrow();
  expect(coarseClockRunning()).toBe(false);
  // A new session starts it again with the current time, not the time it stopped at.
  await new Promise((r) => setTimeout(r, 20));
  const c = await client(world.port, "idle-c").joinOrCreate("world");
  expect(coarseClockRunning()).toBe(true);
  expect(Math.abs(coarse.now - Date.now())).toBeLessThan(20);
  await c.leave();
});
