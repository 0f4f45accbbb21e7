/**
 * Differential testing of the guard's frame decoder (src/plugin/frames.ts + the type table)
 * against Colyseus 0.18's own message routing (`RoomMessages` of @colyseus/core): the same
 * class, the same decode functions, the same handler registry the server uses. For each
 * generated frame, what Colyseus hands a handler (which handler, which type, which payload)
 * must be what the guard read; a frame Colyseus routes nowhere must be one the guard did
 * not approve for any handler.
 */
import { Protocol } from "@colyseus/core";
import { RoomMessages } from "@colyseus/core/RoomMessages";
import fc from "fast-check";
import { pack } from "msgpackr";
import { isDeepStrictEqual } from "node:util";
import { dispatchAgrees, emptyVerdict, Guard, type FrameVerdict } from "../../src/guard/guard.js";
import { FloodBuckets } from "../../src/guard/flood.js";
import type { TypeTable } from "../../src/guard/types.js";
import { Standing, type LiveSession } from "../../src/sanctions/standing.js";
import { resolveOptions } from "../../src/options.js";
import { decodePayload, FrameKind, frameHead, readFrame, typeKey, UNDECODABLE } from "../../src/guard/frames.js";

/** Handler keys of the room under test: canonical, numeric, non-ASCII, long, byte handlers, and a "*". */
export const KEYS = [
  "chat",
  "move",
  "7",
  "0",
  "127",
  "200",
  "ü",
  "chat-with-a-rather-long-type-name-over-31",
  "a",
  "_$bchat",
  "_$bblob",
  "_$b7",
] as const;
/** Every handler key written as a type (the byte keys too: forged sends), and names that must reach no typed handler. */
const TYPE_STRINGS = [
  ...KEYS.filter((key) => !key.startsWith("_$b")),
  "blob",
  "*",
  "",
  "__proto__",
  "constructor",
  "toString",
  "_$bchat",
  "undefined",
  "NaN",
  "chat\u0000",
  "CHAT",
];
const TYPE_NUMBERS = [0, 7, 127, 128, 200, -1, 1.5, 65535, 2 ** 32 + 7];

/** One dispatch as a handler saw it. */
interface Dispatch {
  key: string;
  type: unknown;
  payload: unknown;
}

/** A RoomMessages of Colyseus with recording handlers under KEYS and "*". */
export function colyseusRouter(): { route(frame: Buffer): Dispatch[] } {
  const room = { roomName: "differential", roomId: "differential", onUncaughtException: undefined };
  const messages = new RoomMessages(room as never);
  let seen: Dispatch[] = [];
  for (const key of KEYS)
    messages.on(key, (_client: unknown, payload: unknown) => seen.push({ key, type: undefined, payload }));
  messages.on("*", (_client: unknown, type: unknown, payload: unknown) => seen.push({ key: "*", type, payload }));
  // The client is not under test: Colyseus only calls leave/error/enqueueRaw on it here.
  const client = { sessionId: "s", leave() {}, error() {}, enqueueRaw() {}, raw() {} };
  return {
    route(frame: Buffer): Dispatch[] {
      seen = [];
      const it = { offset: 1 };
      const code = frame.length === 0 ? 0 : frame[0]! & 0x1f;
      // Exactly Room#_onMessage's dispatch of the frames that reach handlers.
      if (code === Protocol.ROOM_DATA) messages.onData(client as never, frame, it);
      else if (code === Protocol.ROOM_REQUEST) messages.onRequest(client as never, frame, it);
      else if (code === Protocol.ROOM_DATA_BYTES) messages.onDataBytes(client as never, frame, it);
      return seen;
    },
  };
}

/** What the guard decides about a frame: the real Guard, with flood limits off, in a room that serves KEYS and "*". */
export function guardReader(): {
  read(frame: Buffer): { approved: boolean; verdict: FrameVerdict; key: string; payload: unknown };
  table: TypeTable;
} {
  const options = resolveOptions({ secret: "differential-secret-0123", guard: { flood: false, frames: false } });
  const guard = new Guard(
    options.guard,
    { offense() {}, remind() {} },
    { muted: ["chat"], frozen: ["move"], chat: ["chat"] },
  );
  const table = guard.table();
  const keys = [...KEYS, "*"];
  table.refresh(keys);
  const session = { flood: new FloodBuckets(), standing: new Standing("a".repeat(26)) } as unknown as LiveSession;
  const head = frameHead();
  const verdict = emptyVerdict();
  return {
    table,
    read(frame) {
      readFrame(frame, head);
      verdict.entry = null;
      verdict.hold = false;
      const approved = guard.inspect(session, table, frame, head, verdict, () => keys);
      const typed = head.kind === FrameKind.data || head.kind === FrameKind.bytes || head.kind === FrameKind.request;
      const key = typed ? typeKey(frame, head) : "";
      const payload = !typed
        ? undefined
        : head.kind === FrameKind.bytes
          ? frame.subarray(head.payloadOffset)
          : decodePayload(frame, head);
      return { approved, verdict, key, payload };
    },
  };
}

/**
 * Checks one frame: returns null when the guard and Colyseus agree, else a sentence.
 * Agreement: a frame the guard approves reaches only handlers that fit the guard's verdict
 * (the check the plugin's handler wrappers make), handed the payload the guard decoded.
 * A frame the guard drops never reaches Colyseus, whatever Colyseus would do with it.
 */
