import type { AddressInfo, Server as HttpServer } from "node:net";
import { defineRoom, defineServer, matchMaker, type Server } from "@colyseus/core";
import { RedisDriver } from "@colyseus/redis-driver";
import { RedisPresence } from "@colyseus/redis-presence";
import { isClusterSpec, parseClusterNodes } from "../src/stores/redis/connection.js";
import { WebSocketTransport } from "@colyseus/ws-transport";
import {
  createWarden,
  identifyFromJwtClaims,
  type AdminApiOptions,
  type Warden,
  type WardenOptions,
} from "../src/index.js";
import { createWorldRoom, type Avatar, verifyDemoToken } from "./world.js";

/** Options of {@link startWorld}. */
export interface WorldOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** HS256 key of the demo's JWTs. */
  jwtSecret: string;
  /** Warden options; `store` set to the same Redis also shares matchmaking (RedisPresence + RedisDriver). */
  warden: WardenOptions;
  /** Redis URL (or `redis-cluster://h:p,…`) for Colyseus presence and driver (multi-process); unset = local. */
  redisUrl?: string;
  /**
   * This process's own address as clients reach it (`host:port`, e.g. `game-2.example.com:443`
   * or `127.0.0.1:2568`), for a fleet of processes behind one matchmaking address: a seat in
   * a room of this process carries it, and the client connects there. Set → rooms are created
   * where Colyseus places them (the process with the fewest); unset → in the process that was
   * asked (a single address, no routing). @defaultValue `PUBLIC_ADDRESS`
   */
  publicAddress?: string;
  /** Seconds a dropped client may reconnect. @defaultValue 20 */
  reconnectSeconds?: number;
  /** Admin API tokens; default from the environment. */
  admin?: AdminApiOptions;
  /**
   * Bearer token of the Prometheus endpoint at `/warden/metrics`; default
   * `WARDEN_METRICS_TOKEN`. Unset → the endpoint is not mounted (metrics are off).
   */
  metricsToken?: string;
}

/** A running demo world. */
export interface World {
  port: number;
  server: Server;
  warden: Warden;
  close(): Promise<void>;
}

/**
 * Starts the demo world: Colyseus on `port` with room `world`, the warden plugin in it,
 * and the avatar's `restriction` field published by the warden (the opt-in schema field).
 */
export async function startWorld(options: WorldOptions): Promise<World> {
  const publicAddress = options.publicAddress ?? (process.env.PUBLIC_ADDRESS || undefined);
  const warden = createWarden({
    restrictionField: {
      avatarOf: (room, client) => (room.state as { avatars: Map<string, Avatar> }).avatars.get(client.sessionId),
    },
    // The player API (statements, appeals, own export) checks the same JWTs the rooms do.
    verifyPlayer: (token: string) => identifyFromJwtClaims(verifyDemoToken(token, options.jwtSecret)),
    ...options.warden,
  });
  const transport = new WebSocketTransport();
  const WorldRoom = createWorldRoom(warden, {
    jwtSecret: options.jwtSecret,
    reconnectSeconds: options.reconnectSeconds ?? 20,
  });
  const server = defineServer({
    rooms: { world: defineRoom(WorldRoom) },
    transport,
    ...(publicAddress ? { publicAddress } : {}),
    ...(options.redisUrl
      ? {
          // A cluster (`redis-cluster://h:p,…`): RedisPresence and RedisDriver take its seed nodes.
          presence: isClusterSpec(options.redisUrl)
            ? new RedisPresence(parseClusterNodes(options.redisUrl))
            : new RedisPresence(options.redisUrl),
          driver: isClusterSpec(options.redisUrl)
            ? new RedisDriver(parseClusterNodes(options.redisUrl))
            : new RedisDriver(options.redisUrl),
          // Without a public address per process a seat must be in the process the client
          // asked (it connects back to the same address): rooms are created there. With one,
          // Colyseus's own placement applies and the seat names the process to connect to.
          ...(publicAddress ? {} : { selectProcessIdToCreateRoom: async () => matchMaker.processId }),
        }
      : {}),
    // The admin API (tokens from WARDEN_ADMIN_TOKEN / WARDEN_MODERATOR_TOKEN / WARDEN_VIEWER_TOKEN, or options.admin).
    express: (app) => {
      app.use("/warden/api", warden.adminRoutes(options.admin));
      // The moderators' web console: static files that call the admin API above.
      app.use("/warden/console", warden.consoleRoutes());
      // The player API: a player's own sanctions with their statements, appeals, reports, export.
      app.use("/warden/player", warden.playerRoutes());
      // Prometheus metrics, only when a token protects them (off by default).
      const metricsToken = options.metricsToken ?? process.env.WARDEN_METRICS_TOKEN;
      if (metricsToken) app.use("/warden/metrics", warden.metricsRoutes({ token: metricsToken }));
    },
    greet: false,
    gracefullyShutdown: false,
  });
  try {
    await listen(server, transport.server, options.port);
  } catch (e) {
    // Nothing half-started is left behind: rooms, presence, driver and the warden's store.
    await server.gracefullyShutdown(false).catch(() => {});
    await warden.close().catch(() => {});
    throw e;
  }
  const address = server.transport.server?.address() as AddressInfo | null;
  const port = address?.port ?? options.port;
  return {
    port,
    server,
    warden,
    async close() {
      await server.gracefullyShutdown(false);
      await warden.close();
    },
  };
}

/** Why {@link startWorld} could not take its port (`code` is Node's: `EADDRINUSE`, `EACCES`…). */
export class ListenError extends Error {
  override readonly name = "ListenError";
  constructor(
    readonly port: number,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(
      code === "EADDRINUSE"
        ? `port ${port} is already in use: set PORT to another port`
        : code === "EACCES"
          ? `port ${port} may not be used by this user (EACCES): set PORT to another port`
          : `cannot listen on port ${port} (${code})`,
      options,
    );
  }
}

/**
 * `server.listen(port)`, except that a port it cannot take rejects with a {@link ListenError}.
 * Colyseus's WebSocketTransport only prints an http server's errors (with a stack) and its
 * `listen()` then waits for a "listening" that never comes: the process would hang on. So
 * while binding, the transport's error listeners are set aside and ours decides; they are
 * put back once the port is taken.
 */
async function listen(server: Server, http: HttpServer | undefined, port: number): Promise<void> {
  if (http === undefined) return server.listen(port);
  const theirs = http.listeners("error") as ((error: Error) => void)[];
  http.removeAllListeners("error");
  let onError: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onError = (error: Error & { code?: string }) =>
      reject(new ListenError(port, error.code ?? "unknown error", { cause: error }));
    http.once("error", onError);
  });
  try {
    await Promise.race([server.listen(port), failed]);
  } finally {
    http.off("error", onError);
    for (const listener of theirs) http.on("error", listener);
  }
}
