/**
 * Ban-evasion signals, the pure part: network addresses (parsed, normalised, reduced to
 * their network prefix), the client address behind trusted proxies, the client-sent device
 * id, the keyed hash each signal is kept as, and the links two IDs' shared signals make.
 *
 * Nothing here keeps or logs a raw value: callers hash what they get and drop the rest.
 */
import { base32 } from "../util/base32.js";
import { createHmac } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import type { DigitalId } from "../identity/digital-id.js";
import { type AltLink, type SharedSignal, SIGNAL_TYPES, type SignalPeers, type SignalType } from "./model.js";

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/** An IP address as bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address is IPv4). */
export interface IpAddress {
  version: 4 | 6;
  bytes: Uint8Array;
}

/** A network: an address and how many leading bits of it count. */
export interface Cidr extends IpAddress {
  bits: number;
}

/** Longest address text read (an IPv6 address with brackets, a port and a zone id fits). */
const MAX_ADDRESS_TEXT = 100;

/**
 * Parses an address as a socket or a proxy writes it: IPv4 (`203.0.113.7`, with or without
 * `:port`), IPv6 (`2001:db8::1`, `[2001:db8::1]:443`), a zone id (`fe80::1%eth0`) dropped,
 * an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) read as the IPv4 address it carries.
 * Anything else (a host name, `unknown`, an obfuscated identifier, leading zeros) is null.
 */
export function parseAddress(text: unknown): IpAddress | null {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_ADDRESS_TEXT) return null;
  let s = text.trim();
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0) return null;
    const rest = s.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return null;
    s = s.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(s)) {
    s = s.slice(0, s.indexOf(":"));
  }
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  s = s.toLowerCase();
  if (isIPv4(s)) return { version: 4, bytes: ipv4Bytes(s) };
  if (!isIPv6(s)) return null;
  const bytes = ipv6Bytes(s);
  if (bytes === null) return null;
  // ::ffff:a.b.c.d — an IPv4 client of a dual-stack socket.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return { version: 4, bytes: bytes.slice(12) };
  return { version: 6, bytes };
}

function ipv4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split(".").map(Number));
}

