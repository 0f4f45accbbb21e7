/**
 * Guards the one place where the plugin reaches into Colyseus internals
 * (src/plugin/intercept.ts). If a Colyseus upgrade moves what we wrap, these fail.
 */
import type { AddressInfo } from "node:net";
import { defineRoom, defineServer, definePlugins, Room, type Client, type Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarden, type Warden } from "../src/index.js";
import { verifyDemoToken } from "../rooms/world.js";
import { client, JWT_SECRET, observe, rejection, waitFor } from "./helpers/world.js";

let warden: Warden;
let server: Server;
let port: number;
const bannedFirst = "first-instance-banned";
const received: string[] = [];
const joined: Client[] = [];

beforeAll(async () => {
  warden = createWarden({
    secret: "intercept-secret-0123456789",
    muteTypes: ["chat", 7],
    // Our own flood limit off, so that Colyseus's maxMessagesPerSecond is what trips.
    guard: { flood: false },
    logger: { info() {}, warn() {}, error() {} },
  });
  // A ban that exists before the very first room of the class is created.
  await warden.sanctions.issue({ did: warden.digitalId(bannedFirst), kind: "ban", reason: "pre-existing", by: "test" });

  /** A room that defines onUncaughtException: Colyseus binds its hooks before plugins are wired. */
  class GuardedRoom extends Room {
    static override async onAuth(token: string) {
      return verifyDemoToken(token, JWT_SECRET);
    }
    override plugins = definePlugins([warden.plugin()]);
    override messages = {
      chat: (_client: Client, message: { text: string }) => received.push(`chat:${message.text}`),
      7: (_client: Client, message: { text: string }) => received.push(`7:${message.text}`),
      move: (_client: Client, message: { text: string }) => received.push(`move:${message.text}`),
    };
    override maxMessagesPerSecond = 20;
    override onJoin(client: Client) {
      joined.push(client);
    }
    override onUncaughtException() {}
  }
  server = defineServer({
    rooms: { guarded: defineRoom(GuardedRoom) },
    transport: new WebSocketTransport(),
    greet: false,
    gracefullyShutdown: false,
  });
  await server.listen(0);
  port = (server.transport.server!.address() as AddressInfo).port;
});

afterAll(async () => {
  await server?.gracefullyShutdown(false);
  await warden?.close();
});

describe("interception of Colyseus internals", () => {
  it("Colyseus still routes inbound frames through Room#_onMessage and offers allowReconnection", () => {
    expect(typeof (Room.prototype as unknown as Record<string, unknown>)._onMessage).toBe("function");
    expect(typeof Room.prototype.allowReconnection).toBe("function");
    const events = Object.getOwnPropertyDescriptor(Room.prototype, "onMessageEvents");
    expect(typeof events?.get).toBe("function");
  });

  it("a joined client's frames reach the guard bound to its session (Colyseus binds _onMessage per client)", async () => {
    const sub = "intercept-bound";
    const room = await client(port, sub).joinOrCreate("guarded");
    const server = joined.find((c) => c.sessionId === room.sessionId);
    const socket = (server as unknown as { ref: { listeners(event: string): { name: string }[] } }).ref;
    // The plugin's `bind` of the wrapped _onMessage: the session-bound frame function, not a lookup per frame.
    expect(socket.listeners("message").map((l) => l.name)).toContain("bound frameOfSession");
    room.send("move", { text: "bound" });
    await waitFor(() => received.includes("move:bound"), "a frame through the bound path");
    await room.leave();
  });

  it("a kick's notice and close frame leave in one write of the ws socket (corked), the notice first", async () => {
    const sub = "intercept-corked";
    const room = await client(port, sub).joinOrCreate("guarded");
    const seen = observe(room);
    const server = joined.find((c) => c.sessionId === room.sessionId);
    type Chunk = { chunk: Buffer };
    const socket = (server as unknown as { ref: { _socket: { _writev(chunks: Chunk[], cb: unknown): void } } }).ref
      ._socket;
    // Node hands a corked socket's writes to _writev in one batch: the first byte of each
    // WebSocket frame header says what it is (0x82 a binary message, 0x88 the close frame).
    const batches: number[][] = [];
    const writev = socket._writev.bind(socket);
    socket._writev = (chunks, cb) => {
      batches.push(chunks.map((c) => c.chunk[0]!));
      writev(chunks, cb);
    };
    room.send("move", { text: "corked" });
    await waitFor(() => received.includes("move:corked"), "the client in the room");
    await warden.sanctions.issue({ did: warden.digitalId(sub), kind: "kick", reason: "probe", by: "test" });
    const left = await seen.left;
    expect(left.code).toBe(4401);
    // The notice was decoded before onLeave ran: it came first on the wire.
    expect(seen.notices.map((n) => n.kind)).toContain("kick");
    const together = batches.find((b) => b.includes(0x88));
    expect(together).toBeDefined();
    expect(together!.indexOf(0x82)).toBeGreaterThanOrEqual(0);
    expect(together!.indexOf(0x82)).toBeLessThan(together!.indexOf(0x88));
  });

  it("Colyseus's own flood disconnect (maxMessagesPerSecond) is recorded, with the rate", async () => {
    const sub = "intercept-flooder";
    const room = await client(port, sub).joinOrCreate("guarded");
    const seen = observe(room);
    for (let i = 0; i < 60; i++) room.send("move", { text: String(i) });
    await waitFor(() => seen.leftCode !== null, "Colyseus closing the flooder");
    expect(seen.leftCode).toBe(4002);
    await waitFor(
      async () => (await warden.store.offensesOf(warden.digitalId(sub), { limit: 10 })).length > 0,
      "the recorded event",
    );
    const [event] = await warden.store.offensesOf(warden.digitalId(sub), { limit: 10 });
    expect(event).toMatchObject({ detector: "colyseus", kind: "flood_disconnect", track: "spam" });
    expect(String(event!.evidence.detail)).toMatch(/maxMessagesPerSecond 20/);
  });

  it("the first instance of a room class with onUncaughtException still runs the join gate", async () => {
    const refused = await rejection(client(port, bannedFirst).joinOrCreate("guarded"));
    expect(refused.code).toBe(4403);
    expect(refused.message).toContain("pre-existing");
  });

  it("every inbound frame passes the guard before the room's handler (string and numeric types)", async () => {
    const sub = "intercept-muted";
    const room = await client(port, sub).joinOrCreate("guarded");
    const seen = observe(room);
    room.send("chat", { text: "a" });
    room.send(7, { text: "a" });
    await waitFor(() => received.includes("chat:a") && received.includes("7:a"), "unmuted messages");
    await warden.sanctions.issue({
      did: warden.digitalId(sub),
      kind: "mute",
      duration: 60_000,
      reason: "probe",
      by: "test",
    });
    await waitFor(() => seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    room.send("chat", { text: "b" });
    room.send(7, { text: "b" });
    room.send("move", { text: "b" });
    await waitFor(() => received.includes("move:b"), "an unrestricted type after the muted ones");
    expect(received).not.toContain("chat:b");
    expect(received).not.toContain("7:b");
    await room.leave();
  });
});
