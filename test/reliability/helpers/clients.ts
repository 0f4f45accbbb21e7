/**
 * Real @colyseus/sdk players for the reliability suite, and the figures it reports.
 */
import { Client, type Room } from "@colyseus/sdk";
import { mkdirSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { observe, token, type Observed } from "../../helpers/world.js";

export { JWT_SECRET, WARDEN_SECRET, observe, rejection, token, waitFor } from "../../helpers/world.js";

export interface Player {
  sub: string;
  room: Room;
  seen: Observed;
}

export interface JoinOptions {
  /** Join this room; else create one. */
  roomId?: string;
  name?: string;
  /** JWT to use instead of a fresh valid one for `sub`. */
  jwt?: string;
  /** Join options (client-controlled). */
  options?: Record<string, unknown>;
  /** Let the SDK reconnect by itself after an abnormal close (off by default: a dead server must stay dead). */
  autoReconnect?: boolean;
}

/** Joins (or creates) a `world` room as `sub`, waits for its own avatar in the state. */
export async function join(port: number, sub: string, options: JoinOptions = {}): Promise<Player> {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = options.jwt ?? token(sub, options.name ?? sub);
  const room = options.roomId
    ? await c.joinById(options.roomId, options.options ?? {})
    : await c.create("world", options.options ?? {});
  room.reconnection.enabled = options.autoReconnect === true;
  const seen = observe(room);
  const deadline = Date.now() + 5000;
  while ((room.state as { avatars?: Map<string, unknown> } | undefined)?.avatars?.get(room.sessionId) === undefined) {
    if (Date.now() > deadline) throw new Error(`no avatar in state for ${sub}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { sub, room, seen };
}

/** The avatar of a session as a client sees it in its state. */
export function avatarIn(
  room: Room,
  sessionId: string,
): { name: string; x: number; y: number; restriction: string } | undefined {
  return (
    room.state as { avatars?: Map<string, { name: string; x: number; y: number; restriction: string }> } | undefined
  )?.avatars?.get(sessionId);
}

/** Sends raw protocol bytes on the client's socket, bypassing the SDK's encoder. */
export function sendRaw(room: Room, bytes: Uint8Array | number[]): void {
  room.connection.send(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

/** Round trip of a PING frame; false if no answer within `ms` (or the socket is closed). */
export function ping(room: Room, ms = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    if (!room.connection?.isOpen) return resolve(false);
    const timer = setTimeout(() => resolve(false), ms);
    room.ping(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Leaves, ignoring a room that is already gone. */
export async function leave(player: Player | Room | undefined): Promise<void> {
  const room = player === undefined ? undefined : "room" in player ? player.room : player;
  if (room === undefined) return;
  room.reconnection.enabled = false;
  if (!room.connection?.isOpen) return;
  await Promise.race([room.leave(true).catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
  try {
    room.connection.close();
  } catch {
    // already closed
  }
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const FIGURES_DIR = process.env.RELIABILITY_FIGURES_DIR ?? joinPath(tmpdir(), "colyseus-warden-reliability");

/** Prints a measured figure (and appends it to $RELIABILITY_FIGURES_DIR/figures.ndjson). */
export function figure(scenario: string, name: string, value: unknown): void {
  console.info(`[figures] ${scenario} · ${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  try {
    mkdirSync(FIGURES_DIR, { recursive: true });
    appendFileSync(
      joinPath(FIGURES_DIR, "figures.ndjson"),
      `${JSON.stringify({ at: new Date().toISOString(), scenario, name, value })}\n`,
    );
  } catch {
    // figures are informative; a read-only tmp must not fail the suite
  }
}

/** Collects unhandled rejections and uncaught exceptions of this (test) process. */
export function watchProcessErrors(): { errors: string[]; stop(): void } {
  const errors: string[] = [];
  const onRejection = (e: unknown) => errors.push(`unhandledRejection: ${e instanceof Error ? e.stack : String(e)}`);
  const onException = (e: Error) => errors.push(`uncaughtException: ${e.stack ?? String(e)}`);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return {
    errors,
    stop() {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    },
  };
}

/** A logger that keeps what the warden says (for "logged once" checks). */
export function memoryLogger(): {
  lines: { level: string; message: string }[];
  info(m: string): void;
  warn(m: string): void;
  error(m: string): void;
} {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    info: (message) => lines.push({ level: "info", message }),
    warn: (message) => lines.push({ level: "warn", message }),
    error: (message) => lines.push({ level: "error", message }),
  };
}
