/**
 * `npm run demo` — the demo world with scripted bots, for a first look at the warden working.
 * It starts the world (embedded store unless REDIS_URL is set), makes a personal moderator
 * credential for this run only, prints the console's address and that credential, and lets
 * five bots loose: two polite players, a spammer, an abusive chatter and a client sending
 * malformed frames. Within a minute the console's live feed shows their offenses and the
 * policy's sanctions landing (warn, mute, kick, a temporary ban); the server logs one line
 * per sanction; each bot prints what reached it (notices, close codes, refused joins).
 *
 * Development only: it runs with the published development secrets and refuses to start when
 * JWT_SECRET or WARDEN_SECRET holds a real secret or NODE_ENV is production. Environment:
 * PORT (default 2567; 0 = a free port), REDIS_URL, DEMO_SECONDS (stop after that many
 * seconds; default: run until Ctrl-C).
 */
import { randomBytes } from "node:crypto";
import { Client, type Room } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import type { WardenNotice } from "../src/index.js";
import { ListenError, startWorld, type World } from "./app.js";
import { DEV_JWT_SECRET, DEV_WARDEN_SECRET, notDevelopment } from "./dev.js";

/** Protocol.ROOM_DATA of Colyseus 0.18, followed by bytes no msgpack decoder reads. */
const GARBAGE_FRAME = new Uint8Array([13, 0xc1, 0xc1, 0xff]);

const CLEAN_LINES = [
  "hi all",
  "gg",
  "nice shot!",
  "my score is 455",
  "meet me in room 717",
  "heading north",
  "anyone up for a race?",
  "brb",
  "good game everyone",
];
const ABUSIVE_LINES = ["you are a fucking idiot", "shut up, asshole", "what a piece of shit you are"];

interface Bot {
  /** Display name, also the token's subject (`demo-<name>`). */
  name: string;
  /** What it does every `everyMs` while in a room. */
  act(room: Room, tick: number): void;
  everyMs: number;
}

const BOTS: Bot[] = [
  {
    name: "Ada",
    everyMs: 1500,
    act: (room, tick) => {
      room.send("move", { x: tick % 20, y: (tick * 3) % 20 });
      if (tick % 4 === 0) room.send("chat", { text: CLEAN_LINES[(tick / 4) % CLEAN_LINES.length] });
    },
  },
  {
    name: "Bo",
    everyMs: 2000,
    act: (room, tick) => {
      room.send("move", { x: (tick * 2) % 20, y: tick % 20 });
      if (tick % 3 === 1) room.send("chat", { text: CLEAN_LINES[(tick + 3) % CLEAN_LINES.length] });
    },
  },
  // Four chat lines a second against a budget of one a second (burst 5): the flood guard drops
  // the excess and records it on the spam track (warn, then a 5-minute mute, …).
  { name: "SpamBot", everyMs: 250, act: (room) => room.send("chat", { text: "BUY CHEAP GOLD at goldz.example!!!" }) },
  // An abusive line every few seconds: the chat detector (abuse track: warn, then a 10-minute mute).
  {
    name: "RudeRex",
    everyMs: 4000,
    act: (room, tick) => room.send("chat", { text: ABUSIVE_LINES[tick % ABUSIVE_LINES.length] }),
  },
  // Unknown message types, oversized payloads and undecodable bytes (malformed track: warn at 3,
  // kick at 10, a one-hour ban at 25 — it keeps rejoining until the ban refuses it at the gate).
  {
    name: "GlitchBot",
    everyMs: 600,
    act: (room, tick) => {
      if (tick % 3 === 0) room.send("teleport", { x: 1e9 });
      else if (tick % 3 === 1) room.send("chat", { text: "x".repeat(4000) });
      else room.connection.send(GARBAGE_FRAME);
    },
  },
];

function log(line: string): void {
  console.info(`[demo] ${line}`);
}

