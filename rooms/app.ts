import type { AddressInfo } from "node:net";
import { defineRoom, defineServer, matchMaker, type Server } from "@colyseus/core";
import { RedisDriver } from "@colyseus/redis-driver";
import { RedisPresence } from "@colyseus/redis-presence";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { createWarden, type AdminApiOptions, type Warden, type WardenOptions } from "../src/index.js";
import { createWorldRoom, type Avatar } from "./world.js";

/** Options of {@link startWorld}. */
export interface WorldOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** HS256 key of the demo's JWTs. */
  jwtSecret: string;
  /** Warden options; `store` set to the same Redis also shares matchmaking (RedisPresence + RedisDriver). */
  warden: WardenOptions;
  /** Redis URL for Colyseus presence and driver (multi-process); unset = local. */
  redisUrl?: string;
  /** Seconds a dropped client may reconnect. @defaultValue 20 */
  reconnectSeconds?: number;
  /** Admin API tokens; default from the environment. */
  admin?: AdminApiOptions;
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
  const warden = createWarden({
    restrictionField: {
      avatarOf: (room, client) => (room.state as { avatars: Map<string, Avatar> }).avatars.get(client.sessionId),
    },
    ...options.warden,
  });
  const WorldRoom = createWorldRoom(warden, { jwtSecret: options.jwtSecret, reconnectSeconds: options.reconnectSeconds ?? 20 });
  const server = defineServer({
    rooms: { world: defineRoom(WorldRoom) },
    transport: new WebSocketTransport(),
    ...(options.redisUrl
      ? {
          presence: new RedisPresence(options.redisUrl),
          driver: new RedisDriver(options.redisUrl),
          // Rooms are created in the process the client asked: the demo has no proxy in front.
          selectProcessIdToCreateRoom: async () => matchMaker.processId,
        }
      : {}),
    // The admin API (tokens from WARDEN_ADMIN_TOKEN / WARDEN_VIEWER_TOKEN, or options.admin).
    express: (app) => {
      app.use("/warden/api", warden.adminRoutes(options.admin));
    },
    greet: false,
    gracefullyShutdown: false,
  });
  await server.listen(options.port);
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
