import { encode } from "@colyseus/schema";

/** One message type a room knows, as the bytes that name it on the wire. */
export interface TypeEntry {
  type: string | number;
  /** The encoded type (msgpack-style string or number) that follows the protocol byte. */
  pattern: Uint8Array;
  /** Index of this type's flood bucket (shared by every room of the warden). */
  slot: number;
  muted: boolean;
  frozen: boolean;
}

function encoded(type: string | number): Uint8Array {
  const bytes = new Uint8Array(typeof type === "string" ? 9 + Buffer.byteLength(type) : 9);
  const it = { offset: 0 };
  if (typeof type === "string") encode.string(bytes, type, it);
  else encode.number(bytes, type, it);
  return bytes.slice(0, it.offset);
}

/**
 * The message types of one room, matched against a frame's bytes without decoding the
 * type string (so a clean message allocates nothing). Rebuilt when the room registers
 * handlers later (e.g. `onMessage` in `onCreate`).
 */
export class TypeTable {
  private entries: TypeEntry[] = [];
  private knownKeys = 0;
  /** True when the room has a `"*"` fallback handler: every type is then "known". */
  wildcard = false;

  constructor(
    private readonly slotOf: (type: string | number) => number,
    private readonly muteTypes: ReadonlySet<string | number>,
    private readonly freezeTypes: ReadonlySet<string | number>,
  ) {
    // Mute/freeze types are matched even if the room registers them under another name form.
    for (const type of new Set([...muteTypes, ...freezeTypes])) this.add(type);
  }

  /** Re-reads the room's handler keys; returns true if anything new appeared. */
  refresh(handlerKeys: readonly string[]): boolean {
    if (handlerKeys.length === this.knownKeys) return false;
    this.knownKeys = handlerKeys.length;
    const before = this.entries.length;
    for (const key of handlerKeys) {
      if (key === "*") {
        this.wildcard = true;
        continue;
      }
      if (key.startsWith("_$b")) continue; // byte-message handlers are registered as `_$b<type>`
      this.add(key);
      // Numeric types arrive as msgpack numbers but are registered under their string form.
      if (/^(0|[1-9]\d{0,8})$/.test(key)) this.add(Number(key));
    }
    return this.entries.length !== before;
  }

  /** The entry whose pattern starts at `offset` in `buffer`, or undefined. */
  match(buffer: Uint8Array, offset: number): TypeEntry | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const pattern = entry.pattern;
      if (buffer.length < offset + pattern.length) continue;
      let j = 0;
      while (j < pattern.length && buffer[offset + j] === pattern[j]) j++;
      // The type must end where the pattern ends: the next byte starts the payload (or nothing).
      if (j === pattern.length) return entry;
    }
    return undefined;
  }

  private add(type: string | number): void {
    if (this.entries.some((e) => e.type === type)) return;
    this.entries.push({ type, pattern: encoded(type), slot: this.slotOf(type), muted: this.muteTypes.has(type), frozen: this.freezeTypes.has(type) });
  }
}

/** Bytes taken by the msgpack-style number at `offset` (the request id of ROOM_REQUEST frames); 0 if not a number. */
export function numberLength(buffer: Uint8Array, offset: number): number {
  const prefix = buffer[offset];
  if (prefix === undefined) return 0;
  if (prefix < 0x80 || prefix >= 0xe0) return 1;
  switch (prefix) {
    case 0xcc: case 0xd0: return 2;
    case 0xcd: case 0xd1: return 3;
    case 0xce: case 0xd2: case 0xca: return 5;
    case 0xcf: case 0xd3: case 0xcb: return 9;
    default: return 0;
  }
}
