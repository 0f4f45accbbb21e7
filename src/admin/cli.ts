/**
 * `warden` — the moderator CLI. A face over the admin HTTP API of the servers (the
 * default), or, for operators in an emergency, over the store directly (`--direct`).
 *
 * HTTP mode: WARDEN_URL (or `warden login --url`), a personal token (`warden login` reads it
 * from stdin into a 0600 credentials file; or WARDEN_TOKEN). The server's own configuration
 * (retention, policy, code of conduct, four-eyes) applies, and the actor is the credential's
 * person (`staff:<name>`).
 *
 * Break-glass (`--direct` or WARDEN_DIRECT=1): REDIS_URL or REDIS_CLUSTER_NODES (the Redis the servers use),
 * WARDEN_SECRET or WARDEN_AUDIT_KEY (the audit key), WARDEN_PREFIX (default "warden"),
 * WARDEN_FOUR_EYES=1 (permanent bans are proposed, as on servers with the four-eyes rule); every
 * act and look is audited as `breakglass:<os user>`, with the default retention and policy.
 *
 * Exit codes: 0 done · 1 store or server unreachable or unexpected failure · 2 bad input or
 * refused (nothing written; e.g. FOUR_EYES, a viewer's token) · 3 unknown sanction, identity,
 * appeal, case, staff member or proposed ban · 4 `audit verify` found the chain broken.
 */
import { userInfo } from "node:os";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration, formatDuration } from "../duration.js";
import { formatInstant } from "../util/time.js";
import { WardenError } from "../errors.js";
import { assertDigitalId, deriveDigitalId, isDigitalId, type DigitalId } from "../identity/digital-id.js";
import { DEFAULT_OPTIONS } from "../options.js";
import { SANCTION_KINDS, type Sanction, type SanctionKind } from "../sanctions/model.js";
import { SanctionsService } from "../sanctions/service.js";
import { resolvePolicy } from "../policy/ladder.js";
import { readFile } from "node:fs/promises";
import { AuditLog, auditKeysFrom, parseCheckpoints, type AuditCheckpoint } from "./audit.js";
import { AdminService, type Actor, type EvasionDecision } from "./service.js";
import type { AltLink } from "../signals/model.js";
import { EvasionService } from "../signals/evasion.js";
import { EVASION_DEFAULTS } from "../signals/options.js";
import type { EvasionRecord } from "../reviews/model.js";
import type { OffenseEvent } from "../recorder/offense.js";
import { RedisStore } from "../stores/redis/redis-store.js";
import { redisTargetFromEnv } from "../stores/redis/connection.js";
import { resolveConduct } from "../policy/conduct.js";
import { createDueProcess, type DueProcess } from "../reviews/due-process.js";
import { resolveDueProcess } from "../reviews/options.js";
import { parseDay, reportToCsv } from "../reviews/transparency.js";
import { STAFF_ROLES, type StaffRole, type StaffView } from "./staff.js";
import {
  ApiClient,
  CliError,
  EXIT,
  apiBase,
  checkTransport,
  credentialsPath,
  readCredentials,
  removeCredentials,
  shown,
  writeCredentials,
} from "./cli-http.js";
import { HttpFace, type Face, type TailItem } from "./cli-face.js";
import type { PendingBanView } from "./service.js";

export { EXIT } from "./cli-http.js";

interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** The token for `warden login` (stdin); absent: read process.stdin. */
  readSecret?: (prompt: string) => Promise<string>;
}

interface Common {
  json?: boolean;
}

