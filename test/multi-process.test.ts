/**
 * Two real server processes (RedisPresence + RedisDriver + the warden on one Redis), real
 * SDK clients, and sanctions issued from a third process (this one) and from the CLI.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sanction, Warden } from "../src/index.js";
import { warden as cli } from "./helpers/cli.js";
import { startFleet, type Fleet } from "./helpers/fleet.js";
import { startWorldProcess, type WorldProcess } from "./helpers/process.js";
import { dropPrefix, redisUrlWithDb, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET } from "./helpers/world.js";

// A database of its own: Colyseus's room listing is not prefixed (see redisUrlWithDb).
const url = redisUrlWithDb(2);
const prefix = uniquePrefix("multi");
const env = { REDIS_URL: url, WARDEN_SECRET, JWT_SECRET, WARDEN_PREFIX: prefix, WARDEN_HEARTBEAT_MS: "300" };
const admin = new Redis(url);
let a: WorldProcess;
let b: WorldProcess;
let issuer: Warden;

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet(env, { store: url, prefix, reason: "multi" });
  ({ a, b, issuer } = fleet);
}, 60_000);

afterAll(async () => {
  await fleet?.close();
  // The restart test below replaces both processes.
  await Promise.all([a?.kill("SIGTERM"), b?.kill("SIGTERM")]);
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

const issue = (sub: string, kind: Sanction["kind"], duration?: number) => fleet.issue(sub, kind, duration);

describe("propagation across processes", () => {
  it("a ban issued in a third process closes the ID's sessions in both server processes", async () => {
    const sub = "multi-ban";
    const inA = await client(a.port, sub).create("world");
    const inB = await client(b.port, sub).create("world");
    const seenA = observe(inA);
    const seenB = observe(inB);
    await waitFor(async () => (await issuer.sessions(issuer.digitalId(sub))).length === 2, "both bindings");
    const processes = (await issuer.sessions(issuer.digitalId(sub))).map((s) => s.processId).sort();
    expect(processes).toEqual([a.processId, b.processId].sort());

    await issue(sub, "ban", 60_000);
    expect((await seenA.left).code).toBe(4403);
    expect((await seenB.left).code).toBe(4403);
    for (const port of [a.port, b.port]) {
      expect((await rejection(client(port, sub).joinOrCreate("world"))).code).toBe(4403);
    }
  });

  it("`warden kick` on the CLI closes the client connected to another process with 4401", async () => {
    const sub = "multi-cli-kick";
    const room = await client(b.port, sub).create("world");
    const seen = observe(room);
    const run = await cli(["kick", issuer.digitalId(sub), "--reason", "from the cli"], {
      WARDEN_DIRECT: "1",
      REDIS_URL: url,
      WARDEN_PREFIX: prefix,
      WARDEN_SECRET,
    });
    expect(run.code).toBe(0);
    const { code } = await seen.left;
    expect(code).toBe(4401);
    expect(seen.notices[0]).toMatchObject({ kind: "kick", reason: "from the cli" });
  });

  it("a mute issued while the player is in process A silences them there and follows them to process B", async () => {
    const sub = "multi-mute";
    const inA = await client(a.port, sub).create("world");
    const seenA = observe(inA);
    await issue(sub, "mute", 60_000);
    await waitFor(() => seenA.notices.some((n) => n.kind === "mute"), "mute notice in A");
    await inA.leave();
    const inB = await client(b.port, sub).create("world");
    const seenB = observe(inB);
    await waitFor(() => seenB.notices.some((n) => n.kind === "mute"), "mute re-applied in B");
    inB.send("chat", { text: "through the mute?" });
    inB.send("move", { x: 3, y: 4 });
    await waitFor(() => (inB.state as any)?.avatars?.get(inB.sessionId)?.x === 3, "move in B");
    expect(seenB.chats).toEqual([]);
    await inB.leave();
  });
});

describe("restart survival", () => {
  it("after kill -9 of every server: an active ban still refuses, an active mute is re-applied, dead bindings are swept", async () => {
    const banned = "restart-banned";
    const muted = "restart-muted";
    const lingering = await client(a.port, "restart-lingering").create("world");
    observe(lingering);
    const lingeringDid = issuer.digitalId("restart-lingering");
    await waitFor(async () => (await issuer.sessions(lingeringDid)).length === 1, "binding before the crash");
    await issue(banned, "ban");
    await issue(muted, "mute", 120_000);

    await Promise.all([a.kill("SIGKILL"), b.kill("SIGKILL")]);
    [a, b] = await Promise.all([startWorldProcess(env), startWorldProcess(env)]);

    for (const port of [a.port, b.port]) {
      const refused = await rejection(client(port, banned).joinOrCreate("world"));
      expect(refused.code).toBe(4403);
      expect(refused.message).toMatch(/permanently: multi ban/);
    }
    const room = await client(b.port, muted).create("world");
    const seen = observe(room);
    await waitFor(() => seen.notices.some((n) => n.kind === "mute"), "mute re-applied after restart");
    room.send("chat", { text: "muted after restart" });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.chats).toEqual([]);
    await room.leave();

    // The killed process never unbound its session: the survivors' sweeper removes it.
    await waitFor(
      async () => (await issuer.sessions(lingeringDid)).length === 0,
      "the dead process's binding to be swept",
      10_000,
    );
  });
});
