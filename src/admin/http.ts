/**
 * The admin HTTP API: JSON over the same AdminService the CLI uses. Mounted by one call:
 * `app.use("/warden/api", warden.adminRoutes())`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { checkDuration, parseDuration } from "../duration.js";
import { ERROR_CATALOGUE, WardenError, type WardenErrorCode } from "../errors.js";
import { assertDigitalId } from "../identity/digital-id.js";
import { SANCTION_KINDS } from "../sanctions/model.js";
import { boundText } from "../util/text.js";
import { isInstant } from "../util/time.js";
import { reportToCsv } from "../reviews/transparency.js";
import type { Actor, AdminService } from "./service.js";
import { STAFF_ROLES, isStaffToken, roleAtLeast, type StaffRole, type StaffService } from "./staff.js";
import type { FeedHub, FeedItem } from "./feed.js";

/** Roles of the admin API: a viewer reads; a moderator also sanctions, revokes, exports and forgets; an admin also manages staff. */
export type AdminRole = StaffRole;

/**
 * A configured token that names its holder: the actor in the audit log, in `by` and in the
 * four-eyes checks is then `api:<role>:<name>`.
 */
export interface NamedToken {
  /** The person: 1-64 of `A-Z a-z 0-9 _ . @ -` and spaces. */
  name: string;
  /** At least 16 characters. */
  token: string;
}

/** Options of `warden.adminRoutes()`. */
export interface AdminApiOptions {
  /**
   * Configured tokens of admins (bootstrap: an admin issues everyone's personal token with
   * `POST /staff`). A plain string's actor is `api:admin`; a {@link NamedToken} names its holder.
   * @defaultValue `[process.env.WARDEN_ADMIN_TOKEN]` when set
   */
  adminTokens?: readonly (string | NamedToken)[];
  /**
   * Configured tokens of moderators (at least 16 characters each), plain or named.
   * @defaultValue `[process.env.WARDEN_MODERATOR_TOKEN]` when set
   */
  moderatorTokens?: readonly (string | NamedToken)[];
  /**
   * Configured tokens of read-only viewers (plain or named, as above).
   * @defaultValue `[process.env.WARDEN_VIEWER_TOKEN]` when set
   */
  viewerTokens?: readonly (string | NamedToken)[];
  /**
   * Origins (scheme://host[:port]) whose pages may call the API besides its own. Every other
   * cross-origin request is refused (403) and no answer carries `Access-Control-Allow-Origin`.
   * @defaultValue `[]` (same origin only)
   */
  corsOrigins?: readonly string[];
  /**
   * Requests one credential may make per minute, in this process (token bucket); the
   * expensive ones (export, the audit log and its verification, transparency, the live feed)
   * have their own, smaller budget. Over it: 429 RATE_LIMITED with Retry-After.
   * @defaultValue `{ perMinute: 300, expensivePerMinute: 10 }`
   */
  rateLimit?: { perMinute?: number; expensivePerMinute?: number };
}

interface KnownToken {
  digest: Buffer;
  role: AdminRole;
  /** The holder, for a named token. */
  name: string | null;
}

/** A configured token, checked: its secret and its holder's name (null for a shared token). */
function tokenEntry(value: unknown, role: AdminRole): KnownToken {
  const named = typeof value === "object" && value !== null;
  const token = named ? (value as { token?: unknown }).token : value;
  const name = named ? (value as { name?: unknown }).name : null;
  if (typeof token !== "string" || token.length < 16)
    throw new WardenError("INVALID_OPTION", "adminRoutes: every token must be a string of at least 16 characters");
  if (named && (typeof name !== "string" || !/^[\w .@-]{1,64}$/.test(name) || name.trim() === ""))
    throw new WardenError(
      "INVALID_OPTION",
      "adminRoutes: a named token's name must be 1-64 of A-Z a-z 0-9 _ . @ - and spaces",
    );
  return { digest: digest(token), role, name: named ? (name as string).trim() : null };
}

interface Authenticated {
  role: AdminRole;
  actor: Actor;
  /** Whose budget the request spends: the person, or the configured token's digest. */
  credential: string;
}

