/**
 * Scenario 5 — fuzzing. Property-based frames (fast-check) sent raw on a real socket
 * (`room.connection.send(Uint8Array)`) to a real world (in this process, so that its
 * counters and Object.prototype can be read) with a real Redis started here.
 *
 * For every frame: the server answers the next PING or closes that one socket, never
 * crashes; the frame adds at most one offense; a frame the guard or Colyseus rejects adds
 * exactly one; a bystander in the same room is served throughout; after the run every
 * counted offense is in Redis once, and no prototype was polluted.
 */
import fc from "fast-check";
import { decode } from "@colyseus/schema";
import { pack } from "msgpackr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { World } from "../../rooms/app.js";
import { feedLength, historyLength, ownRedis, storedEvents, type OwnRedis, worldOver } from "./helpers/redis.js";
import {
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

const prefix = "rel-fuzz";
const JOIN_ROOM = 10;
const ROOM_DATA = 13;
const ROOM_DATA_BYTES = 17;
const PING = 18;
const ROOM_REQUEST = 21;
const LEAVE_ROOM = 12;
const MAX_MESSAGE_BYTES = 2048; // guard default
const MAX_PAYLOAD = 4096; // @colyseus/ws-transport default maxPayload
const HANDLED = ["chat", "move", "report"];
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

let redis: OwnRedis;
let world: World;
let bystander: Player;
const processErrors = watchProcessErrors();
const logger = memoryLogger();
const prototypesBefore = snapshotPrototypes();

/** Offenses counted per fuzzing subject, to compare with Redis at the end. */
const expectedPerSubject = new Map<string, number>();
const tally = { cases: 0, recorded: 0, closes: 0, mustRecord: 0, byGenerator: {} as Record<string, number> };
let fuzzer: Player | undefined;
let fuzzerCount = 0;

beforeAll(async () => {
  redis = await ownRedis();
  world = await worldOver(redis, {
    prefix,
    logger,
    // Every rejected frame must be recorded: no flood limiter (it records one event per
    // second, not per frame), and no policy (a kick would end the fuzzing session).
    guard: { flood: false, frames: false },
    policy: { tracks: { spam: false, abuse: false, malformed: false, reported: false } },
  });
  bystander = await join(world.port, "fuzz-bystander");
}, 60_000);

afterAll(async () => {
  processErrors.stop();
  await leave(fuzzer);
  await leave(bystander);
  await world?.close();
  await redis?.close();
});

function snapshotPrototypes(): string {
  return JSON.stringify(
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) =>
      Object.getOwnPropertyNames(p).sort(),
    ),
  );
}

/** msgpack-style string as Colyseus writes message types (fixstr / str8). */
function encodeType(type: string): number[] {
  const bytes = [...Buffer.from(type, "utf8")];
  return bytes.length < 32 ? [0xa0 | bytes.length, ...bytes] : [0xd9, bytes.length, ...bytes];
}

/** The handler key Colyseus files a typed frame under, read with Colyseus's own decode functions. */
function colyseusKey(frame: Uint8Array, code: number): string {
  const it = { offset: 1 };
  const buffer = Buffer.from(frame);
  if (code === ROOM_REQUEST) decode.number(buffer, it);
  const error = console.error;
  console.error = () => {}; // utf8Read reports bad bytes; expected here
  try {
    return String(decode.stringCheck(buffer, it) ? decode.string(buffer, it) : decode.number(buffer, it));
  } finally {
    console.error = error;
  }
}

/**
 * What the warden must do with a frame, from its bytes alone (read the way Colyseus reads
 * them): "must" record it (the guard drops it: oversized, unknown protocol code, unknown or
 * forged type, byte message without handler, an input frame in a room without defineInput;
 * or the transport refuses it), or "may" (a valid message, a control frame, or one that
 * only Colyseus can judge — if Colyseus then closes the socket, recording becomes a must too).
 */
function expectation(frame: Uint8Array): "must" | "may" {
  if (frame.length > MAX_PAYLOAD) return "must";
  const code = frame[0]! & 0x1f;
  if (code === JOIN_ROOM || code === PING || code === LEAVE_ROOM) return "may";
  if (code !== ROOM_DATA && code !== ROOM_DATA_BYTES && code !== ROOM_REQUEST) return "must";
  if (frame.length > MAX_MESSAGE_BYTES) return "must";
  if (code === ROOM_DATA_BYTES) return "must"; // the demo room has no byte handlers
  return HANDLED.includes(colyseusKey(frame, code)) ? "may" : "must";
}

async function fuzzingSession(): Promise<Player> {
  if (fuzzer !== undefined && fuzzer.seen.leftCode === null && fuzzer.room.connection.isOpen) return fuzzer;
  await leave(fuzzer);
  const sub = `fuzz-${++fuzzerCount}`;
  fuzzer = await join(world.port, sub, { roomId: bystander.room.roomId });
  expectedPerSubject.set(sub, 0);
  return fuzzer;
}

