/**
 * The demo room WITHOUT colyseus-warden, for baselines: rooms/world.ts's own room class
 * built without the plugin — same state, onAuth, handlers, validation and lifecycle; a
 * player report has no warden to go to and is answered "rejected".
 */
import type { Room } from "@colyseus/core";
import { createWorldRoom, type WorldRoomOptions, type WorldState } from "../rooms/world.js";

export function createBareWorldRoom(options: WorldRoomOptions): new () => Room<{ state: WorldState }> {
  return createWorldRoom(null, options);
}
