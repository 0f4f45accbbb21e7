/**
 * The demo room WITHOUT colyseus-warden, for baselines: the same state (rooms/world.ts's
 * Avatar / WorldState), the same onAuth (HS256 JWT), the same handlers and validation
 * schemas, the same onJoin/onDrop/onLeave — only `plugins` is missing. A player report
 * has no warden to go to: it is answered "rejected".
 */
import { Room, validate, type Client } from "@colyseus/core";
import { z } from "zod";
import { Avatar, verifyDemoToken, WorldState, type WorldRoomOptions } from "../rooms/world.js";

// Same schemas as rooms/world.ts (not exported there).
const ChatMessage = z.object({ text: z.string().min(1).max(500) });
const MoveMessage = z.object({ x: z.number().finite(), y: z.number().finite() });
const ReportMessage = z.object({ sessionId: z.string().min(1).max(64), reason: z.string().max(500) });

export function createBareWorldRoom(options: WorldRoomOptions): new () => Room<{ state: WorldState }> {
  return class BareWorldRoom extends Room<{ state: WorldState }> {
    static override async onAuth(token: string) {
      return verifyDemoToken(token, options.jwtSecret);
    }

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
      report: validate(ReportMessage, (client: Client, message: z.infer<typeof ReportMessage>) => {
        client.send("report:ack", { sessionId: message.sessionId, accepted: false, status: "rejected", reason: "no warden in this room" });
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
        Promise.resolve(this.allowReconnection(client, options.reconnectSeconds)).catch(() => {});
      }
    }

    override onLeave(client: Client) {
      this.state.avatars.delete(client.sessionId);
    }
  };
}