/** Sends one frame and checks what the server did with it. */
async function sendCase(generator: string, frame: Uint8Array): Promise<void> {
  const session = await fuzzingSession();
  const before = world.warden.stats().offenses;
  sendRaw(session.room, frame);
  const answered = await Promise.race([ping(session.room, 3000), session.seen.left.then(() => false)]);
  // A PING-coded fuzz frame gets its own PING reply, which may have answered ours: ask again.
  if (answered && (frame[0]! & 0x1f) === PING) await ping(session.room, 3000);
  if (!answered)
    await waitFor(
      () => session.seen.leftCode !== null,
      `an answer or a close after a ${generator} frame of ${frame.length} bytes`,
      3000,
    );
  const delta = world.warden.stats().offenses - before;
  const closedByServer = !answered && (frame[0]! & 0x1f) !== LEAVE_ROOM;
  const must = expectation(frame) === "must" || closedByServer;
  tally.cases++;
  tally.byGenerator[generator] = (tally.byGenerator[generator] ?? 0) + 1;
  if (closedByServer) tally.closes++;
  if (must) tally.mustRecord++;
  tally.recorded += delta;
  expectedPerSubject.set(session.sub, (expectedPerSubject.get(session.sub) ?? 0) + delta);
  const context = `${generator} frame [${Buffer.from(frame.subarray(0, 24)).toString("hex")}${frame.length > 24 ? "…" : ""}] (${frame.length} bytes, ${closedByServer ? `closed ${session.seen.leftCode}` : "still open"})`;
  expect(delta, `offenses added by ${context}`).toBeLessThanOrEqual(1);
  if (must) expect(delta, `offenses added by ${context}`).toBe(1);
  if (tally.cases % 20 === 0) await bystanderIsServed(`after ${tally.cases} fuzz cases`);
}

async function bystanderIsServed(when: string): Promise<void> {
  const text = `still served ${when}`;
  bystander.room.send("chat", { text });
  await waitFor(() => bystander.seen.chats.some((c) => c.text === text), `the bystander's chat ${when}`, 3000);
  expect(bystander.seen.leftCode).toBeNull();
}

// ---- generators -------------------------------------------------------------------------

const handledType = fc.constantFrom(...HANDLED);
const anyType = fc.oneof(
  handledType,
  fc.string({ maxLength: 40 }),
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "*", "_$bchat", ""),
);
const payload = fc.jsonValue({ maxDepth: 4 });

const randomBytes = fc.uint8Array({ minLength: 1, maxLength: 300 });
const wrongCodes = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }))
  .map(([code, tail]) => Uint8Array.from([code, ...tail]));
const truncatedMsgpack = fc
  .tuple(
    handledType,
    fc.oneof(payload, fc.record({ text: fc.string({ maxLength: 60 }) }), fc.record({ x: fc.double(), y: fc.double() })),
    fc.nat(),
  )
  .map(([type, value, cut]) => {
    const packed = pack(value);
    const keep = packed.length <= 1 ? 0 : cut % packed.length; // always strictly shorter than the encoding
    return Uint8Array.from([ROOM_DATA, ...encodeType(type), ...packed.subarray(0, keep)]);
  })
  // A cut that leaves a complete (shorter) msgpack value is a valid message, not a truncation.
  .filter((frame) => frame.length > 1);
const hugeStrings = fc
  .tuple(
    fc.constantFrom("chat", "report", "teleport"),
    fc.integer({ min: 400, max: 12_000 }),
    fc.constantFrom("a", "é", "😀", "\u0000", "<script>"),
  )
  .map(([type, length, unit]) => {
    const text = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
    const body = type === "report" ? { sessionId: "x".repeat(Math.min(length, 100)), reason: text } : { text };
    return Uint8Array.from([ROOM_DATA, ...encodeType(type), ...pack(body)]);
  });
const deepObjects = fc
  .tuple(fc.oneof(handledType, fc.constant("deep")), fc.integer({ min: 1, max: 4000 }), fc.constantFrom("array", "map"))
  .map(([type, depth, shape]) => {
    const levels: number[] = [];
    for (let i = 0; i < depth; i++) levels.push(...(shape === "array" ? [0x91] : [0x81, 0xa1, 0x61]));
    return Uint8Array.from([ROOM_DATA, ...encodeType(type), ...levels, 0xc0]);
  });
