import { encode } from "@colyseus/schema";

/**
 * One message type of a room, under the key Colyseus files its handlers by: `String(type)`
 * (a numeric type `5` and a string type `"5"` reach the same handler, so they are one entry,
 * one flood bucket, one mute rule).
 */
export interface TypeEntry {
  /** The handler key (`String(type)`). */
  readonly key: string;
  /** The key of this type's byte-message handler (`_$b` + key). */
  readonly bytesKey: string;
  /** Index of this type's flood bucket (shared by every room of the warden). */
  readonly slot: number;
  readonly muted: boolean;
  readonly frozen: boolean;
  /** Its payload goes to the chat detector. */
  readonly chat: boolean;
  /** The room has a handler for `send` / `request` of this type. */
  data: boolean;
  /** The room has a handler for `sendBytes` of this type. */
  bytes: boolean;
}

/** What a table needs to know about the warden's configuration. */
export interface TypeRules {
  slotOf(key: string): number;
  muted: ReadonlySet<string>;
  frozen: ReadonlySet<string>;
  chat: ReadonlySet<string>;
}

/** Prefix under which Colyseus files byte-message handlers. */
export const BYTES_PREFIX = "_$b";

interface Pattern {
  bytes: Uint8Array;
  entry: TypeEntry;
}

/**
 * The message types of one room. A frame whose type is in canonical form (see
 * `src/plugin/frames.ts`) is matched against the types' canonical encodings byte by byte,
 * without decoding a string (a clean message allocates nothing); any other frame is looked
 * up by the key Colyseus decoded. Rebuilt when the room registers handlers later (e.g.
 * `onMessage` in `onCreate`).
 */
export class TypeTable {
  private readonly byKey = new Map<string, TypeEntry>();
  /** Canonical encodings by their first byte (a fixstr's first byte is its length): few to compare. */
  private readonly patterns: (Pattern[] | undefined)[] = new Array(256).fill(undefined);
  private signature: string | undefined;
  /** True when the room has a `"*"` fallback handler. */
  wildcard = false;

  constructor(private readonly rules: TypeRules) {
    // Configured types have entries even where only a "*" handler serves them.
    for (const key of new Set([...rules.muted, ...rules.frozen, ...rules.chat])) this.entry(key);
  }

  /** Re-reads the room's handler keys; returns true if anything changed. */
  refresh(handlerKeys: readonly string[]): boolean {
    const signature = handlerKeys.join("\u0000");
    if (signature === this.signature) return false;
    this.signature = signature;
    this.wildcard = false;
    for (const entry of this.byKey.values()) entry.data = entry.bytes = false;
    for (const key of handlerKeys) {
      if (key === "*") this.wildcard = true;
      else if (key.startsWith(BYTES_PREFIX)) this.entry(key.slice(BYTES_PREFIX.length)).bytes = true;
      else this.entry(key).data = true;
    }
    return true;
  }

  /** The entry of a canonical-form type starting at `offset`, or undefined. */
  matchCanonical(buffer: Uint8Array, offset: number): TypeEntry | undefined {
    const patterns = this.patterns[buffer[offset]!];
    if (patterns === undefined) return undefined;
    for (let i = 0; i < patterns.length; i++) {
      const pattern = patterns[i]!;
      const bytes = pattern.bytes;
      if (buffer.length < offset + bytes.length) continue;
      // Byte 0 matched already; a canonical pattern carries its own length (fixstr prefix, or one fixint byte).
      let j = 1;
      while (j < bytes.length && buffer[offset + j] === bytes[j]) j++;
      if (j === bytes.length) return pattern.entry;
    }
    return undefined;
  }

  /** The entry of a handler key, or undefined. */
  get(key: string): TypeEntry | undefined {
    return this.byKey.get(key);
  }

  private entry(key: string): TypeEntry {
    let entry = this.byKey.get(key);
    if (entry !== undefined) return entry;
    const { rules } = this;
    entry = {
      key,
      bytesKey: BYTES_PREFIX + key,
      slot: rules.slotOf(key),
      muted: rules.muted.has(key),
      frozen: rules.frozen.has(key),
      chat: rules.chat.has(key),
      data: false,
      bytes: false,
    };
    this.byKey.set(key, entry);
    for (const bytes of canonicalEncodings(key)) (this.patterns[bytes[0]!] ??= []).push({ bytes, entry });
    return entry;
  }
}

/** The canonical wire forms of a handler key: ASCII fixstr (1-31 bytes) and, for 0-127, positive fixint. */
function canonicalEncodings(key: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (key.length > 0 && key.length < 32 && /^[\x00-\x7f]*$/.test(key)) {
    const bytes = new Uint8Array(1 + key.length);
    encode.string(bytes as Buffer, key, { offset: 0 });
    out.push(bytes);
  }
  if (/^(0|[1-9]\d?|1[01]\d|12[0-7])$/.test(key)) out.push(Uint8Array.of(Number(key)));
  return out;
}
