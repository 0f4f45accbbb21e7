import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import type { Sanction } from "../src/index.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET } from "./helpers/world.js";

let world: World;
let redis: Redis;
const prefix = uniquePrefix("plugin");
let account = 0;
/** A fresh account subject per test, so that tests never share sanctions. */
const nextAccount = () => `acct-${++account}-${prefix}`;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 20,
    warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix },
  });
  await world.warden.ready();
});

afterAll(async () => {
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

async function join(sub: string, name?: string, options: Record<string, unknown> = {}) {
  const c = client(world.port, sub, name);
  const room = await c.joinOrCreate("world", options);
  const seen = observe(room);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return { c, room, seen };
}

async function issue(sub: string, kind: Sanction["kind"], duration?: number): Promise<Sanction> {
  const result = await world.warden.sanctions.issue({
    did: world.warden.digitalId(sub),
    kind,
    reason: `test ${kind}`,
    by: "test",
    ...(duration ? { duration } : {}),
  });
  if (result.status !== "issued") throw new Error(`not issued: ${result.reason}`);
  return result.sanction;
}

describe("join and binding", () => {
  it("binds every joining avatar to the digital ID of its verified subject, and unbinds on leave", async () => {
    const sub = nextAccount();
    const did = world.warden.digitalId(sub);
    const { room } = await join(sub, "Alice");
    await waitFor(async () => (await world.warden.sessions(did)).length === 1, "the binding in Redis");
    const [binding] = await world.warden.sessions(did);
    expect(binding).toMatchObject({
      did,
      sessionId: room.sessionId,
      roomName: "world",
      roomId: room.roomId,
      processId: world.warden.processId,
    });
    // The raw subject is nowhere in the store.
    const keys = await redis.keys(`${prefix}:*`);
    for (const key of keys) {
      expect(key).not.toContain(sub);
      const type = await redis.type(key);
      const dump =
        type === "hash"
          ? JSON.stringify(await redis.hgetall(key))
          : type === "set"
            ? JSON.stringify(await redis.smembers(key))
            : "";
      expect(dump).not.toContain(sub);
    }
    await room.leave();
    await waitFor(async () => (await world.warden.sessions(did)).length === 0, "the binding to go");
  });

  it("refuses a join without a token, and one with a forged token", async () => {
    const anonymous = client(world.port, null);
    const noToken = await rejection(anonymous.joinOrCreate("world"));
    expect(noToken.code).toBe(525);
    expect(noToken.message).toMatch(/token/);
    const forged = client(world.port, "x");
    forged.auth.token = (await import("./helpers/world.js")).token("victim", "Victim", "not-the-secret-0123456789");
    expect((await rejection(forged.joinOrCreate("world"))).message).toMatch(/invalid token/);
  });

  it("ignores join options for identity: a client cannot pick its digital ID", async () => {
    const sub = nextAccount();
    const victim = nextAccount();
    const { room } = await join(sub, "Mallory", { did: world.warden.digitalId(victim), sub: victim, subject: victim });
    await waitFor(
      async () => (await world.warden.sessions(world.warden.digitalId(sub))).length === 1,
      "binding of the real subject",
    );
    expect(await world.warden.sessions(world.warden.digitalId(victim))).toEqual([]);
    await room.leave();
  });
});

describe("bans", () => {
  it("closes a banned session with 4403 and a notice, refuses its joins with reason and end, and lets it in after revoke", async () => {
    const sub = nextAccount();
    const { room, seen } = await join(sub);
    const ban = await issue(sub, "ban", 3_600_000);
    const { code } = await seen.left;
    expect(code).toBe(4403);
    expect(seen.notices.map((n) => n.kind)).toContain("ban");

    const refused = await rejection(client(world.port, sub).joinOrCreate("world"));
    expect(refused.code).toBe(4403);
    expect(refused.message).toContain("test ban");
    expect(refused.message).toContain(new Date(ban.end!).toISOString());
    expect(room.roomId).toBeTruthy();

    const revoked = await world.warden.sanctions.revoke(ban.id, { by: "test", reason: "appeal accepted" });
    expect(revoked.status).toBe("revoked");
    const again = await join(sub);
    expect(again.room.sessionId).toBeTruthy();
    await again.room.leave();
  });

  it("a permanent ban says so, and a temporary ban ends by itself", async () => {
    const perm = nextAccount();
    await issue(perm, "ban");
    const refused = await rejection(client(world.port, perm).joinOrCreate("world"));
    expect(refused).toMatchObject({ code: 4403 });
    expect(refused.message).toMatch(/permanently/);

    const temp = nextAccount();
    await issue(temp, "ban", 1500);
    expect((await rejection(client(world.port, temp).joinOrCreate("world"))).code).toBe(4403);
    await new Promise((r) => setTimeout(r, 1600));
    const { room } = await join(temp);
    await room.leave();
  });

  it("bans every live session of the ID, in every room", async () => {
    const sub = nextAccount();
    const a = await join(sub);
    const other = client(world.port, sub);
    const b = await other.create("world");
    const seenB = observe(b);
    expect(a.room.roomId).not.toBe(b.roomId);
    await issue(sub, "ban", 60_000);
    expect((await a.seen.left).code).toBe(4403);
    expect((await seenB.left).code).toBe(4403);
  });
});

describe("kick", () => {
  it("closes with 4401; a kick is not a ban, so a fresh join works", async () => {
    const sub = nextAccount();
    const { seen } = await join(sub);
    await issue(sub, "kick");
    expect((await seen.left).code).toBe(4401);
    expect(seen.notices[0]).toMatchObject({ kind: "kick", reason: "test kick" });
    const again = await join(sub);
    await again.room.leave();
  });
});

describe("reconnection never lets a kicked or banned client back", () => {
  // A second player keeps each room alive, so that a refusal can only come from the warden
  // (an empty room would simply dispose).
  async function pair() {
    const sub = nextAccount();
    const { room, seen } = await join(sub);
    const keeper = await client(world.port, nextAccount()).joinById(room.roomId);
    return { sub, room, seen, keeper };
  }

  it("control: a dropped (not sanctioned) client can reconnect to this room", async () => {
    const { sub, room, keeper } = await pair();
    // Drop abnormally (no consented leave): the room's onDrop offers a reconnection seat.
    room.connection.close(4999);
    await new Promise((r) => setTimeout(r, 150));
    const back = await client(world.port, sub).reconnect(room.reconnectionToken);
    expect(back.sessionId).toBe(room.sessionId);
    await back.leave();
    await keeper.leave();
  });

  for (const kind of ["kick", "ban"] as const) {
    it(`after ${kind}: reconnect(token) is refused although the room offers reconnection`, async () => {
      const { sub, room, seen, keeper } = await pair();
      await issue(sub, kind, kind === "ban" ? 60_000 : undefined);
      expect((await seen.left).code).toBe(kind === "ban" ? 4403 : 4401);
      await new Promise((r) => setTimeout(r, 150));
      const refused = await rejection(client(world.port, sub).reconnect(room.reconnectionToken));
      expect(refused.message).not.toMatch(/disposed/);
      expect(refused.message).toMatch(/reconnection token invalid or expired|banned|kicked/);
      await keeper.leave();
    });
  }

  it("a ban that arrives while the client is dropped (inside its reconnection window) refuses the reconnection", async () => {
    const { sub, room, keeper } = await pair();
    room.connection.close(4999);
    await new Promise((r) => setTimeout(r, 150));
    await issue(sub, "ban", 60_000);
    await new Promise((r) => setTimeout(r, 100));
    const refused = await rejection(client(world.port, sub).reconnect(room.reconnectionToken));
    expect(refused.message).toMatch(/banned/);
    await keeper.leave();
  });
});

describe("mute and freeze", () => {
  it("mute: the muted player's chat never reaches others; they get a notice; moving still works; state shows it", async () => {
    const muted = nextAccount();
    const listenerSub = nextAccount();
    const speaker = await join(muted);
    const listener = await (async () => {
      const c = client(world.port, listenerSub);
      const room = await c.joinById(speaker.room.roomId);
      return { room, seen: observe(room) };
    })();
    speaker.room.send("chat", { text: "before mute" });
    await waitFor(() => listener.seen.chats.some((m) => m.text === "before mute"), "chat before the mute");

    await issue(muted, "mute", 60_000);
    await waitFor(() => speaker.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    expect(speaker.seen.notices.find((n) => n.kind === "mute")?.until).toBeGreaterThan(Date.now());
    await waitFor(
      () => (speaker.room.state as any).avatars.get(speaker.room.sessionId)?.restriction === "muted",
      "restriction in state",
    );

    speaker.room.send("chat", { text: "while muted" });
    speaker.room.send("move", { x: 5, y: 7 });
    listener.room.send("chat", { text: "marker" });
    await waitFor(() => listener.seen.chats.some((m) => m.text === "marker"), "the marker chat");
    await waitFor(
      () => (listener.room.state as any).avatars.get(speaker.room.sessionId)?.x === 5,
      "the muted player's move",
    );
    expect(listener.seen.chats.map((m) => m.text)).not.toContain("while muted");
    expect(speaker.seen.chats.map((m) => m.text)).not.toContain("while muted");

    await speaker.room.leave();
    await listener.room.leave();
  });

  it("freeze: moves are dropped, chat still works", async () => {
    const sub = nextAccount();
    const { room, seen } = await join(sub);
    room.send("move", { x: 1, y: 1 });
    await waitFor(() => (room.state as any).avatars.get(room.sessionId)?.x === 1, "first move");
    await issue(sub, "freeze", 60_000);
    await waitFor(() => seen.notices.some((n) => n.kind === "freeze"), "freeze notice");
    room.send("move", { x: 9, y: 9 });
    room.send("chat", { text: "frozen but talking" });
    await waitFor(() => seen.chats.some((m) => m.text === "frozen but talking"), "chat while frozen");
    await waitFor(
      () => (room.state as any).avatars.get(room.sessionId)?.restriction === "frozen",
      "restriction in state",
    );
    expect((room.state as any).avatars.get(room.sessionId)?.x).toBe(1);
    await room.leave();
  });

  it("an active mute is re-applied when the ID joins again; revoking lifts it live", async () => {
    const sub = nextAccount();
    const mute = await issue(sub, "mute", 60_000);
    const { room, seen } = await join(sub);
    await waitFor(() => seen.notices.some((n) => n.kind === "mute"), "mute notice on join");
    room.send("chat", { text: "muted on join" });
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.chats).toEqual([]);
    await world.warden.sanctions.revoke(mute.id, { by: "test", reason: "sorry" });
    await waitFor(() => seen.notices.some((n) => n.kind === "lifted"), "lifted notice");
    room.send("chat", { text: "free again" });
    await waitFor(() => seen.chats.some((m) => m.text === "free again"), "chat after revoke");
    await room.leave();
  });

  it("a warn sends a notice and nothing else", async () => {
    const sub = nextAccount();
    const { room, seen } = await join(sub);
    await issue(sub, "warn");
    await waitFor(() => seen.notices.some((n) => n.kind === "warn"), "warn notice");
    room.send("chat", { text: "still here" });
    await waitFor(() => seen.chats.some((m) => m.text === "still here"), "chat after warn");
    expect(seen.leftCode).toBeNull();
    await room.leave();
  });
});

describe("events", () => {
  it("sanction:before can veto; sanction:applied and sanction:enforced report what happened", async () => {
    const sub = nextAccount();
    const did = world.warden.digitalId(sub);
    const { room, seen } = await join(sub);
    const veto = (e: { sanction: Readonly<Sanction>; cancel: (r: string) => void }) => {
      if (e.sanction.did === did && e.sanction.kind === "kick") e.cancel("tournament final");
    };
    world.warden.on("sanction:before", veto);
    const cancelled = await world.warden.sanctions.issue({ did, kind: "kick", reason: "x", by: "test" });
    expect(cancelled).toEqual({ status: "cancelled", reason: "tournament final" });
    world.warden.off("sanction:before", veto);
    expect(await world.warden.sanctions.history(did)).toEqual([]);

    const applied: Sanction[] = [];
    const enforced: string[] = [];
    world.warden.on("sanction:applied", (s) => applied.push(s));
    world.warden.on("sanction:enforced", (e) => enforced.push(`${e.action}:${e.sessionId}`));
    await issue(sub, "kick");
    await seen.left;
    expect(applied.map((s) => s.kind)).toEqual(["kick"]);
    expect(enforced).toEqual([`close:${room.sessionId}`]);
  });
});
