/** Real @colyseus/sdk clients of the demo world. */
import { Client, type Room } from "@colyseus/sdk";
import jwt from "jsonwebtoken";

export const JWT_SECRET = "bench-jwt-secret-0123456789";
export const WARDEN_SECRET = "bench-warden-secret-0123456789";

/** A demo token for an account. */
export function token(sub: string): string {
  return jwt.sign({ sub, name: sub.slice(0, 32) }, JWT_SECRET, { algorithm: "HS256" });
}

/** A real SDK client authenticated as `sub`. */
export function sdkClient(port: number, sub: string): Client {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = token(sub);
  return c;
}

/** The client's WebSocket (undici's in Node 22, `ws` elsewhere), for `bufferedAmount`. */
export function socketOf(room: Room): { bufferedAmount: number } {
  return (room.connection as unknown as { transport: { ws: { bufferedAmount: number } } }).transport.ws;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}
