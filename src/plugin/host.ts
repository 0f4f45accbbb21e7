import type { ChatCategory, ChatDetector } from "../guard/chat.js";
import type { FloodBuckets } from "../guard/flood.js";
import type { Guard } from "../guard/guard.js";
import type { DigitalId } from "../identity/digital-id.js";
import type { Identity } from "../identity/identify.js";
import type { Detector, Evidence } from "../recorder/offense.js";
import type { ReportInput, ReportOutcome } from "../reports/service.js";
import type { AppealState } from "../reviews/model.js";
import type { RawSignals } from "../signals/evasion.js";

/** What a player's in-room appeal gets back: never an exception. */
export type AppealOutcome =
  | { status: "filed"; appealId: string; state: AppealState }
  | { status: "rejected"; code: string; reason: string };
import type { LiveSession, Standing } from "../sanctions/standing.js";

import type { JoinDenial } from "../sessions/gate.js";

export type { JoinDenial };

/** The chat detector and where it looks. */
export interface ChatCheck {
  detector: ChatDetector;
  /** Field of the message that holds the text. */
  field: string;
  /** Record the whole text as evidence, not only the matched term. */
  recordText: boolean;
  /** The policy track of each category's offenses. */
  tracks: Readonly<Record<ChatCategory, string>>;
}

/**
 * Everything the room plugin needs of the warden, and nothing more: the plugin talks to
 * this, never to the warden's parts. The warden builds one per process.
 */
export interface PluginHost {
  /** The hot-path guard (type tables, frame decisions, flood ledger). */
  readonly guard: Guard<LiveSession>;
  /** The chat detector; null when off. */
  readonly chat: ChatCheck | null;
  /** The checked verified identity of a joining client, or null. */
  identify(auth: unknown, joinOptions: unknown): Identity | null;
  /** The digital ID of a subject (qualified by its issuer when there is one). */
  digitalId(subject: string, issuer?: string): DigitalId;
  /** The ID's per-process state for a joining session; give it back with `drop` or `leave`. */
  acquire(did: DigitalId): { standing: Standing; flood: FloodBuckets };
  /** The join gate (sanctions, session cap, the join window); the session is registered already. */
  admit(session: LiveSession, reservedAt: number): Promise<JoinDenial | null>;
  /** The session joined: restrictions in force apply, its binding is written. */
  joined(session: LiveSession): void;
  /**
   * The ban-evasion signals of a session that joined (its peer address, the connection's
   * proxy headers, the client's `deviceId` join option): hashed and checked off the join's
   * path, never awaited, never thrown from. Null when every signal type is off.
   */
  readonly signals: ((session: LiveSession, raw: RawSignals) => void) | null;
  /** A session that never joined gives its state back. */
  drop(session: LiveSession): void;
  /** A joined session left. */
  leave(session: LiveSession): Promise<void>;
  /** Records an offense (synchronous, buffered). */
  /** Records an offense; `track` overrides the kind's default track (chat categories). */
  offense(session: LiveSession, detector: Detector, kind: string, evidence: Evidence, track?: string): void;
  /** Tells a session (throttled) that a message of theirs was dropped. */
  remind(session: LiveSession, kind: "mute" | "freeze"): void;
  /** Publishes the session's restriction into the avatar's state (opt-in). */
  publishRestriction(session: LiveSession): void;
  /** Files a player report. */
  report(from: LiveSession, target: LiveSession, input: ReportInput): Promise<ReportOutcome>;
  /** Files a player's appeal against one of their sanctions, from a room. */
  appeal(from: LiveSession, sanctionId: unknown, text: unknown): Promise<AppealOutcome>;
  /** A room of this process closed (its chat lines for evidence snapshots are dropped). */
  roomClosed?(roomId: string): void;
  /** Notes a chat line for evidence snapshots; null when snapshots are off. */
  readonly noteChat: ((session: LiveSession, text: string) => void) | null;
  /** The guard and Colyseus read a frame differently: count, log once. */
  frameDisagreement(detail: string): void;
}
