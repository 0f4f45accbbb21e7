import type { DigitalId } from "../identity/digital-id.js";
import { boundText } from "../util/text.js";
import { type EvidenceSnapshot, MAX_SNAPSHOT_LINE, MAX_SNAPSHOT_LINES, type SnapshotLine } from "./model.js";

/**
 * The last chat lines of each room of this process, kept in memory only (opt-in:
 * `dueProcess.evidence.enabled`), so that a report or an offense can carry what was said
 * around it. A line is stored only when a snapshot is taken; otherwise it is overwritten
 * within a few lines and gone when the room closes. Bounded: `lines` per room (≤ 20), each
 * cut to 200 characters.
 */
/** Most rooms a tape follows at once. */
const MAX_ROOMS = 10_000;

export class ChatTape {
  private readonly rooms = new Map<string, { name: string; lines: SnapshotLine[] }>();

  constructor(
    private readonly lines: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes a chat line said in a room (text of any type: only strings are kept). */
  note(room: { roomId: string; roomName: string }, did: DigitalId, text: unknown): void {
    if (typeof text !== "string" || text.length === 0) return;
    let tape = this.rooms.get(room.roomId);
    if (tape === undefined) {
      tape = { name: room.roomName, lines: [] };
      this.rooms.set(room.roomId, tape);
      // Bounded: rooms that closed long ago go first (a Map iterates in insertion order).
      if (this.rooms.size > MAX_ROOMS) this.rooms.delete(this.rooms.keys().next().value as string);
    }
    tape.lines.push({ at: this.now(), did, text: boundText(text, MAX_SNAPSHOT_LINE) });
    if (tape.lines.length > Math.min(this.lines, MAX_SNAPSHOT_LINES)) tape.lines.shift();
  }

  /** The room's last lines, or undefined when nothing was said. */
  snapshot(room: { roomId: string }): EvidenceSnapshot | undefined {
    const tape = this.rooms.get(room.roomId);
    if (tape === undefined || tape.lines.length === 0) return undefined;
    return {
      room: { name: tape.name, id: room.roomId },
      takenAt: this.now(),
      lines: tape.lines.map((l) => ({ ...l })),
    };
  }

  /** Forgets a room (it closed). */
  drop(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** Forgets an ID's lines everywhere (it was forgotten). */
  forget(did: DigitalId): void {
    for (const tape of this.rooms.values()) tape.lines = tape.lines.filter((l) => l.did !== did);
  }
}
