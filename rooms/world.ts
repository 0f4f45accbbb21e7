import { definePlugins, ErrorCode, Room, ServerError, validate, type Client } from "@colyseus/core";
import { schema, t, type SchemaType } from "@colyseus/schema";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { identifyFromJwtClaims, type Warden } from "../src/index.js";

/** An avatar: display name, position, and the warden's restriction (opt-in field). */
export const Avatar = schema({ name: t.string(), x: t.number(), y: t.number(), restriction: t.string() }, "Avatar");
export type Avatar = SchemaType<typeof Avatar>;

/** The demo world: every avatar by session id. */
export const WorldState = schema({ avatars: t.map(Avatar) }, "WorldState");
export type WorldState = SchemaType<typeof WorldState>;

/** Options of {@link createWorldRoom}. */
export interface WorldRoomOptions {
  /** HS256 key of the demo's JWTs. */
  jwtSecret: string;
  /** Seconds a dropped client may reconnect; 0 = no reconnection. */
  reconnectSeconds: number;
}

const ChatMessage = z.object({ text: z.string().min(1).max(500) });
const MoveMessage = z.object({ x: z.number().finite(), y: z.number().finite() });
const ReportMessage = z.object({
  sessionId: z.string().min(1).max(64),
  reason: z.string().max(500),
  category: z.string().max(20).optional(),
});
const AppealMessage = z.object({ sanctionId: z.string().min(1).max(64), text: z.string().min(1).max(2000) });

/** The claims of a demo token the warden's default `identify` reads (the rest is dropped). */
export interface DemoClaims {
  sub?: string;
  id?: string | number;
  anonymousId?: string;
  anonymous?: boolean;
  name?: string;
  username?: string;
  iss?: string;
}

/**
 * Verifies a demo token: HS256 only. It names the player by `sub` (a standard JWT), `id` (an
 * `@colyseus/auth` user token) or `anonymousId` (an `@colyseus/auth` anonymous sign-in).
 * Returns those claims or throws 4215-style errors.
 */
export function verifyDemoToken(token: string | undefined, secret: string): DemoClaims {
  if (!token)
    throw new ServerError(ErrorCode.AUTH_FAILED, "no token: join with a JWT whose sub (or id) claim names the account");
  let claims: jwt.JwtPayload | string;
  try {
    claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
  } catch (e) {
    throw new ServerError(ErrorCode.AUTH_FAILED, `invalid token: ${(e as Error).message}`);
  }
  if (typeof claims !== "object" || identifyFromJwtClaims(claims) === null) {
    throw new ServerError(ErrorCode.AUTH_FAILED, "invalid token: no sub, id or anonymousId claim");
  }
  const out: DemoClaims = {};
  for (const key of ["sub", "anonymousId", "name", "username", "iss"] as const)
    if (typeof claims[key] === "string") out[key] = claims[key];
  if (typeof claims.id === "string" || typeof claims.id === "number") out.id = claims.id;
  if (claims.anonymous === true) out.anonymous = true;
  return out;
}

/**
 * Builds the demo room class `world` for a warden. A factory because the room's plugin
 * list needs the warden instance. With `null`, the same room without the plugin (the
 * benchmarks' baseline); player reports are then answered "rejected".
 */
export function createWorldRoom(
  warden: Warden | null,
  options: WorldRoomOptions,
): new () => Room<{ state: WorldState }> {
  return class WorldRoom extends Room<{ state: WorldState }> {
    static override async onAuth(token: string) {
      return verifyDemoToken(token, options.jwtSecret);
    }

    override plugins = warden === null ? undefined : definePlugins([warden.plugin()]);
    override state = new WorldState();

    override messages = {
      chat: validate(ChatMessage, (client: Client, message: z.infer<typeof ChatMessage>) => {
        const avatar = this.state.avatars.get(client.sessionId);
        this.broadcast("chat", { from: client.sessionId, name: avatar?.name ?? "", text: message.text });
      }),
      move: validate(MoveMessage, (client: Client, message: z.infer<typeof MoveMessage>) => {
        const avatar = this.state.avatars.get(client.sessionId);
        if (avatar === undefined) return;
        avatar.x = message.x;
        avatar.y = message.y;
      }),
      report: validate(ReportMessage, async (client: Client, message: z.infer<typeof ReportMessage>) => {
        const outcome = this.plugins
          ? await this.plugins.warden.report(client, message)
          : ({ status: "rejected", reason: "no warden in this room" } as const);
        // The reporter learns the status and their receipt, nothing about other reports.
        client.send("report:ack", {
          sessionId: message.sessionId,
          accepted: outcome.status === "filed",
          status: outcome.status,
          ...(outcome.status === "filed" ? { receipt: outcome.receipt } : {}),
          ...(outcome.status === "rejected" ? { reason: outcome.reason } : {}),
        });
      }),
      // A player appeals one of their sanctions while connected (banned players use the player API).
      appeal: validate(AppealMessage, async (client: Client, message: z.infer<typeof AppealMessage>) => {
        const outcome = this.plugins
          ? await this.plugins.warden.appeal(client, message)
          : ({ status: "rejected", code: "NOT_FOUND", reason: "no warden in this room" } as const);
        client.send("appeal:ack", outcome);
      }),
    };

    override onJoin(client: Client) {
      const auth = client.auth as { name?: string } | undefined;
      const avatar = new Avatar();
      avatar.name = (auth?.name ?? "guest").slice(0, 32);
      avatar.x = 0;
      avatar.y = 0;
      avatar.restriction = "";
      this.state.avatars.set(client.sessionId, avatar);
    }

    override onDrop(client: Client) {
      if (options.reconnectSeconds > 0) {
        // Refused (e.g. by the warden after a kick) or timed out: onLeave removes the avatar.
        Promise.resolve(this.allowReconnection(client, options.reconnectSeconds)).catch(() => {});
      }
    }

    override onLeave(client: Client) {
      this.state.avatars.delete(client.sessionId);
    }
  };
}
