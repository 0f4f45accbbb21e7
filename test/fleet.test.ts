/**
 * A fleet of processes behind one matchmaking address (issue 12, part 4): two real world
 * processes on one Redis (RedisPresence + RedisDriver), each with its own public address.
 * A client that asks one process to `joinOrCreate` while the room lives on the other gets a
 * seat naming that process's address, connects there, and plays in the same room — and the warden
 * follows it there: a ban from a third process closes it in A, and B's gate refuses it.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Warden } from "../src/index.js";
import { startFleet, type Fleet } from "./helpers/fleet.js";
import type { WorldProcess } from "./helpers/process.js";
import { dropPrefix, redisUrlWithDb, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET } from "./helpers/world.js";

// A database of its own: Colyseus's room listing is not prefixed (see redisUrlWithDb).
const url = redisUrlWithDb(3);
const prefix = uniquePrefix("fleet");
const admin = new Redis(url);
let fleet: Fleet;
let a: WorldProcess;
let b: WorldProcess;
let issuer: Warden;

beforeAll(async () => {
  const env = { REDIS_URL: url, WARDEN_SECRET, JWT_SECRET, WARDEN_PREFIX: prefix, WARDEN_HEARTBEAT_MS: "300" };
  fleet = await startFleet(env, { store: url, prefix, publicAddresses: true });
  ({ a, b, issuer } = fleet);
}, 60_000);

afterAll(async () => {
  await fleet?.close();
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

it("joinOrCreate through one process reaches the room that lives on the other, and the warden follows", async () => {
  const host = await client(a.port, "fleet-host").create("world");
  const hostDid = issuer.digitalId("fleet-host");
  await waitFor(async () => (await issuer.sessions(hostDid)).length === 1, "the host's binding");
  // Wherever Colyseus placed the room, the guest asks the *other* process.
  const home = (await issuer.sessions(hostDid))[0]!.processId;
  const [owner, other] = home === a.processId ? [a, b] : [b, a];
  const guest = await client(other.port, "fleet-guest").joinOrCreate("world");
  expect(guest.roomId).toBe(host.roomId);
  const did = issuer.digitalId("fleet-guest");
  await waitFor(async () => (await issuer.sessions(did)).length === 1, "the guest's binding");
  // Bound in the process that holds the room, not in the one whose address it asked.
  expect((await issuer.sessions(did))[0]!.processId).toBe(owner.processId);

  const seen = observe(guest);
  const result = await issuer.sanctions.issue({ did, kind: "ban", duration: 60_000, reason: "fleet", by: "test" });
  expect(result.status).toBe("issued");
  expect((await seen.left).code).toBe(4403);
  // Refused at either address.
  expect((await rejection(client(b.port, "fleet-guest").joinOrCreate("world"))).message).toMatch(/banned/);
  expect((await rejection(client(a.port, "fleet-guest").joinOrCreate("world"))).message).toMatch(/banned/);
  await host.leave();
});

it("rooms are placed across the fleet, not all in the process that was asked", async () => {
  // Colyseus's default placement (the process with the fewest rooms) applies with a public
  // address; the room counts it reads are persisted at most once a second, hence the pauses.
  const subjects = ["fleet-placed-0", "fleet-placed-1", "fleet-placed-2"];
  const rooms = [];
  for (const sub of subjects) {
    rooms.push(await client(b.port, sub).create("world"));
    await new Promise((r) => setTimeout(r, 1200));
  }
  const bindings = async () => Promise.all(subjects.map((sub) => issuer.sessions(issuer.digitalId(sub))));
  await waitFor(async () => (await bindings()).every((s) => s.length === 1), "bindings of the placed rooms");
  const processes = new Set((await bindings()).map((s) => s[0]!.processId));
  expect(processes).toEqual(new Set([a.processId, b.processId]));
  for (const r of rooms) await r.leave();
});