function requireEnv(env: NodeJS.ProcessEnv, name: string, why: string): string {
  const value = env[name];
  if (!value) throw new CliError(`${name} is not set: ${why}`, EXIT.badInput);
  return value;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Whether this run is break-glass: `--direct` or WARDEN_DIRECT=1. */
function isDirect(program: Command, env: NodeJS.ProcessEnv): boolean {
  return program.opts<{ direct?: boolean }>().direct === true || env.WARDEN_DIRECT === "1";
}

/** The server and token of HTTP mode: WARDEN_URL / WARDEN_TOKEN over the credentials file. */
async function connection(io: Io): Promise<{ base: string; token: string }> {
  const stored = await readCredentials(io.env);
  const url = io.env.WARDEN_URL || stored?.url;
  if (!url)
    throw new CliError(
      "not signed in: run `warden login --url https://your-server` (or set WARDEN_URL and WARDEN_TOKEN); operators: --direct for break-glass access to the store",
      EXIT.badInput,
    );
  const base = apiBase(url);
  // A stored token goes only to the server it was stored for, never to another WARDEN_URL.
  const token = io.env.WARDEN_TOKEN || (stored !== null && apiBase(stored.url) === base ? stored.token : undefined);
  if (!token)
    throw new CliError(
      `no token for ${new URL(base).host}: run \`warden login --url ${shown(url, 200)}\` or set WARDEN_TOKEN`,
      EXIT.badInput,
    );
  checkTransport(base, io.env);
  return { base, token };
}

/** Runs one command against the server (HTTP mode) or the store (`--direct`). */
async function withFace<T>(io: Io, program: Command, run: (face: Face) => Promise<T>): Promise<T> {
  if (isDirect(program, io.env)) return withDirect(io, run);
  const { base, token } = await connection(io);
  return run(new HttpFace(new ApiClient(base, token, io.env), (line) => io.err(`warden: ${line}\n`)));
}

/** Break-glass: opens the store and the admin service for one command, and always closes it. */
async function withDirect<T>(io: Io, run: (face: Face) => Promise<T>): Promise<T> {
  // REDIS_CLUSTER_NODES (a cluster's host:port,…) wins over REDIS_URL, as for the servers.
  const url =
    redisTargetFromEnv(io.env) ??
    requireEnv(
      io.env,
      "REDIS_URL",
      "the CLI needs the Redis your servers use (e.g. redis://127.0.0.1:6379, or REDIS_CLUSTER_NODES=host:port,… for a cluster)",
    );
  // The audit chain is keyed: the CLI links its entries under the servers' key, so it needs their secret.
  const auditSecret =
    io.env.WARDEN_AUDIT_KEY ||
    requireEnv(
      io.env,
      "WARDEN_SECRET",
      "the CLI links audit entries under the servers' audit key (or set WARDEN_AUDIT_KEY)",
    );
  const who = `breakglass:${osUser()}`;
  io.err(
    `warden: break-glass: acting directly on the store as ${who} (audited), with the default retention and policy, not the servers'\n`,
  );
  const checkpointFile = io.env.WARDEN_AUDIT_CHECKPOINTS || undefined;
  const store = new RedisStore({ connection: url, prefix: io.env.WARDEN_PREFIX || DEFAULT_OPTIONS.prefix });
  let audit: AuditLog | undefined;
  try {
    await store.connect();
    const retention = DEFAULT_OPTIONS.retention;
    // The servers' four-eyes rule is theirs; an operator whose servers have it says so here,
    // and a permanent ban from the store is then only proposed, as over HTTP.
    const dueProcess = resolveDueProcess(io.env.WARDEN_FOUR_EYES === "1" ? { fourEyesBans: true } : undefined);
    let due: DueProcess | undefined;
    const sanctions = new SanctionsService(store, retention, {
      before: () => null,
      issued: (s) => due?.transparency.issued(s),
      revoked: (s) => due?.transparency.revoked(s),
    });
    due = createDueProcess(store, dueProcess, {
      storeFailed: (operation, e) =>
        io.err(`warden: ${operation} failed: ${e instanceof Error ? e.message : String(e)}\n`),
      findSanction: (id) => sanctions.find(id),
    });
    // Links, the evasion queue and decisions read what the servers noted; the CLI hashes no
    // signal, so the servers' secret is not needed here.
    const evasion = new EvasionService(store, io.env.WARDEN_SECRET ?? "", EVASION_DEFAULTS, {
      flagged: () => {},
      storeFailed: (operation, e) =>
        io.err(`warden: ${operation} failed: ${e instanceof Error ? e.message : String(e)}\n`),
    });
    const admin = new AdminService(
      store,
      sanctions,
      (audit = new AuditLog(store, retention.auditMs, auditKeysFrom(auditSecret), Date.now, {
        processId: `cli-${process.pid}`,
        ...(checkpointFile === undefined ? {} : { checkpoints: { file: checkpointFile, log: false } }),
      })),
      { policy: resolvePolicy(), retention, conduct: resolveConduct(undefined), dueProcess },
      due,
      Date.now,
      evasion,
    );
    return await run(directFace(admin, store, who));
  } finally {
    await audit?.close();
    await store.close();
  }
}

/** The break-glass face: the admin service on the store, every act and look as `breakglass:<user>`. */
function directFace(admin: AdminService, store: RedisStore, who: string): Face {
  const actor = (why?: string): Actor => ({ face: "cli", who, why: why ?? null, role: "moderator" });
  const noStaff = (): never => {
    throw new CliError(
      "staff credentials are managed through the servers' admin API, not in --direct mode",
      EXIT.badInput,
    );
  };
  return {
    mode: "direct",
    whoami: async () => ({ actor: who, role: "break-glass", where: "the store (--direct)" }),
    lookup: (query, why) => admin.lookup(query, actor(why)),
    issue: async (request) => {
      // Four-eyes (WARDEN_FOUR_EYES=1): a permanent ban is proposed, as the HTTP API does.
      if (admin.needsConfirmation(request)) {
        const { did, reason, rule } = request;
        return { pending: { ...(await admin.proposeBan(did, { reason, ...(rule ? { rule } : {}) }, actor())) } };
      }
      const result = await admin.issue(request, actor());
      if (result.status !== "issued") throw new CliError(`cancelled: ${result.reason}`, EXIT.failure);
      return { sanction: result.sanction };
    },
    banWithAlts: async (did, request, confirm) => {
      if (!confirm || !admin.needsConfirmation({ kind: "ban", duration: request.duration }))
        return admin.banWithAlts(did, request, actor(), { confirm });
      // Proposed with the alts a preview shows now (the HTTP path proposes those the moderator was shown).
      const { blastRadius } = await admin.banWithAlts(did, request, actor(), { confirm: false });
      const { reason, rule } = request;
      const alts = blastRadius.map((l) => l.did);
      const pending = await admin.proposeBan(did, { reason, ...(rule ? { rule } : {}), alts }, actor());
      return { blastRadius, pending: { ...pending } };
    },
    pendingBans: (limit) => admin.pendingBans(actor(), limit),
    pendingBan: (id, why) => admin.pendingBan(id, actor(why)),
    confirmBan: (id, why) => admin.confirmBan(id, actor(why)),
    cancelBan: (id, reason) => admin.cancelBan(id, reason, actor()),
    revoke: (id, reason, options) => admin.revoke(id, reason, actor(), who, options),
    sanctionsOf: (did, all, why) => admin.sanctionsOf(did, actor(why), { all }),
    sessions: (did, why) => admin.sessions(did, actor(why)),
    events: (did, limit, why) => admin.events(did, actor(why), { limit }),
    export: (did, copy, why) => admin.export(did, actor(why), { copy }),
    forget: (did, includingSanctions, why) => admin.forget(did, actor(why), { includingSanctions }),
    auditLog: (limit) => admin.auditLog({ limit }),
    verifyAudit: (checkpoints) => admin.verifyAudit({ checkpoints }),
    appealQueue: (limit) => admin.appealQueue(actor(), limit),
    appeal: (id, why) => admin.appeal(id, actor(why)),
    takeAppeal: (id) => admin.takeAppeal(id, actor()),
    decideAppeal: (id, decision) => admin.decideAppeal(id, decision, actor()),
    caseQueue: (limit) => admin.caseQueue(actor(), limit),
    reportCase: (id, why) => admin.reportCase(id, actor(why)),
    decideCase: (id, decision) => admin.decideCase(id, decision, actor()),
    evidence: (did, why) => admin.evidence(did, actor(why)),
    transparency: (from, to) => admin.transparency(from, to),
    alts: (did, why) => admin.alts(did, actor(why)),
    evasionQueue: (limit) => admin.evasionQueue(actor(), limit),
    evasionCase: (id, why) => admin.evasionCase(id, actor(why)),
    decideEvasion: (id, decision) => admin.decideEvasion(id, decision, actor()),
    staffAdd: async () => noStaff(),
    staffList: async () => noStaff(),
    staffRevoke: async () => noStaff(),
    tail: async (options, onItem, signal) => {
      await admin.watchFeed(actor());
      let after = options.fromStart ? "0" : await store.lastFeedId();
      while (!signal.aborted) {
        const events = await store.readFeed(after, { count: 100, blockMs: 1000 });
        for (const event of events) {
          after = event.cursor ?? event.id ?? after;
          if (!onItem({ type: "offense", event })) return;
        }
      }
    },
  };
}

function when(ms: number | null): string {
  return ms === null ? "permanent" : formatInstant(ms);
}

function sanctionRows(sanctions: readonly Sanction[]): string {
  if (sanctions.length === 0) return "(none)";
  const rows = sanctions.map((s) => [
    s.id,
    s.kind,
    when(s.start),
    s.kind === "warn" || s.kind === "kick" ? "-" : when(s.end),
    s.revoked ? `revoked by ${s.revoked.by}` : "",
    s.by,
    s.reason,
  ]);
  const header = ["ID", "KIND", "START", "END", "STATE", "BY", "REASON"];
  return table(header, rows);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

function staffRows(staff: readonly StaffView[]): string {
  if (staff.length === 0) return "(no staff)";
  return table(
    ["NAME", "ROLE", "CREATED", "BY", "STATE"],
    staff.map((s) => [
      shown(s.name, 64),
      s.role,
      when(s.createdAt),
      shown(s.createdBy, 100),
      s.revokedAt === null ? "active" : `revoked ${when(s.revokedAt)} by ${shown(s.revokedBy ?? "?", 100)}`,
    ]),
  );
}

/**
 * The digital ID a command acts on: the argument, or the one identity whose display name is
 * `--name` (the lookup is audited). Several or none: refused, nothing done.
 */
async function target(
  face: Face,
  didArg: string | undefined,
  name: string | undefined,
  why?: string,
): Promise<DigitalId> {
  if (name === undefined) {
    if (didArg === undefined) throw new CliError("give a digital ID, or --name <display name>", EXIT.badInput);
    return assertDigitalId(didArg);
  }
  const found = await face.lookup(name, why);
  if (found.length === 0)
    throw new CliError(`no identity goes by the name ${JSON.stringify(shown(name, 64))}`, EXIT.notFound);
  if (found.length > 1)
    throw new CliError(
      `${found.length} identities go by the name ${JSON.stringify(shown(name, 64))} (${found.map((s) => s.did).join(", ")}): give the digital ID`,
      EXIT.badInput,
    );
  return found[0]!.did;
}

/** Checks the argument before anything is asked of the server or the store. */
function checkTarget(didArg: string | undefined, name: string | undefined): void {
  if (name !== undefined) {
    if (didArg !== undefined) throw new CliError("give a digital ID or --name, not both", EXIT.badInput);
    if (name.trim().length === 0 || name.length > 64)
      throw new CliError("--name must be a display name of 1 to 64 characters", EXIT.badInput);
    return;
  }
  if (didArg === undefined) throw new CliError("give a digital ID, or --name <display name>", EXIT.badInput);
  if (!isDigitalId(didArg))
    throw new CliError(
      `${JSON.stringify(shown(didArg, 40))} is not a digital ID (26 characters a-z 2-7; to act by display name: --name ${JSON.stringify(shown(didArg, 40))})`,
      EXIT.badInput,
    );
}

/** Reads the token from stdin: without echo on a terminal, else the first line of the pipe. */
async function readToken(io: Io): Promise<string> {
  const raw = io.readSecret ? await io.readSecret("Token: ") : await readStdinSecret("Token: ", (s) => io.err(s));
  const token = raw.trim();
  if (token.length === 0) throw new CliError("no token on stdin", EXIT.badInput);
  if (token.length > 1024 || /\s/.test(token))
    throw new CliError("that is not a token (one word, at most 1024 characters)", EXIT.badInput);
  return token;
}

function readStdinSecret(prompt: string, err: (s: string) => void): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let text = "";
    const tty = stdin.isTTY === true;
    if (tty) {
      err(prompt);
      stdin.setRawMode(true);
    }
    stdin.setEncoding("utf8");
    const done = (value: string | Error) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onEnd);
      if (tty) {
        stdin.setRawMode(false);
        err("\n");
      }
      stdin.pause();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\n" || ch === "\r") return done(text);
        if (tty && ch === "\u0003") return done(new CliError("cancelled", EXIT.badInput));
        if (tty && (ch === "\u007f" || ch === "\b")) text = text.slice(0, -1);
        else text += ch;
        if (text.length > 4096) return done(new CliError("that is not a token (too long)", EXIT.badInput));
      }
    };
    const onEnd = () => done(text);
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.once("error", onEnd);
    stdin.resume();
  });
}

