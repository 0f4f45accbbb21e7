/**
 * Recording benchmark, in its own process (started by bench/run.ts, pinned to one CPU
 * when taskset is available): the warden's Recorder with a RedisStore and the default
 * recorder options (flush every 10 ms or 1000 events, one Lua script per batch, at most
 * two batches in flight), fed with offense events for 1000 digital IDs.
 *
 *   saturated: the producer keeps at most two batches buffered (closed loop), so the
 *              recorder always has a full batch ready: the most events/s one process
 *              records; latency record() → `recorded` hook at that load.
 *   half:      paced at half that rate (open loop): latency with headroom.
 *   light:     1000 events/s: latency of a normal day (dominated by the 10 ms flush timer).
 *
 * Redis's own CPU time (INFO cpu, main thread) and the scripts' execution time (INFO
 * commandstats) are read around the saturated window.
 * Environment: REDIS_URL (or `redis-cluster://host:port,…`: Redis's CPU and the scripts' time
 * are then summed over the cluster's masters), WARDEN_PREFIX; BENCH_RECORD_BUCKETS (the
 * store's recording buckets); BENCH_RECORD_BATCH / _FLUSH_MS / _IN_FLIGHT to try other
 * recorder options. --quick: shorter; --saturated-only: skip the paced phases.
 * Prints one JSON line on stdout.
 */
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { deriveDigitalId, RedisStore, type DigitalId } from "../src/index.js";
import { resolveOptions } from "../src/options.js";
import { Recorder } from "../src/recorder/recorder.js";
import type { OffenseEvent } from "../src/recorder/offense.js";
import { WARDEN_SECRET } from "./lib/clients.js";
import { round, sleep, summarize } from "./lib/stats.js";

const quick = process.argv.includes("--quick");
const url = process.env.REDIS_URL!;
const prefix = process.env.WARDEN_PREFIX!;
if (!url || !prefix) throw new Error("REDIS_URL and WARDEN_PREFIX are required");

const SATURATED_MS = quick ? 1500 : 6000;
const WARMUP_MS = quick ? 300 : 1000;
const PACED_MS = quick ? 1000 : 3000;

// The real defaults; BENCH_RECORD_BATCH / BENCH_RECORD_FLUSH_MS / BENCH_RECORD_IN_FLIGHT try others.
const options = resolveOptions({
  secret: WARDEN_SECRET,
  recorder: {
    ...(process.env.BENCH_RECORD_BATCH ? { batchSize: Number(process.env.BENCH_RECORD_BATCH) } : {}),
    ...(process.env.BENCH_RECORD_FLUSH_MS ? { flushMs: Number(process.env.BENCH_RECORD_FLUSH_MS) } : {}),
    ...(process.env.BENCH_RECORD_IN_FLIGHT ? { maxInFlight: Number(process.env.BENCH_RECORD_IN_FLIGHT) } : {}),
  },
}).recorder;
const buckets = process.env.BENCH_RECORD_BUCKETS ? Number(process.env.BENCH_RECORD_BUCKETS) : undefined;
const store = new RedisStore({ connection: url, prefix, ...(buckets === undefined ? {} : { buckets }) });
await store.connect();
/** The nodes whose INFO is read: the one Redis, or every master of a cluster. */
const monitors: Redis[] = [];
if (url.startsWith("redis-cluster://")) {
  const seed = url.slice("redis-cluster://".length).split(",")[0]!;
  const [host, port] = seed.split(":");
  const probe = new Redis({ host, port: Number(port) });
  const nodes = (await probe.call("CLUSTER", "NODES")) as string;
  probe.disconnect();
  for (const line of nodes.trim().split("\n")) {
    const [, address, flags] = line.split(" ");
    if (!flags?.includes("master")) continue;
    const [h, rest] = address!.split(":");
    monitors.push(new Redis({ host: h, port: Number(rest!.split("@")[0]), connectionName: "warden-bench-monitor" }));
  }
} else monitors.push(new Redis(url, { connectionName: "warden-bench-monitor" }));

const dids: DigitalId[] = Array.from({ length: 1000 }, (_, i) => deriveDigitalId(WARDEN_SECRET, `bench-record-${i}`));
const sentAt = new WeakMap<OffenseEvent, number>();
let latencies: number[] = [];
let collecting = false;
let failures = 0;
let lastError = "";
const recorder = new Recorder(store, 30 * 86_400_000, options, {
  halfLifeOf: () => 600_000,
  recorded(events) {
    if (!collecting) return;
    const now = performance.now();
    for (const event of events) latencies.push(now - sentAt.get(event)!);
  },
  failed(error) {
    failures++;
    lastError = String(error);
  },
  overflow() {},
});

