/**
 * The moderators' web console: static files (plain HTML, CSS and ES modules, no build step)
 * served under `/warden/console` by `warden.consoleRoutes()`. The console talks to the admin
 * HTTP API only (`../api`, relative to itself), so it holds no privilege of its own: without a
 * staff token it shows a sign-in form and nothing else.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import express, { type NextFunction, type Request, type Response, type Router } from "express";

/**
 * The Content-Security-Policy of every console answer: only the console's own files run or
 * style, no inline script or style, no plugin, no framing, and Trusted Types on with no
 * policy allowed, so that even a stray `innerHTML = string` throws instead of parsing HTML.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** The security headers of every console answer, files and errors alike. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONSOLE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
};

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** Colyseus's global CORS headers (any origin, with credentials): never on the console. */
const CORS_HEADERS = [
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Credentials",
  "Access-Control-Allow-Headers",
  "Access-Control-Allow-Methods",
  "Access-Control-Max-Age",
];

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Reads the console's files once (they are small), from `dir`: every `.html`, `.js`, `.css`
 * and `.svg` file directly in it. Only those names are ever served — no path from a request
 * reaches the file system.
 */
function loadAssets(dir: URL): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of readdirSync(dir)) {
    const ext = /\.([a-z]+)$/.exec(file)?.[1];
    if (ext === undefined || TYPES[ext] === undefined || !/^[a-z0-9-]+\.[a-z]+$/.test(file)) continue;
    const body = readFileSync(new URL(file, dir));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    assets.set(file, { body, type: TYPES[ext], etag });
  }
  return assets;
}

/** Where the console's files are: next to this module (src/admin/console/, or dist/src/admin/console/ once built). */
export const CONSOLE_DIR = new URL("./console/", import.meta.url);

/** Builds the console's router (GET and HEAD only; everything else is 405). */
export function createConsoleRouter(dir: URL = CONSOLE_DIR): Router {
  const assets = loadAssets(dir);
  if (!assets.has("index.html")) throw new Error(`the web console's files are missing from ${dir.pathname}`);
  const router = express.Router();

  router.use((req: Request, res: Response, next: NextFunction) => {
    for (const header of CORS_HEADERS) res.removeHeader(header);
    res.set(CONSOLE_HEADERS);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.set("Allow", "GET, HEAD");
      return void res.status(405).type("text/plain").send("method not allowed");
    }
    next();
  });

  router.get("/{*path}", (req: Request, res: Response) => {
    const path = req.path;
    if (path === "/") {
      // The console's links and its API address (`../api`) are relative: they need the slash.
      // The target is the mount path, never anything taken from the request's URL.
      const pathname = req.originalUrl.split("?")[0] ?? "";
      if (!pathname.endsWith("/")) return void res.redirect(301, `${req.baseUrl}/`);
    }
    const name = path === "/" ? "index.html" : path.slice(1);
    const asset = assets.get(name);
    if (asset === undefined) return void res.status(404).type("text/plain").send("not found");
    res.set({
      "Content-Type": asset.type,
      ETag: asset.etag,
      // Revalidated every time: a new version of the plugin shows at once, yet unchanged files cost a 304.
      "Cache-Control": "no-cache",
    });
    if (req.get("if-none-match") === asset.etag) return void res.status(304).end();
    res.send(asset.body);
  });

  return router;
}
