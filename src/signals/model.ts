/**
 * Ban-evasion signals (issue 13): what a join leaves behind that another account of the same
 * person may share — a device id the game client sends, the network address, its network
 * prefix — kept only as keyed hashes (HMAC under the server's secret, domain-separated per
 * signal type), each for a retention after it was last seen, erased by `forget`. Two IDs
 * that share signals are linked, with reasons a person can read; a signal shared by many IDs
 * (a school, a carrier NAT, an internet café) is crowded and links nobody.
 */
import type { DigitalId } from "../identity/digital-id.js";

/** The signal types, strongest first. */
export const SIGNAL_TYPES = ["device", "address", "prefix"] as const;
export type SignalType = (typeof SIGNAL_TYPES)[number];

/** A signal as stored: its type and the keyed hash of its value (26 base32 characters); never the value. */
export interface Signal {
  type: SignalType;
  hash: string;
}

/** Another ID seen with the same signal. */
export interface SignalPeer {
  did: DigitalId;
  firstSeen: number;
  lastSeen: number;
}

/** One signal of an ID, when it was first and last seen with it, and the other IDs seen with it (bounded). */
export interface SignalPeers extends Signal {
  firstSeen: number;
  lastSeen: number;
  /** Other IDs seen with this signal within retention, newest first; at most `limit + 1` (so that "more than limit" is known). */
  peers: SignalPeer[];
}

/** How one shared signal links two IDs — what a moderator is shown: no raw value, no hash. */
export interface SharedSignal {
  type: SignalType;
  /** When the linked ID was first and last seen with it. */
  firstSeen: number;
  lastSeen: number;
  /** How many IDs share it within the window (this one included). */
  sharedBy: number;
  /** Shared by more than `crowdLimit` IDs: it links nobody and is shown only for explanation. */
  crowded: boolean;
}

/** A link from one ID to another, with its reasons. */
export interface AltLink {
  did: DigitalId;
  signals: SharedSignal[];
  /** 0-1: the strongest uncrowded signal's weight (device 1, address 0.6, prefix 0.25), halved when last seen together more than a week ago. */
  strength: number;
  level: "strong" | "medium" | "weak";
  /** A moderator dismissed this link (e.g. siblings): it never flags again. */
  dismissed: boolean;
}

/** Most signals one join notes (a device id, an address, a prefix). */
export const MAX_SIGNALS_PER_JOIN = 3;
