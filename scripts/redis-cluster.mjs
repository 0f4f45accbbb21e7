// Starts a throw-away local Redis Cluster for the tests, the benchmarks and CI: 3 masters and
// 3 replicas (`redis-server --cluster-enabled yes` on free loopback ports, in a temporary
// directory), joined with `redis-cli --cluster create … --cluster-replicas 1`, and waits until
// every node says `cluster_state:ok`. Plain JavaScript so that vitest's global setup, the bench
// scripts and a shell can share it.
//
//   node scripts/redis-cluster.mjs     starts one, prints its nodes (host:port,…) and keeps it up
//                                      until Ctrl-C
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { freePort, pingRedis, redisServerBinary } from "./redis.mjs";

const run = promisify(execFile);

/** Path of redis-cli next to redis-server. */
function redisCliBinary() {
  return redisServerBinary().replace(/redis-server$/, "redis-cli");
}

/** `INFO`-style `cluster info` of one node, parsed; null when it does not answer. */
async function clusterInfo(port) {
  try {
    const { stdout } = await run(redisCliBinary(), ["-h", "127.0.0.1", "-p", String(port), "cluster", "info"], {
      timeout: 2000,
    });
    return Object.fromEntries(
      stdout
        .split(/\r?\n/)
        .filter((line) => line.includes(":"))
        .map((line) => line.split(":", 2)),
    );
  } catch {
    return null;
  }
}

/** `info replication` of one node, parsed; null when it does not answer. */
async function replicationInfo(port) {
  try {
    const { stdout } = await run(redisCliBinary(), ["-h", "127.0.0.1", "-p", String(port), "info", "replication"], {
      timeout: 2000,
    });
    return Object.fromEntries(
      stdout
        .split(/\r?\n/)
        .filter((line) => line.includes(":"))
        .map((line) => line.split(":", 2)),
    );
  } catch {
    return null;
  }
}

/** One cluster node: redis-server with cluster mode on, its files in `dir`. */
function startNode(port, dir) {
  return spawn(
    redisServerBinary(),
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      join(dir, `nodes-${port}.conf`),
      // Fast failover for the tests: a master that does not answer for 1 s is replaced by its replica.
      "--cluster-node-timeout",
      "1000",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
    ],
    { stdio: "ignore" },
  );
}

/**
 * Starts a local Redis Cluster of `masters` masters with one replica each. Returns its nodes
 * (`{ host, port }`, masters first as `redis-cli --cluster create` assigns them), a `kill(port)`
 * that SIGKILLs one node (for failover tests), and `stop()`, which kills every node and removes
 * the temporary directory.
 */
export async function startRedisCluster({ masters = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "warden-cluster-"));
  const ports = [];
  for (let i = 0; i < masters * 2; i++) {
    let port = await freePort();
    // The cluster bus listens on port + 10000: it must be free too.
    while (port > 55535 || ports.includes(port)) port = await freePort();
    ports.push(port);
  }
  const children = new Map(ports.map((port) => [port, startNode(port, dir)]));
  const stop = () => {
    for (const child of children.values()) child.kill("SIGKILL");
    children.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await pingRedis("127.0.0.1", port);
        if (!up) await new Promise((r) => setTimeout(r, 50));
      }
      if (!up) throw new Error(`cluster node on port ${port} did not answer`);
    }
    await run(
      redisCliBinary(),
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
      { timeout: 30_000 },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(ports.map(clusterInfo));
      // Ready when every node sees the whole cluster in state ok and every replica is in sync
      // with its master (else it could not take over in a failover test).
      const replication = await Promise.all(ports.map(replicationInfo));
      if (
        infos.every((info) => info?.cluster_state === "ok" && Number(info.cluster_known_nodes) === ports.length) &&
        replication.filter((r) => r?.role === "slave").length === masters &&
        replication.every((r) => r?.role === "master" || r?.master_link_status === "up")
      )
        break;
      if (Date.now() > deadline) throw new Error("the Redis Cluster did not reach cluster_state:ok within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    stop();
    throw e;
  }
  return {
    nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
    /** `host:port,host:port,…`: the form `REDIS_CLUSTER_NODES` takes. */
    spec: ports.map((port) => `127.0.0.1:${port}`).join(","),
    kill(port) {
      children.get(port)?.kill("SIGKILL");
      children.delete(port);
    },
    /** `cluster info` of a node, parsed. */
    info: clusterInfo,
    stop,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const cluster = await startRedisCluster();
  console.log(cluster.spec);
  const end = () => {
    cluster.stop();
    process.exit(0);
  };
  process.on("SIGINT", end);
  process.on("SIGTERM", end);
}
