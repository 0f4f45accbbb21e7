/**
 * The player API: what a player may see and do about their own standing, authenticated
 * with their own game credential (the `verifyPlayer` option: the same check the rooms use).
 * Works while banned — a banned player cannot join a room, but can read why and appeal.
 * Mounted by one call: `app.use("/warden/player", warden.playerRoutes())`.
 *
 * A player sees their own data only, with other people redacted (reporters, other players'
 * chat lines, staff names → roles); another player's sanction or appeal is "not found".
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { ERROR_CATALOGUE, WardenError, type WardenErrorCode } from "../errors.js";
import type { DigitalId } from "../identity/digital-id.js";
import type { AppealService } from "../reviews/appeals.js";
import type { CaseService } from "../reviews/cases.js";
import { type Appeal, MAX_APPEAL_TEXT } from "../reviews/model.js";
import { playerStatement, type Sanction } from "../sanctions/model.js";
import { type Actor, type AdminService, redactForSubject } from "./service.js";

/** What the player router needs of the warden. */
export interface PlayerApiHost {
  admin: AdminService;
  appeals: AppealService;
  cases: CaseService;
  /** The digital ID of a game credential, or null when it does not verify. */
  authenticate(token: string): Promise<DigitalId | null>;
  /** The player-facing sentence of a sanction in a locale (the notice text). */
  describe(sanction: Sanction, locale: string): string;
  /** The supported locale nearest to the one asked for. */
  locale(requested: unknown): string;
  logError(message: string): void;
}

/** Requests one player may make per minute (any route); more is 429 RATE_LIMITED. */
export const PLAYER_REQUESTS_PER_MINUTE = 30;
/** Exports one player may ask for an hour (in this process). */
export const EXPORTS_PER_HOUR = 3;
/** Most players tracked by the per-player limit at once (oldest dropped first). */
const MAX_TRACKED = 50_000;

const AppealBody = z
  .object({ sanctionId: z.string().min(1).max(64), text: z.string().min(1).max(MAX_APPEAL_TEXT) })
  .strict();

function fail(res: Response, code: WardenErrorCode, message: string): void {
  res.status(ERROR_CATALOGUE[code].status).json({ error: { code, message } });
}

/** A player's view of their sanction: the statement, a sentence in their locale, issuer as a role. */
function sanctionView(s: Sanction, sentence: string) {
  return {
    id: s.id,
    kind: s.kind,
    start: s.start,
    end: s.end,
    reason: s.reason,
    ...(s.revoked ? { revoked: { at: s.revoked.at, reason: s.revoked.reason } } : {}),
    statement: s.statement === undefined ? null : playerStatement(s.statement),
    message: sentence,
  };
}

/** A player's view of their appeal: no staff names. */
export function appealView(a: Appeal) {
  return {
    id: a.id,
    sanctionId: a.sanctionId,
    state: a.state,
    text: a.text,
    filedAt: a.openedAt,
    ...(a.reviewedAt === undefined ? {} : { reviewedAt: a.reviewedAt }),
    ...(a.decidedAt === undefined ? {} : { decidedAt: a.decidedAt }),
    ...(a.decision === undefined ? {} : { decision: a.decision }),
  };
}

