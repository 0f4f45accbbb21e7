/**
 * `npm run bench` (full, ~2.5 min) / `npm run bench:quick` (smoke test, < 1 min).
 *
 * Measures colyseus-warden against bare Colyseus and against Redis's own ceiling in one
 * run, prints a table (metric, value, target, met?) and writes bench/results/latest.json
 * (one number per metric, the machine, and the details behind each number). What each
 * metric is and how it is measured: bench/RESULTS.md.
 *
 * It starts what it needs: Redis through scripts/redis.mjs's resolveRedis() (REDIS_URL,
 * else 127.0.0.1:6379, else a redis-server of its own), two server processes (the demo
 * room with the plugin — bench/server.ts BENCH_VARIANT=plugin, rooms/world.ts's room —
 * and the same room without it, createWorldRoom(null) in rooms/world.ts), load-generator processes of real
 * @colyseus/sdk clients (bench/load.ts), and single-purpose processes for the guard
 * micro-benchmark (bench/guard-micro.ts), the recorder (bench/record.ts), the Lua script
 * breakdown (bench/lua-breakdown.ts) and the per-session memory (bench/session-memory.ts).
 * All traffic goes to 127.0.0.1 (a non-loopback Redis is refused unless
 * BENCH_ALLOW_REMOTE_REDIS=1), bounded in count and time; every key it writes is under a
 * unique prefix and deleted at the end.
 *
 * CPU placement on a 2-core machine (taskset, when available): the server processes,
 * the micro-benchmark and the recorder process run on CPU 0; the load generator and
 * this orchestrator (which hosts the latency-measuring SDK clients and warden "A") on
 * CPU 1; Redis is not pinned (it may not be ours).
 *
 * A missed target never fails the run: the exit code is non-zero only when the benchmark
 * itself breaks (a section throws).
 *
 * Options: --quick; --own-redis (a private redis-server instead of resolveRedis(), for
 * machines whose Redis others use too); --only=<section,...> (micro, record, cluster, idle, curve, join,
 * overhead, heap, propagation, notice; writes results/partial.json). Environment:
 * BENCH_PROFILE=<dir> (server processes write --cpu-prof profiles there; BENCH_PROFILE_WINDOWS=<dir>:
 * the curve section profiles both servers over its measured windows only; BENCH_CURVE=<n,…>:
 * the curve's client counts;
 * BENCH_CURVE_REPEATS=<n>: fresh server pairs per point, 3 in the full run; BENCH_ALLOC_WINDOWS=<dir>:
 * the curve's windows as sampled-allocation profiles, BENCH_ALLOC_LIVE=1|promoted for what they
 * retain or what survived scavenges;
 * BENCH_PROFILE_INTERVAL=<µs>; summarise with bench/profile-summary.ts), BENCH_WS=ws (the
 * load generator's SDK uses the `ws` package, not Node's built-in WebSocket),
 * BENCH_SERVER_FLAGS="<node flags>" (both servers, e.g. --trace-gc-nvp),
 * BENCH_VERBOSE=1 (child processes' output).
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import { resolveRedis, startRedisServer } from "../scripts/redis.mjs";
import { createWarden, deriveDigitalId, type Warden, type WardenNotice } from "../src/index.js";
import { JWT_SECRET, pool, sdkClient, WARDEN_SECRET } from "./lib/clients.js";
import { BenchChild, ROOT } from "./lib/ipc.js";
import { median, round, sleep, summarize, within } from "./lib/stats.js";

const quick = process.argv.includes("--quick");
const onlyArg = process.argv.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",")) : null;
const wanted = (section: string) => only === null || only.has(section);

/** Sizes of each section: full and --quick. */
const SIZE = quick
  ? {
      joinPairs: 60,
      overheadClients: 32,
      overheadRate: 64_000,
      overheadWindows: 3,
      overheadWarmMs: 1000,
      overheadMs: 1500,
      overheadMaxMs: 1000,
      heapWarm: 20,
      heapClients: 200,
      propagation: 50,
      notice: 50,
      idleMs: 3000,
      curve: [200],
      curveChatty: 200,
      curveWindows: 2,
      curveWindowMs: 2000,
      curveRepeats: 1,
    }
  : {
      joinPairs: 500,
      overheadClients: 32,
      overheadRate: 64_000,
      overheadWindows: 12,
      overheadWarmMs: 2000,
      overheadMs: 3000,
      overheadMaxMs: 2000,
      heapWarm: 50,
      heapClients: 2000,
      propagation: 200,
      notice: 200,
      idleMs: 10_000,
      curve: [500, 1000, 2000, 4000],
      // 500, not 1 000: at 1 000 the load generator saturated decoding 50-way broadcasts
      // (0.96 of its core) and both servers handled nothing in the last windows.
      curveChatty: 500,
      curveWindows: 4,
      curveWindowMs: 4000,
      curveRepeats: 3,
    };

const TARGETS = {
  overhead_ratio: { op: ">=", value: 0.95, unit: "" },
  guard_ns_per_msg: { op: "<=", value: 50, unit: "ns" },
  record_ratio: { op: ">=", value: 0.3, unit: "" },
  record_p99_ms: { op: "<=", value: 25, unit: "ms" },
  propagation_p50_ms: { op: null, value: null, unit: "ms" },
  propagation_p99_ms: { op: "<=", value: 10, unit: "ms" },
  propagation_p99_ratio: { op: "<=", value: 1.15, unit: "" },
  offense_to_notice_p99_ms: { op: "<=", value: 30, unit: "ms" },
  join_gate_p99_ms: { op: "<=", value: 1, unit: "ms" },
  bytes_per_client: { op: "<=", value: 2048, unit: "B" },
  idle_added_cores: { op: "<=", value: 0.002, unit: "cores" },
  cluster_event_cost_ratio: { op: "<=", value: 1.3, unit: "" },
  curve_min_ratio: { op: ">=", value: 0.97, unit: "" },
  curve_max_added_bytes_per_client: { op: "<=", value: 1024, unit: "B" },
} as const;
type Metric = keyof typeof TARGETS;

const metrics = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, null])) as Record<Metric, number | null>;
const details: Record<string, unknown> = {};
const errors: string[] = [];
const startedAt = new Date();
const t0 = performance.now();

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ------------------------------------------------------------------------------ set-up

// Keep this process (SDK clients that measure latencies, warden "A") off the servers' CPU.
let pinned = false;
try {
  execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
  pinned = true;
} catch {
  /* no taskset: unpinned */
}

// --own-redis: a private redis-server for this run (on a machine whose Redis others use too).
const redis = process.argv.includes("--own-redis")
  ? { ...(await startRedisServer()), started: true }
  : await resolveRedis();