function tailLine(item: TailItem): string {
  if (item.type === "offense") return eventLine(item.event, item.name);
  if (item.type === "sanction") {
    const s = item.sanction;
    return `${formatInstant(s.start)}  ${s.did}${item.name ? ` (${item.name})` : ""}  sanction ${s.kind} ${s.id}${s.end === null || s.kind === "warn" || s.kind === "kick" ? "" : ` until ${when(s.end)}`}  by ${shown(s.by, 100)}  ${JSON.stringify(shown(s.reason))}`;
  }
  const d = item.data;
  return `${formatInstant(Date.now())}  revocation ${shown(String(d.sanctionId ?? d.id ?? "?"), 80)}${d.by ? ` by ${shown(d.by, 100)}` : ""}`;
}

/** Builds the command tree; `io` lets tests and other hosts capture output. */
export function buildProgram(io: Io): Command {
  const program = new Command("warden")
    .description(
      "colyseus-warden moderator CLI: digital IDs and sanctions, applied live in every server process, through the servers' admin API",
    )
    .option(
      "--direct",
      "break-glass: act on the store directly (REDIS_URL, WARDEN_SECRET), audited as breakglass:<user>",
    )
    .showHelpAfterError(false)
    .showSuggestionAfterError(false)
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: (s, write) => write(s) })
    .exitOverride();

  const json = () => new Option("--json", "machine-readable output");
  const why = () => new Option("--why <text>", "why you look (kept in the audit log)");
  const byName = () => new Option("--name <display name>", "act on the one identity that goes by this display name");
  const face = <T>(run: (face: Face) => Promise<T>) => withFace(io, program, run);

  program
    .command("id")
    .description("print the digital ID of an account subject (needs WARDEN_SECRET)")
    .argument("<subject>", "the verified account id")
    .addOption(json())
    .action((subject: string, opts: Common) => {
      const secret = requireEnv(io.env, "WARDEN_SECRET", "the digital ID is an HMAC under the servers' secret");
      const did = deriveDigitalId(secret, subject);
      io.out(opts.json ? `${JSON.stringify({ did })}\n` : `${did}\n`);
    });

  addSessionCommands(program, io);

  for (const kind of SANCTION_KINDS) {
    const lasting = kind === "mute" || kind === "freeze" || kind === "ban";
    const command = program
      .command(kind)
      .description(
        lasting
          ? `${kind} a digital ID in every room and process (permanent unless --for)`
          : `${kind} a digital ID's live sessions`,
      )
      .argument("[did]", "digital ID (see `warden lookup`), or --name")
      .addOption(byName())
      .requiredOption("--reason <text>", "why; shown to the player")
      .option("--rule <id>", "the rule of the code of conduct broken (shown to the player)")
      .addOption(json());
    if (lasting) command.option("--for <duration>", "how long: 30s, 10m, 2h, 7d, 2w (at most 3650d)");
    if (kind === "ban")
      command
        .option("--with-alts", "also ban the IDs linked to it (shows them first; acts only with --yes)")
        .option("--yes", "with --with-alts: act on the blast radius shown");
    command.action(
      async (
        didArg: string | undefined,
        opts: Common & {
          reason: string;
          name?: string;
          for?: string;
          rule?: string;
          withAlts?: boolean;
          yes?: boolean;
        },
      ) => {
        // Everything is checked before the server or store is asked: bad input writes nothing.
        checkTarget(didArg, opts.name);
        const duration = opts.for === undefined ? undefined : parseDuration(opts.for);
        if (opts.reason.trim().length === 0) throw new CliError("--reason must not be empty", EXIT.badInput);
        if (opts.yes && !opts.withAlts) throw new CliError("--yes only confirms --with-alts", EXIT.badInput);
        await face(async (f) => {
          const did = await target(f, didArg, opts.name);
          if (opts.withAlts) return banWithAlts(io, f, did, { ...opts, duration });
          const result = await f.issue({
            did,
            kind: kind as SanctionKind,
            reason: opts.reason,
            ...(duration === undefined ? {} : { duration }),
            ...(opts.rule === undefined ? {} : { rule: opts.rule }),
          });
          if ("pending" in result) {
            if (opts.json) return io.out(`${JSON.stringify(result)}\n`);
            return io.out(proposedLine(did, result.pending));
          }
          const s = result.sanction;
          if (opts.json) io.out(`${JSON.stringify(s)}\n`);
          else
            io.out(
              `${s.kind} ${s.id} issued${lasting ? ` (${s.end === null ? "permanent" : `for ${formatDuration(s.end - s.start)}, until ${when(s.end)}`})` : ""}\n`,
            );
        });
      },
    );
  }

  program
    .command("revoke")
    .description("revoke a sanction by id; its effect ends live everywhere")
    .argument("<sanctionId>", "as printed when it was issued (`<did>.<suffix>`)")
    .option("--reason <text>", "why it is lifted", "")
    .option("--wrongful", "the sanction was wrong: also forgive the ladder step it came from")
    .option("--with-alts", "also revoke the sanctions that follow from it (the bans of its alts, an extension)")
    .addOption(json())
    .action(async (sanctionId: string, opts: Common & { reason: string; wrongful?: boolean; withAlts?: boolean }) => {
      if (sanctionId.length === 0 || sanctionId.length > 200)
        throw new CliError("a sanction id is 1 to 200 characters", EXIT.badInput);
      const result = await face((f) =>
        f.revoke(sanctionId, opts.reason, { wrongful: opts.wrongful === true, withAlts: opts.withAlts === true }),
      );
      if (result.status === "not_found")
        throw new CliError(`no sanction with id ${JSON.stringify(sanctionId.slice(0, 80))}`, EXIT.notFound);
      if (opts.json) return io.out(`${JSON.stringify(result)}\n`);
      io.out(
        result.status === "revoked"
          ? `revoked ${result.sanction.id}\n`
          : `${result.sanction.id} was already revoked by ${result.sanction.revoked?.by}\n`,
      );
      for (const id of result.relatedRevoked ?? []) io.out(`revoked ${id} (with ${result.sanction.id})\n`);
      const left = result.related.filter((id) => !(result.relatedRevoked ?? []).includes(id));
      if (left.length > 0)
        io.out(`also linked: ${left.join(", ")}${opts.withAlts ? "" : " (add --with-alts to revoke them too)"}\n`);
    });

  program
    .command("sanctions")
    .description("list the sanctions in force for a digital ID (--all: every stored one)")
    .argument("[did]", "digital ID, or --name")
    .addOption(byName())
    .option("--all", "include warns, kicks, expired and revoked sanctions")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string | undefined, opts: Common & { all?: boolean; why?: string; name?: string }) => {
      checkTarget(didArg, opts.name);
      const list = await face(async (f) =>
        f.sanctionsOf(await target(f, didArg, opts.name, opts.why), opts.all === true, opts.why),
      );
      io.out(opts.json ? `${JSON.stringify(list)}\n` : `${sanctionRows(list)}\n`);
    });

  program
    .command("sessions")
    .description("list the live sessions of a digital ID in every server process")
    .argument("[did]", "digital ID, or --name")
    .addOption(byName())
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string | undefined, opts: Common & { why?: string; name?: string }) => {
      checkTarget(didArg, opts.name);
      const list = await face(async (f) => f.sessions(await target(f, didArg, opts.name, opts.why), opts.why));
      io.out(
        opts.json
          ? `${JSON.stringify(list)}\n`
          : list.length === 0
            ? "(no live session)\n"
            : `${list.map((b) => `${b.sessionId}  ${b.roomName}/${b.roomId}  ${b.processId}  since ${when(b.since)}`).join("\n")}\n`,
      );
    });

  program
    .command("history")
    .description("list a digital ID's recorded offenses, newest first")
    .argument("[did]", "digital ID, or --name")
    .addOption(byName())
    .option("--limit <n>", "how many", "50")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string | undefined, opts: Common & { limit: string; why?: string; name?: string }) => {
      checkTarget(didArg, opts.name);
      const limit = Number(opts.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError("--limit must be a whole number from 1 to 10000", EXIT.badInput);
      const events = await face(async (f) => f.events(await target(f, didArg, opts.name, opts.why), limit, opts.why));
      if (opts.json) io.out(`${JSON.stringify(events)}\n`);
      else io.out(events.length === 0 ? "(no recorded offense)\n" : `${events.map((e) => eventLine(e)).join("\n")}\n`);
    });

  program
    .command("tail")
    .description(
      "follow the live feed of offense events (Ctrl-C to stop; --json gives NDJSON); over the API it reconnects by itself",
    )
    .option("--from-start", "begin with the oldest kept event instead of new ones")
    .option("--count <n>", "stop after n events")
    .option("--sanctions", "also show sanctions issued and revoked (HTTP mode)")
    .addOption(json())
    .action(async (opts: Common & { fromStart?: boolean; count?: string; sanctions?: boolean }) => {
      const limit = opts.count === undefined ? Infinity : Number(opts.count);
      if (opts.count !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
        throw new CliError("--count must be a positive whole number", EXIT.badInput);
      await face(async (f) => {
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        let seen = 0;
        try {
          await f.tail(
            { fromStart: opts.fromStart === true },
            (item) => {
              if (item.type !== "offense" && !opts.sanctions) return true;
              const value =
                item.type === "offense"
                  ? { ...item.event, ...(item.name === undefined ? {} : { name: item.name }) }
                  : item.type === "sanction"
                    ? { type: "sanction", ...item.sanction }
                    : { type: "revocation", ...item.data };
              io.out(opts.json ? `${JSON.stringify(value)}\n` : `${tailLine(item)}\n`);
              if (item.type === "offense") seen++;
              return seen < limit;
            },
            controller.signal,
          );
        } finally {
          process.off("SIGINT", stop);
        }
      });
    });

  program
    .command("lookup")
    .description("find identities by digital ID or by last-seen display name")
    .argument("<query>", "a digital ID or a display name")
    .addOption(why())
    .addOption(json())
    .action(async (query: string, opts: Common & { why?: string }) => {
      if (query.trim().length === 0 || query.length > 64)
        throw new CliError("lookup needs a digital ID or a display name of 1 to 64 characters", EXIT.badInput);
      const found = await face((f) => f.lookup(query, opts.why));
      if (found.length === 0)
        throw new CliError(`no identity found for ${JSON.stringify(query.slice(0, 64))}`, EXIT.notFound);
      if (opts.json) return io.out(`${JSON.stringify(found)}\n`);
      for (const s of found) {
        const points =
          Object.entries(s.points)
            .map(([t, p]) => `${t}=${p.points}`)
            .join(" ") || "-";
        io.out(
          `${s.did}  name=${JSON.stringify(shown(s.profile?.name ?? "", 64))}  first-seen=${s.profile?.firstSeen ? when(s.profile.firstSeen) : "-"}  sessions=${s.sessions.length}  active=${s.active.map((a) => a.kind).join(",") || "-"}  points: ${points}\n`,
        );
      }
    });

  program
    .command("export")
    .description("print everything the store holds about a digital ID, as one JSON document")
    .argument("<did>", "digital ID")
    .option(
      "--subject",
      "the data subject's own copy: other people redacted (reporters, others' chat lines, staff names)",
    )
    .addOption(why())
    .action(async (didArg: string, opts: { why?: string; subject?: boolean }) => {
      const did = assertDigitalId(didArg);
      const document = await face((f) => f.export(did, opts.subject ? "subject" : "staff", opts.why));
      io.out(`${JSON.stringify(document, null, 2)}\n`);
    });

  program
    .command("forget")
    .description(
      "erase a digital ID's events, history, points, bindings, names and reports (an active ban stays as a minimal record)",
    )
    .argument("<did>", "digital ID")
    .option("--including-sanctions", "also erase active bans")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { includingSanctions?: boolean; why?: string }) => {
      const did = assertDigitalId(didArg);
      const result = await face((f) => f.forget(did, opts.includingSanctions === true, opts.why));
      io.out(
        opts.json
          ? `${JSON.stringify(result)}\n`
          : `forgot ${did}${result.keptBans > 0 ? ` (kept ${result.keptBans} active ban(s) as minimal records)` : ""}\n`,
      );
    });

  const audit = program.command("audit").description("the audit log of staff acts and lookups (newest first)");
  audit
    .option("--limit <n>", "how many", "50")
    .addOption(json())
    .action(async (opts: Common & { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError("--limit must be a whole number from 1 to 10000", EXIT.badInput);
      const entries = await face((f) => f.auditLog(limit));
      if (opts.json) return io.out(`${JSON.stringify(entries)}\n`);
      io.out(
        entries.length === 0
          ? "(empty)\n"
          : `${entries.map((e) => `#${e.seq}  ${when(e.at)}  ${e.actor}  ${e.action}  ${e.target ?? "-"}${e.why ? `  why=${JSON.stringify(e.why)}` : ""}  ${JSON.stringify(e.detail)}`).join("\n")}\n`,
      );
    });
  audit
    .command("verify")
    .description(
      "check the keyed chain of the audit log against its checkpoints; names the first entry that was altered, removed or cut",
    )
    .option(
      "--checkpoints <files...>",
      "checkpoint files (JSON lines, or logs holding checkpoint lines) of the servers (--direct mode)",
    )
    .addOption(json())
    .action(async (_opts: Common, command: Command) => {
      // `--json` may be taken by the parent `audit` command, which has it too.
      const opts = command.optsWithGlobals<Common & { checkpoints?: string[] }>();
      const checkpoints: AuditCheckpoint[] = [];
      for (const file of opts.checkpoints ?? []) {
        const text = await readFile(file, "utf8").catch((e: unknown) => {
          throw new CliError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, EXIT.badInput);
        });
        checkpoints.push(...parseCheckpoints(text));
      }
      const result = await face((f) => f.verifyAudit(checkpoints));
      if (opts.json) io.out(`${JSON.stringify(result)}\n`);
      else if (result.ok) {
        io.out(
          `audit log intact: ${result.entries} entries${result.trimmed ? ` (${result.trimmed} older ones removed by retention)` : ""}, ${result.checkpoints.matched} of ${result.checkpoints.read} checkpoints matched${result.checkpoints.expired ? ` (${result.checkpoints.expired} of removed entries)` : ""}\n`,
        );
        if (result.legacy > 0)
          io.err(
            `warden: the first ${result.legacy} entries are of the old unkeyed format: not protected against an insider\n`,
          );
        if (result.checkpoints.warning) io.err(`warden: ${result.checkpoints.warning}\n`);
      }
      if (!result.ok) {
        if (!opts.json)
          io.err(
            `warden: audit log broken at entry ${result.seq}${result.id ? ` (${result.id})` : ""}: ${result.reason}\n`,
          );
        throw new CliError("", EXIT.auditBroken);
      }
    });

  addStaffCommands(program, io, json);
  addDueProcessCommands(program, io, json, why);
  addEvasionCommands(program, io, json, why);
  addPendingCommands(program, io, json, why);
  refuseFlagsAsValues(program);
  return program;
}

