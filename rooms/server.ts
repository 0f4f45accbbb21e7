/**
 * The demo world server (`npm start`). Environment:
 *   PORT                (default 2567)
 *   REDIS_URL           set → Redis store, presence and driver; unset → embedded memory store
 *   REDIS_CLUSTER_NODES host:port,host:port,… of a Redis Cluster (wins over REDIS_URL): the store,
 *                       presence and driver on the cluster
 *   PUBLIC_ADDRESS      host:port clients reach this process at (Colyseus publicAddress): with several
 *                       processes on one Redis, joinOrCreate on one finds rooms of the others
 *   WARDEN_SECRET       HMAC key of digital IDs
 *   JWT_SECRET          HS256 key of the demo's tokens
 *   WARDEN_ADMIN_TOKEN  bootstrap admin token of the admin API (it issues personal staff tokens);
 *                       WARDEN_MODERATOR_TOKEN / WARDEN_VIEWER_TOKEN too; none set → admin API disabled
 *   WARDEN_METRICS_TOKEN bearer token of the Prometheus metrics at /warden/metrics; unset → metrics off
 *   WARDEN_PREFIX       Redis key prefix (default "warden")
 *   WARDEN_HEARTBEAT_MS process heartbeat period (default 5000)
 */
import { WardenError } from "../src/index.js";
import { redisTargetFromEnv } from "../src/stores/redis/connection.js";
import { ListenError, startWorld, type World } from "./app.js";

const DEV_WARDEN_SECRET = "dev-only-warden-secret-change-me";
const DEV_JWT_SECRET = "dev-only-jwt-secret-change-me";

function secretFromEnv(name: string, fallback: string): string {
  const value = process.env[name];
  if (value) return value;
  console.warn(
    `[warden-demo] !!! ${name} is not set: using a well-known development value. Never run like this in production. !!!`,
  );
  return fallback;
}

const port = Number(process.env.PORT ?? 2567);
// REDIS_CLUSTER_NODES → `redis-cluster://h:p,…` (the store and app.ts open a Cluster from it).
const redisUrl = redisTargetFromEnv(process.env);
let world: World;
try {
  world = await startWorld({
    port,
    jwtSecret: secretFromEnv("JWT_SECRET", DEV_JWT_SECRET),
    redisUrl,
    warden: {
      secret: secretFromEnv("WARDEN_SECRET", DEV_WARDEN_SECRET),
      store: redisUrl,
      ...(process.env.WARDEN_PREFIX ? { prefix: process.env.WARDEN_PREFIX } : {}),
      ...(process.env.WARDEN_HEARTBEAT_MS ? { heartbeatMs: Number(process.env.WARDEN_HEARTBEAT_MS) } : {}),
    },
  });
} catch (e) {
  // One line, no stack: the usual causes (port taken, bad option) are fixed from the message.
  const message =
    e instanceof ListenError || e instanceof WardenError
      ? e.message
      : `could not start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(`[warden-demo] ${message}`);
  // exit, not exitCode: presence, driver or store connections may still hold the event loop.
  process.exit(1);
}
console.info(
  `[warden-demo] world listening on ws://localhost:${world.port} (room "world", store: ${world.warden.store.constructor.name}; admin API under /warden/api when a token is set; player API under /warden/player)`,
);
// Machine-readable line for tests and tools that start this process.
if (process.env.WARDEN_READY_LINE) console.log(`READY ${world.port} ${world.warden.processId}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void world.close().finally(() => process.exit(0));
  });
}
