/**
 * `npm run bench:capacity [-- --quick] [-- --players 10000,100000,1000000] [model options]`
 *
 * The capacity model of docs/scaling.md, from figures measured here and now (issue 12, part 7):
 *
 * 1. Redis cost per operation, on a private redis-server, through the warden's real code: a
 *    real world (rooms/app.ts) with real @colyseus/sdk clients joining and leaving, offense
 *    events from real frames (unknown message types, recorded by the real recorder),
 *    sanctions from `warden.sanctions.issue` (applied live by the world), and the registry's
 *    heartbeat (`heartbeat` + `sweepDeadProcesses`, as every 5 s). Cost = Redis main-thread
 *    CPU (INFO cpu) per operation, with the commands it took (INFO commandstats).
 * 2. Bytes per stored record (INFO memory used_memory deltas over each phase).
 * 3. The model: for each fleet size, the rates it sends (from the assumptions below, each an
 *    option), processes, Redis time → shards at a main-thread budget, memory, and the first
 *    bottleneck.
 * 4. A load test of the largest row: the rates that fleet sends to ONE shard (as many shards
 *    as its Redis CPU needs, not its memory: the harder case), scaled down to
 *    what this machine's one load process can send (the scale is printed), replayed through
 *    the real RedisStore API for a few seconds; Redis main-thread CPU and each operation's
 *    p99, and the CPU extrapolated back to the full per-shard rate.
 *
 * Model options (defaults in brackets): --msgs 2 (messages a player sends a second),
 * --session-min 30 (minutes a session lasts: joins/s = players / session), --events-per-min
 * 0.002 (offense events per player-minute: ~3 a player-day), --sanctions-per-event 0.05
 * (~0.14 sanctions a player-day), --players-per-process
 * 5000, --heartbeat-s 5, --shard-budget 0.5 (of a Redis main thread), --events-days 30
 * (retention.eventsMs), --sanctions-days 365 (retention.sanctionsMs).
 * Prints a JSON line (and the tables on stderr).
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client, type Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { startWorld } from "../rooms/app.js";
import { startRedisServer } from "../scripts/redis.mjs";
import { deriveDigitalId, RedisStore, type DigitalId, type OffenseRecord } from "../src/index.js";
import { draftSanction } from "../src/sanctions/model.js";
import { round, sleep, summarize } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    players: { type: "string", default: "10000,100000,1000000" },
    msgs: { type: "string", default: "2" },
    "session-min": { type: "string", default: "30" },
    "events-per-min": { type: "string", default: "0.002" },
    "sanctions-per-event": { type: "string", default: "0.05" },
    "players-per-process": { type: "string", default: "5000" },
    "heartbeat-s": { type: "string", default: "5" },
    "shard-budget": { type: "string", default: "0.5" },
    "events-days": { type: "string", default: "30" },
    "sanctions-days": { type: "string", default: "365" },
  },
});
const num = (k: keyof typeof values) => {
  const v = Number(values[k]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
  return v;
};
const quick = values.quick === true;
const N = quick ? 60 : 300;
const JWT_SECRET = "capacity-jwt-secret-0123456789";
const SECRET = "capacity-warden-secret-0123456789";
const log = (m: string) => process.stderr.write(`[capacity] ${m}\n`);

const redis = await startRedisServer();
const admin = new Redis(redis.url);
const info = async () => {
  const cpu = await admin.info("cpu");
  const mem = await admin.info("memory");
  const stats = await admin.info("commandstats");
  const field = (text: string, name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1] ?? 0);
  let calls = 0;
  for (const m of stats.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) calls += Number(m[1]);
  return {
    cpuUs: (field(cpu, "used_cpu_user_main_thread") + field(cpu, "used_cpu_sys_main_thread")) * 1e6,
    bytes: field(mem, "used_memory"),
    calls,
  };
};
type Info = Awaited<ReturnType<typeof info>>;
const per = (a: Info, b: Info, n: number) => ({
  redisUs: round((b.cpuUs - a.cpuUs) / n, 1),
  commands: round((b.calls - a.calls) / n, 1),
  bytes: Math.round((b.bytes - a.bytes) / n),
});

const prefix = "capacity";
const world = await startWorld({
  port: 0,
  jwtSecret: JWT_SECRET,
  redisUrl: undefined, // Colyseus's own matchmaking stays local: the warden's Redis cost alone
  warden: {
    secret: SECRET,
    store: redis.url,
    prefix,
    logger: { info() {}, warn() {}, error() {} },
    // Every client here comes from 127.0.0.1: one address shared by thousands of IDs, a crowd
    // whose bookkeeping no real fleet pays. Network signals off; the device signal stays on.
    evasion: { signals: { address: false, prefix: false } },
  },
});
const sdk = (sub: string) => {
  const c = new Client(`ws://127.0.0.1:${world.port}`);
  c.auth.token = jwt.sign({ sub, name: sub.slice(0, 20) }, JWT_SECRET, { algorithm: "HS256" });
  return c;
};
const measured: Record<string, { redisUs: number; commands: number; bytes: number }> = {};
try {
  await world.warden.ready();
  // Warm-up (rooms exist, scripts loaded).
  for (let i = 0; i < 10; i++) await (await sdk(`warm-${i}`).joinOrCreate("world")).leave();
  await sleep(300);

  // Joins: the gate's reads, the binding, profile, name and signal writes (after the join).
  let a = await info();
  const rooms: Room[] = [];
  for (let i = 0; i < N; i++) rooms.push(await sdk(`player-${i}`).joinOrCreate("world"));
  await sleep(500);
  let b = await info();
  measured.join = per(a, b, N);

  // Offense events from real frames: an unknown message type, 3 per player (the ladder's warn at 3).
  a = await info();
  const recorded0 = world.warden.stats().recorded;
  for (const room of rooms) for (let k = 0; k < 3; k++) room.send("teleport", { x: k });
  await sleep(300);
  await world.warden.recorder.drain(10_000);
  await sleep(300);
  b = await info();
  const events = world.warden.stats().recorded - recorded0;
  measured.event = per(a, b, events);

  // Sanctions issued by a person (a 10-minute mute each), applied live in the world.
  a = await info();
  for (let i = 0; i < N; i++)
    await world.warden.sanctions.issue({
      did: world.warden.digitalId(`player-${i}`),
      kind: "mute",
      duration: 600_000,
      reason: "capacity",
      by: "staff:capacity",
    });
  await sleep(300);
  b = await info();
  measured.sanction = per(a, b, N);

  // Leaves: the binding removed.
  a = await info();
  for (const room of rooms) await room.leave();
  await sleep(500);
  b = await info();
  measured.leave = per(a, b, N);

  // The process heartbeat, as the registry beats.
  a = await info();
  for (let i = 0; i < N; i++) {
    await world.warden.store.heartbeat(world.warden.processId, Date.now(), 15_000);
    await world.warden.store.sweepDeadProcesses(Date.now());
  }
  b = await info();
  measured.heartbeat = per(a, b, N);
} finally {
  await world.close();
}
log(`measured per operation: ${JSON.stringify(measured)}`);

// ------------------------------------------------------------------------------- the model
const A = {
  msgs: num("msgs"),
  sessionS: num("session-min") * 60,
  eventsPerPlayerS: num("events-per-min") / 60,
  sanctionsPerEvent: num("sanctions-per-event"),
  playersPerProcess: num("players-per-process"),
  heartbeatS: num("heartbeat-s"),
  shardBudget: num("shard-budget"),
  eventsS: num("events-days") * 86_400,
  sanctionsS: num("sanctions-days") * 86_400,
};
const fleets = values.players.split(",").map(Number);
const rows = fleets.map((players) => {
  const processes = Math.ceil(players / A.playersPerProcess);
  const rates = {
    joins: players / A.sessionS,
    leaves: players / A.sessionS,
    events: players * A.eventsPerPlayerS,
    sanctions: players * A.eventsPerPlayerS * A.sanctionsPerEvent,
    heartbeats: processes / A.heartbeatS,
  };
  const redisCores =
    (rates.joins * measured.join!.redisUs +
      rates.leaves * measured.leave!.redisUs +
      rates.events * measured.event!.redisUs +
      rates.sanctions * measured.sanction!.redisUs +
      rates.heartbeats * measured.heartbeat!.redisUs) /
    1e6;
  const memory = {
    bindings: players * Math.max(0, measured.join!.bytes),
    events: rates.events * A.eventsS * Math.max(0, measured.event!.bytes),
    sanctions: rates.sanctions * A.sanctionsS * Math.max(0, measured.sanction!.bytes),
  };
  const memoryBytes = memory.bindings + memory.events + memory.sanctions;
  const shardsForCpu = Math.max(1, Math.ceil(redisCores / A.shardBudget));
  // A shard is also bounded by memory: 25 GB of data per shard is a common ceiling.
  const shardsForMemory = Math.max(1, Math.ceil(memoryBytes / 25e9));
  return {
    players,
    processes,
    rates: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, round(v, 1)])),
    redisCores: round(redisCores, 3),
    shardsForCpu,
    shardsForMemory,
    shards: Math.max(shardsForCpu, shardsForMemory),
    memoryGB: Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, round(v / 1e9, 2)])),
    firstBottleneck: shardsForMemory > shardsForCpu ? "Redis memory (the offense history)" : "Redis CPU",
  };
});
for (const r of rows) log(`fleet ${r.players}: ${JSON.stringify(r)}`);

// --------------------------------------------------------- load test of the largest row's shard
// The shard count CPU alone needs (memory can be met by more memory, or a shorter
// retention.eventsMs): the hardest per-shard load the largest fleet can send.
const largest = rows.at(-1)!;
const shardRates = Object.fromEntries(
  Object.entries(largest.rates).map(([k, v]) => [k, (v as number) / largest.shardsForCpu]),
) as Record<string, number>;
const totalRate = Object.values(shardRates).reduce((x, y) => x + y, 0);
// What one load process here sends comfortably through the real store: at most ~3 000 ops/s.
const scale = Math.min(1, 3000 / totalRate);
const seconds = quick ? 4 : 15;
const store = new RedisStore({ connection: redis.url, prefix: `${prefix}-load` });
await store.connect();
const retention = { sanctionsMs: A.sanctionsS * 1000, bindingsMs: 86_400_000 };
const ids: DigitalId[] = Array.from({ length: 5000 }, (_, i) => deriveDigitalId(SECRET, `load-${i}`));
const latencies: Record<string, number[]> = { join: [], leave: [], event: [], sanction: [], heartbeat: [] };
let seq = 0;
const ops: Record<string, () => Promise<unknown>> = {
  // What a join asks of the store (src/sessions/gate.ts, registry.ts): the gate's two reads,
  // then the binding, the profile and the display name.
  join: async () => {
    const did = ids[seq++ % ids.length]!;
    const now = Date.now();
    await Promise.all([store.sanctionsOf(did), store.sessionsOf(did)]);
    await store.bindSession(
      { did, sessionId: `s${seq}`, processId: "pload", roomName: "world", roomId: "r1", since: now },
      retention,
    );
    await store.touchProfile(did, now, A.eventsS * 1000);
    await store.recordName(did, `player${seq % 5000}`, now, 30 * 86_400_000);
  },
  leave: () => store.unbindSession(ids[seq++ % ids.length]!, `s${seq}`, "pload"),
  event: () => {
    const batch: OffenseRecord[] = [
      {
        event: {
          at: Date.now(),
          did: ids[seq++ % ids.length]!,
          room: { name: "world", id: "r1" },
          detector: "payload",
          kind: "unknown_type",
          track: "malformed",
          severity: 1,
          evidence: { type: "teleport" },
          uid: `u${seq}`,
        },
        halfLifeMs: 600_000,
      },
    ];
    return store.recordOffenses(batch, Date.now(), A.eventsS * 1000);
  },
  sanction: () =>
    store.saveSanction(
      draftSanction(
        { did: ids[seq++ % ids.length]!, kind: "mute", duration: 600_000, reason: "load", by: "staff:load" },
        Date.now(),
      ),
      retention,
    ),
  heartbeat: async () => {
    await store.heartbeat("pload", Date.now(), 15_000);
    await store.sweepDeadProcesses(Date.now());
  },
};
/** The operation each of the model's rates is made of. */
const OP_OF_RATE: Record<string, string> = {
  joins: "join",
  leaves: "leave",
  events: "event",
  sanctions: "sanction",
  heartbeats: "heartbeat",
};
await sleep(200);
const before = await info();
const t0 = performance.now();
await Promise.all(
  Object.entries(shardRates).map(async ([kind, rate]) => {
    const name = OP_OF_RATE[kind]!;
    const every = 1000 / Math.max(rate * scale, 0.2);
    let next = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      const start = performance.now();
      await ops[name]!();
      latencies[name]!.push(performance.now() - start);
      next += every;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
const after = await info();
const cpu = (after.cpuUs - before.cpuUs) / 1e6 / elapsed;
const load = {
  fleet: largest.players,
  shards: largest.shardsForCpu,
  perShardRates: Object.fromEntries(Object.entries(shardRates).map(([k, v]) => [k, round(v, 1)])),
  scale: round(scale, 4),
  seconds: round(elapsed, 1),
  redisMainThreadCpu: round(cpu, 4),
  extrapolatedCpu: round(cpu / scale, 3),
  budget: A.shardBudget,
  withinBudget: cpu / scale <= A.shardBudget,
  p99Ms: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, summarize(v).p99])),
};
log(`load test: ${JSON.stringify(load)}`);
await store.close();
admin.disconnect();
redis.stop();
console.log(JSON.stringify({ assumptions: A, measured, rows, load }));
process.exit(0);
