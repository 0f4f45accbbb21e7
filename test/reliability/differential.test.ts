/**
 * Scenario 7 — the guard against Colyseus's own decoder (issue 9).
 *
 * 1. In process, 120 000 generated and mutated frames: the guard's frame decoder and type
 *    table against Colyseus 0.18's `RoomMessages` (see test/helpers/frames.ts). 0 crashes,
 *    0 disagreements.
 * 2. On a real server, frames from the same generator sent raw by a muted and frozen
 *    player next to a bystander: none of its chat reaches the bystander, its avatar never
 *    moves, the server lives, and the guard's run-time check never fired.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { frames, runDifferential } from "../helpers/frames.js";
import { ownRedis, worldOver, type OwnRedis } from "./helpers/redis.js";
import {
  avatarIn,
  figure,
  join,
  leave,
  memoryLogger,
  ping,
  sendRaw,
  waitFor,
  watchProcessErrors,
  type Player,
} from "./helpers/clients.js";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const IN_PROCESS_FRAMES = Number(process.env.DIFFERENTIAL_FRAMES ?? 120_000);
const ON_THE_WIRE_FRAMES = Number(process.env.DIFFERENTIAL_WIRE_FRAMES ?? 4_000);

let redis: OwnRedis;
let world: World;
let bystander: Player;
const processErrors = watchProcessErrors();
const logger = memoryLogger();

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, {
    prefix: "rel-differential",
    logger,
    // Nothing may end the restricted session but Colyseus itself: no flood limits, no policy.
    guard: { flood: false, frames: false },
    muteTypes: ["chat", "report"],
    freezeTypes: ["move"],
    policy: { tracks: { spam: false, abuse: false, malformed: false, reported: false } },
  });
  bystander = await join(world.port, "differential-bystander");
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  await leave(bystander);
  await world?.close();
  await redis?.close();
});

describe("differential: the guard reads frames as Colyseus does", () => {
  it(`${IN_PROCESS_FRAMES} generated frames in process: 0 disagreements with Colyseus's RoomMessages`, () => {
    const started = performance.now();
    const tally = runDifferential(IN_PROCESS_FRAMES, SEED);
    figure("differential", "in-process", {
      seed: SEED,
      ...tally,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    });
    expect(tally.frames).toBe(IN_PROCESS_FRAMES);
    expect(tally.dispatched).toBeGreaterThan(IN_PROCESS_FRAMES / 5);
  }, 600_000);

  it(`${ON_THE_WIRE_FRAMES} generated frames from a muted, frozen player on a real server: nothing of theirs gets through`, async () => {
    const sub = "differential-restricted";
    const did = world.warden.digitalId(sub);
    await world.warden.sanctions.issue({ did, kind: "mute", reason: "differential", by: "test" });
    await world.warden.sanctions.issue({ did, kind: "freeze", reason: "differential", by: "test" });
    let player: Player | undefined;
    let sessions = 0;
    let moved = 0;
    const restrictedSessionIds = new Set<string>();
    const session = async (): Promise<Player> => {
      if (player !== undefined && player.seen.leftCode === null && player.room.connection.isOpen) return player;
      await leave(player);
      player = await join(world.port, sub, { roomId: bystander.room.roomId });
      restrictedSessionIds.add(player.room.sessionId);
      sessions++;
      return player;
    };
    const sample = fc.sample(frames, { numRuns: ON_THE_WIRE_FRAMES, seed: SEED });
    for (let i = 0; i < sample.length; i++) {
      const p = await session();
      sendRaw(p.room, sample[i]!);
      // Every 50 frames: the server answers, and the frozen avatar has not moved (as the bystander sees it).
      if (i % 50 === 49) {
        await Promise.race([ping(p.room, 3000), p.seen.left]);
        const avatar = avatarIn(bystander.room, p.room.sessionId);
        if (avatar !== undefined && (avatar.x !== 0 || avatar.y !== 0)) moved++;
      }
    }
    const last = await session();
    expect(await ping(last.room, 3000)).toBe(true);
    // The bystander is served, and saw nothing from the restricted sessions.
    const marker = `differential marker ${SEED}`;
    bystander.room.send("chat", { text: marker });
    await waitFor(() => bystander.seen.chats.some((c) => c.text === marker), "the bystander's marker");
    const leaked = bystander.seen.chats.filter((c) => restrictedSessionIds.has(c.from));
    figure("differential", "on-the-wire", {
      seed: SEED,
      frames: sample.length,
      sessions,
      leaked: leaked.length,
      moved,
      disagreements: world.warden.stats().frameDisagreements,
    });
    expect(leaked).toEqual([]);
    expect(moved).toBe(0);
    expect(world.warden.stats().frameDisagreements).toBe(0);
    expect(processErrors.errors).toEqual([]);
    await leave(last);
  }, 600_000);
});