export function disagreement(
  frame: Buffer,
  router: ReturnType<typeof colyseusRouter>,
  guard: ReturnType<typeof guardReader>,
): string | null {
  const dispatches = router.route(frame);
  const seen = guard.read(frame);
  if (!seen.approved) return null;
  for (const d of dispatches) {
    if (!dispatchAgrees(d.key, d.type, seen.verdict, guard.table)) {
      return `handler ${d.key}${d.key === "*" ? ` (type ${String(d.type)})` : ""} ran; the guard approved ${seen.verdict.entry?.key ?? `a type only "*" serves (${seen.key})`}`;
    }
    if (seen.payload === UNDECODABLE) return `handler ${d.key} got a payload the guard could not decode`;
    if (!isDeepStrictEqual(normalize(d.payload), normalize(seen.payload)))
      return `handler ${d.key} got another payload than the guard read`;
  }
  if (dispatches.length > 1) return `${dispatches.length} handlers ran for one frame`;
  return null;
}

function normalize(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value;
}

// ---- generators --------------------------------------------------------------------------

function utf8(text: string): number[] {
  return [...Buffer.from(text, "utf8")];
}

/** Overlong UTF-8 (2 bytes) of an ASCII string: Colyseus's utf8Read decodes it to the same text. */
function overlong(text: string): number[] {
  return [...text].flatMap((ch) => [0xc0 | (ch.charCodeAt(0) >> 6), 0x80 | (ch.charCodeAt(0) & 0x3f)]);
}

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 256 ** i) & 0xff);
  return out;
}

/** The type in every encoding a frame can carry (canonical and not). */
const typeEncoding: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom(...TYPE_STRINGS).chain((t) =>
    fc.constantFrom<number[]>(
      utf8(t).length < 32 ? [0xa0 | utf8(t).length, ...utf8(t)] : [0xd9, utf8(t).length, ...utf8(t)],
      [0xd9, utf8(t).length & 0xff, ...utf8(t)],
      [0xda, ...le(utf8(t).length, 2), ...utf8(t)],
      [0xdb, ...le(utf8(t).length, 4), ...utf8(t)],
      [0xa0 | (overlong(t).length & 0x1f), ...overlong(t)],
      [0xa0 | ((utf8(t).length + 3) & 0x1f), ...utf8(t)], // length claims more than the frame holds
    ),
  ),
  fc.constantFrom(...TYPE_NUMBERS).map((n) => {
    if (Number.isInteger(n) && n >= 0 && n < 128) return [n];
    if (Number.isInteger(n) && n >= 0 && n < 256) return [0xcc, n];
    if (Number.isInteger(n) && n >= 0 && n < 65536) return [0xcd, ...le(n, 2)];
    if (Number.isInteger(n) && n < 0 && n >= -32) return [0x100 + n];
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    return [0xcb, ...b];
  }),
  fc.uint8Array({ minLength: 0, maxLength: 6 }).map((b) => [...b]),
  fc.constantFrom<number[]>([0xa0], [0xc0], [0x90], [0xde, 0, 0], [0xd4, 1, 2]),
);

const requestId: fc.Arbitrary<number[]> = fc.oneof(
  fc.integer({ min: 0, max: 127 }).map((n) => [n]),
  fc.integer({ min: 0, max: 65535 }).map((n) => [0xcd, ...le(n, 2)]),
  fc.constantFrom<number[]>([0xa1, 0x78], [0xa4], [0xc0], [0xd9], [0xcb, 1, 2], [0xce], [0xe0], [0x80], [0xd4]),
  fc.uint8Array({ maxLength: 4 }).map((b) => [...b]),
);

const payload: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .oneof(
        fc.record({ text: fc.string({ maxLength: 30 }) }),
        fc.record({ x: fc.double(), y: fc.integer() }),
        fc.jsonValue({ maxDepth: 3 }),
      )
      .map((v) => [...pack(v)]),
  },
  { weight: 1, arbitrary: fc.constant<number[]>([]) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => [...b]) },
);

const code: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(Protocol.ROOM_DATA, Protocol.ROOM_REQUEST, Protocol.ROOM_DATA_BYTES) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(Protocol.ROOM_DATA, Protocol.ROOM_REQUEST, Protocol.ROOM_DATA_BYTES),
        fc.integer({ min: 1, max: 7 }),
      )
      .map(([c, m]) => c | (m << 5)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

/** Frames: every code, every type encoding, odd request ids, good and bad payloads, plus byte-level mutations. */
export const frames: fc.Arbitrary<Buffer> = fc
  .tuple(
    code,
    requestId,
    typeEncoding,
    payload,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
    fc.nat({ max: 40 }),
  )
  .map(([c, id, type, body, mutations, cut]) => {
    const bytes = [c, ...((c & 0x1f) === Protocol.ROOM_REQUEST ? id : []), ...type, ...body];
    for (const [at, value] of mutations) bytes[at % bytes.length] = value;
    // Sometimes the frame is cut short, anywhere.
    const length = cut < 4 ? Math.max(0, bytes.length - 1 - cut) : bytes.length;
    return Buffer.from(bytes.slice(0, length));
  });

/** Runs the differential over `numRuns` generated frames; counts the frames the guard approved and those that reached a handler. */
export function runDifferential(
  numRuns: number,
  seed?: number,
): { frames: number; approved: number; dispatched: number } {
  const router = colyseusRouter();
  const guard = guardReader();
  const tally = { frames: 0, approved: 0, dispatched: 0 };
  // Colyseus prints every frame it cannot decode; that is its expected reaction here.
  const error = console.error;
  console.error = () => {};
  try {
    fc.assert(
      fc.property(frames, (frame) => {
        tally.frames++;
        const problem = disagreement(frame, router, guard);
        if (problem !== null) throw new Error(`${problem} — frame ${frame.toString("hex")}`);
        if (guard.read(frame).approved) {
          tally.approved++;
          if (router.route(frame).length > 0) tally.dispatched++;
        }
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    console.error = error;
  }
  return tally;
}
