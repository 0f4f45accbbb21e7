/**
 * The one frame decoder: reads every frame a client can send exactly as Colyseus 0.18's
 * `Room#_onMessage` and `RoomMessages` read it, so that the guard decides on the same
 * protocol code and message type that Colyseus then dispatches on.
 *
 * Exactness is by construction, not by imitation: wherever a frame is not in the one
 * canonical shape that can be read without allocating (an ASCII fixstr or a positive
 * fixint type, wholly inside the frame), the type is decoded with the very functions
 * Colyseus calls (`decode.stringCheck`, `decode.string`, `decode.number` of
 * `@colyseus/schema`). `test/frames.test.ts` and the reliability suite's differential test
 * check the fast path against Colyseus's own `RoomMessages` on generated frames.
 *
 * Layouts (byte 0 is the protocol code; its top 3 bits are modifiers Colyseus strips):
 *   ROOM_DATA         [code][type: str | num][msgpack payload?]
 *   ROOM_DATA_BYTES   [code][type: str | num][raw bytes]
 *   ROOM_REQUEST      [code][requestId: num][type: str | num][msgpack payload?]
 *   ROOM_INPUT_*      [code][input bytes]                      (defineInput)
 *   JOIN_ROOM, PING, LEAVE_ROOM                                 (control, no type)
 */
import { Protocol } from "@colyseus/core";
import { PROTOCOL_CODE_MASK } from "@colyseus/shared-types";
import { decode } from "@colyseus/schema";
import { unpack } from "msgpackr";

/** What a frame is, for the guard. */
export const FrameKind = {
  /** JOIN_ROOM, PING, LEAVE_ROOM: no type, no payload for room code. */
  control: 0,
  /** ROOM_DATA: a typed msgpack message (`room.send`). */
  data: 1,
  /** ROOM_DATA_BYTES: a typed raw-bytes message (`room.sendBytes`). */
  bytes: 2,
  /** ROOM_REQUEST: a typed msgpack message that expects a reply (`room.request`). */
  request: 3,
  /** ROOM_INPUT_RELIABLE / ROOM_INPUT_UNRELIABLE: `defineInput` frames. */
  input: 4,
  /** Anything else: Colyseus ignores it; the guard drops and records it. */
  unknown: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/**
 * One frame's head. Filled in place by {@link readFrame} (one object per caller, reused:
 * a clean frame allocates nothing).
 */
export interface FrameHead {
  kind: FrameKind;
  /** Protocol code, modifiers stripped. */
  code: number;
  /** Offset of the type's first byte (data, bytes, request); 0 otherwise. */
  typeOffset: number;
  /**
   * True when the type is in canonical form wholly inside the frame (ASCII fixstr of 1-31
   * bytes, or positive fixint): its bytes then ARE the type, and a byte-wise match against
   * a type's canonical encoding is an exact comparison. False: `type` holds the decoded type.
   */
  canonical: boolean;
  /** The type as Colyseus decodes it, when not `canonical` (may be `undefined`, as in Colyseus). */
  type: string | number | undefined;
  /** Offset where the payload starts (data, bytes, request). */
  payloadOffset: number;
  /** A request's id when it is one a reply can carry (a safe non-negative integer). */
  requestId: number | undefined;
}

/** A fresh head to be filled by {@link readFrame}. */
export function frameHead(): FrameHead {
  return {
    kind: FrameKind.unknown,
    code: 0,
    typeOffset: 0,
    canonical: false,
    type: undefined,
    payloadOffset: 0,
    requestId: undefined,
  };
}

// One iterator for the slow path (the decode functions move `offset` in place; nothing re-enters).
const it = { offset: 0 };

// Colyseus's codes, read once into constants: `Protocol.X` inside the switch is a property
// read (through a getter, for a re-exported binding) on every frame.
const CODE_MASK: number = PROTOCOL_CODE_MASK;
const ROOM_DATA: number = Protocol.ROOM_DATA;
const ROOM_DATA_BYTES: number = Protocol.ROOM_DATA_BYTES;
const ROOM_REQUEST: number = Protocol.ROOM_REQUEST;
const ROOM_INPUT_RELIABLE: number = Protocol.ROOM_INPUT_RELIABLE;
const ROOM_INPUT_UNRELIABLE: number = Protocol.ROOM_INPUT_UNRELIABLE;
const JOIN_ROOM: number = Protocol.JOIN_ROOM;
const PING: number = Protocol.PING;
const LEAVE_ROOM: number = Protocol.LEAVE_ROOM;

/** Reads the head of `buffer` into `head`, exactly as Colyseus will. Never throws. */
export function readFrame(buffer: Uint8Array, head: FrameHead): void {
  head.canonical = false;
  head.type = undefined;
  head.typeOffset = 0;
  head.payloadOffset = 0;
  head.requestId = undefined;
  // Colyseus computes `buffer[0] & mask`: an empty frame is code 0, which it ignores.
  const code = (buffer.length === 0 ? 0 : buffer[0]!) & CODE_MASK;
  head.code = code;
  switch (code) {
    case ROOM_DATA:
      head.kind = FrameKind.data;
      readType(buffer, 1, head);
      return;
    case ROOM_DATA_BYTES:
      head.kind = FrameKind.bytes;
      readType(buffer, 1, head);
      return;
    case ROOM_REQUEST: {
      head.kind = FrameKind.request;
      // The request id, read by Colyseus's own decode.number: whatever its prefix (even one
      // that is no number at all), this is how far Colyseus moves before reading the type.
      it.offset = 1;
      const id: unknown = decode.number(buffer as Buffer, it);
      if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) head.requestId = id;
      readType(buffer, it.offset, head);
      return;
    }
    case ROOM_INPUT_RELIABLE:
    case ROOM_INPUT_UNRELIABLE:
      head.kind = FrameKind.input;
      return;
    case JOIN_ROOM:
    case PING:
    case LEAVE_ROOM:
      head.kind = FrameKind.control;
      return;
    default:
      head.kind = FrameKind.unknown;
  }
}