/** `login`, `logout`, `whoami`: the personal credential of HTTP mode. */
function addSessionCommands(program: Command, io: Io): void {
  program
    .command("login")
    .description(
      "sign in to a server: reads your personal token from stdin (never from an argument), checks it, stores it with mode 0600",
    )
    .option("--url <url>", "the server, e.g. https://game.example.com (default: WARDEN_URL)")
    .addOption(new Option("--json", "machine-readable output"))
    .action(async (opts: Common & { url?: string }) => {
      const given = opts.url ?? io.env.WARDEN_URL;
      if (!given)
        throw new CliError("which server? warden login --url https://your-server (or set WARDEN_URL)", EXIT.badInput);
      const base = apiBase(given);
      checkTransport(base, io.env);
      const token = await readToken(io);
      const who = await new HttpFace(new ApiClient(base, token, io.env), () => {}).whoami();
      const file = await writeCredentials(io.env, { url: base, token });
      io.out(
        opts.json
          ? `${JSON.stringify({ url: base, actor: who.actor, role: who.role, credentials: file })}\n`
          : `signed in to ${base} as ${who.actor} (${who.role}); token stored in ${file}\n`,
      );
    });

  program
    .command("logout")
    .description("forget the stored token (an admin revokes it on the server: warden staff revoke <name>)")
    .action(async () => {
      const removed = await removeCredentials(io.env);
      io.out(removed ? `signed out: removed ${credentialsPath(io.env)}\n` : "not signed in\n");
    });

  program
    .command("whoami")
    .description("who the server says your credential is (or breakglass:<user> with --direct)")
    .addOption(new Option("--json", "machine-readable output"))
    .action(async (opts: Common) => {
      const who = await withFace(io, program, (f) => f.whoami());
      io.out(opts.json ? `${JSON.stringify(who)}\n` : `${who.actor} (${who.role}) at ${who.where}\n`);
    });
}