/** Token buckets per credential and per budget, bounded: the oldest credential is dropped past `MAX_BUCKETS`. */
const MAX_BUCKETS = 10_000;
class Budgets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Whether `key` may spend one more of `perMinute`; else how many ms until it may. */
  take(key: string, perMinute: number, now: number): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: perMinute, at: now };
      this.buckets.set(key, bucket);
    }
    // A wall clock stepped back (NTP) refills nothing rather than draining the bucket.
    bucket.tokens = Math.min(perMinute, bucket.tokens + (Math.max(0, now - bucket.at) * perMinute) / 60_000);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 60_000) / perMinute);
  }
}

/** The expensive reads: each reads a whole log or a whole ID, or holds a connection. */
function isExpensive(req: Request): boolean {
  const path = req.path;
  return (
    path === "/audit" ||
    path === "/audit/verify" ||
    path === "/transparency" ||
    path === "/feed" ||
    /^\/identities\/[^/]+\/export$/.test(path)
  );
}

const CORS_HEADERS = [
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Credentials",
  "Access-Control-Allow-Headers",
  "Access-Control-Allow-Methods",
  "Access-Control-Max-Age",
];

function checkOrigins(origins: readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const origin of origins ?? []) {
    if (typeof origin !== "string" || !/^https?:\/\/[^/\s]{1,253}$/.test(origin))
      throw new WardenError(
        "INVALID_OPTION",
        `adminRoutes: corsOrigins must be origins like "https://mod.example.com" (scheme://host[:port], no path), got ${JSON.stringify(origin)}`,
      );
    out.add(origin);
  }
  return out;
}

function perMinute(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > 1_000_000)
    throw new WardenError("INVALID_OPTION", `adminRoutes: rateLimit.${name} must be a whole number from 1 to 1000000`);
  return value;
}

const digest = (token: string) => createHash("sha256").update(token, "utf8").digest();

/** Compares a presented token with every known one in constant time (digests of equal length, no early exit). */
function roleOf(presented: string, known: readonly KnownToken[]): KnownToken | null {
  const candidate = digest(presented);
  let found: KnownToken | null = null;
  for (const entry of known) {
    if (timingSafeEqual(candidate, entry.digest) && found === null) found = entry;
  }
  return found;
}

const SanctionBody = z
  .object({
    kind: z.enum(SANCTION_KINDS),
    // Any number here; checkDuration gives every bad one the same answer (400 INVALID_DURATION).
    duration: z.union([z.string().max(16), z.number()]).optional(),
    reason: z.string().trim().min(1).max(500),
    rule: z.string().min(1).max(40).optional(),
    why: z.string().max(500).optional(),
    /** A ban of the ID and of the IDs linked to it (ban evasion): without `confirm`, only the blast radius. */
    withAlts: z.boolean().default(false),
    confirm: z.boolean().default(false),
    /** With `confirm`: the alts' IDs of the preview; only those (still linked) are banned. */
    alts: z
      .array(z.string().regex(/^[a-z2-7]{26}$/))
      .max(1000)
      .optional(),
  })
  .strict();
const WhyBody = z.object({ why: z.string().max(500).optional() }).strict();
const RevokeBody = z
  .object({
    reason: z.string().max(500).default(""),
    /** The sanction was wrong: its ladder step is forgiven too. */
    wrongful: z.boolean().default(false),
    /** Also revoke the active sanctions that follow from it (the bans of its alts). */
    withAlts: z.boolean().default(false),
    why: z.string().max(500).optional(),
  })
  .strict();
const EvasionDecisionBody = z.discriminatedUnion("action", [
  z
    .object({
      action: z.enum(["ban", "extend"]),
      duration: z.union([z.string().max(16), z.number()]).optional(),
      reason: z.string().trim().min(1).max(500),
      why: z.string().max(500).optional(),
    })
    .strict(),
  z
    .object({
      action: z.literal("dismiss"),
      reason: z.string().trim().min(1).max(500),
      why: z.string().max(500).optional(),
    })
    .strict(),
]);
const AppealDecisionBody = z
  .object({
    outcome: z.enum(["upheld", "rejected"]),
    reason: z.string().trim().min(1).max(500),
    /** Upheld by shortening: the new end (ISO 8601 or epoch ms) instead of revoking. */
    end: z.union([z.number().int(), z.string().max(40)]).optional(),
    why: z.string().max(500).optional(),
  })
  .strict();