function readType(buffer: Uint8Array, offset: number, head: FrameHead): void {
  head.typeOffset = offset;
  const prefix = buffer[offset];
  if (prefix !== undefined) {
    if (prefix < 0x80) {
      head.canonical = true;
      head.payloadOffset = offset + 1;
      return;
    }
    // decode.stringCheck takes 0xa1-0xbf as fixstr (not 0xa0, which decode.number reads as nothing).
    if (prefix > 0xa0 && prefix < 0xc0) {
      const end = offset + 1 + (prefix & 0x1f);
      if (end <= buffer.length && isAscii(buffer, offset + 1, end)) {
        head.canonical = true;
        head.payloadOffset = end;
        return;
      }
    }
  }
  it.offset = offset;
  head.type = decode.stringCheck(buffer as Buffer, it)
    ? decode.string(buffer as Buffer, it)
    : decode.number(buffer as Buffer, it);
  head.payloadOffset = it.offset;
}

function isAscii(buffer: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buffer[i]! >= 0x80) return false;
  return true;
}

/**
 * The handler key Colyseus looks the type up under (`events.events[messageType]`, with
 * JavaScript's property-key conversion). For a canonical head this decodes the type (rare
 * path: only for evidence and for types no table knows).
 */
export function typeKey(buffer: Uint8Array, head: FrameHead): string {
  return String(typeOf(buffer, head));
}

/** The type as Colyseus decodes it. */
export function typeOf(buffer: Uint8Array, head: FrameHead): string | number | undefined {
  if (!head.canonical) return head.type;
  const prefix = buffer[head.typeOffset]!;
  if (prefix < 0x80) return prefix;
  return String.fromCharCode(...buffer.subarray(head.typeOffset + 1, head.payloadOffset));
}

/** The type, bounded, for evidence. */
export function typeForEvidence(buffer: Uint8Array, head: FrameHead): string {
  return typeKey(buffer, head).slice(0, 32);
}

/**
 * The msgpack payload of a data or request frame as Colyseus unpacks it (`undefined` when
 * the frame ends with the type); `"undecodable"` when Colyseus's unpack throws.
 * Rare path: used to say why Colyseus refused a frame.
 */
export function decodePayload(buffer: Buffer, head: FrameHead): unknown {
  try {
    return buffer.byteLength > head.payloadOffset
      ? unpack(buffer.subarray(head.payloadOffset, buffer.byteLength))
      : undefined;
  } catch {
    return UNDECODABLE;
  }
}

/** Returned by {@link decodePayload} for a payload msgpack cannot read. */
export const UNDECODABLE: unique symbol = Symbol("undecodable");