/** `staff add|list|revoke`: personal tokens, managed by an admin over the API. */
function addStaffCommands(program: Command, io: Io, json: () => Option): void {
  const staff = program.command("staff").description("personal staff tokens (admins): add, list, revoke");
  const face = <T>(run: (face: Face) => Promise<T>) => withFace(io, program, run);
  const checkName = (name: string) => {
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
      throw new CliError("a staff name is 1-64 of A-Z a-z 0-9 _ . @ - (no spaces)", EXIT.badInput);
  };
  staff
    .command("add")
    .description("issue a personal token for a person; it is printed once, here, and never again")
    .argument("<name>", "the person (becomes the actor staff:<name>)")
    .requiredOption("--role <role>", `one of ${STAFF_ROLES.join(", ")}`)
    .addOption(json())
    .action(async (name: string, opts: Common & { role: string }) => {
      checkName(name);
      if (!(STAFF_ROLES as readonly string[]).includes(opts.role))
        throw new CliError(`--role must be one of ${STAFF_ROLES.join(", ")}`, EXIT.badInput);
      const added = await face((f) => f.staffAdd(name, opts.role as StaffRole));
      if (opts.json) return io.out(`${JSON.stringify(added)}\n`);
      io.out(
        `added ${shown(added.staff.name, 64)} (${added.staff.role}). Their token, shown only this once — hand it over privately; they sign in with \`warden login\`:\n${added.token}\n`,
      );
    });
  staff
    .command("list")
    .description("every staff member, active and revoked (no tokens)")
    .addOption(json())
    .action(async (opts: Common) => {
      const list = await face((f) => f.staffList());
      io.out(opts.json ? `${JSON.stringify(list)}\n` : `${staffRows(list)}\n`);
    });
  staff
    .command("revoke")
    .description("revoke a person's token: refused at once on every server")
    .argument("<name>")
    .addOption(json())
    .action(async (name: string, opts: Common) => {
      checkName(name);
      const revoked = await face((f) => f.staffRevoke(name));
      io.out(opts.json ? `${JSON.stringify(revoked)}\n` : `revoked ${shown(revoked.name, 64)} (${revoked.role})\n`);
    });
}

function limitOf(text: string): number {
  const limit = Number(text);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500)
    throw new CliError("--limit must be a whole number from 1 to 500", EXIT.badInput);
  return limit;
}