const CaseDecisionBody = z.discriminatedUnion("action", [
  z
    .object({
      action: z.literal("sanction"),
      kind: z.enum(SANCTION_KINDS),
      duration: z.union([z.string().max(16), z.number()]).optional(),
      rule: z.string().min(1).max(40).optional(),
      reason: z.string().trim().min(1).max(500),
      why: z.string().max(500).optional(),
    })
    .strict(),
  z
    .object({
      action: z.literal("dismiss"),
      reason: z.string().trim().min(1).max(500),
      unfounded: z.boolean().default(false),
      why: z.string().max(500).optional(),
    })
    .strict(),
]);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date YYYY-MM-DD");
const QueueQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** An instant from the API: epoch ms or an ISO 8601 string; INVALID_REQUEST when it is not a valid time. */
function instantOf(value: number | string, field: string): number {
  const at = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isSafeInteger(at) || !isInstant(at))
    throw new WardenError("INVALID_REQUEST", `${field}: not a valid time`);
  return at;
}

function durationOf(value: string | number | undefined): number | undefined {
  return value === undefined ? undefined : typeof value === "number" ? checkDuration(value) : parseDuration(value);
}
const ForgetBody = z
  .object({ includingSanctions: z.boolean().default(false), why: z.string().max(500).optional() })
  .strict();
const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z
    .string()
    .regex(/^\d+-\d+$/)
    .optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.join(".") || "body";
  throw new WardenError("INVALID_REQUEST", `${path}: ${issue?.message ?? "invalid"}`);
}

/** A copy without any `related` field (a statement's or an audit entry's), for viewers. */
function withoutRelated(value: unknown): unknown {
  return value === undefined ? value : JSON.parse(JSON.stringify(value, (k, v) => (k === "related" ? undefined : v)));
}

/** Offense events one reconnecting feed client may be sent from before it connected. */
const FEED_REPLAY = 1000;

/**
 * A feed position a client may resume from (`Last-Event-ID`): `0`, a stream id, or the
 * composite cursor of a sharded feed (one stream id per shard, comma-separated).
 */
const FEED_CURSOR = /^(0|\d{1,20}-\d{1,20})(,(0|\d{1,20}-\d{1,20})){0,255}$/;

/** Who an offense event is, for telling a replayed one from a live one: the ID and its stream id (unique per ID). */
function eventKey(event: { did: string; id?: string }): string {
  return `${event.did} ${event.id ?? ""}`;
}

function fail(res: Response, code: WardenErrorCode, message: string): void {
  res.status(ERROR_CATALOGUE[code].status).json({ error: { code, message } });
}

