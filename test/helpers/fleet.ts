/**
 * Two demo server processes on one store (the real `npm start` entry, RedisPresence and
 * RedisDriver on the same Redis or Cluster), optionally each with its own public address
 * (so that `joinOrCreate` matchmakes across them), and a warden in this process that issues
 * sanctions as a third process would.
 */
import { freePort } from "../../scripts/redis.mjs";
import { createWarden, type Sanction, type Warden } from "../../src/index.js";
import { startWorldProcess, type WorldProcess } from "./process.js";
import { WARDEN_SECRET } from "./world.js";

export interface Fleet {
  a: WorldProcess;
  b: WorldProcess;
  /** The third process's warden (same store, same prefix). */
  issuer: Warden;
  /** Issues a sanction from the third process; throws if a `sanction:before` listener cancelled it. */
  issue(sub: string, kind: Sanction["kind"], duration?: number): Promise<Sanction>;
  /** Stops both processes (SIGTERM) and the third warden. */
  close(): Promise<void>;
}

export async function startFleet(
  env: Record<string, string>,
  options: { store: string; prefix: string; publicAddresses?: boolean; reason?: string },
): Promise<Fleet> {
  const at = async () => {
    if (!options.publicAddresses) return env;
    const port = await freePort();
    return { ...env, PORT: String(port), PUBLIC_ADDRESS: `127.0.0.1:${port}` };
  };
  const [envA, envB] = [await at(), await at()];
  const [a, b] = await Promise.all([startWorldProcess(envA), startWorldProcess(envB)]);
  const issuer = createWarden({
    secret: WARDEN_SECRET,
    store: options.store,
    prefix: options.prefix,
    logger: { info() {}, warn() {}, error() {} },
  });
  await issuer.ready();
  return {
    a,
    b,
    issuer,
    async issue(sub, kind, duration) {
      const result = await issuer.sanctions.issue({
        did: issuer.digitalId(sub),
        kind,
        reason: `${options.reason ?? "fleet"} ${kind}`,
        by: "test",
        ...(duration ? { duration } : {}),
      });
      if (result.status !== "issued") throw new Error("cancelled");
      return result.sanction;
    },
    async close() {
      await Promise.all([a.kill("SIGTERM"), b.kill("SIGTERM")]);
      await issuer.close();
    },
  };
}