/** The review queue (appeals, report cases) and the transparency report. */
function addDueProcessCommands(program: Command, io: Io, json: () => Option, why: () => Option): void {
  const print = (opts: Common, value: unknown, text: string) => io.out(opts.json ? `${JSON.stringify(value)}\n` : text);

  program
    .command("appeals")
    .description("appeals waiting for a decision, oldest first")
    .option("--limit <n>", "how many", "50")
    .addOption(json())
    .action(async (opts: Common & { limit: string }) => {
      const limit = limitOf(opts.limit);
      const list = await withFace(io, program, (f) => f.appealQueue(limit));
      print(
        opts,
        list,
        list.length === 0
          ? "(no appeal waiting)\n"
          : `${list.map((a) => `${a.id}  ${a.state}  filed ${when(a.openedAt)}  issued by ${a.issuedBy}  ${JSON.stringify(a.text.slice(0, 80))}`).join("\n")}\n`,
      );
    });

  const appeal = program.command("appeal").description("read and decide one appeal (not one of your own sanctions)");
  appeal
    .command("show")
    .argument("<appealId>", "as listed by `warden appeals`")
    .addOption(why())
    .addOption(json())
    .action(async (id: string, opts: Common & { why?: string }) => {
      const found = await withFace(io, program, (f) => f.appeal(id, opts.why));
      print(opts, found, `${JSON.stringify(found, null, 2)}\n`);
    });
  appeal
    .command("review")
    .description("take the appeal into review")
    .argument("<appealId>")
    .addOption(json())
    .action(async (id: string, opts: Common) => {
      const a = await withFace(io, program, (f) => f.takeAppeal(id));
      print(opts, a, `${a.id} in review\n`);
    });
  for (const outcome of ["uphold", "reject"] as const) {
    const command = appeal
      .command(outcome)
      .description(
        outcome === "uphold"
          ? "uphold the appeal: the sanction is revoked (or shortened with --until) and its ladder step forgiven"
          : "reject the appeal, with a reason the player reads",
      )
      .argument("<appealId>")
      .requiredOption("--reason <text>", "told to the player")
      .addOption(json());
    if (outcome === "uphold")
      command.option("--until <duration>", "shorten instead: the sanction ends this long from now");
    command.action(async (id: string, opts: Common & { reason: string; until?: string }) => {
      const end = opts.until === undefined ? undefined : Date.now() + parseDuration(opts.until);
      const a = await withFace(io, program, (f) =>
        f.decideAppeal(id, {
          outcome: outcome === "uphold" ? "upheld" : "rejected",
          reason: opts.reason,
          ...(end === undefined ? {} : { end }),
        }),
      );
      print(opts, a, `${a.id} ${a.state}${a.decision?.remedy ? ` (${a.decision.remedy})` : ""}\n`);
    });
  }

  program
    .command("cases")
    .description("report cases waiting for a person, oldest first")
    .option("--limit <n>", "how many", "50")
    .addOption(json())
    .action(async (opts: Common & { limit: string }) => {
      const limit = limitOf(opts.limit);
      const list = await withFace(io, program, (f) => f.caseQueue(limit));
      print(
        opts,
        list,
        list.length === 0
          ? "(no case waiting)\n"
          : `${list.map((c) => `${c.id}  ${c.count} report(s)  weight ${c.weight}  queued ${when(c.queuedAt ?? c.openedAt)}`).join("\n")}\n`,
      );
    });

  const reportCase = program.command("case").description("read and decide one report case");
  reportCase
    .command("show")
    .argument("<caseId>")
    .addOption(why())
    .addOption(json())
    .action(async (id: string, opts: Common & { why?: string }) => {
      const c = await withFace(io, program, (f) => f.reportCase(id, opts.why));
      print(opts, c, `${JSON.stringify(c, null, 2)}\n`);
    });
  reportCase
    .command("sanction")
    .description("act on the reports: issue a sanction as yourself (the reporters are told it was acted on)")
    .argument("<caseId>")
    .requiredOption("--kind <kind>", `one of ${SANCTION_KINDS.join(", ")}`)
    .option("--for <duration>", "how long (mute, freeze, ban)")
    .option("--rule <id>", "the rule of the code of conduct broken")
    .requiredOption("--reason <text>", "shown to the player")
    .addOption(json())
    .action(async (id: string, opts: Common & { kind: string; for?: string; rule?: string; reason: string }) => {
      if (!(SANCTION_KINDS as readonly string[]).includes(opts.kind))
        throw new CliError(`--kind must be one of ${SANCTION_KINDS.join(", ")}`, EXIT.badInput);
      const duration = opts.for === undefined ? undefined : parseDuration(opts.for);
      const c = await withFace(io, program, (f) =>
        f.decideCase(id, {
          action: "sanction",
          kind: opts.kind as SanctionKind,
          reason: opts.reason,
          ...(duration === undefined ? {} : { duration }),
          ...(opts.rule === undefined ? {} : { rule: opts.rule }),
        }),
      );
      print(opts, c, `${c.id} actioned${c.outcome?.sanctionId ? `: ${c.outcome.sanctionId}` : ""}\n`);
    });
  reportCase
    .command("dismiss")
    .description("no action: the reporters are told; --unfounded counts against each of them")
    .argument("<caseId>")
    .requiredOption("--reason <text>", "kept with the case")
    .option("--unfounded", "the reports were unfounded (repeated: the reporter's reports are suspended)")
    .addOption(json())
    .action(async (id: string, opts: Common & { reason: string; unfounded?: boolean }) => {
      const c = await withFace(io, program, (f) =>
        f.decideCase(id, { action: "dismiss", reason: opts.reason, unfounded: opts.unfounded === true }),
      );
      print(opts, c, `${c.id} dismissed\n`);
    });

  program
    .command("evidence")
    .description("the evidence snapshots (last chat lines of the room) kept with a digital ID's chat offenses")
    .argument("<did>", "digital ID")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { why?: string }) => {
      const did = assertDigitalId(didArg);
      const list = await withFace(io, program, (f) => f.evidence(did, opts.why));
      print(opts, list, list.length === 0 ? "(no evidence kept)\n" : `${JSON.stringify(list, null, 2)}\n`);
    });

  program
    .command("transparency")
    .description("the transparency report of a period (UTC days, both included): counts and medians, no personal data")
    .requiredOption("--from <date>", "first day, YYYY-MM-DD")
    .requiredOption("--to <date>", "last day, YYYY-MM-DD")
    .option("--csv", "CSV instead of text")
    .addOption(json())
    .action(async (opts: Common & { from: string; to: string; csv?: boolean }) => {
      parseDay(opts.from, "--from");
      parseDay(opts.to, "--to");
      const report = await withFace(io, program, (f) => f.transparency(opts.from, opts.to));
      if (opts.json) return io.out(`${JSON.stringify(report, null, 2)}\n`);
      io.out(reportToCsv(report));
    });
}