let seq = 0;
function produce(): void {
  const event: OffenseEvent = {
    at: Date.now(),
    did: dids[seq++ % dids.length]!,
    room: { name: "world", id: "benchRoom01" },
    detector: "flood",
    kind: "rate",
    track: "spam",
    severity: 1,
    evidence: { type: "move", dropped: 12, rate: 15, burst: 30 },
  };
  sentAt.set(event, performance.now());
  recorder.record(event);
}

/** Calls of EVALSHA/EVAL and the µs Redis spent executing them (INFO commandstats): the scripts' own time. */
async function scriptStats(): Promise<{ calls: number; usec: number }> {
  let calls = 0;
  let usec = 0;
  for (const monitor of monitors) {
    const info = await monitor.info("commandstats");
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
  }
  return { calls, usec };
}

async function redisCpuMs(): Promise<number> {
  let ms = 0;
  for (const monitor of monitors) {
    const info = await monitor.info("cpu");
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
    ms += (field("used_cpu_user_main_thread") + field("used_cpu_sys_main_thread")) * 1000;
  }
  return ms;
}

/** Closed loop: at most two batches buffered. */
async function saturated() {
  let running = true;
  // One full batch waiting while two are in flight: Redis never waits for the producer.
  const limit = Number(process.env.BENCH_RECORD_QUEUE ?? options.batchSize);
  const loop = () => {
    if (!running) return;
    while (recorder.stats.buffered < limit) produce();
    setImmediate(loop);
  };
  loop();
  await sleep(WARMUP_MS);
  collecting = true;
  latencies = [];
  const r0 = recorder.stats.recorded;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuMs();
  const script0 = await scriptStats();
  await sleep(SATURATED_MS);
  const redis1 = await redisCpuMs();
  const script1 = await scriptStats();
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const recorded = recorder.stats.recorded - r0;
  running = false;
  collecting = false;
  const samples = latencies;
  await recorder.drain(10_000);
  return {
    eventsPerSec: Math.round((recorded / elapsed) * 1000),
    recorded,
    windowMs: Math.round(elapsed),
    latencyMs: summarize(samples),
    benchProcessCpu: round((cpu.user + cpu.system) / 1000 / elapsed, 2),
    redisMainThreadCpu: round((redis1 - redis0) / elapsed, 2),
    // Redis main-thread CPU per recorded event, and the part of it spent inside the Lua script
    redisUsPerEvent: round(((redis1 - redis0) * 1000) / recorded, 2),
    scriptUsPerEvent: round((script1.usec - script0.usec) / recorded, 2),
    scriptMsPerBatch: round((script1.usec - script0.usec) / 1000 / Math.max(1, script1.calls - script0.calls), 2),
    recorderProcessUsPerEvent: round((cpu.user + cpu.system) / recorded, 2),
  };
}

/** Open loop at `rate` events/s. */
async function paced(rate: number, ms: number) {
  latencies = [];
  collecting = true;
  const t0 = performance.now();
  let produced = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      if (elapsed >= ms) return resolve();
      const due = Math.floor((elapsed / 1000) * rate);
      while (produced < due) {
        produce();
        produced++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await recorder.drain(10_000);
  collecting = false;
  return { rate, latencyMs: summarize(latencies) };
}

const max = await saturated();
const saturatedOnly = process.argv.includes("--saturated-only");
const half = saturatedOnly ? null : await paced(Math.round(max.eventsPerSec / 2), PACED_MS);
const light = saturatedOnly ? null : await paced(1000, PACED_MS);
await recorder.close(5000);
await store.close();
for (const monitor of monitors) monitor.disconnect();
console.log(
  JSON.stringify({
    options,
    eventJsonBytes: JSON.stringify({
      at: Date.now(),
      did: dids[0],
      room: { name: "world", id: "benchRoom01" },
      detector: "flood",
      kind: "rate",
      track: "spam",
      severity: 1,
      evidence: { type: "move", dropped: 12, rate: 15, burst: 30 },
    }).length,
    saturated: max,
    half,
    light,
    failures,
    lastError,
    overflowed: recorder.stats.overflowed,
  }),
);
process.exit(0);