/** Builds the player router. */
export function createPlayerRouter(host: PlayerApiHost): Router {
  const router = express.Router();
  const recent = new Map<DigitalId, { windowStart: number; count: number }>();

  // Authentication first: nothing else happens for a request without a verified credential.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer (\S{1,4096})$/.exec(req.get("authorization") ?? "");
    if (!match) return fail(res, "UNAUTHORIZED", "missing bearer token (your game credential)");
    host
      .authenticate(match[1]!)
      .then(
        (did) => {
          if (did === null) return fail(res, "UNAUTHORIZED", "this credential does not verify");
          const now = Date.now();
          let seen = recent.get(did);
          if (seen === undefined || now - seen.windowStart >= 60_000) {
            recent.delete(did);
            if (recent.size >= MAX_TRACKED) recent.delete(recent.keys().next().value as DigitalId);
            seen = { windowStart: now, count: 0 };
            recent.set(did, seen);
          }
          if (++seen.count > PLAYER_REQUESTS_PER_MINUTE) {
            res.set("Retry-After", String(Math.ceil((seen.windowStart + 60_000 - now) / 1000)));
            return fail(res, "RATE_LIMITED", "too many requests: try again in a minute");
          }
          res.locals.did = did;
          res.locals.locale = host.locale(
            typeof req.query.locale === "string" ? req.query.locale : (req.get("accept-language") ?? "").split(",")[0],
          );
          next();
        },
        () => fail(res, "UNAUTHORIZED", "this credential does not verify"),
      )
      .catch(next);
  });
  router.use(express.json({ limit: "8kb" }));

  const handle =
    (fn: (req: Request, res: Response, did: DigitalId, locale: string) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => {
      fn(req, res, res.locals.did as DigitalId, res.locals.locale as string).catch(next);
    };
  const self: Actor = { face: "player", who: "player:self", role: "player", why: null };

  router.get(
    "/sanctions",
    handle(async (_req, res, did, locale) => {
      const sanctions = await host.admin.sanctions.history(did);
      res.json({ sanctions: sanctions.map((s) => sanctionView(s, host.describe(s, locale))) });
    }),
  );

  router.post(
    "/appeals",
    handle(async (req, res, did) => {
      const body = AppealBody.safeParse(req.body ?? {});
      if (!body.success) {
        const issue = body.error.issues[0];
        throw new WardenError("INVALID_REQUEST", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
      }
      const appeal = await host.appeals.file(did, body.data.sanctionId, body.data.text, "http");
      res.status(201).json({ appeal: appealView(appeal) });
    }),
  );

  router.get(
    "/appeals",
    handle(async (_req, res, did) => {
      res.json({ appeals: (await host.appeals.mine(did)).map(appealView) });
    }),
  );

  router.post(
    "/appeals/:id/withdraw",
    handle(async (req, res, did) => {
      res.json({ appeal: appealView(await host.appeals.withdraw(did, String(req.params.id))) });
    }),
  );

  router.get(
    "/reports",
    handle(async (_req, res, did) => {
      res.json({ reports: await host.cases.receipts(did) });
    }),
  );

  // An export reads much more than any other route: a player gets a few an hour.
  const exports = new Map<DigitalId, number[]>();
  router.get(
    "/export",
    handle(async (_req, res, did) => {
      const now = Date.now();
      const recentExports = (exports.get(did) ?? []).filter((t) => t > now - 3_600_000);
      if (recentExports.length >= EXPORTS_PER_HOUR) {
        res.set("Retry-After", String(Math.ceil((recentExports[0]! + 3_600_000 - now) / 1000)));
        throw new WardenError("RATE_LIMITED", `at most ${EXPORTS_PER_HOUR} exports an hour: try again later`);
      }
      recentExports.push(now);
      exports.delete(did);
      exports.set(did, recentExports);
      if (exports.size > MAX_TRACKED) exports.delete(exports.keys().next().value as DigitalId);
      const full = await host.admin.export(did, self, { copy: "subject" });
      res.json(redactForSubject(full));
    }),
  );

  router.use((_req: Request, res: Response) => fail(res, "NOT_FOUND", "no such player API route"));
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof WardenError) return fail(res, error.code, error.message);
    const status = (error as { status?: number }).status;
    if (status === 400 || status === 413 || status === 415)
      return fail(res, "INVALID_REQUEST", status === 413 ? "request body too large" : "request body is not valid JSON");
    host.logError(`player API: ${error instanceof Error ? error.message : String(error)}`);
    fail(res, "INTERNAL", "the request could not be completed");
  });
  return router;
}
