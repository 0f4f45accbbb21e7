/**
 * The demo world server (`npm start`). Environment:
 *   PORT                (default 2567)
 *   REDIS_URL           set → Redis store, presence and driver; unset → embedded memory store
 *   REDIS_CLUSTER_NODES host:port,host:port,… of a Redis Cluster (wins over REDIS_URL): the store,
 *                       presence and driver on the cluster
 *   PUBLIC_ADDRESS      host:port clients reach this process at (Colyseus publicAddress): with several
 *                       processes on one Redis, joinOrCreate on one finds rooms of the others
 *                       (see README "Running at scale")
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
import { DEV_JWT_SECRET, DEV_WARDEN_SECRET, notDevelopment } from "./dev.js";

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
// What to do next, for whoever just ran `npm start`.
const base = `http://localhost:${world.port}`;
const dev = notDevelopment(process.env, "dev-token") === null;
const adminTokens = Boolean(
  process.env.WARDEN_ADMIN_TOKEN || process.env.WARDEN_MODERATOR_TOKEN || process.env.WARDEN_VIEWER_TOKEN,
);
const next = [
  "[warden-demo] next:",
  dev
    ? "  • a player token (development secrets only): npm run dev-token -- --name alice"
    : "  • players join with a JWT signed with JWT_SECRET (claims sub or id, name)",
  `  • join from a client: new Client("ws://localhost:${world.port}"); client.auth.token = <token>; client.joinOrCreate("world")`,
  adminTokens
    ? `  • moderators' console: ${base}/warden/console/ (sign in with a staff token; an admin makes them: warden staff add <name> --role moderator)`
    : "  • moderators' console and API are off: set WARDEN_ADMIN_TOKEN, or run `npm run demo` (bots, console, a dev credential)",
  `  • the CLI: npm run warden -- login --url ${base}   (then: npm run warden -- tail, … lookup <name>, … ban <did>)`,
];
console.info(next.join("\n"));
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
