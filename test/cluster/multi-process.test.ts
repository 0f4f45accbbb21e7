/**
 * Two real server processes on the local Redis Cluster (REDIS_CLUSTER_NODES: the warden's
 * store, RedisPresence and RedisDriver all on the cluster), real SDK clients, and sanctions
 * issued from a third process (this one) and from the CLI's direct mode.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sanction, Warden } from "../../src/index.js";
import { warden as cli } from "../helpers/cli.js";
import { startFleet, type Fleet } from "../helpers/fleet.js";
import type { WorldProcess } from "../helpers/process.js";
import { adminRedis, dropPrefix, redisUrl, uniquePrefix } from "../helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET } from "../helpers/world.js";
import { inject } from "vitest";

const prefix = uniquePrefix("cmulti");
const nodes = inject("redisClusterNodes");
const env = {
  REDIS_CLUSTER_NODES: nodes,
  WARDEN_SECRET,
  JWT_SECRET,
  WARDEN_PREFIX: prefix,
  WARDEN_HEARTBEAT_MS: "300",
};
const admin = adminRedis();
let a: WorldProcess;
let b: WorldProcess;
let issuer: Warden;

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet(env, { store: redisUrl(), prefix, publicAddresses: true, reason: "cluster" });
  ({ a, b, issuer } = fleet);
}, 60_000);

afterAll(async () => {
  await fleet?.close();
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

const issue = (sub: string, kind: Sanction["kind"], duration?: number) => fleet.issue(sub, kind, duration);

describe("propagation across processes on a Redis Cluster", () => {
  it("a ban issued in a third process closes the ID's sessions in both server processes and refuses new joins", async () => {
    const sub = "cmulti-ban";
    const inA = await client(a.port, sub).create("world");
    const inB = await client(b.port, sub).create("world");
    const seenA = observe(inA);
    const seenB = observe(inB);
    await waitFor(async () => (await issuer.sessions(issuer.digitalId(sub))).length === 2, "both bindings");
    await issue(sub, "ban", 60_000);
    expect((await seenA.left).code).toBe(4403);
    expect((await seenB.left).code).toBe(4403);
    for (const port of [a.port, b.port]) {
      expect((await rejection(client(port, sub).create("world"))).code).toBe(4403);
    }
  });

  it("`warden kick` in direct mode with REDIS_CLUSTER_NODES closes a client of another process with 4401", async () => {
    const sub = "cmulti-cli-kick";
    const room = await client(b.port, sub).create("world");
    const seen = observe(room);
    await waitFor(async () => (await issuer.sessions(issuer.digitalId(sub))).length === 1, "the binding");
    const run = await cli(["kick", issuer.digitalId(sub), "--reason", "from the cli"], {
      WARDEN_DIRECT: "1",
      REDIS_CLUSTER_NODES: nodes,
      WARDEN_PREFIX: prefix,
      WARDEN_SECRET,
    });
    expect(run.code, run.stderr).toBe(0);
    expect((await seen.left).code).toBe(4401);
  });

  it("offenses recorded in process A (a flood of chat) reach the policy: the ladder escalates on the cluster", async () => {
    const sub = "cmulti-spam";
    const room = await client(a.port, sub).create("world");
    const seen = observe(room);
    for (let i = 0; i < 40; i++) room.send("chat", { text: `spam ${i}` });
    await waitFor(() => seen.notices.length > 0, "a notice from the policy", 10_000);
    await waitFor(
      async () => (await issuer.store.offensesOf(issuer.digitalId(sub), { limit: 5 })).length > 0,
      "history",
    );
    await room.leave().catch(() => {});
  });

  it("joinOrCreate on process A joins the room that lives on process B (RedisDriver on the cluster)", async () => {
    const host = await client(b.port, "cmulti-host").create("world");
    observe(host);
    const guest = await client(a.port, "cmulti-guest").joinOrCreate("world");
    observe(guest);
    expect(guest.roomId).toBe(host.roomId);
    await guest.leave();
    await host.leave();
  });
});
