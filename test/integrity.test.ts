/**
 * Integrity of enforcement (issue 9), against a real Colyseus server, real SDK clients, raw
 * frames on their sockets, and a real Redis: a mute or freeze cannot be walked around by
 * any frame or path, flood limits hold across encodings and sessions, every frame counts,
 * forged types and unknown protocol codes are dropped and recorded, muted chat is still
 * read by the detector, sanctions issued in the join window apply, the session cap holds,
 * and the token's issuer qualifies the digital ID.
 */
import type { AddressInfo } from "node:net";
import {
  defineRoom,
  defineServer,
  definePlugins,
  matchMaker,
  Room,
  type Client as ServerClient,
  type Server,
} from "@colyseus/core";
import { schema, t, type SchemaType } from "@colyseus/schema";
import { Client, type Room as ClientRoom } from "@colyseus/sdk";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyDemoToken } from "../rooms/world.js";
import { createWarden, type Sanction, type Warden } from "../src/index.js";
import type { OffenseEvent } from "../src/recorder/offense.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { JWT_SECRET, observe, rejection, token, waitFor, type Observed } from "./helpers/world.js";

const Avatar = schema({ x: t.number() }, "IntegrityAvatar");
const State = schema({ avatars: t.map(Avatar) }, "IntegrityState");
const MoveInput = schema({ x: t.number() }, "IntegrityMoveInput");
type State = SchemaType<typeof State>;

const prefix = uniquePrefix("integrity");
let warden: Warden;
let server: Server;
let port: number;
let redis: Redis;
let account = 0;
const nextAccount = () => `integrity-${++account}-${prefix}`;
/** Server-side handler calls of the wildcard room, for forged-type checks. */
const lobbyCalls: string[] = [];
const arenas = new Map<
  string,
  { moveInputs: { get(sessionId: string): { latest: { x: number } | undefined } | undefined } }
>();

beforeAll(async () => {
  redis = new Redis(redisUrl());
  warden = createWarden({
    secret: "integrity-secret-0123456789",
    store: redisUrl(),
    prefix,
    muteTypes: ["chat", 7],
    freezeTypes: ["move", "@input"],
    maxSessionsPerId: 3,
    guard: {
      flood: {
        default: { rate: 200, burst: 400 },
        types: { shout: { rate: 1, burst: 5 }, chat: { rate: 200, burst: 400 } },
      },
      frames: { rate: 300, burst: 600 },
      // "shout" is a configured type (read by the detector): in a "*"-only room it keeps its own bucket.
      chat: { types: ["chat", "shout"] },
    },
    // Only the abuse track escalates here: the other tests must not be cut short by kicks.
    policy: { tracks: { spam: false, malformed: false, reported: false } },
    logger: { info() {}, warn() {}, error() {} },
  });

  class Arena extends Room<{ state: State }> {
    // All the claims, the issuer included (the demo's verifyDemoToken keeps sub and name only).
    static override async onAuth(token: string) {
      verifyDemoToken(token, JWT_SECRET);
      return jwt.verify(token, JWT_SECRET, { algorithms: ["HS256"] });
    }
    override plugins = definePlugins([warden.plugin()]);
    override state = new State();
    // The room's input API (Room declares no `inputs` of its own type): for the freeze test.
    readonly moveInputs = this.defineInput(MoveInput);
    override messages = {
      chat: (client: ServerClient, message: { text?: string }) =>
        this.broadcast("chat", { from: client.sessionId, name: "", text: String(message?.text) }),
      7: (client: ServerClient) => this.broadcast("seven", { from: client.sessionId }),
      shout: (client: ServerClient) => this.broadcast("shout", { from: client.sessionId }),
      marker: (client: ServerClient, message: { n?: number }) =>
        this.broadcast("marker", { from: client.sessionId, n: message?.n }),
      move: (client: ServerClient, message: { x?: number }) => {
        const avatar = this.state.avatars.get(client.sessionId);
        if (avatar !== undefined && typeof message?.x === "number") avatar.x = message.x;
      },
    };
    override onCreate() {
      arenas.set(this.roomId, this as never);
      this.onMessageBytes("chat", (client: ServerClient, bytes: Uint8Array) =>
        this.broadcast("chat-bytes", { from: client.sessionId, n: bytes.length }),
      );
    }
    override onJoin(client: ServerClient) {
      const avatar = new Avatar();
      avatar.x = 0;
      this.state.avatars.set(client.sessionId, avatar);
    }
    override onLeave(client: ServerClient) {
      this.state.avatars.delete(client.sessionId);
    }
  }

  /** A room served by a "*" fallback only. */
  class Lobby extends Room {
    static override async onAuth(jwt: string) {
      return verifyDemoToken(jwt, JWT_SECRET);
    }
    override plugins = definePlugins([warden.plugin()]);
    override messages = {
      _: (client: ServerClient, type: unknown) => {
        lobbyCalls.push(String(type));
        this.broadcast("any", {
          from: client.sessionId,
          type: typeof type === "string" || typeof type === "number" ? type : "(not a type)",
        });
      },
    };
  }

  /** A room in the older style: it awaits allowReconnection inside its own onLeave. */
  class Hall extends Room {
    static override async onAuth(jwt: string) {
      return verifyDemoToken(jwt, JWT_SECRET);
    }
    override plugins = definePlugins([warden.plugin()]);
    override messages = {
      chat: (client: ServerClient, message: { text?: string }) =>
        this.broadcast("chat", { from: client.sessionId, name: "", text: String(message?.text) }),
      marker: (client: ServerClient, message: { n?: number }) =>
        this.broadcast("marker", { from: client.sessionId, n: message?.n }),
    };
    override async onLeave(client: ServerClient, code?: number) {
      if (code === 4000) return;
      await this.allowReconnection(client, 20).catch(() => undefined);
    }
  }

  server = defineServer({
    rooms: { arena: defineRoom(Arena), lobby: defineRoom(Lobby), hall: defineRoom(Hall) },
    transport: new WebSocketTransport(),
    greet: false,
    gracefullyShutdown: false,
  });
  await server.listen(0);
  port = (server.transport.server!.address() as AddressInfo).port;
  await warden.ready();
});