/** Runs one bot until `stopped`: joins, acts, reports what reaches it, rejoins after a kick. */
async function runBot(port: number, bot: Bot, stopped: () => boolean): Promise<void> {
  const token = jwt.sign({ sub: `demo-${bot.name.toLowerCase()}`, name: bot.name }, DEV_JWT_SECRET, {
    algorithm: "HS256",
    expiresIn: "1d",
  });
  let refusals = 0;
  while (!stopped()) {
    const client = new Client(`ws://127.0.0.1:${port}`);
    client.auth.token = token;
    let room: Room;
    try {
      room = await client.joinOrCreate("world");
    } catch (e) {
      const message = (e as Error).message;
      log(`${bot.name}: join refused — ${message}`);
      // Banned: the gate will say the same until the ban ends; this bot is done.
      if (/\bbanned\b/.test(message)) return;
      refusals++;
      await sleep(Math.min(30_000, 5000 * refusals), stopped);
      continue;
    }
    refusals = 0;
    log(`${bot.name} joined`);
    room.onMessage("chat", () => {});
    // Said once: a muted bot that keeps chatting is reminded at most once a second.
    let lastNotice = "";
    room.onMessage("warden:notice", (notice: WardenNotice) => {
      if (notice.message !== lastNotice) log(`${bot.name} ← ${notice.message}`);
      lastNotice = notice.message;
    });
    const left = new Promise<number>((resolve) => room.onLeave((code: number) => resolve(code)));
    let open = true;
    void left.then((code) => {
      open = false;
      log(`${bot.name}'s socket closed with ${code}`);
    });
    for (let tick = 0; open && !stopped(); tick++) {
      try {
        bot.act(room, tick);
      } catch {
        break; // the socket went away between two ticks
      }
      await sleep(bot.everyMs, stopped);
    }
    if (open) await room.leave().catch(() => {});
    await sleep(3000, stopped);
  }
}

function sleep(ms: number, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const step = () => (stopped() || Date.now() >= end ? resolve() : setTimeout(step, Math.min(200, ms)));
    step();
  });
}

/** Makes a personal staff credential through the admin API, as an admin would. */
async function staffToken(base: string, bootstrap: string, name: string, role: string): Promise<string> {
  const res = await fetch(`${base}/warden/api/staff`, {
    method: "POST",
    headers: { authorization: `Bearer ${bootstrap}`, "content-type": "application/json" },
    body: JSON.stringify({ name, role }),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 201 || typeof body.token !== "string")
    throw new Error(`could not make a staff credential (${res.status})`);
  return body.token;
}

const refused = notDevelopment(process.env, "npm run demo");
if (refused !== null) {
  console.error(`[demo] ${refused}`);
  process.exit(2);
}
const seconds = process.env.DEMO_SECONDS ? Number(process.env.DEMO_SECONDS) : undefined;
if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && seconds <= 86_400)) {
  console.error("[demo] DEMO_SECONDS must be a number of seconds from 1 to 86400");
  process.exit(2);
}
const redisUrl = process.env.REDIS_URL || undefined;
// A credential of this run only: random, never written anywhere but this terminal.
const bootstrap = randomBytes(24).toString("base64url");
let world: World;
try {
  world = await startWorld({
    port: Number(process.env.PORT ?? 2567),
    jwtSecret: DEV_JWT_SECRET,
    redisUrl,
    warden: {
      secret: DEV_WARDEN_SECRET,
      store: redisUrl,
      prefix: process.env.WARDEN_PREFIX || "warden-demo",
      // Evidence (the chat lines around an offense) makes the console's identity page worth a look.
      dueProcess: { evidence: { enabled: true } },
    },
    admin: { adminTokens: [{ name: "demo-bootstrap", token: bootstrap }] },
  });
} catch (e) {
  console.error(`[demo] ${e instanceof ListenError ? e.message : `could not start: ${(e as Error).message}`}`);
  process.exit(1);
}
const base = `http://localhost:${world.port}`;
const moderator = await staffToken(base, bootstrap, "demo-moderator", "moderator");
const admin = await staffToken(base, bootstrap, "demo-admin", "admin");
console.info(
  [
    "",
    "[demo] ─────────────────────────────────────────────────────────────",
    `[demo] the world:     ws://localhost:${world.port} (room "world")`,
    `[demo] the console:   ${base}/warden/console/`,
    `[demo] moderator credential (this run only): ${moderator}`,
    `[demo] admin credential (staff page, this run only): ${admin}`,
    `[demo] the CLI:       npm run warden -- login --url ${base}   (paste a credential)`,
    "[demo] bots: Ada and Bo play nicely; SpamBot floods the chat; RudeRex insults;",
    "[demo]       GlitchBot sends malformed frames. Watch the console's live feed.",
    "[demo] ─────────────────────────────────────────────────────────────",
    "",
  ].join("\n"),
);

let stopping = false;
const bots = BOTS.map((bot) => runBot(world.port, bot, () => stopping));
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(bots);
  await world.close();
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop());
if (seconds !== undefined) setTimeout(() => void stop(), seconds * 1000).unref();
