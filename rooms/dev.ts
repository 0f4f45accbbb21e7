/**
 * Development mode of the demo: the well-known secrets `npm start` falls back to, and the
 * check that keeps dev-only tools (`npm run dev-token`, `npm run demo`) away from a real
 * deployment. A tool that mints tokens or prints credentials runs only when every secret
 * it would use is the published development value — never against a server's own secrets.
 */

/** HMAC key of digital IDs when WARDEN_SECRET is unset. Published: anyone can derive IDs with it. */
export const DEV_WARDEN_SECRET = "dev-only-warden-secret-change-me";
/** HS256 key of player tokens when JWT_SECRET is unset. Published: anyone can sign tokens with it. */
export const DEV_JWT_SECRET = "dev-only-jwt-secret-change-me";

/** Why a dev-only tool refuses to run, or null when the environment is a development one. */
export function notDevelopment(env: NodeJS.ProcessEnv, tool: string): string | null {
  if (env.NODE_ENV === "production") return `${tool} is for development only and NODE_ENV is "production": refused`;
  for (const [name, dev] of [
    ["JWT_SECRET", DEV_JWT_SECRET],
    ["WARDEN_SECRET", DEV_WARDEN_SECRET],
  ] as const) {
    const value = env[name];
    if (value && value !== dev)
      return `${tool} is for development only and ${name} holds a real secret: refused (it works only with the demo's published development secrets — unset ${name})`;
  }
  return null;
}