const pollutingKeys = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "__defineGetter__",
  "toString",
  "valueOf",
);
const protoPollution = fc
  .tuple(anyType, pollutingKeys, pollutingKeys, fc.constantFrom(ROOM_DATA, ROOM_REQUEST))
  .map(([type, outer, inner, code]) => {
    const value = new Map<string, unknown>([
      [
        outer,
        new Map<string, unknown>([
          [
            inner,
            new Map<string, unknown>([
              ["polluted", true],
              ["x", 1],
            ]),
          ],
        ]),
      ],
      ["text", "hi"],
      ["x", 1],
      ["y", 2],
    ]);
    const head = code === ROOM_REQUEST ? [ROOM_REQUEST, 1] : [ROOM_DATA];
    return Uint8Array.from([...head, ...encodeType(type), ...pack(value)]);
  });
const requests = fc
  .tuple(
    fc.uint8Array({ minLength: 0, maxLength: 9 }),
    anyType,
    fc.oneof(
      payload.map((v) => [...pack(v)]),
      fc.uint8Array({ maxLength: 40 }).map((b) => [...b]),
    ),
  )
  .map(([requestId, type, body]) => Uint8Array.from([ROOM_REQUEST, ...requestId, ...encodeType(type), ...body]));

const GENERATORS: [string, fc.Arbitrary<Uint8Array>, number][] = [
  ["random bytes", randomBytes, 300],
  ["wrong protocol codes", wrongCodes, 400],
  ["truncated msgpack", truncatedMsgpack, 300],
  ["huge strings", hugeStrings, 100],
  ["deep objects", deepObjects, 150],
  ["prototype-pollution keys", protoPollution, 200],
  ["requests", requests, 300],
];

describe("fuzzed frames", () => {
  for (const [name, arbitrary, numRuns] of GENERATORS) {
    it(`${name}: no crash, at most one offense per frame, every rejected frame recorded, the room serves a clean client`, async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, (frame) => sendCase(name, frame)),
        { numRuns, seed: SEED, endOnFailure: true },
      );
      await bystanderIsServed(`after the ${name} run`);
    });
  }

  it("after the run: every counted offense is in Redis exactly once, nothing crashed, no prototype polluted", async () => {
    expect(await world.warden.recorder.drain(10_000)).toBe(true);
    const stats = world.warden.stats();
    expect(stats.offenses).toBe(tally.recorded);
    expect(stats).toMatchObject({ recorded: tally.recorded, buffered: 0, overflowed: 0 });
    expect(await feedLength(redis.admin, prefix)).toBe(tally.recorded);
    for (const [sub, expected] of expectedPerSubject) {
      expect(await historyLength(redis.admin, prefix, world.warden.digitalId(sub)), `events of ${sub}`).toBe(expected);
    }
    expect(await historyLength(redis.admin, prefix, world.warden.digitalId("fuzz-bystander"))).toBe(0);
    expect(processErrors.errors).toEqual([]);
    expect(snapshotPrototypes()).toBe(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
    figure("fuzz", "cases", { seed: SEED, ...tally, sessions: fuzzerCount });
  });
});

describe("requests (ROOM_REQUEST frames) get the same checks as messages", () => {
  it("abusive chat sent with room.request() is caught and never reaches the room", async () => {
    const speaker = await join(world.port, "fuzz-request-speaker", { roomId: bystander.room.roomId });
    const did = world.warden.digitalId("fuzz-request-speaker");
    await speaker.room.request("chat", { text: "fuck you all" }).catch(() => undefined);
    speaker.room.send("chat", { text: "request marker" });
    await waitFor(() => bystander.seen.chats.some((c) => c.text === "request marker"), "the marker chat");
    await world.warden.recorder.drain();
    const kinds = (await storedEvents(redis.admin, prefix, did)).map((e) => e.kind);
    const leaked = bystander.seen.chats
      .filter((c) => c.from === speaker.room.sessionId && c.text !== "request marker")
      .map((c) => c.text);
    expect({ broadcast: leaked, recorded: kinds }).toEqual({ broadcast: [], recorded: ["abusive_text"] });
    await leave(speaker);
  });

  it("a request whose payload fails the room's validate() is recorded (invalid), like the same message sent with send()", async () => {
    const sender = await join(world.port, "fuzz-request-invalid", { roomId: bystander.room.roomId });
    const did = world.warden.digitalId("fuzz-request-invalid");
    const reply = await sender.room.request("move", { x: "north", y: 1 }).then(
      () => "ok",
      (e: unknown) => `rejected: ${(e as Error).message}`,
    );
    expect(reply).toMatch(/^rejected/); // Colyseus did reject it
    await world.warden.recorder.drain();
    await new Promise((r) => setTimeout(r, 200));
    await world.warden.recorder.drain();
    const kinds = (await storedEvents(redis.admin, prefix, did)).map((e) => e.kind);
    expect(kinds).toEqual(["invalid"]);
    await leave(sender);
  });
});