/** `warden ban <did> --with-alts [--yes]`: the blast radius first; acts only with `--yes`. */
async function banWithAlts(
  io: Io,
  face: Face,
  did: DigitalId,
  opts: Common & { reason: string; rule?: string; yes?: boolean; duration: number | undefined },
): Promise<void> {
  const result = await face.banWithAlts(
    did,
    {
      reason: opts.reason,
      ...(opts.duration === undefined ? {} : { duration: opts.duration }),
      ...(opts.rule === undefined ? {} : { rule: opts.rule }),
    },
    opts.yes === true,
  );
  if ("pending" in result) {
    // Four-eyes: proposed, not issued; a second moderator confirms it (exit 0: the request was accepted).
    if (opts.json) return io.out(`${JSON.stringify({ blastRadius: result.blastRadius, pending: result.pending })}\n`);
    const n = Array.isArray(result.pending.alts) ? result.pending.alts.length : 0;
    io.out(proposedLine(did, result.pending));
    if (n > 0)
      io.out(
        `  confirming it also bans ${n === 1 ? "this linked ID" : `these ${n} linked IDs`}\n${altRows(result.blastRadius)}\n`,
      );
    return;
  }
  if (result.sanctions === undefined) {
    if (opts.json) return io.out(`${JSON.stringify({ blastRadius: result.blastRadius })}\n`);
    const n = result.blastRadius.length;
    io.out(
      `${n === 0 ? "(no linked ID)" : altRows(result.blastRadius)}\n` +
        `nothing done: add --yes to ban ${did}${n === 0 ? "" : ` and ${n === 1 ? "this linked ID" : `these ${n} linked IDs`}`}\n`,
    );
    return;
  }
  const [sanction, ...alts] = result.sanctions;
  if (opts.json) return io.out(`${JSON.stringify({ sanction, alts })}\n`);
  const until = (s: Sanction) => (s.end === null ? "permanent" : `until ${when(s.end)}`);
  io.out(`ban ${sanction!.id} issued (${until(sanction!)})\n`);
  for (const s of alts) io.out(`ban ${s.id} issued (${until(s)}; linked to ${sanction!.id})\n`);
  const skipped = result.blastRadius.length - alts.length;
  if (skipped > 0) io.out(`${skipped} linked ID(s) not banned (vetoed)\n`);
}

/** The line a four-eyes proposal prints: proposed, not issued, and what the second moderator runs. */
function proposedLine(did: string, pending: Record<string, unknown>): string {
  const id = typeof pending.id === "string" ? shown(pending.id, 80) : null;
  const until = typeof pending.expiresAt === "number" ? ` before ${when(pending.expiresAt)}` : "";
  return (
    `permanent ban of ${did} proposed${id === null ? "" : ` (${id})`}: nothing is restricted until a second moderator confirms it${until}\n` +
    `  a second moderator runs: warden pending confirm ${id ?? "<id>"} --yes\n`
  );
}

/** Who a proposal is about: the digital ID and, when known, the display name it was last seen under. */
function subjectOf(p: PendingBanView): string {
  return `${shown(p.did, 26)}${typeof p.name === "string" && p.name ? ` (${JSON.stringify(shown(p.name, 64))})` : ""}`;
}

function pendingRows(list: readonly PendingBanView[]): string {
  if (list.length === 0) return "(no proposed ban waiting)";
  return table(
    ["ID", "SUBJECT", "PROPOSED BY", "PROPOSED", "EXPIRES", "ALTS", "REASON"],
    list.map((p) => [
      shown(p.id, 80),
      subjectOf(p),
      shown(p.proposedBy, 100),
      when(p.openedAt),
      when(p.expiresAt),
      p.alts === undefined ? "-" : String(p.alts.length),
      JSON.stringify(shown(p.reason)),
    ]),
  );
}

function pendingDetail(p: PendingBanView): string {
  const lines = [
    `proposed ban ${shown(p.id, 80)}  ${p.state}`,
    `  subject      ${subjectOf(p)}`,
    `  proposed by  ${shown(p.proposedBy, 100)} at ${when(p.openedAt)}`,
    `  reason       ${JSON.stringify(shown(p.reason))}${p.rule === undefined ? "" : ` (rule ${shown(p.rule, 40)})`}`,
    p.state === "pending"
      ? `  expires      ${when(p.expiresAt)} (not confirmed by then: dropped)`
      : `  decided      ${p.decidedAt === undefined ? "?" : when(p.decidedAt)} by ${shown(p.decidedBy ?? "nobody (expired)", 100)}${p.outcome?.reason ? `: ${JSON.stringify(shown(p.outcome.reason))}` : ""}`,
  ];
  if (p.alts !== undefined) lines.push(`  with alts    ${p.alts.length} linked ID(s) banned too when confirmed`);
  if (p.outcome?.sanctionId) lines.push(`  became       ${shown(p.outcome.sanctionId, 80)}`);
  return `${lines.join("\n")}\n`;
}

/** Four-eyes: the proposed permanent bans, read, confirmed (as a second person) or cancelled. */
function addPendingCommands(program: Command, io: Io, json: () => Option, why: () => Option): void {
  const print = (opts: Common, value: unknown, text: string) => io.out(opts.json ? `${JSON.stringify(value)}\n` : text);
  const checkId = (id: string) => {
    if (id.length === 0 || id.length > 64)
      throw new CliError("a proposed ban's id is 1 to 64 characters", EXIT.badInput);
  };
  const pending = program
    .command("pending")
    .description(
      "four-eyes: permanent bans proposed by one moderator, waiting for a second to confirm (list, show, confirm, cancel)",
    );
  pending
    .command("list")
    .description("the proposed bans waiting, oldest first, with who proposed them and when they expire")
    .option("--limit <n>", "how many", "50")
    .addOption(json())
    .action(async (opts: Common & { limit: string }) => {
      const limit = limitOf(opts.limit);
      const list = await withFace(io, program, (f) => f.pendingBans(limit));
      print(opts, list, `${pendingRows(list)}\n`);
    });
  pending
    .command("show")
    .description("one proposed ban (audited)")
    .argument("<id>", "as listed by `warden pending list`")
    .addOption(why())
    .addOption(json())
    .action(async (id: string, opts: Common & { why?: string }) => {
      checkId(id);
      const found = await withFace(io, program, (f) => f.pendingBan(id, opts.why));
      print(opts, found, pendingDetail(found));
    });
  pending
    .command("confirm")
    .description(
      "confirm a proposed ban as the second moderator: it is issued (permanent) with you as its issuer; shows it first, acts only with --yes",
    )
    .argument("<id>", "as listed by `warden pending list`")
    .option("--yes", "issue the ban shown")
    .addOption(why())
    .addOption(json())
    .action(async (id: string, opts: Common & { yes?: boolean; why?: string }) => {
      checkId(id);
      await withFace(io, program, async (f) => {
        if (opts.yes !== true) {
          const found = await f.pendingBan(id, opts.why);
          if (opts.json) return io.out(`${JSON.stringify({ pending: found, done: false })}\n`);
          return io.out(
            `${pendingDetail(found)}nothing done: add --yes to ban ${subjectOf(found)} permanently${found.alts === undefined ? "" : ` with ${found.alts.length} linked ID(s)`}, with you as its issuer\n`,
          );
        }
        const done = await f.confirmBan(id, opts.why);
        if (opts.json) return io.out(`${JSON.stringify(done)}\n`);
        io.out(
          `ban ${done.sanction.id} of ${subjectOf(done.pending)} issued (permanent; proposed by ${shown(done.pending.proposedBy, 100)})\n`,
        );
        for (const s of done.alts) io.out(`ban ${s.id} issued (linked to ${done.sanction.id})\n`);
      });
    });
  pending
    .command("cancel")
    .description("cancel a proposed ban (the proposer or any other moderator): nothing is issued")
    .argument("<id>", "as listed by `warden pending list`")
    .option("--reason <text>", "why (kept with the proposal)", "")
    .addOption(json())
    .action(async (id: string, opts: Common & { reason: string }) => {
      checkId(id);
      const done = await withFace(io, program, (f) => f.cancelBan(id, opts.reason));
      print(opts, done, `proposed ban ${shown(done.id, 80)} of ${subjectOf(done)} cancelled: no ban issued\n`);
    });
}