const redisUrl = new URL(redis.url);
if (!["127.0.0.1", "localhost", "[::1]"].includes(redisUrl.hostname) && process.env.BENCH_ALLOW_REMOTE_REDIS !== "1") {
  redis.stop();
  console.error(
    `[bench] refusing to load a non-loopback Redis (${redisUrl.hostname}); unset REDIS_URL, or set BENCH_ALLOW_REMOTE_REDIS=1`,
  );
  process.exit(1);
}
const prefix = `bench-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const admin = new Redis(redis.url, { connectionName: "warden-bench-admin", lazyConnect: true });
await admin.connect();
const quiet = { info() {}, warn() {}, error() {} };

const info = async (section: string) => {
  const text = await admin.info(section);
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(":"))
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  ) as Record<string, string>;
};
const redisCpuMs = async () => {
  const cpu = await info("cpu");
  return (
    (Number(cpu.used_cpu_user_main_thread ?? cpu.used_cpu_user) +
      Number(cpu.used_cpu_sys_main_thread ?? cpu.used_cpu_sys)) *
    1000
  );
};

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")) as {
        version: string;
      }
    ).version;
  } catch {
    return "?";
  }
}
function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

const redisServerInfo = await info("server");
const redisStats = await info("stats");
const machine = {
  cpuModel: os.cpus()[0]?.model ?? "?",
  cores: os.cpus().length,
  memoryGB: round(os.totalmem() / 2 ** 30, 1),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  redis: redisServerInfo.redis_version ?? "?",
  redisUrl: `${redisUrl.hostname}:${redisUrl.port || 6379}`,
  redisStartedByBench: redis.started,
  redisMode: process.argv.includes("--own-redis")
    ? "private redis-server (--own-redis)"
    : process.env.REDIS_URL
      ? "REDIS_URL"
      : redis.started
        ? "started by resolveRedis()"
        : "127.0.0.1:6379 (found by resolveRedis())",
  redisBackgroundOpsPerSec: Number(redisStats.instantaneous_ops_per_sec ?? 0),
  colyseusCore: packageVersion("@colyseus/core"),
  colyseusSdk: packageVersion("@colyseus/sdk"),
  loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
  cpuPinning: pinned
    ? "taskset: servers/micro/recorder on CPU 0; load generator + orchestrator on CPU 1; Redis unpinned"
    : "none (taskset unavailable)",
  commit: git(["rev-parse", "--short", "HEAD"]),
  dirtyFiles: git(["status", "--porcelain"]).split("\n").filter(Boolean).length,
};
log(
  `${quick ? "quick" : "full"} run on ${machine.cpuModel} × ${machine.cores}, node ${machine.node}, redis ${machine.redis} at ${machine.redisUrl}, prefix ${prefix}`,
);

const children: BenchChild[] = [];
const profileDir = process.env.BENCH_PROFILE;
async function startServer(
  variant: "plugin" | "bare",
  keyPrefix = `${prefix}-world`,
  storeUrl = redis.url,
): Promise<{ child: BenchChild; port: number }> {
  // BENCH_SERVER_FLAGS: extra node flags for both servers (e.g. --trace-gc-nvp with BENCH_VERBOSE).
  const nodeFlags = ["--expose-gc", ...(process.env.BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? [])];
  if (profileDir) {
    nodeFlags.push(
      "--cpu-prof",
      `--cpu-prof-dir=${profileDir}`,
      `--cpu-prof-name=server-${variant}-${Date.now()}.cpuprofile`,
    );
    if (process.env.BENCH_PROFILE_INTERVAL) nodeFlags.push(`--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL}`);
  }
  const child = await BenchChild.start({
    script: "bench/server.ts",
    label: `server-${variant}`,
    cpu: 0,
    nodeFlags,
    env: {
      BENCH_VARIANT: variant,
      JWT_SECRET,
      ...(process.env.BENCH_SNAPSHOTS ? { BENCH_SNAPSHOTS: process.env.BENCH_SNAPSHOTS } : {}),
      ...(process.env.BENCH_ALLOC_LIVE ? { BENCH_ALLOC_LIVE: process.env.BENCH_ALLOC_LIVE } : {}),
      ...(variant === "plugin"
        ? { REDIS_URL: storeUrl, WARDEN_SECRET, WARDEN_PREFIX: keyPrefix, BENCH_FLOOD: "generous" }
        : {}),
    },
  });
  children.push(child);
  return { child, port: (child.readyData as { port: number }).port };
}

/** Runs a one-shot bench script (pinned to CPU 0) and parses the JSON line it prints. */
function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeFlags: string[] = [],
): Promise<Record<string, unknown>> {
  const nodeArgs = [...nodeFlags, "--import", "tsx", fileURLToPath(new URL(script, `file://${ROOT}`)), ...args];
  const [command, argv] = pinned
    ? ["taskset", ["-c", "0", process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      argv as string[],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        timeout: 180_000,
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${script} failed: ${error.message}\n${stderr.slice(-2000)}`));
        const line = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`${script} printed no JSON:\n${stdout.slice(-1000)}\n${stderr.slice(-1000)}`));
        }
      },
    );
  });
}

/** Per section: how long it took and how busy the whole machine was meanwhile (other processes included). */
const sectionLoad: Record<string, { seconds: number; machineBusyCores: number; loadAvg1m: number }> = {};

async function section(name: string, body: () => Promise<void>): Promise<void> {
  if (!wanted(name)) return;
  const start = performance.now();
  const stat0 = procStat();
  log(`${name}…`);
  try {
    await body();
    const stat1 = procStat();
    sectionLoad[name] = {
      seconds: round((performance.now() - start) / 1000, 1),
      machineBusyCores: round(
        ((stat1.busy - stat0.busy) / Math.max(1, stat1.total - stat0.total)) * os.cpus().length,
        2,
      ),
      loadAvg1m: round(os.loadavg()[0]!, 2),
    };
    log(`${name} done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  } catch (e) {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    errors.push(`${name}: ${message}`);
    log(`${name} FAILED: ${message}`);
  }
}

// ------------------------------------------------------------------ guard micro-benchmark

await section("micro", async () => {
  const result = await runScript("bench/guard-micro.ts", quick ? ["--quick"] : [], {}, ["--expose-gc"]);
  metrics.guard_ns_per_msg = result.guard_ns_per_msg as number;
  details.micro = result;
});

// ---------------------------------------------------------------------------- recording

const sampleEventJson = JSON.stringify({
  at: Date.now(),
  did: deriveDigitalId(WARDEN_SECRET, "bench-record-0"),
  room: { name: "world", id: "benchRoom01" },
  detector: "flood",
  kind: "rate",
  track: "spam",
  severity: 1,
  evidence: { type: "move", dropped: 12, rate: 15, burst: 30 },
});

function redisBenchmarkBinary(): string | null {
  for (const candidate of ["redis-benchmark", "/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      /* next */
    }
  }
  if (process.getuid?.() === 0) {
    try {
      log("redis-benchmark not found: installing Debian's redis-tools");
      execFileSync(
        "sh",
        [
          "-c",
          "apt-get install -y -qq redis-tools >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null 2>&1)",
        ],
        { timeout: 180_000 },
      );
      execFileSync("redis-benchmark", ["--version"], { stdio: "ignore" });
      return "redis-benchmark";
    } catch {
      /* fall back */
    }
  }
  return null;
}

