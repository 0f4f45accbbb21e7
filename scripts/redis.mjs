// Finds a Redis for the tests, the benchmarks and CI, in this order:
//   1. REDIS_URL, if set;
//   2. 127.0.0.1:6379, if it answers PING;
//   3. a redis-server started here on a free port (installed with apt-get if missing).
// Plain JavaScript so that .ci/run, vitest's global setup and bench scripts share it.
//
//   node scripts/redis.mjs            prints the URL (starting a server if needed; it stays up)
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { pathToFileURL } from "node:url";

/** True when a Redis answers PING at host:port within `ms`. */
export function pingRedis(host, port, ms = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Path of redis-server, installing Debian's package if it is missing. */
export function redisServerBinary() {
  for (const candidate of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    console.error("[redis] redis-server not found: installing it with apt-get");
    execFileSync(
      "sh",
      ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server"],
      { stdio: "inherit" },
    );
    return "/usr/bin/redis-server";
  }
}

/**
 * Starts a throw-away redis-server on a free port. Returns its URL, port and a stop()
 * that kills it. `detached` keeps it running after this process exits.
 */
export async function startRedisServer({ port, detached = false } = {}) {
  const chosen = port ?? (await freePort());
  const child = spawn(
    redisServerBinary(),
    ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    {
      stdio: "ignore",
      detached,
    },
  );
  if (detached) child.unref();
  for (let i = 0; i < 100; i++) {
    if (await pingRedis("127.0.0.1", chosen)) {
      return { url: `redis://127.0.0.1:${chosen}`, port: chosen, pid: child.pid, stop: () => child.kill("SIGKILL") };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer on port ${chosen}`);
}

/** Resolves the Redis to use; `stop` is a no-op unless this call started one. */
export async function resolveRedis({ detached = false } = {}) {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, started: false, stop: () => {} };
  if (await pingRedis("127.0.0.1", 6379)) return { url: "redis://127.0.0.1:6379", started: false, stop: () => {} };
  const server = await startRedisServer({ detached });
  return { url: server.url, started: true, stop: server.stop };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { url } = await resolveRedis({ detached: true });
  console.log(url);
}