/** Links as a table: one row per shared signal; no value, no hash. */
function altRows(links: readonly AltLink[]): string {
  if (links.length === 0) return "(no linked ID)";
  const rows: string[][] = [];
  for (const link of links) {
    link.signals.forEach((signal, i) => {
      rows.push([
        i === 0 ? link.did : "",
        i === 0 ? `${link.level}${link.dismissed ? " (dismissed)" : ""}` : "",
        i === 0 ? link.strength.toFixed(2) : "",
        signal.type,
        when(signal.firstSeen),
        when(signal.lastSeen),
        `${signal.sharedBy} ID(s)${signal.crowded ? " (crowded: links nobody)" : ""}`,
      ]);
    });
    if (link.signals.length === 0)
      rows.push([
        link.did,
        `${link.level}${link.dismissed ? " (dismissed)" : ""}`,
        link.strength.toFixed(2),
        "-",
        "-",
        "-",
        "-",
      ]);
  }
  const header = ["ID", "LEVEL", "STRENGTH", "SIGNAL", "FIRST SEEN", "LAST SEEN", "SHARED BY"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function evasionLine(r: EvasionRecord): string {
  const types = r.link.signals.filter((s) => !s.crowded).map((s) => s.type);
  return `${r.id}  ${r.state}  ${r.did} linked to banned ${r.bannedDid} (${r.banSanctionId})  ${r.link.level} ${r.link.strength.toFixed(2)} via ${types.join(",") || "-"}  flagged ${when(r.openedAt)}`;
}

/** Ban evasion: links between IDs and the evasion queue. */
function addEvasionCommands(program: Command, io: Io, json: () => Option, why: () => Option): void {
  const print = (opts: Common, value: unknown, text: string) => io.out(opts.json ? `${JSON.stringify(value)}\n` : text);

  program
    .command("alts")
    .description(
      "the IDs linked to a digital ID: signal types shared, when, by how many IDs, how strong (no raw values)",
    )
    .argument("<did>", "digital ID")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { why?: string }) => {
      const did = assertDigitalId(didArg);
      const links = await withFace(io, program, (f) => f.alts(did, opts.why));
      print(opts, links, `${altRows(links)}\n`);
    });

  const evasion = program
    .command("evasion")
    .description(
      "suspected ban evasions waiting for a person, oldest first; `evasion show|ban|extend|dismiss <id>` decides one",
    );
  evasion
    .option("--limit <n>", "how many", "50")
    .addOption(json())
    .action(async (opts: Common & { limit: string }) => {
      const limit = limitOf(opts.limit);
      const list = await withFace(io, program, (f) => f.evasionQueue(limit));
      print(
        opts,
        list,
        list.length === 0 ? "(no suspected evasion waiting)\n" : `${list.map(evasionLine).join("\n")}\n`,
      );
    });
  evasion
    .command("show")
    .description("one suspected evasion with its link explanation (audited)")
    .argument("<id>", "as listed by `warden evasion`")
    .addOption(why())
    .addOption(json())
    .action(async (id: string, _opts: Common, command: Command) => {
      const opts = command.optsWithGlobals<Common & { why?: string }>();
      const record = await withFace(io, program, (f) => f.evasionCase(id, opts.why));
      print(opts, record, `${evasionLine(record)}\n${altRows([record.link])}\n`);
    });
  const decisions = [
    ["ban", "confirm: ban the suspected alt (permanent unless --for), quoting the original ban"],
    ["extend", "confirm: extend the original ban with a new one from now (permanent unless --for)"],
    ["dismiss", "not the same player (e.g. siblings): the link is remembered and never flags again"],
  ] as const;
  for (const [action, description] of decisions) {
    const command = evasion
      .command(action)
      .description(description)
      .argument("<id>", "as listed by `warden evasion`")
      .requiredOption("--reason <text>", action === "dismiss" ? "kept with the record" : "shown to the player")
      .addOption(json());
    if (action !== "dismiss") command.option("--for <duration>", "how long: 30s, 10m, 2h, 7d, 2w (at most 3650d)");
    command.action(async (id: string, _opts: Common, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Common & { reason: string; for?: string }>();
      if (opts.reason.trim().length === 0) throw new CliError("--reason must not be empty", EXIT.badInput);
      const duration = opts.for === undefined ? undefined : parseDuration(opts.for);
      const decision: EvasionDecision =
        action === "dismiss"
          ? { action, reason: opts.reason }
          : { action, reason: opts.reason, ...(duration === undefined ? {} : { duration }) };
      const record = await withFace(io, program, (f) => f.decideEvasion(id, decision));
      print(
        opts,
        record,
        `${record.id} ${record.state}${record.outcome?.sanctionId ? `: ${record.outcome.sanctionId}` : ""}\n`,
      );
    });
  }
}

/**
 * An option that takes a value never swallows the next flag: `--reason --by ann` is an
 * error, not the reason "--by" (commander takes the next word whatever it looks like).
 * So no value may start with "--" followed by a letter.
 */
function refuseFlagsAsValues(command: Command): void {
  for (const option of command.options) {
    if (!option.required && !option.optional) continue;
    const parse = option.parseArg;
    option.argParser((value: string, previous: unknown) => {
      if (/^--[A-Za-z]/.test(value))
        throw new InvalidArgumentError(`needs a value, but the next word is the flag ${value.slice(0, 40)}`);
      return parse === undefined ? value : parse(value, previous);
    });
  }
  for (const sub of command.commands) refuseFlagsAsValues(sub);
}

/** One offense event as a line; `name`: the display name, when the feed gives it. Fields from the server are bounded and stripped. */
function eventLine(e: OffenseEvent, name?: string): string {
  const evidence = Object.entries(e.evidence ?? {})
    .map(([k, v]) => `${shown(k, 40)}=${shown(JSON.stringify(v), 200)}`)
    .join(" ");
  return `${formatInstant(e.at)}  ${shown(e.did, 26)}${name ? ` (${JSON.stringify(name)})` : ""}  ${shown(e.room?.name ?? "?", 64)}/${shown(e.room?.id ?? "?", 64)}  ${shown(e.detector, 40)}/${shown(e.kind, 40)}  ${shown(e.track, 40)}+${Number(e.severity)}  ${evidence}`;
}

/** Runs the CLI; resolves the exit code. Errors are one line on stderr. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0; commander already printed.
      return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof CliError) {
      if (e.message) io.err(`warden: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof WardenError) {
      io.err(`warden: ${e.message}\n`);
      if (
        e.code === "IDENTITY_NOT_FOUND" ||
        e.code === "SANCTION_NOT_FOUND" ||
        e.code === "APPEAL_NOT_FOUND" ||
        e.code === "CASE_NOT_FOUND" ||
        e.code === "PENDING_BAN_NOT_FOUND"
      )
        return EXIT.notFound;
      return e.code === "STORE_UNAVAILABLE" || e.code === "STORE_SCRIPT" ? EXIT.failure : EXIT.badInput;
    }
    io.err(`warden: unexpected failure: ${shown(e instanceof Error ? e.message : String(e))}\n`);
    return EXIT.failure;
  }
}
