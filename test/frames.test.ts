/**
 * The guard's frame decoder against Colyseus's own message routing (see helpers/frames.ts):
 * generated frames in npm test; the reliability suite runs the same property on 100 000+.
 */
import { Protocol } from "@colyseus/core";
import { describe, expect, it } from "vitest";
import { FrameKind, frameHead, readFrame, typeOf } from "../src/guard/frames.js";
import { colyseusRouter, disagreement, guardReader, runDifferential } from "./helpers/frames.js";

describe("frame decoder (differential against Colyseus's RoomMessages)", () => {
  it("reads the type and payload of 10 000 generated and mutated frames exactly as Colyseus routes them", () => {
    const tally = runDifferential(10_000);
    expect(tally.frames).toBe(10_000);
    // The generator must reach handlers often, or the property would say little.
    expect(tally.dispatched).toBeGreaterThan(2_000);
  });

  it("reads the frames the original bypass used: a request id that is no number, other string encodings, numeric aliases", () => {
    const router = colyseusRouter();
    const guard = guardReader();
    const chat = [0xa4, ...Buffer.from("chat")];
    const cases = {
      "request id fixstr": [Protocol.ROOM_REQUEST, 0xa1, 0x78, ...chat, 0x80],
      "request id nil": [Protocol.ROOM_REQUEST, 0xc0, ...chat, 0x80],
      "request id float64 cut short": [Protocol.ROOM_REQUEST, 0xcb, 1, 2],
      "str8 type": [Protocol.ROOM_DATA, 0xd9, 4, ...Buffer.from("chat"), 0x80],
      "str16 type": [Protocol.ROOM_DATA, 0xda, 4, 0, ...Buffer.from("chat"), 0x80],
      "overlong UTF-8 type": [Protocol.ROOM_DATA, 0xa8, 0xc1, 0xa3, 0xc1, 0xa8, 0xc1, 0xa1, 0xc1, 0xb4, 0x80],
      "numeric type 7 as uint8": [Protocol.ROOM_DATA, 0xcc, 7, 0x80],
      "string type 7": [Protocol.ROOM_DATA, 0xa1, 0x37, 0x80],
      "modifier bits on the code": [Protocol.ROOM_DATA | 0x20, ...chat, 0x80],
      "bytes under a data type": [Protocol.ROOM_DATA, 0xa7, ...Buffer.from("_$bchat"), 0x80],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(disagreement(Buffer.from(bytes), router, guard), name).toBeNull();
    }
    // And what the guard reads for them:
    const head = frameHead();
    readFrame(Buffer.from(cases["request id fixstr"]), head);
    // 0xa1 is no number: decode.number yields undefined and moves one byte, so the type is the next byte, 0x78 = 120.
    expect({ kind: head.kind, type: typeOf(Buffer.from(cases["request id fixstr"]), head) }).toEqual({
      kind: FrameKind.request,
      type: 120,
    });
    readFrame(Buffer.from(cases["request id nil"]), head);
    expect(typeOf(Buffer.from(cases["request id nil"]), head)).toBe("chat");
    readFrame(Buffer.from(cases["overlong UTF-8 type"]), head);
    expect({ canonical: head.canonical, type: head.type }).toEqual({ canonical: false, type: "chat" });
    readFrame(Buffer.from(cases["numeric type 7 as uint8"]), head);
    expect(head.type).toBe(7);
  });

  it("classifies every protocol code the way Room#_onMessage dispatches it", () => {
    const head = frameHead();
    const kinds: Record<number, FrameKind> = {};
    for (let byte = 0; byte < 256; byte++) {
      readFrame(Buffer.from([byte, 0xa1, 0x61]), head);
      kinds[byte & 0x1f] = head.kind;
    }
    expect(kinds[Protocol.ROOM_DATA]).toBe(FrameKind.data);
    expect(kinds[Protocol.ROOM_DATA_BYTES]).toBe(FrameKind.bytes);
    expect(kinds[Protocol.ROOM_REQUEST]).toBe(FrameKind.request);
    expect(kinds[Protocol.ROOM_INPUT_RELIABLE]).toBe(FrameKind.input);
    expect(kinds[Protocol.ROOM_INPUT_UNRELIABLE]).toBe(FrameKind.input);
    for (const control of [Protocol.JOIN_ROOM, Protocol.PING, Protocol.LEAVE_ROOM])
      expect(kinds[control]).toBe(FrameKind.control);
    const unknown = Object.entries(kinds)
      .filter(([, k]) => k === FrameKind.unknown)
      .map(([c]) => Number(c));
    expect(unknown).toHaveLength(32 - 8);
    readFrame(Buffer.alloc(0), head);
    expect(head.kind).toBe(FrameKind.unknown);
  });
});
