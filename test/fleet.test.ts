/**
 * A fleet of two demo processes on one Redis (issue 12, part 4): each with its public address
 * (Colyseus's `publicAddress`, PUBLIC_ADDRESS), so a seat reserved in a room of the other
 * process sends the client there. `joinOrCreate` on process A while the room lives on B used
 * to fail with "seat reservation expired".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/redis.mjs";
import { startWorldProcess, type WorldProcess } from "./helpers/process.js";
import { adminRedis, dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const prefix = uniquePrefix("fleet");
const admin = adminRedis();
let a: WorldProcess;
let b: WorldProcess;

beforeAll(async () => {
  const env = (port: number) => ({
    REDIS_URL: redisUrl(),
    WARDEN_SECRET,
    JWT_SECRET,
    WARDEN_PREFIX: prefix,
    PORT: String(port),
    PUBLIC_ADDRESS: `127.0.0.1:${port}`,
  });
  const [pa, pb] = [await freePort(), await freePort()];
  [a, b] = await Promise.all([startWorldProcess(env(pa)), startWorldProcess(env(pb))]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.kill("SIGTERM"), b?.kill("SIGTERM")]);
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

describe("a fleet of processes with a public address each", () => {
  it("joinOrCreate on process A joins the room that lives on process B, three times out of three", async () => {
    const host = await client(b.port, "fleet-host").create("world");
    observe(host);
    for (let i = 0; i < 3; i++) {
      const guest = await client(a.port, `fleet-guest-${i}`).joinOrCreate("world");
      observe(guest);
      expect(guest.roomId).toBe(host.roomId);
      await waitFor(() => (host.state as any)?.avatars?.size === 2, "the guest's avatar in B's room");
      await guest.leave();
      await waitFor(() => (host.state as any)?.avatars?.size === 1, "the guest gone");
    }
    await host.leave();
  });
});
