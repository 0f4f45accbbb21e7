/**
 * Ban evasion (issue 13).
 *
 * (a) The pure parts: addresses (IPv4, IPv6, mapped, zone ids, ports), network prefixes,
 *     the client address behind trusted proxies (a forged `X-Forwarded-For` from an
 *     untrusted socket is ignored; a chain through two trusted proxies is followed), device
 *     ids, keyed hashes (domain-separated per type), links (crowded signals link nobody,
 *     strength, level, recency), the options.
 * (b) A real demo world over Redis with real SDK clients, behind a trusted proxy (the test
 *     sockets come from 127.0.0.1, which is trusted; each client sends its own
 *     `X-Forwarded-For`): two accounts on one device are linked; a banned player's new
 *     account is flagged within a second of joining and neither banned nor kicked (or only
 *     muted, with `action: "mute"`); 50 accounts behind one address are not linked; a
 *     dismissed link stops flagging; `forget` erases the signals; no raw address or device
 *     id is in any Redis key or value, nor in anything the warden logged. And the canary for
 *     the one private read (`client.ref._socket.remoteAddress`) and the `_onJoin` hook.
 */
import { createHmac, randomBytes } from "node:crypto";
import { matchMaker } from "@colyseus/core";
import { Client, type Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { createWarden, type WardenOptions } from "../src/index.js";
import { connectionInfo, peerAddress } from "../src/plugin/intercept.js";
import type { EvasionRecord } from "../src/reviews/model.js";
import type { SignalPeers } from "../src/signals/model.js";
import { EVASION_DEFAULTS, resolveEvasion } from "../src/signals/options.js";
import {
  clientAddress,
  formatAddress,
  forwardedForOf,
  inCidr,
  isDeviceId,
  keyedSignal,
  levelOf,
  linksFrom,
  MAX_FORWARDED_LENGTH,
  networkPrefix,
  parseAddress,
  parseCidr,
  RECENT_MS,
} from "../src/signals/signals.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { JWT_SECRET, token, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// (a) Pure
// ---------------------------------------------------------------------------------------

const text = (value: string) => {
  const a = parseAddress(value);
  return a === null ? null : formatAddress(a);
};
const cidrs = (...list: string[]) => list.map((c) => parseCidr(c)!);
const via = (socket: string, header: string | undefined, trusted: string[]) => {
  const a = clientAddress(socket, header, cidrs(...trusted));
  return a === null ? null : formatAddress(a);
};

describe("addresses", () => {
  it("parses and normalises IPv4, IPv6, mapped IPv6, ports and zone ids", () => {
    expect(text("203.0.113.7")).toBe("203.0.113.7");
    expect(text(" 203.0.113.7 ")).toBe("203.0.113.7");
    expect(text("203.0.113.7:5678")).toBe("203.0.113.7");
    expect(text("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(text("::FFFF:cb00:7107")).toBe("203.0.113.7");
    expect(parseAddress("::ffff:127.0.0.1")?.version).toBe(4);
    expect(text("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(text("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(text("[2001:db8::1]")).toBe("2001:db8::1");
    expect(text("fe80::1%eth0")).toBe("fe80::1");
    expect(text("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(text("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(text("::")).toBe("::");
    expect(text("::1")).toBe("::1");
    expect(text("1::")).toBe("1::");
    expect(text("64:ff9b::192.0.2.33")).toBe("64:ff9b::c000:221");
    for (const bad of [
      "",
      "unknown",
      "example.com",
      "01.2.3.4",
      "1.2.3",
      "1.2.3.256",
      "1.2.3.4.5",
      "2001:db8::1::2",
      "2001:db8:::1",
      "12345::",
      "[2001:db8::1]x",
      "_hidden",
      "1".repeat(200),
    ])
      expect(text(bad), bad).toBeNull();
    expect(parseAddress(undefined)).toBeNull();
    expect(parseAddress(42)).toBeNull();
  });

  it("reduces an address to its network prefix", () => {
    const p = (a: string, v4 = 24, v6 = 64) => networkPrefix(parseAddress(a)!, v4, v6);
    expect(p("203.0.113.77")).toBe("203.0.113.0/24");
    expect(p("::ffff:203.0.113.77")).toBe("203.0.113.0/24");
    expect(p("203.0.113.77", 20)).toBe("203.0.112.0/20");
    expect(p("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(p("2001:db8:1:2:3:4:5:6", 24, 48)).toBe("2001:db8:1::/48");
    // Two hosts of one subscriber's /64 share the prefix, not the address.
    expect(p("2001:db8:1:2::a")).toBe(p("2001:db8:1:2:ffff::b"));
  });

  it("reads networks and tells whether an address lies in one", () => {
    const inside = (a: string, c: string) => inCidr(parseAddress(a)!, parseCidr(c)!);
    expect(inside("10.1.2.3", "10.0.0.0/8")).toBe(true);
    expect(inside("11.1.2.3", "10.0.0.0/8")).toBe(false);
    expect(inside("::ffff:10.1.2.3", "10.0.0.0/8")).toBe(true);
    expect(inside("10.1.2.3", "::ffff:10.0.0.0/104")).toBe(true);
    expect(inside("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(inside("127.0.0.2", "127.0.0.1")).toBe(false);
    expect(inside("2001:db8:5::1", "2001:db8::/32")).toBe(true);
    expect(inside("2001:db9::1", "2001:db8::/32")).toBe(false);
    expect(inside("10.1.2.3", "::/0")).toBe(false);
    for (const bad of ["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/x", "10.0.0.0/", "nope/8", "::ffff:10.0.0.0/90"])
      expect(parseCidr(bad), bad).toBeNull();
  });

  it("trusts X-Forwarded-For only from a trusted proxy, right to left", () => {
    // No trusted proxy: the socket, whatever the client wrote.
    expect(via("198.51.100.9", "1.2.3.4", [])).toBe("198.51.100.9");
    // A forged header from a socket that is not a trusted proxy: ignored.
    expect(via("198.51.100.9", "1.2.3.4", ["10.0.0.0/8"])).toBe("198.51.100.9");
    // The trusted proxy appended the client's address.
    expect(via("10.0.0.2", "198.51.100.9", ["10.0.0.0/8"])).toBe("198.51.100.9");
    expect(via("::ffff:127.0.0.1", "198.51.100.9", ["127.0.0.1"])).toBe("198.51.100.9");
    // Through two trusted proxies; what the client wrote further left is never read.
    expect(via("10.0.0.2", "1.2.3.4, 198.51.100.9, 10.0.0.1", ["10.0.0.0/8"])).toBe("198.51.100.9");
    expect(via("10.0.0.2", "garbage, 198.51.100.9,10.0.0.1", ["10.0.0.0/8"])).toBe("198.51.100.9");
    expect(via("10.0.0.2", "1.2.3.4, [2001:db8::7]:1234, 10.0.0.1", ["10.0.0.0/8"])).toBe("2001:db8::7");
    // A malformed entry where the proxies wrote: the header is ignored.
    expect(via("10.0.0.2", "198.51.100.9, unknown", ["10.0.0.0/8"])).toBe("10.0.0.2");
    expect(via("10.0.0.2", "198.51.100.9,,10.0.0.1", ["10.0.0.0/8"])).toBe("10.0.0.2");
    expect(via("10.0.0.2", "", ["10.0.0.0/8"])).toBe("10.0.0.2");
    // No header: the proxy itself.
    expect(via("10.0.0.2", undefined, ["10.0.0.0/8"])).toBe("10.0.0.2");
    // Every entry a trusted proxy: the left-most.
    expect(via("10.0.0.2", "10.0.0.9, 10.0.0.1", ["10.0.0.0/8"])).toBe("10.0.0.9");
    // Bounded: a huge header is read from its right end only.
    const padded = `${"1.1.1.1,".repeat(500)}198.51.100.9, 10.0.0.1`;
    expect(padded.length).toBeGreaterThan(MAX_FORWARDED_LENGTH);
    expect(via("10.0.0.2", padded, ["10.0.0.0/8"])).toBe("198.51.100.9");
    // A chain of trusted proxies longer than the bound: ignored.
    expect(via("10.0.0.2", Array(20).fill("10.0.0.1").join(","), ["10.0.0.0/8"])).toBe("10.0.0.2");
    // No socket address: no address at all.
    expect(via("", "198.51.100.9", ["10.0.0.0/8"])).toBeNull();
    expect(forwardedForOf({ "X-Forwarded-For": "1.2.3.4" })).toBe("1.2.3.4");
    expect(forwardedForOf({ "x-forwarded-for": ["1.2.3.4", "5.6.7.8"] })).toBe("1.2.3.4,5.6.7.8");
    expect(forwardedForOf({ "x-forwarded-for": 7 })).toBeUndefined();
    expect(forwardedForOf(undefined)).toBeUndefined();
  });
});

describe("device ids and keyed hashes", () => {
  it("takes 8-128 characters of A-Z a-z 0-9 _ - and ignores anything else", () => {
    expect(isDeviceId("abcdEFGH")).toBe(true);
    expect(isDeviceId(randomBytes(16).toString("base64url"))).toBe(true);
    expect(isDeviceId("a".repeat(128))).toBe(true);
    for (const bad of ["short", "a".repeat(129), "has space1", "emoji😀emoji", "a/b+c=defgh", 12345678, null, {}])
      expect(isDeviceId(bad)).toBe(false);
  });

  it("is HMAC-SHA256 under the secret, domain-separated per type, 26 base32 characters", () => {
    const a = keyedSignal(WARDEN_SECRET, "device", "203.0.113.7");
    const b = keyedSignal(WARDEN_SECRET, "address", "203.0.113.7");
    expect(a).toMatch(/^[a-z2-7]{26}$/);
    expect(b).toMatch(/^[a-z2-7]{26}$/);
    expect(a).not.toBe(b);
    expect(keyedSignal(WARDEN_SECRET, "device", "203.0.113.7")).toBe(a);
    expect(keyedSignal(`${WARDEN_SECRET}x`, "device", "203.0.113.7")).not.toBe(a);
    // The reference computation: the digital IDs' base32 over the whole MAC, first 26 characters.
    const mac = createHmac("sha256", WARDEN_SECRET)
      .update("colyseus-warden/signal/v1/device\u0000203.0.113.7")
      .digest();
    let bits = "";
    for (const byte of mac) bits += byte.toString(2).padStart(8, "0");
    let expected = "";
    for (let i = 0; i < 26; i++)
      expected += "abcdefghijklmnopqrstuvwxyz234567"[Number.parseInt(bits.slice(5 * i, 5 * i + 5), 2)];
    expect(a).toBe(expected);
  });
});

describe("links", () => {
  const now = 1_800_000_000_000;
  const did = (n: number) => String.fromCharCode(97 + n).repeat(26);
  const peers = (type: SignalPeers["type"], ids: number[], lastSeen = now): SignalPeers => ({
    type,
    hash: "x".repeat(26),
    firstSeen: now - DAY,
    lastSeen: now,
    peers: ids.map((n) => ({ did: did(n), firstSeen: lastSeen - DAY, lastSeen })),
  });

  it("weighs device 1, address 0.6, prefix 0.25, halved when not seen together within a week", () => {
    expect(linksFrom([peers("device", [1])], 8, new Set(), now)[0]).toMatchObject({
      did: did(1),
      strength: 1,
      level: "strong",
      dismissed: false,
    });
    expect(linksFrom([peers("device", [1], now - RECENT_MS - 1)], 8, new Set(), now)[0]).toMatchObject({
      strength: 0.5,
      level: "medium",
    });
    expect(linksFrom([peers("device", [1], now - RECENT_MS + 1000)], 8, new Set(), now)[0]?.level).toBe("strong");
    expect(linksFrom([peers("address", [1])], 8, new Set(), now)[0]).toMatchObject({ strength: 0.6, level: "medium" });
    expect(linksFrom([peers("address", [1], now - 8 * DAY)], 8, new Set(), now)[0]).toMatchObject({
      strength: 0.3,
      level: "weak",
    });
    expect(linksFrom([peers("prefix", [1])], 8, new Set(), now)[0]).toMatchObject({ strength: 0.25, level: "weak" });
    expect([levelOf(0.9), levelOf(0.89), levelOf(0.5), levelOf(0.49)]).toEqual(["strong", "medium", "medium", "weak"]);
  });

  it("takes the strongest shared signal, explains every one, strongest link first", () => {
    const links = linksFrom(
      [peers("device", [1]), peers("address", [1, 2]), peers("prefix", [1, 2, 3])],
      8,
      new Set([did(2)]),
      now,
    );
    expect(links.map((l) => [l.did, l.strength, l.level, l.dismissed])).toEqual([
      [did(1), 1, "strong", false],
      [did(2), 0.6, "medium", true],
      [did(3), 0.25, "weak", false],
    ]);
    expect(links[0]!.signals.map((s) => [s.type, s.sharedBy, s.crowded])).toEqual([
      ["device", 2, false],
      ["address", 3, false],
      ["prefix", 4, false],
    ]);
  });

  it("a crowded signal links nobody and is shown only to explain a link made by another", () => {
    const crowd = Array.from({ length: 9 }, (_, i) => i + 1);
    // Nine others plus this one: ten IDs on one address, more than 8.
    expect(linksFrom([peers("address", crowd), peers("prefix", crowd)], 8, new Set(), now)).toEqual([]);
    // Exactly 8 IDs (7 others): not crowded.
    expect(linksFrom([peers("address", crowd.slice(0, 7))], 8, new Set(), now)).toHaveLength(7);
    const links = linksFrom([peers("device", [1]), peers("address", crowd)], 8, new Set(), now);
    expect(links).toHaveLength(1);
    expect(links[0]!.signals).toEqual([
      expect.objectContaining({ type: "device", crowded: false, sharedBy: 2 }),
      expect.objectContaining({ type: "address", crowded: true, sharedBy: 10 }),
    ]);
    // A crowded device id is no link either.
    expect(linksFrom([peers("device", crowd)], 8, new Set(), now)).toEqual([]);
  });
});

describe("options", () => {
  const quiet = { info() {}, warn() {}, error() {} };
  it("defaults to every signal on, no trusted proxy, /24 and /64, 30 days, 8 IDs, flag only", () => {
    expect(resolveEvasion(undefined)).toEqual(EVASION_DEFAULTS);
    expect(EVASION_DEFAULTS).toMatchObject({
      signals: { device: true, address: true, prefix: true },
      trustedProxies: [],
      prefixV4: 24,
      prefixV6: 64,
      retentionMs: 30 * DAY,
      crowdLimit: 8,
      action: "none",
      muteMs: 600_000,
      dismissedKeepMs: 365 * DAY,
    });
    const w = createWarden({ secret: WARDEN_SECRET, logger: quiet, evasion: { signals: { prefix: false } } });
    expect(w.options.evasion.signals).toEqual({ device: true, address: true, prefix: false });
    void w.close();
  });

  it("normalises trusted proxies and refuses what it cannot use, naming the option", () => {
    expect(
      resolveEvasion({ trustedProxies: ["10.1.2.3/8", "::ffff:127.0.0.1", "2001:DB8::/32"] }).trustedProxies,
    ).toEqual(["10.0.0.0/8", "127.0.0.1/32", "2001:db8::/32"]);
    const refused: [unknown, RegExp][] = [
      [{ trustedProxies: ["10.0.0.0/8", "proxy.local"] }, /evasion\.trustedProxies\[1\]/],
      [{ trustedProxies: "10.0.0.0/8" }, /evasion\.trustedProxies/],
      [{ prefixV6: 56 }, /evasion\.prefixV6" must be 48 or 64/],
      [{ prefixV4: 8 }, /evasion\.prefixV4/],
      [{ crowdLimit: 1 }, /evasion\.crowdLimit/],
      [{ action: "ban" }, /evasion\.action/],
      [{ muteMs: "2h" }, /evasion\.muteMs" must be at most 1 hour/],
      [{ retentionMs: "forever" }, /evasion\.retentionMs/],
      [{ signals: { device: "yes" } }, /evasion\.signals\.device/],
      [{ signals: { adress: false } }, /did you mean "evasion\.signals\.address"/],
      [{ crowdlimit: 3 }, /did you mean "evasion\.crowdLimit"/],
    ];
    for (const [value, message] of refused) {
      expect(() => resolveEvasion(value)).toThrow(message);
      expect(() => createWarden({ secret: WARDEN_SECRET, logger: quiet, evasion: value as never })).toThrow(message);
    }
    expect(() => createWarden({ secret: WARDEN_SECRET, logger: quiet, evasoin: {} } as never)).toThrow(
      /did you mean "evasion"/,
    );
  });
});

// ---------------------------------------------------------------------------------------
// (b) End to end
// ---------------------------------------------------------------------------------------

interface Player {
  room: Room;
  did: string;
  sub: string;
  left: number | null;
}

/** Everything the warden logged. */
const logged: string[] = [];
const logger = {
  info: (m: string) => logged.push(m),
  warn: (m: string) => logged.push(m),
  error: (m: string) => logged.push(m),
};
/** Every raw value a client sent (addresses and device ids): none may reach Redis or a log. */
const raw = new Set<string>();
const deviceId = () => {
  const id = randomBytes(16).toString("base64url");
  raw.add(id);
  return id;
};

const actor = { face: "code" as const, who: "api:moderator:tess", role: "moderator" };

function harness(label: string, evasion: WardenOptions["evasion"]) {
  const state = {
    world: undefined as unknown as World,
    redis: undefined as unknown as Redis,
    prefix: uniquePrefix(label),
    players: [] as Player[],
    flagged: [] as { record: EvasionRecord; at: number }[],
    n: 0,
  };
  beforeAll(async () => {
    state.redis = new Redis(redisUrl());
    state.world = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      reconnectSeconds: 0,
      warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix: state.prefix, logger, evasion },
    });
    await state.world.warden.ready();
    state.world.warden.on("evasion:flagged", (record) => state.flagged.push({ record, at: Date.now() }));
  });
  afterAll(async () => {
    await Promise.all(state.players.map((p) => Promise.race([p.room.leave().catch(() => {}), sleep(1000)])));
    await state.world?.close();
    await dropPrefix(state.redis, state.prefix);
    state.redis.disconnect();
  });
  /** A new account joining with `options` (e.g. a deviceId) from `address` (sent as X-Forwarded-For through the trusted proxy 127.0.0.1). */
  async function join(options: { deviceId?: string; address?: string; sub?: string } = {}): Promise<Player> {
    const sub = options.sub ?? `${label}-${++state.n}-${state.prefix}`;
    const headers: Record<string, string> = {};
    if (options.address !== undefined) {
      headers["x-forwarded-for"] = options.address;
      raw.add(options.address);
    }
    const c = new Client(`ws://127.0.0.1:${state.world.port}`, { headers });
    c.auth.token = token(sub);
    const room = await c.joinOrCreate("world", options.deviceId === undefined ? {} : { deviceId: options.deviceId });
    const player: Player = { room, sub, did: state.world.warden.digitalId(sub), left: null };
    room.onLeave((code: number) => {
      player.left = code;
    });
    room.onMessage("*", () => {});
    state.players.push(player);
    return player;
  }
  /** Waits until the join's signals are in the store (they are noted after the join, off its path). */
  async function noted(player: Player, count: number): Promise<void> {
    const w = state.world.warden;
    await waitFor(
      async () => (await w.store.signalsOf(player.did, Date.now(), DAY, 8)).length >= count,
      `signals of ${player.sub}`,
    );
  }
  async function leave(player: Player): Promise<void> {
    await player.room.leave().catch(() => {});
    await waitFor(async () => (await state.world.warden.sessions(player.did)).length === 0, "session unbound");
  }
  async function ban(did: string): Promise<void> {
    const result = await state.world.warden.sanctions.issue({ did, kind: "ban", reason: "cheating", by: "test" });
    expect(result.status).toBe("issued");
  }
  return { state, join, noted, leave, ban };
}

describe("end to end, flag only (action: none)", () => {
  const h = harness("evasion", { trustedProxies: ["127.0.0.1"] });
  const w = () => h.state.world.warden;

  it("reads the socket's peer address and the upgrade's headers (canary for the private reads)", async () => {
    const direct = await h.join({});
    const forwarded = await h.join({ address: "198.51.100.1" });
    await h.noted(direct, 2);
    await h.noted(forwarded, 2);
    const room = matchMaker.getLocalRoomById(direct.room.roomId)!;
    const server = room.clients.find((c) => c.sessionId === direct.room.sessionId)!;
    // `client.ref._socket.remoteAddress` (ws): the socket's peer, loopback here.
    expect(formatAddress(parseAddress(peerAddress(server))!)).toBe("127.0.0.1");
    expect(connectionInfo(server, { ip: "6.6.6.6", headers: new Headers({ "x-forwarded-for": "6.6.6.6" }) })).toEqual({
      address: peerAddress(server),
      headers: { "x-forwarded-for": "6.6.6.6" },
    });
    const hashes = async (p: Player) =>
      (await w().store.signalsOf(p.did, Date.now(), DAY, 8)).map((s) => `${s.type}:${s.hash}`).sort();
    // Without a header, the trusted proxy's own address (the socket); with one, the forwarded address.
    expect(await hashes(direct)).toEqual(
      [
        `address:${keyedSignal(WARDEN_SECRET, "address", "127.0.0.1")}`,
        `prefix:${keyedSignal(WARDEN_SECRET, "prefix", "127.0.0.0/24")}`,
      ].sort(),
    );
    expect(await hashes(forwarded)).toEqual(
      [
        `address:${keyedSignal(WARDEN_SECRET, "address", "198.51.100.1")}`,
        `prefix:${keyedSignal(WARDEN_SECRET, "prefix", "198.51.100.0/24")}`,
      ].sort(),
    );
    await h.leave(direct);
    await h.leave(forwarded);
  });

  it("links two accounts of one device, with reasons and no raw value", async () => {
    const device = deviceId();
    const a = await h.join({ deviceId: device, address: "198.51.101.1" });
    const b = await h.join({ deviceId: device, address: "198.51.102.1" });
    const c = await h.join({ address: "198.51.102.1" });
    await h.noted(a, 3);
    await h.noted(b, 3);
    await h.noted(c, 2);
    const alts = await w().evasion.alts(a.did);
    expect(alts).toEqual([
      {
        did: b.did,
        signals: [expect.objectContaining({ type: "device", sharedBy: 2, crowded: false })],
        strength: 1,
        level: "strong",
        dismissed: false,
      },
    ]);
    const fromB = await w().evasion.alts(b.did);
    expect(fromB.map((l) => [l.did, l.level, l.signals.map((s) => s.type)])).toEqual([
      [a.did, "strong", ["device"]],
      [c.did, "medium", ["address", "prefix"]],
    ]);
    expect(await w().evasion.blastRadius(b.did)).toHaveLength(2);
    expect(await w().evasion.signalCounts(b.did)).toEqual({ device: 1, address: 1, prefix: 1 });
    expect(JSON.stringify(fromB)).not.toContain(device);
    expect(JSON.stringify(fromB)).not.toContain("198.51");
    for (const p of [a, b, c]) await h.leave(p);
  });

  it("flags a banned player's new account within a second of joining, and neither bans nor kicks it", async () => {
    const device = deviceId();
    const banned = await h.join({ deviceId: device, address: "198.51.103.1" });
    await h.noted(banned, 3);
    await h.leave(banned);
    await h.ban(banned.did);
    const before = h.state.flagged.length;
    const alt = await h.join({ deviceId: device, address: "203.0.113.9" });
    const joinedAt = Date.now();
    await waitFor(() => h.state.flagged.length > before, "evasion:flagged", 1000);
    const { record, at } = h.state.flagged[before]!;
    expect(at - joinedAt).toBeLessThan(1000);
    expect(record).toMatchObject({
      type: "evasion",
      did: alt.did,
      bannedDid: banned.did,
      state: "open",
      rev: 1,
      link: { did: banned.did, level: "strong", strength: 1, dismissed: false },
    });
    expect(record.id).toMatch(new RegExp(`^${alt.did}\\.[a-z2-7]{8}\\.v$`));
    expect(record.link.signals.map((s) => s.type)).toContain("device");
    const ban = (await w().store.sanctionsOf(banned.did)).find((s) => s.kind === "ban")!;
    expect(record.banSanctionId).toBe(ban.id);
    // In the review queue, and in the live feed as the alt's suspected_evasion event.
    const queue = await w().store.reviewQueue("evasion", 100);
    expect(queue.map((r) => r.id)).toContain(record.id);
    expect((await w().evasion.queue(100)).map((r) => r.id)).toContain(record.id);
    expect(await w().evasion.get(record.id)).toEqual(record);
    await waitFor(
      async () =>
        (await w().store.readFeed("0", { count: 1000, blockMs: 0 })).some(
          (e) => e.did === alt.did && e.kind === "suspected_evasion",
        ),
      "suspected_evasion in the feed",
    );
    const event = (await w().store.readFeed("0", { count: 1000, blockMs: 0 })).find(
      (e) => e.did === alt.did && e.kind === "suspected_evasion",
    )!;
    expect(event).toMatchObject({ detector: "evasion", track: "evasion", severity: 1 });
    expect(event.evidence).toEqual({ strength: 1, types: "device", record: record.id });
    // Not banned, not muted, not kicked: a person decides.
    await sleep(300);
    expect(alt.left).toBeNull();
    expect(await w().store.sanctionsOf(alt.did)).toEqual([]);
    // Joining again while the flag waits writes no second record.
    await h.leave(alt);
    const again = await h.join({ deviceId: device, address: "203.0.113.9", sub: alt.sub });
    await sleep(400);
    expect(h.state.flagged.length).toBe(before + 1);
    expect((await w().evasion.queue(100)).filter((r) => r.did === alt.did)).toHaveLength(1);
    await expect(w().evasion.get(`${alt.did}.aaaaaaaa.v`)).rejects.toMatchObject({ code: "CASE_NOT_FOUND" });
    await h.leave(again);
  });

  it("a dismissed link stops flagging", async () => {
    const device = deviceId();
    const banned = await h.join({ deviceId: device, address: "198.51.104.1" });
    await h.noted(banned, 3);
    await h.leave(banned);
    await h.ban(banned.did);
    const before = h.state.flagged.length;
    const sibling = await h.join({ deviceId: device, address: "198.51.104.2" });
    await waitFor(() => h.state.flagged.length > before, "evasion:flagged", 1000);
    const { record } = h.state.flagged[before]!;
    expect(record.did).toBe(sibling.did);
    const decided = await w().evasion.decide(
      record.id,
      { action: "dismiss", reason: "siblings sharing a tablet" },
      { who: "api:moderator:tess" },
      async () => {
        throw new Error("a dismissal issues nothing");
      },
    );
    expect(decided).toMatchObject({
      state: "dismissed",
      rev: 2,
      decidedBy: "api:moderator:tess",
      outcome: { action: "dismissed", reason: "siblings sharing a tablet" },
    });
    await expect(
      w().evasion.decide(record.id, { action: "ban", reason: "again" }, { who: "x" }, async () => null),
    ).rejects.toMatchObject({ code: "REVIEW_CONFLICT" });
    expect((await w().evasion.queue(100)).map((r) => r.id)).not.toContain(record.id);
    expect((await w().evasion.alts(sibling.did)).find((l) => l.did === banned.did)).toMatchObject({
      level: "strong",
      dismissed: true,
    });
    expect((await w().evasion.blastRadius(banned.did)).map((l) => l.did)).not.toContain(sibling.did);
    await h.leave(sibling);
    const again = await h.join({ deviceId: device, address: "198.51.104.2", sub: sibling.sub });
    await h.noted(again, 3);
    await sleep(500);
    expect(h.state.flagged.length).toBe(before + 1);
    expect((await w().evasion.queue(100)).filter((r) => r.did === sibling.did)).toEqual([]);
    await h.leave(again);
  });

  it("a confirmed flag records the sanction the moderator issued", async () => {
    const device = deviceId();
    const banned = await h.join({ deviceId: device, address: "198.51.105.1" });
    await h.noted(banned, 3);
    await h.leave(banned);
    await h.ban(banned.did);
    const before = h.state.flagged.length;
    const alt = await h.join({ deviceId: device, address: "198.51.105.2" });
    await waitFor(() => h.state.flagged.length > before, "evasion:flagged", 1000);
    const { record } = h.state.flagged[before]!;
    const decided = await w().evasion.decide(record.id, { action: "ban", reason: "same player" }, actor, async (r) => {
      expect(r.state).toBe("confirmed");
      const issued = await w().sanctions.issue({ did: r.did, kind: "ban", reason: "same player", by: actor.who });
      return issued.status === "issued" ? issued.sanction.id : null;
    });
    expect(decided.state).toBe("confirmed");
    expect(decided.outcome).toMatchObject({ action: "banned", reason: "same player" });
    expect(decided.outcome?.sanctionId).toMatch(new RegExp(`^${alt.did}\\.`));
    expect(await w().evasion.get(record.id)).toEqual(decided);
    await waitFor(() => alt.left !== null, "the banned alt closed");
  });

  it("50 accounts behind one address are not linked to each other (crowded)", async () => {
    const crowd: Player[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const joined = await Promise.all(Array.from({ length: 10 }, () => h.join({ address: "192.0.2.50" })));
      crowd.push(...joined);
    }
    for (const p of crowd) await h.noted(p, 2);
    for (const p of crowd) expect(await w().evasion.alts(p.did), p.sub).toEqual([]);
    await Promise.all(crowd.map((p) => h.leave(p)));
  });

  it("forget erases the signals: the ID's links are gone from the others' alts", async () => {
    const device = deviceId();
    const a = await h.join({ deviceId: device, address: "198.51.106.1" });
    const b = await h.join({ deviceId: device, address: "198.51.106.1" });
    await h.noted(a, 3);
    await h.noted(b, 3);
    expect((await w().evasion.alts(a.did)).map((l) => l.did)).toEqual([b.did]);
    await h.leave(b);
    await w().evasion.dismiss(a.did, b.did);
    expect((await w().evasion.alts(a.did))[0]?.dismissed).toBe(true);
    await w().admin.forget(b.did, actor);
    expect(await w().evasion.alts(a.did)).toEqual([]);
    expect(await w().store.signalsOf(b.did, Date.now(), DAY, 8)).toEqual([]);
    expect(await w().store.dismissedLinks(a.did)).toEqual([]);
    await h.leave(a);
  });

  it("keeps no raw address or device id in Redis, nor in anything it logged", async () => {
    expect(raw.size).toBeGreaterThan(10);
    const keys = await keysUnder(h.state.redis, h.state.prefix);
    expect(keys.length).toBeGreaterThan(0);
    const r = h.state.redis;
    let dump = keys.join("\n");
    for (const key of keys) {
      const type = await r.type(key);
      if (type === "string") dump += `\n${await r.getBuffer(key).then((b) => b?.toString("latin1"))}`;
      else if (type === "hash") dump += `\n${JSON.stringify(await r.hgetall(key))}`;
      else if (type === "set") dump += `\n${(await r.smembers(key)).join(" ")}`;
      else if (type === "zset") dump += `\n${(await r.zrange(key, 0, -1, "WITHSCORES")).join(" ")}`;
      else if (type === "list") dump += `\n${(await r.lrange(key, 0, -1)).join(" ")}`;
      else if (type === "stream") dump += `\n${JSON.stringify(await r.xrange(key, "-", "+"))}`;
    }
    expect(dump).toContain("suspected_evasion");
    for (const value of [...raw, "127.0.0.1", "127.0.0.0"]) {
      expect(dump.includes(value), `${value} in Redis`).toBe(false);
      expect(logged.join("\n").includes(value), `${value} in the log`).toBe(false);
    }
  });
});

describe("end to end, action: mute", () => {
  const h = harness("evasion-mute", { trustedProxies: ["127.0.0.1"], action: "mute", muteMs: "5m" });
  const w = () => h.state.world.warden;

  it("mutes the suspected ID while the flag waits — never a ban — and lifts the mute when dismissed", async () => {
    const device = deviceId();
    const banned = await h.join({ deviceId: device, address: "198.51.107.1" });
    await h.noted(banned, 3);
    await h.leave(banned);
    await h.ban(banned.did);
    const alt = await h.join({ deviceId: device, address: "198.51.107.2" });
    await waitFor(() => h.state.flagged.length > 0, "evasion:flagged", 1000);
    const { record } = h.state.flagged[0]!;
    await waitFor(async () => (await w().store.sanctionsOf(alt.did)).length > 0, "the interim mute");
    const sanctions = await w().store.sanctionsOf(alt.did);
    expect(sanctions.map((s) => [s.kind, s.by, (s.end ?? 0) - s.start])).toEqual([["mute", "policy", 300_000]]);
    expect(sanctions[0]!.reason).not.toContain(banned.did);
    expect(sanctions[0]!.statement?.automated).toEqual({ detection: true, decision: true });
    expect(sanctions[0]!.statement?.rule?.id ?? null).toBe(w().options.conduct.rule("evasion")?.id ?? null);
    await waitFor(async () => (await w().evasion.get(record.id)).interim === sanctions[0]!.id, "interim noted");
    await sleep(300);
    expect(alt.left).toBeNull();
    expect((await w().store.sanctionsOf(alt.did)).some((s) => s.kind === "ban")).toBe(false);
    // Dismissed through the moderators' service: the mute is lifted there, audited.
    const moderator = { face: "code" as const, who: "api:moderator:mo", role: "moderator" };
    await w().admin.decideEvasion(record.id, { action: "dismiss", reason: "a friend's phone" }, moderator);
    await waitFor(
      async () => (await w().store.sanctionsOf(alt.did)).every((s) => s.revoked !== undefined),
      "the interim mute lifted",
    );
    const audit = await w().admin.auditLog({ limit: 20 });
    expect(audit.some((e) => e.action === "revoke" && e.target === sanctions[0]!.id)).toBe(true);
  });
});