/** redis-benchmark -P 16 XADD on the same Redis: its rps, its own CPU, Redis's CPU. */
async function redisBenchmarkXadd(binary: string, requests: number) {
  const key = `${prefix}-xadd`;
  const args = [
    "-h",
    redisUrl.hostname,
    "-p",
    redisUrl.port || "6379",
    "-P",
    "16",
    "-c",
    "50",
    "-n",
    String(requests),
    "--csv",
  ];
  if (redisUrl.password) args.push("-a", decodeURIComponent(redisUrl.password));
  if (redisUrl.pathname.length > 1) args.push("--dbnum", redisUrl.pathname.slice(1));
  args.push("XADD", key, "*", "e", sampleEventJson);
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  // `times` prints the CPU time of the shell's children: redis-benchmark's own cost.
  const script = `${binary} ${quoted} 2>/dev/null; times`;
  const command = pinned ? ["taskset", ["-c", "0", "bash", "-c", script]] : ["bash", ["-c", script]];
  const redis0 = await redisCpuMs();
  const wall0 = performance.now();
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(command[0] as string, command[1] as string[], { timeout: 120_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
  const wall = performance.now() - wall0;
  const redis1 = await redisCpuMs();
  await admin.unlink(key);
  // "<test name>","rps","avg","min","p50","p95","p99","max" — the name (our JSON) contains '","' too.
  const row = stdout.split("\n").find((l) => l.startsWith('"XADD'));
  const rps = Number(row?.split('","').slice(-7)[0]);
  if (!Number.isFinite(rps)) throw new Error(`could not parse redis-benchmark output:\n${stdout.slice(0, 500)}`);
  const times = stdout.trim().split("\n").slice(-1)[0] ?? ""; // children: "0m0.106s 0m0.415s"
  const seconds = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const benchCpuMs = ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000;
  return {
    rps: Math.round(rps),
    wallMs: Math.round(wall),
    redisBenchmarkCpu: round(benchCpuMs / wall, 2),
    redisMainThreadCpu: round((redis1 - redis0) / wall, 2),
    redisUsPerXadd: round(((redis1 - redis0) * 1000) / requests, 2),
  };
}

/** Fallback without redis-benchmark: 50 × pipelines of 16 XADD through ioredis. */
async function ioredisXadd(requests: number) {
  const key = `${prefix}-xadd`;
  const conn = new Redis(redis.url, { connectionName: "warden-bench-xadd" });
  let sent = 0;
  const start = performance.now();
  const worker = async () => {
    while (sent < requests) {
      const p = conn.pipeline();
      for (let i = 0; i < 16; i++) p.xadd(key, "*", "e", sampleEventJson);
      sent += 16;
      await p.exec();
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  const wall = performance.now() - start;
  await conn.unlink(key);
  conn.disconnect();
  return { rps: Math.round((sent / wall) * 1000), wallMs: Math.round(wall) };
}

await section("record", async () => {
  const rec = await runScript("bench/record.ts", quick ? ["--quick"] : [], {
    REDIS_URL: redis.url,
    WARDEN_PREFIX: `${prefix}-rec`,
  });
  const saturated = rec.saturated as { eventsPerSec: number; latencyMs: { p99: number } };
  const binary = redisBenchmarkBinary();
  let ceiling: { rps: number; [k: string]: unknown };
  let source: string;
  if (binary !== null) {
    const runs = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) runs.push(await redisBenchmarkXadd(binary, quick ? 200_000 : 1_000_000));
    const sorted = [...runs].sort((a, b) => a.rps - b.rps);
    ceiling = { ...sorted[Math.floor(sorted.length / 2)]!, runs: runs.map((r) => r.rps) };
    source = `redis-benchmark -P 16 -c 50 XADD (median of ${runs.length})`;
  } else {
    ceiling = await ioredisXadd(quick ? 200_000 : 1_000_000);
    source = "FALLBACK: ioredis, 50 concurrent pipelines of 16 XADD (redis-benchmark unavailable)";
  }
  metrics.record_ratio = round(saturated.eventsPerSec / ceiling.rps, 3);
  metrics.record_p99_ms = saturated.latencyMs.p99;
  // Full run only: the same saturated measurement with smaller batches than the default.
  const alternatives: Record<string, unknown> = {};
  if (!quick) {
    for (const batch of [200, 100]) {
      const alt = await runScript("bench/record.ts", ["--quick", "--saturated-only"], {
        REDIS_URL: redis.url,
        WARDEN_PREFIX: `${prefix}-rec${batch}`,
        BENCH_RECORD_BATCH: String(batch),
      });
      const s = alt.saturated as {
        eventsPerSec: number;
        latencyMs: { p50: number; p99: number };
        scriptMsPerBatch: number;
      };
      alternatives[`batchSize${batch}`] = {
        eventsPerSec: s.eventsPerSec,
        ratio: round(s.eventsPerSec / ceiling.rps, 3),
        latencyP50Ms: s.latencyMs.p50,
        latencyP99Ms: s.latencyMs.p99,
        scriptMsPerBatch: s.scriptMsPerBatch,
      };
    }
  }
  // Full run only: where the script's Redis time goes (bench/lua-breakdown.ts).
  const luaBreakdown = quick
    ? null
    : await runScript("bench/lua-breakdown.ts", ["--json"], {
        REDIS_URL: redis.url,
        WARDEN_PREFIX: `${prefix}-lua`,
        REPS: "20",
      }).catch((e: unknown) => ({ error: String(e) }));
  details.record = {
    recorder: rec,
    xaddCeiling: { source, eventJsonBytes: sampleEventJson.length, ...ceiling },
    otherBatchSizes: alternatives,
    luaBreakdown,
  };
});

// Recording on a Redis Cluster (issue 12): the same saturated recorder run on a private single
// Redis and on a local 3-master + 3-replica cluster, same batch size, same events, in the same
// run. Redis cost per event = main-thread CPU summed over the masters per recorded event (it
// includes what a cluster master pays that a lone Redis does not: replication to its replica,
// the cluster bus), and the scripts' own time from INFO commandstats.
await section("cluster", async () => {
  const { startRedisCluster } = await import("../scripts/redis-cluster.mjs");
  const single = await startRedisServer();
  const cluster = await startRedisCluster();
  try {
    const runs: Record<string, Record<string, unknown>> = {};
    const cases: [string, string, number][] = [
      ["single-b1", single.url, 1],
      ["single-b16", single.url, 16],
      ["cluster-b16", `redis-cluster://${cluster.spec}`, 16],
      ["cluster-b4", `redis-cluster://${cluster.spec}`, 4],
    ];
    for (const [name, url, buckets] of cases) {
      const result = await runScript("bench/record.ts", ["--saturated-only", ...(quick ? ["--quick"] : [])], {
        REDIS_URL: url,
        WARDEN_PREFIX: `${prefix}-cl-${name}`,
        BENCH_RECORD_BUCKETS: String(buckets),
      });
      runs[name] = result.saturated as Record<string, unknown>;
      const r = runs[name]!;
      log(
        `  ${name}: ${r.eventsPerSec} events/s, Redis ${r.redisUsPerEvent} µs/event (scripts ${r.scriptUsPerEvent}), p99 ${(r.latencyMs as { p99: number }).p99} ms`,
      );
    }
    // Propagation across processes: warden A here issues a ban, the client's socket in a plugin
    // server process on the same store closes. On the single Redis and on the cluster.
    const propagation: Record<string, unknown> = {};
    for (const [name, url] of [
      ["single", single.url],
      ["cluster", `redis-cluster://${cluster.spec}`],
    ] as const) {
      const keyPrefix = `${prefix}-clp-${name}`;
      const server = await startServer("plugin", keyPrefix, url);
      const wardenA = createWarden({ secret: WARDEN_SECRET, store: url, prefix: keyPrefix, logger: quiet });
      try {
        await wardenA.ready();
        const n = (quick ? 50 : 200) + 5;
        const subs = Array.from({ length: n }, (_, i) => `${keyPrefix}-${i}`);
        const rooms = await pool(n, 16, (i) => sdkClient(server.port, subs[i]!).joinOrCreate("world"));
        await sleep(300);
        const samples: number[] = [];
        for (let i = 0; i < n; i++) {
          const room = rooms[i]!;
          room.onMessage("warden:notice", () => {});
          const closed = new Promise<number>((resolve) => room.onLeave(() => resolve(performance.now())));
          const start = performance.now();
          await wardenA.sanctions.issue({
            did: deriveDigitalId(WARDEN_SECRET, subs[i]!),
            kind: "ban",
            duration: 60_000,
            reason: "bench",
            by: "bench",
          });
          const at = await within(closed, 5000, `close of sample ${i} (${name})`);
          if (i >= 5) samples.push(at - start);
          await sleep(2);
        }
        propagation[name] = summarize(samples);
        const p = propagation[name] as { p50: number; p99: number };
        log(`  propagation ${name}: p50 ${p.p50} ms, p99 ${p.p99} ms`);
      } finally {
        await wardenA.close();
        server.child.child.kill("SIGKILL");
        await server.child.stop();
      }
    }
    const cost = (name: string) => runs[name]!.redisUsPerEvent as number;
    metrics.cluster_event_cost_ratio = round(cost("cluster-b16") / cost("single-b16"), 3);
    details.cluster = {
      basis:
        "bench/record.ts --saturated-only on a private redis-server and on a local 3+3 Redis Cluster (scripts/redis-cluster.mjs), same recorder options (batch 200), 1000 IDs; Redis µs/event = main-thread CPU of the masters per recorded event",
      runs,
      propagation,
      ratios: {
        b16: round(cost("cluster-b16") / cost("single-b16"), 3),
        b4: round(cost("cluster-b4") / cost("single-b16"), 3),
        singleB16VsB1: round(cost("single-b16") / cost("single-b1"), 3),
      },
    };
  } finally {
    cluster.stop();
    single.stop();
  }
});

// ------------------------------------------------------------------ server-based sections

let bare: { child: BenchChild; port: number } | undefined;
let plugin: { child: BenchChild; port: number } | undefined;
let load: BenchChild | undefined;
const needServers = ["idle", "join", "overhead", "heap", "propagation", "notice"].some(wanted);
if (needServers) {
  try {
    [bare, plugin] = await Promise.all([startServer("bare"), startServer("plugin")]);
    load = await BenchChild.start({
      script: "bench/load.ts",
      label: "load",
      cpu: 1,
      env: { JWT_SECRET, ...(process.env.BENCH_WS ? { BENCH_WS: process.env.BENCH_WS } : {}) },
    });
    children.push(load);
  } catch (e) {
    errors.push(`start servers: ${e instanceof Error ? e.message : String(e)}`);
    log(`could not start the servers: ${String(e)}`);
  }
}

/** Machine-wide CPU time (jiffies) from /proc/stat: busy, total, steal. */
function procStat(): { busy: number; total: number; steal: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait, steal };
  } catch {
    return { busy: 0, total: 0, steal: 0 };
  }
}

interface ServerStats {
  handled: number;
  t: number;
  cpu: { user: number; system: number };
  gcMs: { total: number; scavenges: number };
  clients: number;
}

// What a server with no players costs: both fresh servers, no client yet, side by side over the
// same window. The plugin's fixed costs (its timers: the guard's clock runs only while a
// session is live; the heartbeat every 5 s) against bare Colyseus's own.
await section("idle", async () => {
  if (!bare || !plugin) throw new Error("servers not running");
  await sleep(1000);
  const [b0, p0] = await Promise.all([bare.child.call<ServerStats>("stats"), plugin.child.call<ServerStats>("stats")]);
  await sleep(SIZE.idleMs);
  const [b1, p1] = await Promise.all([bare.child.call<ServerStats>("stats"), plugin.child.call<ServerStats>("stats")]);
  const cores = (a: ServerStats, b: ServerStats) =>
    (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e3 / (b.t - a.t);
  const bareCores = cores(b0, b1);
  const pluginCores = cores(p0, p1);
  metrics.idle_added_cores = round(pluginCores - bareCores, 4);
  details.idle = {
    basis: `CPU time of each fresh server with no client over the same ${SIZE.idleMs} ms window`,
    bareCores: round(bareCores, 5),
    pluginCores: round(pluginCores, 5),
  };
  log(`  idle: bare ${round(bareCores, 5)} cores, plugin ${round(pluginCores, 5)} cores`);
});

// Join latency, plugin vs bare, paired.
await section("join", async () => {
  if (!bare || !plugin) throw new Error("servers not running");
  const anchors: Room[] = [];
  for (const s of [bare, plugin]) anchors.push(await sdkClient(s.port, `anchor-${s.port}`).joinOrCreate("world"));
  const samples = { bare: [] as number[], plugin: [] as number[] };
  const joinOnce = async (port: number, sub: string) => {
    const client = sdkClient(port, sub); // token signed before the clock starts
    const start = performance.now();
    const room = await client.join("world");
    const ms = performance.now() - start;
    await room.leave(true);
    return ms;
  };
  const warmup = 20;
  for (let i = 0; i < SIZE.joinPairs + warmup; i++) {
    const order = i % 2 === 0 ? (["bare", "plugin"] as const) : (["plugin", "bare"] as const);
    for (const variant of order) {
      const port = variant === "bare" ? bare.port : plugin.port;
      const ms = await joinOnce(port, `${prefix}-join-${variant}-${i}`);
      if (i >= warmup) samples[variant].push(ms);
    }
  }
  for (const room of anchors) await room.leave(true);
  const pairs = samples.plugin.map((p, i) => p - samples.bare[i]!);
  // The floor of what the join gate adds: one read of the ID's sanctions (HGETALL) from this process.
  const rtt: number[] = [];
  for (let i = 0; i < SIZE.joinPairs; i++) {
    const start = performance.now();
    await admin.hgetall(`${prefix}-world:{${deriveDigitalId(WARDEN_SECRET, `rtt-${i}`)}}:sanctions`);
    rtt.push(performance.now() - start);
  }
  const b = summarize(samples.bare);
  const p = summarize(samples.plugin);
  metrics.join_gate_p99_ms = round(p.p99 - b.p99, 3);
  details.join = {
    pairs: pairs.length,
    bareMs: b,
    pluginMs: p,
    pairedDifferenceMs: summarize(pairs),
    p50DifferenceMs: round(p.p50 - b.p50, 3),
    redisHgetallRoundTripMs: summarize(rtt),
  };
});

// Message throughput of the room with and without the plugin.
//
// One load-generator process cannot saturate a server core here (an SDK client spends
// more CPU per sent message than the server per handled one), and this machine is shared
// (other processes come and go). So both servers run at the same time on the same CPU,
// receive the same paced load (open loop, round-robin over 2 × N clients: exactly half
// each), and are measured over the same windows: the capacity of each is its msgs handled
// per CPU-second (= the msgs/s one fully busy core handles), and the ratio is taken per
// window, so interference hits both sides alike. Flat-out runs (each server alone, as fast
// as the sockets drain) are reported next to it.
await section("overhead", async () => {
  if (!bare || !plugin || !load) throw new Error("servers not running");
  type Stats = ServerStats;
  const both = () => Promise.all([bare!.child.call<Stats>("stats"), plugin!.child.call<Stats>("stats")]);
  const cpuUs = (a: Stats, b: Stats) => b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system;
  await load.call("join", { port: bare.port, count: SIZE.overheadClients, sub: `${prefix}-ovh-bare`, concurrency: 16 });
  await load.call("join", {
    port: plugin.port,
    count: SIZE.overheadClients,
    sub: `${prefix}-ovh-plugin`,
    concurrency: 16,
  });

  const windows: {
    bareRate: number;
    pluginRate: number;
    bareUsPerMsg: number;
    pluginUsPerMsg: number;
    bareUserUsPerMsg: number;
    pluginUserUsPerMsg: number;
    ratio: number;
    userRatio: number;
    otherCpu: number;
  }[] = [];
  const total = SIZE.overheadWarmMs + SIZE.overheadWindows * SIZE.overheadMs + 300;
  const pumping = load.call<{ sent: number; blocked: number; elapsedMs: number; cpuMs: number }>(
    "pump",
    { durationMs: total, rate: SIZE.overheadRate },
    total + 30_000,
  );
  await sleep(SIZE.overheadWarmMs);
  let [b0, p0] = await both();
  let m0 = procStat();
  for (let w = 0; w < SIZE.overheadWindows; w++) {
    await sleep(SIZE.overheadMs);
    const [b1, p1] = await both();
    const m1 = procStat();
    const bh = b1.handled - b0.handled;
    const ph = p1.handled - p0.handled;
    const seconds = (b1.t - b0.t) / 1000;
    const bareUs = cpuUs(b0, b1) / bh;
    const pluginUs = cpuUs(p0, p1) / ph;
    const machineCores = ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * os.cpus().length;
    windows.push({
      bareRate: Math.round(bh / seconds),
      pluginRate: Math.round(ph / seconds),
      bareUsPerMsg: round(bareUs, 3),
      pluginUsPerMsg: round(pluginUs, 3),
      bareUserUsPerMsg: round((b1.cpu.user - b0.cpu.user) / bh, 3),
      pluginUserUsPerMsg: round((p1.cpu.user - p0.cpu.user) / ph, 3),
      ratio: round(bareUs / pluginUs, 4),
      userRatio: round((b1.cpu.user - b0.cpu.user) / bh / ((p1.cpu.user - p0.cpu.user) / ph), 4),
      // machine-wide busy cores minus the two servers (the load generator and anything else)
      otherCpu: round(machineCores - (cpuUs(b0, b1) + cpuUs(p0, p1)) / 1e6 / seconds, 2),
    });
    const x = windows.at(-1)!;
    log(
      `  window ${w + 1}: bare ${x.bareRate} msg/s at ${x.bareUsPerMsg} µs/msg, plugin ${x.pluginRate} msg/s at ${x.pluginUsPerMsg} µs/msg → ratio ${x.ratio}; other CPU ${x.otherCpu} cores`,
    );
    [b0, p0, m0] = [b1, p1, m1];
  }
  const pumped = await pumping;

  // Flat out, each alone (informational: the load generator, not the server, is usually the limit).
  const flatOut: Record<string, { rate: number; serverCpu: number; loadCpu: number }> = {};
  for (const [variant, server] of [
    ["bare", bare],
    ["plugin", plugin],
  ] as const) {
    const pump = load.call<{ elapsedMs: number; cpuMs: number }>(
      "pump",
      { durationMs: 300 + SIZE.overheadMaxMs + 200, ports: [server.port] },
      60_000,
    );
    await sleep(300);
    const a = await server.child.call<Stats>("stats");
    await sleep(SIZE.overheadMaxMs);
    const b = await server.child.call<Stats>("stats");
    const p = await pump;
    const seconds = (b.t - a.t) / 1000;
    flatOut[variant] = {
      rate: Math.round((b.handled - a.handled) / seconds),
      serverCpu: round(cpuUs(a, b) / 1e6 / seconds, 2),
      loadCpu: round(p.cpuMs / p.elapsedMs, 2),
    };
    log(
      `  flat out ${variant}: ${flatOut[variant]!.rate} msg/s, server CPU ${flatOut[variant]!.serverCpu}, load CPU ${flatOut[variant]!.loadCpu}`,
    );
  }
  await load.call("leave");

  const ratio = median(windows.map((x) => x.ratio));
  metrics.overhead_ratio = round(ratio, 3);
  const bareUs = median(windows.map((x) => x.bareUsPerMsg));
  const pluginUs = median(windows.map((x) => x.pluginUsPerMsg));
  details.overhead = {
    basis: `msgs handled per server CPU-second, both servers side by side on one CPU under the same paced load (${SIZE.overheadRate} msg/s in total, ${SIZE.overheadClients} clients each, sending move); median over ${SIZE.overheadWindows} windows of ${SIZE.overheadMs} ms of the per-window ratio`,
    clients: SIZE.overheadClients,
    offeredRate: SIZE.overheadRate,
    bareCapacityMsgsPerCpuSecond: Math.round(1e6 / bareUs),
    pluginCapacityMsgsPerCpuSecond: Math.round(1e6 / pluginUs),
    bareUsPerMsg: bareUs,
    pluginUsPerMsg: pluginUs,
    pluginAddedUsPerMsg: round(median(windows.map((x) => x.pluginUsPerMsg - x.bareUsPerMsg)), 3),
    userOnlyRatio: round(median(windows.map((x) => x.userRatio)), 3),
    ratioMinMax: [Math.min(...windows.map((x) => x.ratio)), Math.max(...windows.map((x) => x.ratio))],
    loadGenerator: { sent: pumped.sent, blocked: pumped.blocked, cpu: round(pumped.cpuMs / pumped.elapsedMs, 2) },
    flatOut,
    windows,
  };
});

// The scaling curve (issue 14): realistic load shapes, not 1 000 msgs/s per client. At each
// point a fresh bare and a fresh plugin server side by side on CPU 0 and one fresh load
// generator on CPU 1: N clients on each server in rooms of 50, each sending 2 messages a
// second (move to where the avatar already is: no state patch, the message path alone), plus
// a chatty shape (clean chat lines: the detector and the room's broadcast to 49 others). Per
// window, server CPU per handled message of each (fixed per-process costs included: they are
// what realistic rates do not amortise), the ratio bare/plugin, and heap growth per client
// (after full GCs, from 50 warm-up clients to 50 + N).
const CURVE_ROOM = 50;
const CURVE_RATE = 2;
await section("curve", async () => {
  const shapes: { name: string; clients: number; shape: "still" | "chat"; rate: number }[] = [
    // Each size once (repeats are BENCH_CURVE_REPEATS: points are told apart by name).
    ...[...new Set(process.env.BENCH_CURVE ? process.env.BENCH_CURVE.split(",").map(Number) : SIZE.curve)].map((n) => ({
      name: `still-${n}`,
      clients: n,
      shape: "still" as const,
      rate: CURVE_RATE,
    })),
    { name: `chat-${SIZE.curveChatty}`, clients: SIZE.curveChatty, shape: "chat", rate: 1 },
  ];
  // Every point again on fresh server pairs, the whole curve once per round (a drift of the
  // shared host then touches every point alike): one pair's ratio moved by ±0.06 between runs.
  const repeats = Number(process.env.BENCH_CURVE_REPEATS ?? SIZE.curveRepeats);
  const rounds = Array.from({ length: Math.max(1, repeats) }, (_, round) => shapes.map((x) => ({ ...x, round })));
  const runs: Record<string, unknown>[] = [];
  for (const point of rounds.flat()) {
    const [b, p] = await Promise.all([
      startServer("bare", `${prefix}-curve-${point.name}`),
      startServer("plugin", `${prefix}-curve-${point.name}`),
    ]);
    const gen = await BenchChild.start({
      script: "bench/load.ts",
      label: `load-${point.name}`,
      cpu: 1,
      env: { JWT_SECRET },
    });
    children.push(gen);
    try {
      for (const server of [b, p])
        await gen.call("join", {
          port: server.port,
          count: CURVE_ROOM,
          sub: `${prefix}-cw-${point.name}`,
          concurrency: 16,
          perRoom: CURVE_ROOM,
        });
      await gen.call("moveOnce");
      await sleep(500);
      const [hb0, hp0] = await Promise.all([
        b.child.call<{ heapUsed: number }>("heap"),
        p.child.call<{ heapUsed: number }>("heap"),
      ]);
      const joinStart = performance.now();
      for (const server of [b, p])
        await gen.call(
          "join",
          {
            port: server.port,
            count: point.clients,
            sub: `${prefix}-c-${point.name}`,
            concurrency: 16,
            perRoom: CURVE_ROOM,
          },
          600_000,
        );
      const joinSeconds = round((performance.now() - joinStart) / 1000, 1);
      const everyone = 2 * (point.clients + CURVE_ROOM);
      const total = 1500 + SIZE.curveWindows * SIZE.curveWindowMs + 500;
      const pumping = gen.call<{ sent: number; blocked: number; elapsedMs: number; cpuMs: number }>(
        "pump",
        { durationMs: total, rate: everyone * point.rate, shape: point.shape },
        total + 60_000,
      );
      await sleep(1500);
      const windowProfiles = process.env.BENCH_PROFILE_WINDOWS;
      if (windowProfiles) await Promise.all([b.child.call("profileStart"), p.child.call("profileStart")]);
      const allocProfiles = process.env.BENCH_ALLOC_WINDOWS;
      if (allocProfiles) await Promise.all([b.child.call("allocStart"), p.child.call("allocStart")]);
      const cpuUs = (x: ServerStats, y: ServerStats) => y.cpu.user + y.cpu.system - x.cpu.user - x.cpu.system;
      let [b0, p0] = await Promise.all([b.child.call<ServerStats>("stats"), p.child.call<ServerStats>("stats")]);
      const windows: {
        bareUsPerMsg: number;
        pluginUsPerMsg: number;
        ratio: number;
        bareRate: number;
        pluginRate: number;
        bareGcUsPerMsg: number;
        pluginGcUsPerMsg: number;
        /** Scavenges of bare and plugin in the window. */
        scavenges: number[];
        /** Clients connected to bare and plugin at the window's end. */
        clients: number[];
      }[] = [];
      const gcUs = (x: ServerStats, y: ServerStats) => (y.gcMs.total - x.gcMs.total) * 1000;
      for (let w = 0; w < SIZE.curveWindows; w++) {
        await sleep(SIZE.curveWindowMs);
        const [b1, p1] = await Promise.all([b.child.call<ServerStats>("stats"), p.child.call<ServerStats>("stats")]);
        const bh = b1.handled - b0.handled;
        const ph = p1.handled - p0.handled;
        const seconds = (b1.t - b0.t) / 1000;
        windows.push({
          bareRate: Math.round(bh / seconds),
          pluginRate: Math.round(ph / seconds),
          bareUsPerMsg: round(cpuUs(b0, b1) / bh, 3),
          pluginUsPerMsg: round(cpuUs(p0, p1) / ph, 3),
          ratio: round(cpuUs(b0, b1) / bh / (cpuUs(p0, p1) / ph), 4),
          bareGcUsPerMsg: round(gcUs(b0, b1) / bh, 3),
          pluginGcUsPerMsg: round(gcUs(p0, p1) / ph, 3),
          clients: [b1.clients, p1.clients],
          scavenges: [b1.gcMs.scavenges - b0.gcMs.scavenges, p1.gcMs.scavenges - p0.gcMs.scavenges],
        });
        [b0, p0] = [b1, p1];
      }
      if (windowProfiles)
        await Promise.all(
          [b, p].map((server, i) =>
            server.child.call("profileStop", {
              file: `${windowProfiles}/curve-${point.name}-${i === 0 ? "bare" : "plugin"}.cpuprofile`,
            }),
          ),
        );
      if (allocProfiles)
        await Promise.all(
          [b, p].map((server, i) =>
            server.child.call("allocStop", {
              file: `${allocProfiles}/curve-${point.name}-${i === 0 ? "bare" : "plugin"}.heapprofile`,
            }),
          ),
        );
      const pumped = await pumping;
      const [hb1, hp1] = await Promise.all([
        b.child.call<{ heapUsed: number }>("heap"),
        p.child.call<{ heapUsed: number }>("heap"),
      ]);
      const bareBytes = Math.round((hb1.heapUsed - hb0.heapUsed) / point.clients);
      const pluginBytes = Math.round((hp1.heapUsed - hp0.heapUsed) / point.clients);
      const valid = windows.filter((x) => Number.isFinite(x.ratio) && x.ratio > 0);
      const result = {
        point: point.name,
        round: point.round,
        clients: point.clients,
        shape: point.shape,
        msgsPerClientPerSecond: point.rate,
        // Windows in which a server handled nothing (a saturated load generator) are no figure.
        ratio: valid.length > 0 ? median(valid.map((x) => x.ratio)) : null,
        bareUsPerMsg: median(valid.map((x) => x.bareUsPerMsg)),
        pluginUsPerMsg: median(valid.map((x) => x.pluginUsPerMsg)),
        bareGcUsPerMsg: median(valid.map((x) => x.bareGcUsPerMsg)),
        pluginGcUsPerMsg: median(valid.map((x) => x.pluginGcUsPerMsg)),
        bareBytesPerClient: bareBytes,
        pluginBytesPerClient: pluginBytes,
        addedBytesPerClient: pluginBytes - bareBytes,
        joinSeconds,
        loadGenerator: { sent: pumped.sent, blocked: pumped.blocked, cpu: round(pumped.cpuMs / pumped.elapsedMs, 2) },
        windows,
      };
      runs.push(result);
      log(
        `  ${point.name}${repeats > 1 ? ` (round ${point.round + 1})` : ""}: ratio ${result.ratio} (bare ${result.bareUsPerMsg} µs/msg, plugin ${result.pluginUsPerMsg} µs/msg, of which gc ${result.bareGcUsPerMsg} / ${result.pluginGcUsPerMsg}, at ${windows.at(-1)?.pluginRate} msg/s); heap +${result.addedBytesPerClient} B/client (bare ${bareBytes}, plugin ${pluginBytes})`,
      );
    } finally {
      // The load generator first (its clients would otherwise make the servers' shutdown slow);
      // the servers by SIGTERM, so that a BENCH_PROFILE run writes their profiles.
      gen.child.kill("SIGKILL");
      await Promise.all([gen.stop(), b.child.stop(), p.child.stop()]);
    }
  }
  // Per point, the median over its rounds (of each round's median window).
  const points = shapes.map((shape) => {
    const mine = runs.filter((x) => x.point === shape.name);
    const ratios = mine.map((x) => x.ratio).filter((x): x is number => typeof x === "number");
    return {
      point: shape.name,
      clients: shape.clients,
      shape: shape.shape,
      ratio: ratios.length > 0 ? round(median(ratios), 4) : null,
      ratios,
      bareGcUsPerMsg: median(mine.map((x) => x.bareGcUsPerMsg as number)),
      pluginGcUsPerMsg: median(mine.map((x) => x.pluginGcUsPerMsg as number)),
      addedBytesPerClient: median(mine.map((x) => x.addedBytesPerClient as number)),
      rounds: mine,
    };
  });
  if (repeats > 1)
    for (const x of points)
      log(`  ${x.point}: median ratio ${x.ratio} of ${x.ratios.join(" / ")}; heap +${x.addedBytesPerClient} B/client`);
  const figures = points.map((x) => x.ratio).filter((x): x is number => x !== null);
  metrics.curve_min_ratio = figures.length > 0 ? round(Math.min(...figures), 3) : null;
  metrics.curve_max_added_bytes_per_client = Math.max(...points.map((x) => x.addedBytesPerClient));
  details.curve = {
    basis: `fresh bare + plugin servers side by side per point, rooms of ${CURVE_ROOM}, ${CURVE_RATE} msgs/s per client (still moves) and a chatty shape (1 clean chat line/s per client); per point the median over ${Math.max(1, repeats)} fresh server pair(s) of the median of ${SIZE.curveWindows} windows of ${SIZE.curveWindowMs} ms of bare/plugin CPU per handled message; heap after full GCs`,
    points,
  };
});

// Heap per connected client: fresh server processes and a fresh load generator, so that
// nothing from the other sections is in the heaps; both are killed afterwards (2000
// consented leaves would take longer than the measurement). The clients fill rooms of
// HEAP_ROOM_SIZE: in one room of 2000, every join is a state patch to every client, and
// the load generator (which decodes them all) needs minutes to connect them.
const HEAP_ROOM_SIZE = 100;
await section("heap", async () => {
  const per: Record<
    string,
    { heapBefore: number; heapAfter: number; clients: number; bytesPerClient: number; joinSeconds: number }
  > = {};
  for (const variant of ["bare", "plugin"] as const) {
    // Own key prefix: when this server is killed, the long-lived plugin server must not find
    // (and sweep) its 2000 bindings in the middle of the latency sections.
    const server = await startServer(variant, `${prefix}-heap`);
    const clients = await BenchChild.start({
      script: "bench/load.ts",
      label: `load-heap-${variant}`,
      cpu: 1,
      env: { JWT_SECRET },
    });
    children.push(clients);
    try {
      // Warm-up clients: the room exists and every code path has run (and is compiled) before the baseline.
      await clients.call("join", {
        port: server.port,
        count: SIZE.heapWarm,
        sub: `${prefix}-heapw-${variant}`,
        concurrency: 8,
        perRoom: HEAP_ROOM_SIZE,
      });
      await clients.call("moveOnce");
      await sleep(500);
      const before = await server.child.call<{ heapUsed: number }>("heap");
      const joinStart = performance.now();
      await clients.call(
        "join",
        {
          port: server.port,
          count: SIZE.heapClients,
          sub: `${prefix}-heap-${variant}`,
          concurrency: 8,
          perRoom: HEAP_ROOM_SIZE,
        },
        300_000,
      );
      const joinMs = performance.now() - joinStart;
      await clients.call("moveOnce"); // every client active: flood buckets exist
      await sleep(1500); // patches sent, background Redis writes (bindings) answered
      const after = await server.child.call<{ heapUsed: number }>("heap");
      per[variant] = {
        heapBefore: before.heapUsed,
        heapAfter: after.heapUsed,
        clients: SIZE.heapClients,
        bytesPerClient: Math.round((after.heapUsed - before.heapUsed) / SIZE.heapClients),
        joinSeconds: round(joinMs / 1000, 1),
      };
      log(
        `  ${variant}: ${per[variant]!.bytesPerClient} B/client (${SIZE.heapClients} clients joined in ${per[variant]!.joinSeconds} s)`,
      );
    } finally {
      clients.child.kill("SIGKILL");
      server.child.child.kill("SIGKILL");
      await Promise.all([clients.stop(), server.child.stop()]);
    }
  }
  metrics.bytes_per_client = per.plugin!.bytesPerClient - per.bare!.bytesPerClient;
  const inProcess = await runScript(
    "bench/session-memory.ts",
    quick ? ["--quick"] : [],
    { REDIS_URL: redis.url, WARDEN_PREFIX: `${prefix}-mem` },
    ["--expose-gc"],
  ).catch((e: unknown) => ({ error: String(e) }));
  details.heap = {
    ...per,
    inProcessBreakdown: inProcess,
    roomSize: HEAP_ROOM_SIZE,
    note: `fresh server processes; rooms of ${HEAP_ROOM_SIZE} clients; heapUsed after 4 full GCs (--expose-gc), growth from the warm-up clients to warm-up + N clients, each having sent one move`,
  };
});

// Sanction issued by warden "A" (this process) → the client's socket in process B closes.
// Interleaved with the same trip without the warden (the "floor": a PUBLISH from this
// process → a plain Redis subscriber in the bare server process → Colyseus's
// client.leave), so that both see the same machine at the same moments.
await section("propagation", async () => {
  if (!plugin || !bare) throw new Error("servers not running");
  const wardenA: Warden = createWarden({
    secret: WARDEN_SECRET,
    store: redis.url,
    prefix: `${prefix}-world`,
    logger: quiet,
  });
  try {
    await wardenA.ready();
    const channel = `${prefix}-floor`;
    await bare.child.call("floorSubscribe", { redisUrl: redis.url, channel });
    const n = SIZE.propagation + 5; // the first 5 of each are warm-up
    const subs = Array.from({ length: n }, (_, i) => `${prefix}-prop-${i}`);
    const rooms = await pool(n, 16, (i) => sdkClient(plugin!.port, subs[i]!).joinOrCreate("world"));
    const floorRooms = await pool(n, 16, (i) => sdkClient(bare!.port, `${prefix}-floor-${i}`).joinOrCreate("world"));
    await sleep(300); // bindings written
    const close: number[] = [];
    const issued: number[] = [];
    const afterIssue: number[] = [];
    const floor: number[] = [];
    const codes = new Map<number, number>();
    const closedAt = (room: Room) =>
      new Promise<{ at: number; code: number }>((resolve) =>
        room.onLeave((code: number) => resolve({ at: performance.now(), code })),
      );
    for (let i = 0; i < n; i++) {
      const room = rooms[i]!;
      room.onMessage("warden:notice", () => {});
      const closed = closedAt(room);
      const start = performance.now();
      const result = await wardenA.sanctions.issue({
        did: deriveDigitalId(WARDEN_SECRET, subs[i]!),
        kind: "ban",
        duration: 60_000,
        reason: "bench",
        by: "bench",
      });
      const issuedAt = performance.now();
      if (result.status !== "issued") throw new Error(`issue: ${JSON.stringify(result)}`);
      const { at, code } = await within(closed, 5000, `socket close of sample ${i}`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      await sleep(2); // samples do not overlap
      const floorClosed = closedAt(floorRooms[i]!);
      const floorStart = performance.now();
      await admin.publish(channel, floorRooms[i]!.sessionId);
      const floorAt = (await within(floorClosed, 5000, `floor close of sample ${i}`)).at;
      await sleep(2);
      if (i < 5) continue;
      close.push(at - start);
      issued.push(issuedAt - start);
      afterIssue.push(at - issuedAt);
      floor.push(floorAt - floorStart);
    }
    const s = summarize(close);
    metrics.propagation_p50_ms = s.p50;
    metrics.propagation_p99_ms = s.p99;
    // Against the bare publish → close trip measured interleaved in the same run.
    const f = summarize(floor);
    metrics.propagation_p99_ratio = round(s.p99 / f.p99, 3);
    details.propagation = {
      samples: close.length,
      issueToCloseMs: s,
      // the issue's own round trip (saveSanction Lua + PUBLISH, answered to A), and what follows its answer
      issueCallMs: summarize(issued),
      issueAnsweredToCloseMs: summarize(afterIssue),
      // the same trip without the warden, interleaved sample by sample
      floorPublishToCloseMs: summarize(floor),
      closeCodes: Object.fromEntries(codes),
      path: "warden A (bench process) → saveSanction Lua + PUBLISH → server process B's subscriber → enforcer → client.leave(4403) → SDK onLeave (bench process)",
    };
  } finally {
    await wardenA.close();
  }
});

// Abusive chat → warn notice (policy: abuse track, 1 point → warn).
await section("notice", async () => {
  if (!plugin) throw new Error("plugin server not running");
  const subs = Array.from({ length: SIZE.notice + 5 }, (_, i) => `${prefix}-notice-${i}`);
  const rooms = await pool(subs.length, 16, (i) => sdkClient(plugin!.port, subs[i]!).joinOrCreate("world"));
  await sleep(300);
  const samples: number[] = [];
  const kinds = new Map<string, number>();
  for (let i = 0; i < rooms.length; i++) {
    const room = rooms[i]!;
    const notice = new Promise<{ at: number; notice: WardenNotice }>((resolve) =>
      room.onMessage("warden:notice", (n: WardenNotice) => resolve({ at: performance.now(), notice: n })),
    );
    room.onMessage("*", () => {});
    const start = performance.now();
    room.send("chat", { text: "you are a fucking idiot" });
    const { at, notice: n } = await within(notice, 5000, `warden:notice of sample ${i}`);
    kinds.set(n.kind, (kinds.get(n.kind) ?? 0) + 1);
    if (i >= 5) samples.push(at - start);
    await sleep(2);
  }
  await pool(rooms.length, 32, (i) => rooms[i]!.leave(true));
  const s = summarize(samples);
  metrics.offense_to_notice_p99_ms = s.p99;
  details.notice = {
    samples: samples.length,
    sendToNoticeMs: s,
    noticeKinds: Object.fromEntries(kinds),
    path: "SDK chat → guard + chat detector (process B) → recorder (flush ≤ 10 ms) → recordOffenses Lua → policy: warn → saveSanction Lua + PUBLISH → B's subscriber → notice",
  };
});

// -------------------------------------------------------------------------------- teardown

details.sections = sectionLoad;
details.loadAvgAtEnd = os.loadavg().map((x) => round(x, 2));
const serverStats: Record<string, unknown> = {};
for (const s of [bare, plugin]) {
  if (s) serverStats[s.child.label] = await s.child.call("stats").catch(() => null);
}
details.servers = serverStats;
await Promise.all(children.map((c) => c.stop()));

let deleted = 0;
try {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await admin.unlink(...keys);
  } while (cursor !== "0");
} catch (e) {
  errors.push(`cleanup: ${String(e)}`);
}
admin.disconnect();
redis.stop();

// ------------------------------------------------------------------------------- report

function met(metric: Metric): boolean | null {
  const target = TARGETS[metric];
  const value = metrics[metric];
  if (value === null || target.op === null) return null;
  return target.op === ">=" ? value >= target.value : value <= target.value;
}
const rows = (Object.keys(TARGETS) as Metric[]).map((metric) => {
  const target = TARGETS[metric];
  const value = metrics[metric];
  const m = met(metric);
  return {
    metric,
    value: value === null ? "—" : `${value}${target.unit ? ` ${target.unit}` : ""}`,
    target: target.op === null ? "(reported)" : `${target.op} ${target.value}${target.unit ? ` ${target.unit}` : ""}`,
    met: m === null ? (value === null ? "error" : "—") : m ? "yes" : "NO",
  };
});
const widths = { metric: 26, value: 14, target: 12, met: 5 };
const line = (r: { metric: string; value: string; target: string; met: string }) =>
  `${r.metric.padEnd(widths.metric)}  ${r.value.padStart(widths.value)}  ${r.target.padEnd(widths.target)}  ${r.met}`;
console.log("");
console.log(line({ metric: "metric", value: "value", target: "target", met: "met?" }));
console.log(
  line({
    metric: "-".repeat(widths.metric),
    value: "-".repeat(widths.value),
    target: "-".repeat(widths.target),
    met: "-".repeat(widths.met),
  }),
);
for (const r of rows) console.log(line(r));
console.log("");

const o = details.overhead as Record<string, unknown> | undefined;
const j = details.join as
  | {
      bareMs: { p99: number; p50: number };
      pluginMs: { p99: number; p50: number };
      pairedDifferenceMs: { p50: number; p99: number };
    }
  | undefined;
const rc = details.record as
  | {
      recorder: {
        saturated: {
          eventsPerSec: number;
          redisMainThreadCpu: number;
          benchProcessCpu: number;
          latencyMs: { p50: number };
        };
        half: { rate: number; latencyMs: { p99: number } };
        light: { latencyMs: { p50: number; p99: number } };
      };
      xaddCeiling: { rps: number; source: string };
      otherBatchSizes: Record<string, { eventsPerSec: number; latencyP99Ms: number }>;
    }
  | undefined;
const mi = details.micro as Record<string, number> | undefined;
if (mi)
  console.log(
    `guard: ${mi.guard_ns_per_msg} ns and ${mi.guard_bytes_per_msg} B per clean move frame; dispatch ${mi.dispatch_ns_per_move} ns; clean chat message (with the chat detector) ${mi.chat_clean_ns_per_msg} ns, ${mi.chat_clean_bytes_per_msg} B`,
  );
if (rc)
  console.log(
    `record: ${rc.recorder.saturated.eventsPerSec} events/s (recorder CPU ${rc.recorder.saturated.benchProcessCpu}, Redis main thread ${rc.recorder.saturated.redisMainThreadCpu}) vs ${rc.xaddCeiling.rps} XADD/s [${rc.xaddCeiling.source}]; latency p50 ${rc.recorder.saturated.latencyMs.p50} ms saturated, p99 ${rc.recorder.half.latencyMs.p99} ms at ${rc.recorder.half.rate}/s, p99 ${rc.recorder.light.latencyMs.p99} ms at 1000/s` +
      Object.entries(rc.otherBatchSizes)
        .map(([k, v]) => `; ${k}: ${v.eventsPerSec} events/s, p99 ${v.latencyP99Ms} ms`)
        .join(""),
  );
if (o) {
  const f = o.flatOut as Record<string, { rate: number; serverCpu: number }>;
  console.log(
    `overhead: capacity bare ${o.bareCapacityMsgsPerCpuSecond} msg/s per core (${o.bareUsPerMsg} µs/msg), plugin ${o.pluginCapacityMsgsPerCpuSecond} (${o.pluginUsPerMsg} µs/msg); flat out bare ${f.bare?.rate} msg/s (server CPU ${f.bare?.serverCpu}), plugin ${f.plugin?.rate} msg/s (${f.plugin?.serverCpu})`,
  );
}
if (j)
  console.log(
    `join: bare p50 ${j.bareMs.p50} / p99 ${j.bareMs.p99} ms, plugin p50 ${j.pluginMs.p50} / p99 ${j.pluginMs.p99} ms, paired difference p50 ${j.pairedDifferenceMs.p50} / p99 ${j.pairedDifferenceMs.p99} ms`,
  );
const h = details.heap as Record<string, { bytesPerClient: number }> | undefined;
if (h?.bare && h.plugin)
  console.log(
    `heap: bare ${h.bare.bytesPerClient} B/client, plugin ${h.plugin.bytesPerClient} B/client (${SIZE.heapClients} clients)`,
  );
const durationS = round((performance.now() - t0) / 1000, 1);
console.log(
  `${quick ? "quick" : "full"} run: ${durationS} s; ${deleted} bench keys deleted${errors.length ? `; ${errors.length} section(s) FAILED` : ""}`,
);

const out = {
  quick,
  startedAt: startedAt.toISOString(),
  durationS,
  machine,
  metrics,
  targets: Object.fromEntries(
    Object.entries(TARGETS)
      .filter(([, t]) => t.op !== null)
      .map(([k, t]) => [k, `${t.op} ${t.value}`]),
  ),
  met: Object.fromEntries((Object.keys(TARGETS) as Metric[]).map((k) => [k, met(k)])),
  details,
  errors,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/${only ? "partial" : "latest"}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${fileURLToPath(file)}`);
if (errors.length > 0) {
  for (const e of errors) console.error(`[bench] ERROR ${e.split("\n")[0]}`);
  process.exit(1);
}
process.exit(0);