/** The 16 bytes of a valid IPv6 text (already checked by `isIPv6`), or null. */
function ipv6Bytes(s: string): Uint8Array | null {
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (piece.includes(".")) {
        if (i !== pieces.length - 1 || !isIPv4(piece)) return null;
        const [a, b, c, d] = ipv4Bytes(piece);
        out.push((a! << 8) | b!, (c! << 8) | d!);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(piece)) return null;
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** The canonical text of an address: dotted IPv4, or IPv6 as RFC 5952 writes it (lower case, the longest zero run as `::`). */
export function formatAddress(address: IpAddress): string {
  const b = address.bytes;
  if (address.version === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The address with every bit after the first `bits` cleared. */
function masked(address: IpAddress, bits: number): Uint8Array {
  const out = address.bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = out[i]! & (keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** The network prefix of an address (`203.0.113.0/24`, `2001:db8:1:2::/64`): IPv4 keeps `v4Bits`, IPv6 `v6Bits`. */
export function networkPrefix(address: IpAddress, v4Bits: number, v6Bits: number): string {
  const bits = address.version === 4 ? v4Bits : v6Bits;
  return `${formatAddress({ version: address.version, bytes: masked(address, bits) })}/${bits}`;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a single address (a network of one); null when malformed. */
export function parseCidr(text: unknown): Cidr | null {
  if (typeof text !== "string" || text.length > MAX_ADDRESS_TEXT) return null;
  const slash = text.indexOf("/");
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const written = slash < 0 ? null : text.slice(slash + 1).trim();
  if (written !== null && !/^\d{1,3}$/.test(written)) return null;
  let bits = written === null ? address.bytes.length * 8 : Number(written);
  // An IPv4-mapped network written in IPv6 (`::ffff:10.0.0.0/104`) is the IPv4 network it maps.
  if (address.version === 4 && written !== null && text.slice(0, slash).includes(":")) {
    if (bits < 96) return null;
    bits -= 96;
  }
  if (bits > address.bytes.length * 8) return null;
  return { version: address.version, bytes: masked(address, bits), bits };
}

/** True when `address` lies in `network`. */
export function inCidr(address: IpAddress, network: Cidr): boolean {
  if (address.version !== network.version) return false;
  const m = masked(address, network.bits);
  for (let i = 0; i < m.length; i++) if (m[i] !== network.bytes[i]) return false;
  return true;
}

/** Most characters of `X-Forwarded-For` read, from its right end (the part trusted proxies wrote). */
export const MAX_FORWARDED_LENGTH = 512;
/** Most entries of `X-Forwarded-For` read, from its right end. */
export const MAX_FORWARDED_HOPS = 16;

/**
 * The client's address: the socket's peer, unless the peer is a trusted proxy — then the
 * right-most address of `X-Forwarded-For` that is not itself a trusted proxy (each trusted
 * proxy appends the address it was reached from; whatever lies further left was written by
 * the client and is never read). Only the header's last {@link MAX_FORWARDED_LENGTH}
 * characters and {@link MAX_FORWARDED_HOPS} entries are read; an entry read that is not an
 * address (`unknown`, a name, an empty entry) makes the whole header ignored, and so does
 * a chain of trusted proxies longer than that. Null when the peer is not known.
 */
export function clientAddress(socket: unknown, forwardedFor: unknown, trusted: readonly Cidr[]): IpAddress | null {
  const peer = parseAddress(socket);
  if (peer === null) return null;
  if (trusted.length === 0 || !isTrusted(peer, trusted) || typeof forwardedFor !== "string") return peer;
  const cut = forwardedFor.length > MAX_FORWARDED_LENGTH;
  const entries = (cut ? forwardedFor.slice(-MAX_FORWARDED_LENGTH) : forwardedFor).split(",");
  // The first entry of a cut header may be a piece of an address: never read.
  if (cut) entries.shift();
  let leftmost: IpAddress | null = null;
  for (let i = entries.length - 1, hops = 0; i >= 0; i--) {
    if (++hops > MAX_FORWARDED_HOPS) return peer;
    const address = parseAddress(entries[i]!.trim());
    if (address === null) return peer;
    if (!isTrusted(address, trusted)) return address;
    leftmost = address;
  }
  // Every entry is a trusted proxy: the left-most is where the chain starts (unless it was cut).
  return cut || leftmost === null ? peer : leftmost;
}

function isTrusted(address: IpAddress, trusted: readonly Cidr[]): boolean {
  for (const network of trusted) if (inCidr(address, network)) return true;
  return false;
}

/** The `X-Forwarded-For` header of a header record (any case; repeated headers joined), or undefined. */
export function forwardedForOf(headers: unknown): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  const record = headers as Record<string, unknown>;
  let value: unknown = record["x-forwarded-for"];
  if (value === undefined) {
    let seen = 0;
    for (const key in record) {
      if (++seen > 200) break;
      if (key.toLowerCase() === "x-forwarded-for") {
        value = record[key];
        break;
      }
    }
  }
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length <= MAX_FORWARDED_HOPS && value.every((v) => typeof v === "string"))
    return value.join(",");
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Device ids and keyed hashes
// ---------------------------------------------------------------------------------------

const DEVICE_ID = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * A device id the game client sent: 8-128 characters of `A-Z a-z 0-9 _ -` (a random
 * 128-bit value in base64url or hex fits). Anything else is ignored, not refused.
 */
export function isDeviceId(value: unknown): value is string {
  return typeof value === "string" && DEVICE_ID.test(value);
}

/** The domain of signal hashes: no digital ID, and no signal of another type, is ever the same MAC input. */
export const SIGNAL_DOMAIN = "colyseus-warden/signal/v1/";

/**
 * The keyed hash a signal is kept as: the first 26 base32 characters (130 bits) of
 * HMAC-SHA256(secret, `colyseus-warden/signal/v1/<type>\0<value>`). Domain-separated per
 * type (the same text as a device id and as an address hashes differently); without the
 * secret it cannot be reversed or tested against guesses.
 */
export function keyedSignal(secret: string | Buffer, type: SignalType, value: string): string {
  const mac = createHmac("sha256", secret).update(`${SIGNAL_DOMAIN}${type}\u0000${value}`, "utf8").digest();
  return base32(mac).slice(0, 26);
}

// ---------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------

/** How much one shared signal says two IDs are one person. */
export const SIGNAL_WEIGHTS: Readonly<Record<SignalType, number>> = Object.freeze({
  device: 1,
  address: 0.6,
  prefix: 0.25,
});

/** A shared signal counts whole when the other ID was seen with it this recently; half otherwise. */
export const RECENT_MS = 7 * 86_400_000;

/** Least strength of a strong link (a device id, seen within a week) and of a medium one. */
export const STRONG = 0.9;
export const MEDIUM = 0.5;

/** The level of a strength. */
export function levelOf(strength: number): AltLink["level"] {
  return strength >= STRONG ? "strong" : strength >= MEDIUM ? "medium" : "weak";
}

/** What one shared signal adds: its type's weight, halved unless the other ID was seen with it within {@link RECENT_MS}. */
export function signalStrength(type: SignalType, peerLastSeen: number, now: number): number {
  return SIGNAL_WEIGHTS[type] * (peerLastSeen >= now - RECENT_MS ? 1 : 0.5);
}

/**
 * The links an ID's signals make: one per other ID seen with at least one of them that is
 * not crowded (seen with more than `crowdLimit` IDs, this one included), explaining every
 * shared signal (crowded ones too, marked). Strength = the strongest uncrowded shared
 * signal; dismissed links are marked. Strongest first (then most recently seen).
 */
export function linksFrom(
  peersPerSignal: readonly SignalPeers[],
  crowdLimit: number,
  dismissed: ReadonlySet<DigitalId>,
  now: number,
): AltLink[] {
  const byPeer = new Map<DigitalId, { signals: SharedSignal[]; strength: number; lastSeen: number }>();
  for (const signal of peersPerSignal) {
    const sharedBy = signal.peers.length + 1;
    const crowded = sharedBy > crowdLimit;
    for (const peer of signal.peers) {
      let link = byPeer.get(peer.did);
      if (link === undefined) {
        link = { signals: [], strength: 0, lastSeen: 0 };
        byPeer.set(peer.did, link);
      }
      link.signals.push({
        type: signal.type,
        firstSeen: peer.firstSeen,
        lastSeen: peer.lastSeen,
        sharedBy,
        crowded,
      });
      link.lastSeen = Math.max(link.lastSeen, peer.lastSeen);
      if (!crowded) link.strength = Math.max(link.strength, signalStrength(signal.type, peer.lastSeen, now));
    }
  }
  const order = (t: SignalType) => SIGNAL_TYPES.indexOf(t);
  const links: (AltLink & { lastSeen: number })[] = [];
  for (const [did, link] of byPeer) {
    // Only crowded signals in common: no link at all.
    if (link.strength === 0) continue;
    const strength = Math.round(link.strength * 1000) / 1000;
    links.push({
      did,
      signals: link.signals.sort((a, b) => order(a.type) - order(b.type) || b.lastSeen - a.lastSeen),
      strength,
      level: levelOf(strength),
      dismissed: dismissed.has(did),
      lastSeen: link.lastSeen,
    });
  }
  links.sort((a, b) => b.strength - a.strength || b.lastSeen - a.lastSeen || (a.did < b.did ? -1 : 1));
  return links.map(({ lastSeen: _lastSeen, ...link }) => link);
}