afterAll(async () => {
  await server?.gracefullyShutdown(false);
  await warden?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

interface Player {
  sub: string;
  room: ClientRoom<State>;
  seen: Observed & { got: Record<string, unknown[]> };
}

async function join(
  sub: string,
  roomName: "arena" | "lobby" | "hall" = "arena",
  roomId?: string,
  jwt = token(sub),
): Promise<Player> {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = jwt;
  const room = roomId ? await c.joinById<State>(roomId) : await c.create<State>(roomName);
  room.reconnection.enabled = false;
  const seen = Object.assign(observe(room as never), { got: {} as Record<string, unknown[]> });
  for (const type of ["seven", "shout", "marker", "chat-bytes", "any"])
    room.onMessage(type, (m: unknown) => (seen.got[type] ??= []).push(m));
  return { sub, room, seen };
}

function raw(player: Player, bytes: number[]): void {
  player.room.connection.send(new Uint8Array(bytes));
}

/** msgpack fixstr of an ASCII type. */
function fixstr(text: string): number[] {
  return [0xa0 | text.length, ...Buffer.from(text)];
}

const CODE = { data: 13, bytes: 17, request: 21, ping: 18, input: 19 };

/** Sends a marker through `from` and waits until `to` got it: every frame sent before it was handled. */
async function barrier(from: Player, to: Player): Promise<void> {
  const n = Math.random();
  from.room.send("marker", { n });
  await waitFor(() => (to.seen.got.marker ?? []).some((m) => (m as { n: number }).n === n), "the marker");
}

async function events(sub: string): Promise<OffenseEvent[]> {
  await warden.recorder.drain();
  return warden.store.offensesOf(warden.digitalId(sub), { limit: 1000 });
}

async function issue(sub: string, kind: Sanction["kind"], duration?: number): Promise<Sanction> {
  const result = await warden.sanctions.issue({
    did: warden.digitalId(sub),
    kind,
    reason: `test ${kind}`,
    by: "test",
    ...(duration ? { duration } : {}),
  });
  if (result.status !== "issued") throw new Error(`not issued: ${result.reason}`);
  return result.sanction;
}

async function leave(...players: Player[]): Promise<void> {
  for (const p of players) await p.room.leave().catch(() => undefined);
}

describe("a mute or a freeze cannot be walked around", () => {
  it("a muted player's chat (and muted numeric type 7) reaches nobody, by any encoding, path or request id", async () => {
    const muted = await join(nextAccount());
    const other = await join(nextAccount(), "arena", muted.room.roomId);
    await issue(muted.sub, "mute", 60_000);
    await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    const chat = { text: "hello" };
    const payload = [0x81, ...fixstr("text"), ...fixstr("hello")];
    muted.room.send("chat", chat);
    muted.room.sendBytes("chat", new Uint8Array([1, 2, 3]));
    await muted.room.request("chat", chat).catch(() => undefined);
    raw(muted, [CODE.data, 0xd9, 4, ...Buffer.from("chat"), ...payload]); // str8
    raw(muted, [CODE.data, 0xda, 4, 0, ...Buffer.from("chat"), ...payload]); // str16
    raw(muted, [CODE.data, 0xdb, 4, 0, 0, 0, ...Buffer.from("chat"), ...payload]); // str32
    raw(muted, [CODE.data, 0xa8, 0xc1, 0xa3, 0xc1, 0xa8, 0xc1, 0xa1, 0xc1, 0xb4, ...payload]); // overlong UTF-8 "chat"
    raw(muted, [CODE.data | 0x20, ...fixstr("chat"), ...payload]); // modifier bits on the code
    raw(muted, [CODE.request, 0xc0, ...fixstr("chat"), ...payload]); // request id nil: not a number
    raw(muted, [CODE.request, 0xd4, ...fixstr("chat"), ...payload]); // request id fixext: not a number
    raw(muted, [CODE.request, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, ...fixstr("chat"), ...payload]); // float64 id
    raw(muted, [CODE.data, 7, 0x80]); // numeric 7
    raw(muted, [CODE.data, 0xcc, 7, 0x80]); // 7 as uint8
    raw(muted, [CODE.data, 0xcb, 0, 0, 0, 0, 0, 0, 0x1c, 0x40, 0x80]); // 7 as float64
    raw(muted, [CODE.data, ...fixstr("7"), 0x80]); // "7" as a string
    await barrier(muted, other);
    expect({
      chats: other.seen.chats.filter((c) => c.from === muted.room.sessionId),
      bytes: other.seen.got["chat-bytes"] ?? [],
      sevens: other.seen.got.seven ?? [],
    }).toEqual({ chats: [], bytes: [], sevens: [] });
    // The same frames from a player who is not muted all arrive: the test would see a bypass.
    raw(other, [CODE.data, 0xd9, 4, ...Buffer.from("chat"), ...payload]);
    raw(other, [CODE.request, 0xc0, ...fixstr("chat"), ...payload]);
    raw(other, [CODE.data, 0xcc, 7, 0x80]);
    other.room.sendBytes("chat", new Uint8Array([1]));
    await barrier(other, muted);
    expect(muted.seen.chats.filter((c) => c.from === other.room.sessionId)).toHaveLength(2);
    expect(muted.seen.got.seven).toHaveLength(1);
    expect(muted.seen.got["chat-bytes"]).toHaveLength(1);
    expect(warden.stats().frameDisagreements).toBe(0);
    await leave(muted, other);
  });

  it("a frozen avatar moves by no path: send, request, other encodings, defineInput", async () => {
    const frozen = await join(nextAccount());
    const arena = arenas.get(frozen.room.roomId)!;
    await issue(frozen.sub, "freeze", 60_000);
    await waitFor(() => frozen.seen.notices.some((n) => n.kind === "freeze"), "the freeze notice");
    const x = [0x81, ...fixstr("x"), 42];
    frozen.room.send("move", { x: 42 });
    // A dropped request is answered (REJECTED), not left to time out.
    const answer = await frozen.room.request("move", { x: 42 }).then(
      () => "ok",
      (e: { name: string; reason: unknown }) => `${e.name}: ${String(e.reason)}`,
    );
    expect(answer).toBe("rejected: you are frozen");
    raw(frozen, [CODE.data, 0xd9, 4, ...Buffer.from("move"), ...x]);
    raw(frozen, [CODE.request, 0xa1, ...fixstr("move"), ...x]);
    const input = frozen.room.input({ mode: "reliable" } as never) as unknown as {
      data: { x: number };
      send(): number;
    };
    input.data.x = 42;
    input.send();
    raw(frozen, [CODE.input, 0, 0, 0]);
    await barrier(frozen, frozen);
    expect(frozen.room.state.avatars.get(frozen.room.sessionId)?.x).toBe(0);
    expect(arena.moveInputs.get(frozen.room.sessionId)?.latest?.x ?? 0).toBe(0);
    // Control: once the freeze is revoked, the same input and move go through.
    const [freeze] = await warden.sanctions.active(warden.digitalId(frozen.sub));
    await warden.sanctions.revoke(freeze!.id, { by: "test", reason: "control" });
    await waitFor(() => frozen.seen.notices.some((n) => n.kind === "lifted"), "the lift notice");
    input.data.x = 7;
    input.send();
    frozen.room.send("move", { x: 5 });
    await waitFor(() => frozen.room.state.avatars.get(frozen.room.sessionId)?.x === 5, "the move after the freeze");
    await waitFor(() => arena.moveInputs.get(frozen.room.sessionId)?.latest?.x === 7, "the input after the freeze");
    await leave(frozen);
  });

  it("a freeze drops the inputs buffered before it, and the plugin says the session is frozen", async () => {
    const player = await join(nextAccount());
    const arena = arenas.get(player.room.roomId)!;
    const input = player.room.input({ mode: "reliable" } as never) as unknown as {
      data: { x: number };
      send(): number;
    };
    input.data.x = 3;
    input.send();
    await waitFor(() => arena.moveInputs.get(player.room.sessionId)?.latest?.x === 3, "the input before the freeze");
    const plugin = (arena as unknown as { plugins: { warden: { isFrozen(id: string): boolean } } }).plugins.warden;
    expect(plugin.isFrozen(player.room.sessionId)).toBe(false);
    await issue(player.sub, "freeze", 60_000);
    await waitFor(() => player.seen.notices.some((n) => n.kind === "freeze"), "the freeze notice");
    expect(plugin.isFrozen(player.room.sessionId)).toBe(true);
    // Nothing left to replay from before the freeze.
    const accessor = arena.moveInputs.get(player.room.sessionId) as unknown as { drain(): unknown[] };
    expect(accessor.drain()).toEqual([]);
    await leave(player);
  });

  it("detection still reads a muted player's chat: abuse while muted is recorded and the track climbs to a kick", async () => {
    const muted = await join(nextAccount());
    const other = await join(nextAccount(), "arena", muted.room.roomId);
    await issue(muted.sub, "mute", 600_000);
    await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    for (let i = 0; i < 4; i++) muted.room.send("chat", { text: "fuck you" });
    // abuse ladder: 1 warn, 2 mute, 4 kick — the fourth offense while muted kicks.
    const closed = await muted.seen.left;
    expect(closed.code).toBe(4401);
    const recorded = (await events(muted.sub)).filter((e) => e.kind === "abusive_text");
    expect(recorded).toHaveLength(4);
    expect(other.seen.chats.filter((c) => c.from === muted.room.sessionId)).toEqual([]);
    await leave(other);
  });

  it('in a room served by "*" only: a mute covers the muted type, and a forged type "*" never reaches the handler', async () => {
    const muted = await join(nextAccount(), "lobby");
    const other = await join(nextAccount(), "lobby", muted.room.roomId);
    await issue(muted.sub, "mute", 60_000);
    await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    lobbyCalls.length = 0;
    muted.room.send("chat", { text: "hi" });
    raw(muted, [CODE.data, 0xd9, 4, ...Buffer.from("chat"), 0x80]);
    // Type "*": Colyseus would call the "*" handler with the payload in the type's place.
    raw(muted, [CODE.data, ...fixstr("*"), ...fixstr("chat")]);
    raw(muted, [CODE.data, ...fixstr("_$bchat"), 0x80]);
    muted.room.send("wave", {});
    await waitFor(() => (other.seen.got.any ?? []).length > 0, "the wave");
    expect(lobbyCalls).toEqual(["wave"]);
    const kinds = (await events(muted.sub)).map((e) => `${e.kind}:${String(e.evidence.type)}`);
    expect(kinds).toEqual(expect.arrayContaining(["unknown_type:*", "unknown_type:_$bchat"]));
    await leave(muted, other);
  });
});

describe("flood limits", () => {
  it("hold across encodings and paths of one type", async () => {
    const shouter = await join(nextAccount());
    const other = await join(nextAccount(), "arena", shouter.room.roomId);
    for (let i = 0; i < 8; i++) shouter.room.send("shout", {});
    for (let i = 0; i < 8; i++) raw(shouter, [CODE.data, 0xd9, 5, ...Buffer.from("shout"), 0x80]);
    for (let i = 0; i < 8; i++) raw(shouter, [CODE.request, i, ...fixstr("shout"), 0x80]);
    await barrier(shouter, other);
    // burst 5, rate 1/s: at most 5 plus what a second of refill gives.
    expect((other.seen.got.shout ?? []).length).toBeLessThanOrEqual(6);
    expect((other.seen.got.shout ?? []).length).toBeGreaterThanOrEqual(5);
    await leave(shouter, other);
  });

  it('hold for a configured type that only a "*" handler serves (its own bucket, not the "*" one)', async () => {
    const shouter = await join(nextAccount(), "lobby");
    lobbyCalls.length = 0;
    for (let i = 0; i < 30; i++) shouter.room.send("shout", {});
    shouter.room.send("wave", {});
    await waitFor(() => lobbyCalls.includes("wave"), "the wave");
    // burst 5, rate 1/s (it was 30 of 30 through the shared "*" bucket).
    expect(lobbyCalls.filter((t) => t === "shout").length).toBeLessThanOrEqual(6);
    await leave(shouter);
  });

  it("outlive the session: leaving and rejoining in a loop buys no rate", async () => {
    const sub = nextAccount();
    const other = await join(nextAccount());
    const started = Date.now();
    for (let round = 0; round < 6; round++) {
      const p = await join(sub, "arena", other.room.roomId);
      for (let i = 0; i < 5; i++) p.room.send("shout", {});
      await barrier(p, other);
      await p.room.leave();
    }
    const seconds = (Date.now() - started) / 1000;
    const delivered = (other.seen.got.shout ?? []).length;
    // Without per-ID state that outlives sessions this was 30 (5 per session).
    expect(delivered).toBeLessThanOrEqual(5 + Math.ceil(seconds) + 1);
    await leave(other);
  });

  it("every frame counts, pings included: a ping flood trips the frame budget and is recorded", async () => {
    const pinger = await join(nextAccount());
    for (let i = 0; i < 1200; i++) raw(pinger, [CODE.ping]);
    await waitFor(
      async () => (await events(pinger.sub)).some((e) => e.kind === "rate" && e.evidence.type === "(frames)"),
      "the frame-budget event",
    );
    await leave(pinger);
  });
});

describe("reconnection", () => {
  it("in a room that awaits allowReconnection in onLeave, the reconnected session stays guarded (and served)", async () => {
    const muted = await join(nextAccount(), "hall");
    const other = await join(nextAccount(), "hall", muted.room.roomId);
    await issue(muted.sub, "mute", 60_000);
    await waitFor(() => muted.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    const token = muted.room.reconnectionToken;
    // An abnormal close (not 4000): the room holds the seat.
    (muted.room.connection as unknown as { transport: { ws: { close(code: number): void } } }).transport.ws.close(4010);
    await new Promise((r) => setTimeout(r, 200));
    const back = await new Client(`ws://127.0.0.1:${port}`).reconnect<State>(token);
    back.send("chat", { text: "after reconnect" });
    const n = Math.random();
    back.send("marker", { n });
    await waitFor(
      () => (other.seen.got.marker ?? []).some((m) => (m as { n: number }).n === n),
      "the marker after reconnecting",
    );
    expect(other.seen.chats.filter((c) => c.text === "after reconnect")).toEqual([]);
    await back.leave();
    await leave(other);
  });
});

describe("junk frames", () => {
  it("unknown protocol codes are dropped and recorded; the session goes on", async () => {
    const sender = await join(nextAccount());
    raw(sender, [5, 1, 2, 3]);
    raw(sender, [16, ...fixstr("chat")]); // ROOM_DATA_SCHEMA, deprecated
    raw(sender, [31]);
    await barrier(sender, sender);
    const recorded = (await events(sender.sub))
      .filter((e) => e.kind === "unknown_frame")
      .map((e) => e.evidence.protocol);
    expect(recorded.sort()).toEqual([16, 31, 5]);
    await leave(sender);
  });
});

describe("sanctions issued in the join window", () => {
  async function reserve(sub: string, roomId: string) {
    return matchMaker.joinById(roomId, {}, { token: token(sub) } as never);
  }

  it("a kick issued between seat reservation and the WebSocket join refuses that join (4401); a warn is delivered on it", async () => {
    const host = await join(nextAccount());
    const kicked = nextAccount();
    const reservation = await reserve(kicked, host.room.roomId);
    await issue(kicked, "kick");
    const c = new Client(`ws://127.0.0.1:${port}`);
    const refused = await rejection(c.consumeSeatReservation(reservation as never));
    expect(refused.code).toBe(4401);
    expect(refused.message).toContain("kicked");

    const warned = nextAccount();
    const seat = await reserve(warned, host.room.roomId);
    await issue(warned, "warn");
    const room = await new Client(`ws://127.0.0.1:${port}`).consumeSeatReservation(seat as never);
    const notices: { kind: string }[] = [];
    room.onMessage("warden:notice", (n: { kind: string }) => notices.push(n));
    await waitFor(() => notices.some((n) => n.kind === "warn"), "the warn notice on join");
    await room.leave();
    // A kick from before the reservation does not refuse a later join.
    const again = await join(kicked, "arena", host.room.roomId);
    await leave(again, host);
  });
});

describe("identity", () => {
  it("caps the sessions of one ID (4429), counting those other processes hold", async () => {
    const sub = nextAccount();
    const did = warden.digitalId(sub);
    const first = await join(sub);
    const second = await join(sub, "arena", first.room.roomId);
    const third = await join(sub, "arena", first.room.roomId);
    const refused = await rejection(join(sub, "arena", first.room.roomId));
    expect(refused.code).toBe(4429);
    await third.room.leave();
    await waitFor(async () => (await warden.sessions(did)).length === 2, "the binding to go");
    // A session in another process, as the store binds it, counts too.
    await warden.store.bindSession(
      { did, sessionId: "elsewhere", processId: "another-process", roomName: "arena", roomId: "x", since: Date.now() },
      { sanctionsMs: 60_000, bindingsMs: 60_000 },
    );
    expect((await rejection(join(sub, "arena", first.room.roomId))).code).toBe(4429);
    await warden.store.unbindSession(did, "elsewhere", "another-process");
    const fourth = await join(sub, "arena", first.room.roomId);
    await leave(first, second, fourth);
  });

  it("qualifies the digital ID by the token's issuer: one account id at two providers is two people", async () => {
    const sub = nextAccount();
    const atA = await join(sub, "arena", undefined, token(sub, sub, JWT_SECRET, { issuer: "https://a.example" }));
    const atB = await join(sub, "arena", atA.room.roomId, token(sub, sub, JWT_SECRET, { issuer: "https://b.example" }));
    const plain = await join(sub, "arena", atA.room.roomId);
    const dids = await Promise.all(
      [atA, atB, plain].map(async (p) => {
        await waitFor(
          async () =>
            (await warden.store.sessionsOf(warden.digitalId(sub, "https://a.example"))).length +
              (await warden.store.sessionsOf(warden.digitalId(sub, "https://b.example"))).length +
              (await warden.store.sessionsOf(warden.digitalId(sub))).length ===
            3,
          "three bindings",
        );
        for (const did of [
          warden.digitalId(sub, "https://a.example"),
          warden.digitalId(sub, "https://b.example"),
          warden.digitalId(sub),
        ]) {
          if ((await warden.store.sessionsOf(did)).some((b) => b.sessionId === p.room.sessionId)) return did;
        }
        return null;
      }),
    );
    expect(new Set(dids).size).toBe(3);
    // Without an issuer the ID is the one derived from the subject alone, as before.
    expect(dids[2]).toBe(warden.digitalId(sub));
    // A ban of the ID at provider A does not touch the same account id at provider B.
    await warden.sanctions.issue({ did: dids[0]!, kind: "ban", reason: "test", by: "test", duration: 60_000 });
    expect((await atA.seen.left).code).toBe(4403);
    await barrier(atB, plain);
    await leave(atB, plain);
  });
});