/** Builds the router. Returns null when no token is configured (the API is then not mounted). */
export function createAdminRouter(
  admin: AdminService,
  feed: FeedHub,
  options: AdminApiOptions,
  logError: (message: string) => void,
  staff?: StaffService,
): Router | null {
  const known = [
    ...(options.adminTokens ?? []).map((t) => tokenEntry(t, "admin")),
    ...(options.moderatorTokens ?? []).map((t) => tokenEntry(t, "moderator")),
    ...(options.viewerTokens ?? []).map((t) => tokenEntry(t, "viewer")),
  ];
  if (known.length === 0) return null;
  const allowedOrigins = checkOrigins(options.corsOrigins);
  const limits = {
    general: perMinute(options.rateLimit?.perMinute, 300, "perMinute"),
    expensive: perMinute(options.rateLimit?.expensivePerMinute, 10, "expensivePerMinute"),
  };
  const budgets = new Budgets();

  const router = express.Router();

  // Its own CORS policy, not Colyseus's global one (any origin, with credentials): same
  // origin, or an origin on the allow-list. Colyseus answers preflights itself before any
  // route runs; the real request is refused here, so a page elsewhere can neither act nor read.
  router.use((req: Request, res: Response, next: NextFunction) => {
    for (const header of CORS_HEADERS) res.removeHeader(header);
    const origin = req.get("origin");
    if (origin === undefined || origin === `${req.protocol}://${req.get("host") ?? ""}`) return next();
    if (allowedOrigins.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      return next();
    }
    return fail(res, "FORBIDDEN", "cross-origin request refused: add the origin to adminRoutes({ corsOrigins })");
  });

  // Authentication first: nothing — not a 404, not a body-parsing error, not a log line — is
  // produced for a request without a valid token. The body is read only after it. The actor
  // comes from the credential alone: a personal token names its person, a configured one its
  // name (or only its role); no header can say otherwise.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer (\S+)$/.exec(header);
    if (!match) return fail(res, "UNAUTHORIZED", "missing bearer token");
    const presented = match[1]!;
    const resolve = async (): Promise<Authenticated | null> => {
      if (staff !== undefined && isStaffToken(presented)) {
        const person = await staff.authenticate(presented);
        return person === null
          ? null
          : {
              role: person.role,
              actor: { face: "api", who: `staff:${person.name}`, role: person.role },
              credential: `staff:${person.name}`,
            };
      }
      const entry = roleOf(presented, known);
      if (entry === null) return null;
      return {
        role: entry.role,
        actor: {
          face: "api",
          who: entry.name ? `api:${entry.role}:${entry.name}` : `api:${entry.role}`,
          role: entry.role,
        },
        credential: entry.digest.toString("hex"),
      };
    };
    resolve().then((auth) => {
      if (auth === null) return fail(res, "UNAUTHORIZED", "unknown token");
      const wait = budgets.take(
        `${auth.credential}|${isExpensive(req) ? "x" : "g"}`,
        isExpensive(req) ? limits.expensive : limits.general,
        Date.now(),
      );
      if (wait > 0) {
        res.setHeader("Retry-After", String(Math.ceil(wait / 1000)));
        return fail(
          res,
          "RATE_LIMITED",
          `this credential's request budget is spent: retry in ${Math.ceil(wait / 1000)} s`,
        );
      }
      const why = req.get("x-warden-why") ?? (typeof req.query.why === "string" ? req.query.why : undefined);
      auth.actor.why = why ? boundText(why, 500) : null;
      res.locals.auth = auth;
      // A ban's `related` names another ID (the original of an evader): the links behind it are
      // for moderators (`/alts` is theirs), so a viewer's answers leave it out, wherever it is.
      if (auth.role === "viewer") {
        const json = res.json.bind(res);
        res.json = (body?: unknown) => json(withoutRelated(body));
      }
      next();
    }, next);
  });
  router.use(express.json({ limit: "16kb" }));

  const adminOnly = (_req: Request, res: Response, next: NextFunction) => {
    if ((res.locals.auth as Authenticated).role !== "admin")
      return fail(res, "FORBIDDEN", "only an admin manages staff");
    next();
  };

  const moderatorOnly = (req: Request, res: Response, next: NextFunction) => {
    if (!roleAtLeast((res.locals.auth as Authenticated).role, "moderator"))
      return fail(
        res,
        "FORBIDDEN",
        `a viewer may not ${req.method === "DELETE" ? "forget identities" : "do this"}: moderator token required`,
      );
    next();
  };

  /** Wraps an async handler: errors become `{ error: { code, message } }`. */
  const handle =
    (fn: (req: Request, res: Response, auth: Authenticated) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction) => {
      fn(req, res, res.locals.auth as Authenticated).catch(next);
    };

  const withWhy = (auth: Authenticated, why: string | undefined): Actor =>
    why ? { ...auth.actor, why: boundText(why, 500) } : auth.actor;

  // Who the credential says the caller is: the console and the CLI read their role here.
  router.get(
    "/whoami",
    handle(async (_req, res, auth) => {
      res.json({ role: auth.role, actor: auth.actor.who });
    }),
  );

  // Staff: personal tokens, issued (shown once) and revoked by an admin, audited.
  router.get(
    "/staff",
    adminOnly,
    handle(async (_req, res) => {
      res.json({ staff: await admin.listStaff() });
    }),
  );
  router.post(
    "/staff",
    adminOnly,
    handle(async (req, res, auth) => {
      const body = parse(
        z.object({ name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/), role: z.enum(STAFF_ROLES) }).strict(),
        req.body,
      );
      res.status(201).json(await admin.addStaff(body.name, body.role, auth.actor));
    }),
  );
  router.delete(
    "/staff/:name",
    adminOnly,
    handle(async (req, res, auth) => {
      const name = parse(z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/), req.params.name);
      res.json({ staff: await admin.revokeStaff(name, auth.actor) });
    }),
  );

  router.get(
    "/identities",
    handle(async (req, res, auth) => {
      const q = parse(z.object({ q: z.string().trim().min(1).max(64) }), req.query).q;
      res.json({ identities: await admin.lookup(q, auth.actor) });
    }),
  );

  router.get(
    "/identities/:did",
    handle(async (req, res, auth) => {
      res.json(await admin.identity(assertDigitalId(req.params.did), auth.actor));
    }),
  );

  router.get(
    "/identities/:did/sanctions",
    handle(async (req, res, auth) => {
      const all = req.query.all === "true" || req.query.all === "1";
      res.json({ sanctions: await admin.sanctionsOf(assertDigitalId(req.params.did), auth.actor, { all }) });
    }),
  );

  router.get(
    "/identities/:did/sessions",
    handle(async (req, res, auth) => {
      res.json({ sessions: await admin.sessions(assertDigitalId(req.params.did), auth.actor) });
    }),
  );

  router.get(
    "/identities/:did/events",
    handle(async (req, res, auth) => {
      const did = assertDigitalId(req.params.did);
      const paging = parse(Paging, req.query);
      const events = await admin.events(
        did,
        auth.actor,
        paging.before ? { limit: paging.limit, before: paging.before } : { limit: paging.limit },
      );
      res.json({ events, next: events.length === paging.limit ? (events[events.length - 1]?.id ?? null) : null });
    }),
  );

  router.post(
    "/identities/:did/sanctions",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const did = assertDigitalId(req.params.did);
      const body = parse(SanctionBody, req.body);
      // Refused before anything is written: 400 INVALID_DURATION past MAX_DURATION_MS, as on the CLI.
      const duration = durationOf(body.duration);
      // Four-eyes: a permanent ban is proposed here and lands when a second person confirms it.
      if (admin.needsConfirmation({ kind: body.kind, duration }) && (!body.withAlts || body.confirm)) {
        if (body.withAlts && body.alts === undefined)
          throw new WardenError("INVALID_REQUEST", "alts: confirm with the alts of the preview (its blastRadius IDs)");
        const pending = await admin.proposeBan(
          did,
          {
            reason: body.reason,
            ...(body.rule === undefined ? {} : { rule: body.rule }),
            ...(body.withAlts && body.alts !== undefined ? { alts: body.alts } : {}),
          },
          withWhy(auth, body.why),
        );
        return void res.status(202).json({ pending });
      }
      if (body.withAlts) {
        if (body.kind !== "ban") throw new WardenError("INVALID_REQUEST", "withAlts: only a ban is issued with alts");
        // Acting needs the list the moderator was shown: a link made after the preview bans no one.
        if (body.confirm && body.alts === undefined)
          throw new WardenError("INVALID_REQUEST", "alts: confirm with the alts of the preview (its blastRadius IDs)");
        const result = await admin.banWithAlts(
          did,
          {
            reason: body.reason,
            ...(duration === undefined ? {} : { duration }),
            ...(body.rule === undefined ? {} : { rule: body.rule }),
          },
          withWhy(auth, body.why),
          { confirm: body.confirm, ...(body.alts === undefined ? {} : { only: body.alts }) },
        );
        if (result.sanctions === undefined) return void res.json({ blastRadius: result.blastRadius });
        const [sanction, ...alts] = result.sanctions;
        return void res.status(201).json({ sanction, alts });
      }
      if (body.confirm || body.alts !== undefined)
        throw new WardenError("INVALID_REQUEST", "confirm and alts: only with withAlts");
      const result = await admin.issue(
        {
          did,
          kind: body.kind,
          reason: body.reason,
          ...(duration === undefined ? {} : { duration }),
          ...(body.rule === undefined ? {} : { rule: body.rule }),
        },
        withWhy(auth, body.why),
      );
      if (result.status === "cancelled") return fail(res, "SANCTION_CANCELLED", `cancelled: ${result.reason}`);
      res.status(201).json({ sanction: result.sanction });
    }),
  );

  // Four-eyes for permanent bans (dueProcess.fourEyesBans): proposals waiting for a second person.
  router.get(
    "/pending-bans",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ pending: await admin.pendingBans(auth.actor, parse(QueueQuery, req.query).limit) });
    }),
  );

  router.get(
    "/pending-bans/:id",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ pending: await admin.pendingBan(String(req.params.id), auth.actor) });
    }),
  );

  router.post(
    "/pending-bans/:id/confirm",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(WhyBody, req.body ?? {});
      const result = await admin.confirmBan(String(req.params.id), withWhy(auth, body.why));
      res.status(201).json(result);
    }),
  );

  router.post(
    "/pending-bans/:id/cancel",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(RevokeBody.pick({ reason: true, why: true }), req.body ?? {});
      res.json({ pending: await admin.cancelBan(String(req.params.id), body.reason, withWhy(auth, body.why)) });
    }),
  );

  router.post(
    "/sanctions/:id/revoke",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(RevokeBody, req.body);
      const actor = withWhy(auth, body.why);
      const result = await admin.revoke(String(req.params.id), body.reason, actor, actor.who, {
        wrongful: body.wrongful,
        withAlts: body.withAlts,
      });
      if (result.status === "not_found")
        return fail(
          res,
          "SANCTION_NOT_FOUND",
          `no sanction with id ${JSON.stringify(String(req.params.id).slice(0, 80))}`,
        );
      res.json(result);
    }),
  );

  router.get(
    "/identities/:did/export",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const copy = req.query.copy === "subject" ? "subject" : "staff";
      res.json(await admin.export(assertDigitalId(req.params.did), auth.actor, { copy }));
    }),
  );

  // Due process: the review queue (appeals, report cases) and the transparency report.

  // Evidence and cases hold other players' chat lines and reporters' words: moderators only.
  router.get(
    "/identities/:did/evidence",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ evidence: await admin.evidence(assertDigitalId(req.params.did), auth.actor) });
    }),
  );

  router.get(
    "/appeals",
    handle(async (req, res, auth) => {
      res.json({ appeals: await admin.appealQueue(auth.actor, parse(QueueQuery, req.query).limit) });
    }),
  );

  router.get(
    "/appeals/:id",
    handle(async (req, res, auth) => {
      res.json(await admin.appeal(String(req.params.id), auth.actor));
    }),
  );

  router.post(
    "/appeals/:id/review",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ appeal: await admin.takeAppeal(String(req.params.id), auth.actor) });
    }),
  );

  router.post(
    "/appeals/:id/decide",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(AppealDecisionBody, req.body);
      const decision = {
        outcome: body.outcome,
        reason: body.reason,
        ...(body.end === undefined ? {} : { end: instantOf(body.end, "end") }),
      };
      res.json({ appeal: await admin.decideAppeal(String(req.params.id), decision, withWhy(auth, body.why)) });
    }),
  );

  router.get(
    "/cases",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ cases: await admin.caseQueue(auth.actor, parse(QueueQuery, req.query).limit) });
    }),
  );

  router.get(
    "/cases/:id",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ case: await admin.reportCase(String(req.params.id), auth.actor) });
    }),
  );

  router.post(
    "/cases/:id/decide",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(CaseDecisionBody, req.body);
      const decision =
        body.action === "sanction"
          ? (() => {
              const duration = durationOf(body.duration);
              return {
                action: "sanction" as const,
                kind: body.kind,
                reason: body.reason,
                ...(duration === undefined ? {} : { duration }),
                ...(body.rule === undefined ? {} : { rule: body.rule }),
              };
            })()
          : { action: "dismiss" as const, reason: body.reason, unfounded: body.unfounded };
      res.json({ case: await admin.decideCase(String(req.params.id), decision, withWhy(auth, body.why)) });
    }),
  );

  // Ban evasion: links between IDs (derived from network and device signals) and the
  // evasion queue. Moderators only: a link says who may be the same person.
  router.get(
    "/identities/:did/alts",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ alts: await admin.alts(assertDigitalId(req.params.did), auth.actor) });
    }),
  );

  router.get(
    "/evasion",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ evasion: await admin.evasionQueue(auth.actor, parse(QueueQuery, req.query).limit) });
    }),
  );

  router.get(
    "/evasion/:id",
    moderatorOnly,
    handle(async (req, res, auth) => {
      res.json({ evasion: await admin.evasionCase(String(req.params.id), auth.actor) });
    }),
  );

  router.post(
    "/evasion/:id/decide",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const body = parse(EvasionDecisionBody, req.body);
      const decision =
        body.action === "dismiss"
          ? { action: "dismiss" as const, reason: body.reason }
          : (() => {
              const duration = durationOf(body.duration);
              return { action: body.action, reason: body.reason, ...(duration === undefined ? {} : { duration }) };
            })();
      res.json({ evasion: await admin.decideEvasion(String(req.params.id), decision, withWhy(auth, body.why)) });
    }),
  );

  router.get(
    "/transparency",
    handle(async (req, res) => {
      const q = parse(z.object({ from: Day, to: Day, format: z.enum(["json", "csv"]).default("json") }), req.query);
      const report = await admin.transparency(q.from, q.to);
      if (q.format === "csv") res.type("text/csv").send(reportToCsv(report));
      else res.json(report);
    }),
  );

  router.delete(
    "/identities/:did",
    moderatorOnly,
    handle(async (req, res, auth) => {
      const did = assertDigitalId(req.params.did);
      const body = parse(ForgetBody, req.body);
      res.json(await admin.forget(did, withWhy(auth, body.why), { includingSanctions: body.includingSanctions }));
    }),
  );

  router.get(
    "/audit",
    handle(async (req, res) => {
      const paging = parse(Paging, req.query);
      const entries = await admin.auditLog(
        paging.before ? { limit: paging.limit, before: paging.before } : { limit: paging.limit },
      );
      res.json({ entries, next: entries.length === paging.limit ? (entries[entries.length - 1]?.id ?? null) : null });
    }),
  );

  router.get(
    "/audit/verify",
    handle(async (_req, res) => {
      res.json(await admin.verifyAudit());
    }),
  );

  /**
   * Server-Sent Events: `offense`, `sanction` and `revocation` events as they happen anywhere.
   * Offense events carry their stream id (`id:`); a client that reconnects with
   * `Last-Event-ID` (`0`: from the oldest kept) first gets the offense events recorded after
   * it (at most {@link FEED_REPLAY} of them), then the live ones, none twice.
   */
  router.get(
    "/feed",
    handle(async (req, res, auth) => {
      const lastEventId = req.get("last-event-id");
      const resumeFrom =
        lastEventId === undefined
          ? null
          : lastEventId.length <= 6000 && FEED_CURSOR.test(lastEventId)
            ? lastEventId
            : null;
      // Audited before the stream opens; the append waits its turn behind other acts, never fails for contention.
      await admin.watchFeed(auth.actor);
      // The client may have gone while the entry was written: then a close listener added now would never fire.
      if (res.destroyed) return;
      res.status(200).set({
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
        "X-Accel-Buffering": "no",
      });
      res.flushHeaders();
      res.write(": connected\n\n");
      // The offense events the replay sent: a live one among them is not sent twice.
      const replayed = new Set<string>();
      // Each event carries the ID's display name (`name`, null when unknown) for the console.
      const write = (item: FeedItem) => {
        const [name, data] =
          item.type === "offense"
            ? ["offense", { ...item.event, name: item.name ?? null }]
            : item.type === "issued"
              ? ["sanction", { ...item.sanction, name: item.name ?? null }]
              : ["revocation", { ...item, name: item.name ?? null }];
        if (item.type === "offense" && replayed.size > 0 && item.event.id && replayed.has(eventKey(item.event))) return;
        const shown = auth.role === "viewer" ? withoutRelated(data) : data;
        // The id line comes last (field order within an event does not matter to SSE).
        // Its feed position (a sharded feed's composite cursor), for Last-Event-ID.
        const position = item.type === "offense" ? (item.event.cursor ?? item.event.id) : undefined;
        const id = position ? `id: ${position}\n` : "";
        res.write(`event: ${name}\ndata: ${JSON.stringify(shown)}\n${id}\n`);
      };
      // Live items that arrive while the replay is read wait for it.
      let waiting: FeedItem[] | null = resumeFrom === null ? null : [];
      const unsubscribe = feed.subscribe((item) => (waiting === null ? write(item) : waiting.push(item)));
      const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
      res.on("close", () => {
        clearInterval(keepAlive);
        unsubscribe();
      });
      if (resumeFrom !== null) {
        try {
          for (const event of await feed.since(resumeFrom, FEED_REPLAY)) {
            write({ type: "offense", event });
            if (event.id) replayed.add(eventKey(event));
          }
        } finally {
          const held = waiting ?? [];
          waiting = null;
          for (const item of held) write(item);
        }
      }
    }),
  );

  router.use((_req: Request, res: Response) => fail(res, "NOT_FOUND", "no such admin API route"));

  // Errors thrown by handlers and by the JSON body parser.
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof WardenError) return fail(res, error.code, error.message);
    // body-parser's own errors (bad JSON 400, too large 413, unsupported charset or encoding 415).
    const status = (error as { status?: number }).status;
    if (status === 400 || status === 413 || status === 415) {
      return fail(
        res,
        "INVALID_REQUEST",
        status === 413
          ? "request body too large"
          : status === 415
            ? "unsupported body charset or encoding"
            : "request body is not valid JSON",
      );
    }
    logError(`admin API: ${error instanceof Error ? error.message : String(error)}`);
    fail(res, "INTERNAL", "the request could not be completed");
  });

  return router;
}
