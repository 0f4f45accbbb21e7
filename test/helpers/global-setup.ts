import type { TestProject } from "vitest/node";
import { resolveRedis } from "../../scripts/redis.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Finds (or starts) the real Redis every test talks to; see scripts/redis.mjs. */
export default async function setup(project: TestProject) {
  const redis = (await resolveRedis()) as { url: string; started: boolean; stop: () => void };
  project.provide("redisUrl", redis.url);
  if (redis.started) console.info(`[test] started redis-server at ${redis.url}`);
  return () => redis.stop();
}
