/**
 * Scenario 4 — load. A demo world in its own process (fixture server, default warden
 * options, Redis started here) and a few hundred real SDK clients in this process, spread
 * over rooms, for REL_LOAD_SECONDS (default 60). About 10 % misbehave: half flood moves,
 * half write abusive chat.
 *
 * Expected: no notice, no event and no sanction for a well-behaved player (and every one
 * of their chats delivered); every flooder warned, muted and kicked, every abuser warned,
 * muted and kicked (the detector still reads a muted player's chat, so abuse while muted
 * keeps climbing), by the policy, in that order (default ladders); and the server's offense
 * count equal to the events in Redis (the feed, and the sum of the per-ID histories).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ChatDetector } from "../../src/guard/chat.js";
import { feedLength, historiesTotal, historyLength, ownRedis, sleep, type OwnRedis } from "./helpers/redis.js";
import { startFixtureServer, type ServerProcess } from "./helpers/server.js";
import {
  figure,
  join,
  JWT_SECRET,
  leave,
  percentile,
  WARDEN_SECRET,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";
import { deriveDigitalId } from "../../src/index.js";

const CLIENTS = Number(process.env.REL_LOAD_CLIENTS ?? 300);
const ROOMS = Number(process.env.REL_LOAD_ROOMS ?? 12);
const SECONDS = Number(process.env.REL_LOAD_SECONDS ?? 60);
const MISBEHAVING_EVERY = 10; // one client in ten
const MISBEHAVE_FROM_MS = 5000;
const prefix = "rel-load";

const CLEAN_TEXTS = [
  "hello there friend",
  "nice tree by the river",
  "going north to the bridge",
  "who wants to join the party",
  "gg well played",
  "see you later",
  "found some gold near the stone",
  "my sword is sharp today",
  "the wind is strong here",
  "meet me at home base",
  "any quest for me",
  "look at that map",
];
const ABUSIVE_TEXTS = ["FUCK you", "fück off", "sh1t head", "fuuuuuck", "f\u200bu\u200bc\u200bk"];

type Role = "clean" | "flooder" | "abuser";
interface LoadPlayer extends Player {
  role: Role;
  did: string;
  chatsSent: Map<string, number>;
  chatsEchoed: number;
  echoLatencies: number[];
  chatsReceived: number;
  movesSent: number;
}

let redis: OwnRedis;
let server: ServerProcess;
const players: LoadPlayer[] = [];
const timers: NodeJS.Timeout[] = [];
const processErrors = watchProcessErrors();
const measured = { joinMs: 0, runMs: 0, serverCpuMs: 0, testCpuMs: 0 };

function cpuOfPid(pid: number): number {
  // utime + stime, in clock ticks (100 Hz on Linux): ms = ticks * 10
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

beforeAll(async () => {
  redis = await ownRedis();
  server = await startFixtureServer({
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 0,
    warden: { secret: WARDEN_SECRET, store: redis.url, prefix },
  });
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  for (const t of timers) clearInterval(t);
  await Promise.all(players.map((p) => leave(p)));
  await server?.kill("SIGTERM");
  await redis?.close();
}, 60_000);

function roleOf(i: number): Role {
  if (i % MISBEHAVING_EVERY !== MISBEHAVING_EVERY - 1) return "clean";
  return Math.floor(i / MISBEHAVING_EVERY) % 2 === 0 ? "flooder" : "abuser";
}

async function joinAll(): Promise<void> {
  const roomIds: string[] = [];
  const make = async (i: number): Promise<void> => {
    const sub = `load-${i}`;
    const roomId = roomIds[i % ROOMS];
    const p = await join(server.port, sub, roomId ? { roomId } : {});
    if (!roomId) roomIds[i % ROOMS] = p.room.roomId;
    const lp: LoadPlayer = Object.assign(p, {
      role: roleOf(i),
      did: deriveDigitalId(WARDEN_SECRET, sub),
      chatsSent: new Map<string, number>(),
      chatsEchoed: 0,
      echoLatencies: [] as number[],
      chatsReceived: 0,
      movesSent: 0,
    });
    p.room.onMessage("chat", (chat: { from: string; text: string }) => {
      lp.chatsReceived++;
      if (chat.from !== p.room.sessionId) return;
      const t = lp.chatsSent.get(chat.text);
      if (t === undefined) return;
      lp.chatsEchoed++;
      lp.echoLatencies.push(Date.now() - t);
    });
    players[i] = lp;
  };
  for (let i = 0; i < ROOMS; i++) await make(i); // one creator per room
  for (let i = ROOMS; i < CLIENTS; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, CLIENTS - i) }, (_, k) => make(i + k)));
  }
}

function drive(p: LoadPlayer, startedAt: number): void {
  let n = 0;
  // Everybody starts clean; the misbehaving switch after MISBEHAVE_FROM_MS.
  const move = setInterval(
    () => {
      if (p.seen.leftCode !== null) return clearInterval(move);
      const misbehaving = p.role === "flooder" && Date.now() - startedAt >= MISBEHAVE_FROM_MS;
      const count = misbehaving ? 2 : 1; // flooders: 2 per 20 ms = 100/s
      for (let i = 0; i < count; i++) {
        p.room.send("move", { x: ++n % 500, y: n % 300 });
        p.movesSent++;
      }
    },
    p.role === "flooder" ? 20 : 200 + Math.floor(Math.random() * 20),
  );
  timers.push(move);
  const chatEvery = p.role === "abuser" ? 2000 : 5000;
  const firstChat = setTimeout(
    () => {
      const chat = setInterval(() => {
        if (p.seen.leftCode !== null) return clearInterval(chat);
        const abusive = p.role === "abuser" && Date.now() - startedAt >= MISBEHAVE_FROM_MS;
        const text = abusive
          ? ABUSIVE_TEXTS[n % ABUSIVE_TEXTS.length]!
          : `${CLEAN_TEXTS[n % CLEAN_TEXTS.length]} ${++n}`;
        if (!abusive) p.chatsSent.set(text, Date.now());
        p.room.send("chat", { text });
      }, chatEvery);
      timers.push(chat);
    },
    Math.floor(Math.random() * chatEvery),
  );
  timers.push(firstChat);
}

describe(`${CLIENTS} real clients in ${ROOMS} rooms for ${SECONDS} s, one in ${MISBEHAVING_EVERY} misbehaving`, () => {
  it("the clean texts are clean and the abusive ones abusive (sanity of the test itself)", () => {
    const detector = new ChatDetector({});
    for (const t of CLEAN_TEXTS) expect(detector.check(`${t} 123`), t).toBeNull();
    for (const t of ABUSIVE_TEXTS) expect(detector.check(t), t).not.toBeNull();
  });

  it("runs: the well-behaved are never sanctioned, every misbehaving one climbs the ladder, Redis holds every offense", async () => {
    const t = Date.now();
    await joinAll();
    measured.joinMs = Date.now() - t;
    const cpu0 = { server: cpuOfPid(server.child.pid!), test: process.cpuUsage() };
    const startedAt = Date.now();
    for (const p of players) drive(p, startedAt);
    await sleep(SECONDS * 1000);
    for (const tm of timers) clearInterval(tm);
    measured.runMs = Date.now() - startedAt;
    const testCpu = process.cpuUsage(cpu0.test);
    measured.testCpuMs = (testCpu.user + testCpu.system) / 1000;
    measured.serverCpuMs = cpuOfPid(server.child.pid!) - cpu0.server;
    await sleep(1500); // last echoes and escalations
    expect(await server.drain()).toBe(true);
    const stats = await server.stats();

    const clean = players.filter((p) => p.role === "clean");
    const flooders = players.filter((p) => p.role === "flooder");
    const abusers = players.filter((p) => p.role === "abuser");
    const sanctionsOf = async (p: LoadPlayer) => {
      const all = await redis.admin.hgetall(`${prefix}:{${p.did}}:sanctions`);
      return Object.entries(all)
        .filter(([f]) => !f.endsWith(":r"))
        .map(([, v]) => JSON.parse(v) as { kind: string; by: string; start: number })
        .sort((x, y) => x.start - y.start);
    };

    // Figures first, so that a failure still reports them.
    const sent = { moves: 0, chats: 0, received: 0 };
    for (const p of players) {
      sent.moves += p.movesSent;
      sent.chats += p.chatsSent.size;
      sent.received += p.chatsReceived;
    }
    const latencies = clean.flatMap((p) => p.echoLatencies);
    const feed = await feedLength(redis.admin, prefix);
    const histories = await historiesTotal(redis.admin, prefix);
    const s = measured.runMs / 1000;
    figure("load", "run", {
      clients: CLIENTS,
      rooms: ROOMS,
      seconds: Math.round(s),
      flooders: flooders.length,
      abusers: abusers.length,
      joinAllMs: measured.joinMs,
      movesPerSecond: Math.round(sent.moves / s),
      cleanChatsPerSecond: Math.round(sent.chats / s),
      chatDeliveriesPerSecond: Math.round(sent.received / s),
      cleanChatEchoMs: {
        n: latencies.length,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
      },
      serverCpuPercent: Math.round((measured.serverCpuMs / measured.runMs) * 100),
      clientsCpuPercent: Math.round((measured.testCpuMs / measured.runMs) * 100),
    });
    figure("load", "offenses", {
      serverOffenses: stats.offenses,
      recorded: stats.recorded,
      overflowed: stats.overflowed,
      feed,
      perIdHistories: histories.events,
      idsWithHistory: histories.ids,
      policySanctions: stats.policySanctions,
    });

    // The well-behaved: nothing at all, and every chat of theirs delivered.
    const wronged: string[] = [];
    for (const p of clean) {
      if (p.seen.notices.length > 0 || p.seen.leftCode !== null)
        wronged.push(`${p.sub}: notices ${p.seen.notices.map((n) => n.kind)} left ${p.seen.leftCode}`);
      if ((await historyLength(redis.admin, prefix, p.did)) !== 0) wronged.push(`${p.sub}: has offense events`);
      if ((await sanctionsOf(p)).length !== 0) wronged.push(`${p.sub}: has sanctions`);
      if (p.chatsEchoed !== p.chatsSent.size)
        wronged.push(`${p.sub}: ${p.chatsSent.size - p.chatsEchoed} of ${p.chatsSent.size} chats not delivered`);
    }
    // Soft expectations: every category is checked and reported, even after a failure.
    expect.soft(wronged).toEqual([]);
    // The misbehaving: the default ladders, each step once, by the policy.
    const offLadder: string[] = [];
    for (const p of flooders) {
      const kinds = (await sanctionsOf(p)).map((x) => `${x.kind}:${x.by}`);
      if (
        JSON.stringify(kinds) !== JSON.stringify(["warn:policy", "mute:policy", "kick:policy"]) ||
        p.seen.leftCode !== 4401
      )
        offLadder.push(`${p.sub} (flooder): ${kinds.join(", ")}; closed ${p.seen.leftCode}`);
    }
    for (const p of abusers) {
      const kinds = (await sanctionsOf(p)).map((x) => `${x.kind}:${x.by}`);
      const notices = p.seen.notices.map((n) => n.kind).slice(0, 2);
      if (
        JSON.stringify(kinds) !== JSON.stringify(["warn:policy", "mute:policy", "kick:policy"]) ||
        JSON.stringify(notices) !== JSON.stringify(["warn", "mute"]) ||
        p.seen.leftCode !== 4401
      ) {
        offLadder.push(
          `${p.sub} (abuser): ${kinds.join(", ")}; notices ${notices.join(", ")}; closed ${p.seen.leftCode}`,
        );
      }
    }
    expect.soft(offLadder).toEqual([]);
    // Counting: every offense the server detected is in Redis once.
    expect.soft(stats).toMatchObject({ buffered: 0, overflowed: 0 });
    expect.soft(stats.recorded).toBe(stats.offenses);
    expect.soft(feed).toBe(stats.offenses);
    expect.soft(histories.events).toBe(stats.offenses);
    expect.soft(histories.ids).toBe(flooders.length + abusers.length);
    expect.soft(stats.policySanctions).toBe(3 * flooders.length + 3 * abusers.length);
    // And the server held.
    expect.soft(server.alive()).toBe(true);
    expect.soft(server.crashLines()).toEqual([]);
    expect.soft(processErrors.errors).toEqual([]);
  });
});
