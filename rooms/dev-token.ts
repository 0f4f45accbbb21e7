/**
 * `npm run dev-token -- [--name NAME] [--sub SUBJECT] [--anonymous] [--ttl SECONDS]` — prints a
 * player token for the demo world, signed with the published development JWT secret. For
 * trying the world by hand (a client, `@colyseus/sdk`, the player API); refused whenever
 * JWT_SECRET or WARDEN_SECRET holds a real secret or NODE_ENV is production, so it can never
 * mint a token a real deployment accepts. Exit codes: 0 printed, 2 refused or bad input.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import jwt from "jsonwebtoken";
import { DEV_JWT_SECRET, notDevelopment } from "./dev.js";

/** The token and what it says, or the reason it was refused. */
export function devToken(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): { ok: true; token: string; claims: Record<string, unknown> } | { ok: false; error: string } {
  const refused = notDevelopment(env, "dev-token");
  if (refused !== null) return { ok: false, error: refused };
  let values: { name?: string; sub?: string; anonymous?: boolean; ttl?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        name: { type: "string" },
        sub: { type: "string" },
        anonymous: { type: "boolean" },
        ttl: { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const name = values.name ?? "player";
  if (name.length === 0 || name.length > 32) return { ok: false, error: "--name must be 1–32 characters" };
  const sub = values.sub ?? `dev-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  if (sub.length === 0 || sub.length > 128) return { ok: false, error: "--sub must be 1–128 characters" };
  const ttl = values.ttl === undefined ? 86_400 : Number(values.ttl);
  if (!Number.isSafeInteger(ttl) || ttl < 60 || ttl > 30 * 86_400)
    return { ok: false, error: "--ttl must be a whole number of seconds from 60 to 2592000" };
  // An anonymous sign-in is shaped as @colyseus/auth shapes it: anonymousId, anonymous: true.
  const claims: Record<string, unknown> = values.anonymous
    ? { anonymousId: randomBytes(8).toString("hex"), anonymous: true, name }
    : { sub, name };
  const token = jwt.sign(claims, DEV_JWT_SECRET, { algorithm: "HS256", expiresIn: ttl });
  return { ok: true, token, claims };
}

// Run as a script (not when imported by a test).
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = devToken(process.argv.slice(2), process.env);
  if (!result.ok) {
    console.error(`[dev-token] ${result.error}`);
    process.exit(2);
  }
  console.error(`[dev-token] a development token for ${JSON.stringify(result.claims)}:`);
  console.log(result.token);
}
