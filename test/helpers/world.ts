import { Client, type Room } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import type { WardenNotice } from "../../src/index.js";

export const JWT_SECRET = "test-jwt-secret-0123456789";
export const WARDEN_SECRET = "test-warden-secret-0123456789";

/** A demo token for an account. */
export function token(sub: string, name = sub, secret = JWT_SECRET, options: jwt.SignOptions = {}): string {
  return jwt.sign({ sub, name }, secret, { algorithm: "HS256", ...options });
}

/** A real SDK client authenticated as `sub`. */
export function client(port: number, sub: string | null, name?: string): Client {
  const c = new Client(`ws://127.0.0.1:${port}`);
  if (sub !== null) c.auth.token = token(sub, name);
  return c;
}

/** Waits for `predicate` to hold, polling; fails after `ms` with `what`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Everything a joined room received and how it ended. */
export interface Observed {
  notices: WardenNotice[];
  chats: { from: string; name: string; text: string }[];
  left: Promise<{ code: number; reason: string | undefined }>;
  leftCode: number | null;
}

/** Records notices, chats and the leave of a room. */
export function observe(room: Room): Observed {
  const observed: Observed = { notices: [], chats: [], leftCode: null, left: undefined as never };
  room.onMessage("warden:notice", (notice: WardenNotice) => observed.notices.push(notice));
  room.onMessage("chat", (chat: { from: string; name: string; text: string }) => observed.chats.push(chat));
  room.onMessage("*", () => {});
  observed.left = new Promise((resolve) => {
    room.onLeave((code: number, reason?: string) => {
      observed.leftCode = code;
      resolve({ code, reason });
    });
  });
  return observed;
}

/** The rejection of a promise that must fail, as `{ code, message }`. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (e) {
    const error = e as { code?: number; message?: string };
    return { code: error.code ?? -1, message: error.message ?? String(e) };
  }
  throw new Error("expected the promise to be rejected, but it resolved");
}
