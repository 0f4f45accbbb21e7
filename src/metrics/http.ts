import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Registry } from "prom-client";
import { WardenError } from "../errors.js";

/** Options of `warden.metricsRoutes()`. */
export interface MetricsRoutesOptions {
  /**
   * The bearer token a scraper must send (`Authorization: Bearer <token>`), at least 16
   * characters; compared in constant time.
   * @defaultValue `WARDEN_METRICS_TOKEN` from the environment
   */
  token?: string;
  /**
   * Serve the metrics to anyone who can reach the route, without a token. Only for a port
   * nobody else reaches (a private network, a sidecar). Ignored when a token is set.
   * @defaultValue false — without a token the router serves nothing (every path 404s)
   */
  public?: boolean;
}

/** Longest `Authorization` header hashed; a longer one is refused unread (it cannot be a token). */
const MAX_AUTHORIZATION = 1024;

const CORS_HEADERS = [
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Credentials",
  "Access-Control-Allow-Headers",
  "Access-Control-Allow-Methods",
  "Access-Control-Max-Age",
];

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** The metrics router's access: a token's digest, public, or nothing (disabled). */
export type MetricsAccess = { kind: "token"; digest: Buffer } | { kind: "public" } | { kind: "disabled" };

/** Checks the options; throws `INVALID_OPTION` for a token that is not a string of at least 16 characters. */
export function metricsAccess(options: MetricsRoutesOptions, envToken: string | undefined): MetricsAccess {
  if (typeof options !== "object" || options === null)
    throw new WardenError("INVALID_OPTION", "metricsRoutes: options must be an object");
  const token = options.token ?? (envToken === "" ? undefined : envToken);
  if (token !== undefined) {
    if (typeof token !== "string" || token.length < 16 || token.length > 512 || /\s/.test(token))
      throw new WardenError(
        "INVALID_OPTION",
        "metricsRoutes: token must be a string of 16 to 512 characters without spaces",
      );
    return { kind: "token", digest: digest(token) };
  }
  if (options.public !== undefined && typeof options.public !== "boolean")
    throw new WardenError("INVALID_OPTION", "metricsRoutes: public must be true or false");
  return options.public === true ? { kind: "public" } : { kind: "disabled" };
}

/**
 * The Prometheus endpoint: `GET /` answers the registry in the text exposition format.
 * With a token, a request without `Authorization: Bearer <token>` gets 401 (the token is
 * compared as sha256 digests with `timingSafeEqual`: no early exit, no length leak).
 * Colyseus's any-origin CORS headers are removed: a scraper needs none, and no page
 * elsewhere may read the answer. Returns null when access is disabled.
 */
export function createMetricsRouter(
  registry: Registry,
  access: MetricsAccess,
  logError: (message: string) => void,
): Router | null {
  if (access.kind === "disabled") return null;
  const router = express.Router();
  router.use((req: Request, res: Response, next: NextFunction) => {
    for (const header of CORS_HEADERS) res.removeHeader(header);
    res.setHeader("Cache-Control", "no-store");
    if (access.kind === "public") return next();
    const header = req.get("authorization") ?? "";
    // The comparison runs on digests of equal length whatever was sent; an overlong header is no token.
    const match = header.length <= MAX_AUTHORIZATION ? /^Bearer (\S+)$/.exec(header) : null;
    const presented = digest(match?.[1] ?? "");
    const ok = timingSafeEqual(presented, access.digest) && match !== null;
    if (!ok) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="warden-metrics"');
      res.status(401).json({ error: { code: "UNAUTHORIZED", message: "missing or unknown bearer token" } });
      return;
    }
    next();
  });
  router.get("/", (_req: Request, res: Response) => {
    registry.metrics().then(
      (text) => {
        res.setHeader("Content-Type", registry.contentType);
        res.send(text);
      },
      (e: unknown) => {
        logError(`metrics: collecting failed: ${e instanceof Error ? e.message : String(e)}`);
        res.status(500).json({ error: { code: "INTERNAL", message: "collecting the metrics failed" } });
      },
    );
  });
  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: "NOT_FOUND", message: "no such route: the metrics are at GET /" } });
  });
  return router;
}
