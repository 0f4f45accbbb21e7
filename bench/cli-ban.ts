/**
 * `npm run bench:cli-ban` — time from `warden ban` on the CLI to the banned client's socket
 * closing (4403) in another server process. 20 samples; prints median and worst of:
 *   - cli→close: from spawning the CLI process to the close (includes Node start-up of the CLI)
 *   - issue→close: from the sanction's issue time (its `start`, stamped by the CLI just
 *     before the Lua script runs) to the close, i.e. Redis + pub/sub + enforcement.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import { deriveDigitalId } from "../src/index.js";
import { startWorldProcess } from "../test/helpers/process.js";
import { resolveRedis } from "../scripts/redis.mjs";

const SAMPLES = Number(process.env.SAMPLES ?? 20);
const JWT_SECRET = "bench-jwt-secret-0123456789";
const WARDEN_SECRET = "bench-warden-secret-0123456789";
const prefix = `bench-cli-${Date.now()}`;
const BIN = fileURLToPath(new URL("../bin/warden.js", import.meta.url));

const redis = await resolveRedis();
const env = { WARDEN_DIRECT: "1", REDIS_URL: redis.url, WARDEN_SECRET, JWT_SECRET, WARDEN_PREFIX: prefix };
const server = await startWorldProcess(env);

function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(stdout),
    );
  });
}

const cliToClose: number[] = [];
const issueToClose: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const sub = `bench-${i}`;
  const client = new Client(`ws://127.0.0.1:${server.port}`);
  client.auth.token = jwt.sign({ sub, name: sub }, JWT_SECRET, { algorithm: "HS256" });
  const room = await client.create("world");
  room.onMessage("warden:notice", () => {});
  const closed = new Promise<number>((resolve) => room.onLeave(() => resolve(Date.now())));
  const spawnedAt = Date.now();
  const out = await runCli(["ban", deriveDigitalId(WARDEN_SECRET, sub), "--for", "1m", "--reason", "bench", "--json"]);
  const closedAt = await closed;
  const sanction = JSON.parse(out) as { start: number };
  cliToClose.push(closedAt - spawnedAt);
  issueToClose.push(closedAt - sanction.start);
}
await server.kill("SIGTERM");
redis.stop();

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, worst: sorted[sorted.length - 1]! };
};
const a = stats(cliToClose);
const b = stats(issueToClose);
console.log(`samples: ${SAMPLES} (client in a separate server process, CLI in its own process)`);
console.log(`cli→close    median ${a.median} ms   worst ${a.worst} ms   (includes CLI process start-up)`);
console.log(`issue→close  median ${b.median} ms   worst ${b.worst} ms   (Redis script + pub/sub + enforcement)`);
