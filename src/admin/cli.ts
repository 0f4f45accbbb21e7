/**
 * `warden` — the moderator CLI. A face over the same sanctions service the plugin and the
 * automatic policy use; no logic of its own beyond parsing and printing.
 *
 * Environment: REDIS_URL (the Redis the servers use), WARDEN_SECRET (for `id`),
 * WARDEN_PREFIX (key prefix, default "warden").
 *
 * Exit codes: 0 done · 1 store unreachable or unexpected failure · 2 bad input (nothing
 * written) · 3 unknown sanction id or identity · 4 `audit verify` found the chain broken.
 *
 * Every look at an identity's data and every act is recorded in the audit log as
 * `cli:<user>` (with `--why` when given).
 */
import { userInfo } from "node:os";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration, formatDuration } from "../duration.js";
import { formatInstant } from "../util/time.js";
import { WardenError } from "../errors.js";
import { assertDigitalId, deriveDigitalId } from "../identity/digital-id.js";
import { DEFAULT_OPTIONS } from "../options.js";
import { SANCTION_KINDS, type Sanction, type SanctionKind } from "../sanctions/model.js";
import { SanctionsService } from "../sanctions/service.js";
import { resolvePolicy } from "../policy/ladder.js";
import { AuditLog } from "./audit.js";
import { AdminService, type Actor } from "./service.js";
import type { OffenseEvent } from "../recorder/offense.js";
import { RedisStore } from "../stores/redis/redis-store.js";

/** Exit codes of the CLI (documented in README). */
export const EXIT = { ok: 0, failure: 1, badInput: 2, notFound: 3, auditBroken: 4 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

interface Common {
  json?: boolean;
}

function requireEnv(env: NodeJS.ProcessEnv, name: string, why: string): string {
  const value = env[name];
  if (!value) throw new CliError(`${name} is not set: ${why}`, EXIT.badInput);
  return value;
}

/** Opens the store and the admin service for one command, and always closes it. */
async function withService<T>(io: Io, run: (admin: AdminService, store: RedisStore) => Promise<T>): Promise<T> {
  const url = requireEnv(io.env, "REDIS_URL", "the CLI needs the Redis your servers use (e.g. redis://127.0.0.1:6379)");
  const store = new RedisStore({ connection: url, prefix: io.env.WARDEN_PREFIX || DEFAULT_OPTIONS.prefix });
  try {
    await store.connect();
    const retention = DEFAULT_OPTIONS.retention;
    const sanctions = new SanctionsService(store, retention, {
      before: () => null,
      issued: () => {},
      revoked: () => {},
    });
    const admin = new AdminService(store, sanctions, new AuditLog(store, retention.auditMs), {
      policy: resolvePolicy(),
      retention,
    });
    return await run(admin, store);
  } finally {
    await store.close();
  }
}

function actorOf(who: string, why?: string): Actor {
  return { face: "cli", who, why: why ?? null };
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

function defaultIssuer(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}

/** Builds the command tree; `io` lets tests and other hosts capture output. */
export function buildProgram(io: Io): Command {
  const program = new Command("warden")
    .description("colyseus-warden moderator CLI: digital IDs and sanctions, applied live in every server process")
    .showHelpAfterError(false)
    .showSuggestionAfterError(false)
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: (s, write) => write(s) })
    .exitOverride();

  const json = () => new Option("--json", "machine-readable output");
  const why = () => new Option("--why <text>", "why you look (kept in the audit log)");

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

  for (const kind of SANCTION_KINDS) {
    const lasting = kind === "mute" || kind === "freeze" || kind === "ban";
    const command = program
      .command(kind)
      .description(
        lasting
          ? `${kind} a digital ID in every room and process (permanent unless --for)`
          : `${kind} a digital ID's live sessions`,
      )
      .argument("<did>", "digital ID (see `warden id`)")
      .requiredOption("--reason <text>", "why; shown to the player")
      .option("--by <name>", "issuer recorded with the sanction", defaultIssuer())
      .addOption(json());
    if (lasting) command.option("--for <duration>", "how long: 30s, 10m, 2h, 7d, 2w (at most 3650d)");
    command.action(async (didArg: string, opts: Common & { reason: string; by: string; for?: string }) => {
      // Everything is checked before the store is opened: bad input writes nothing.
      const did = assertDigitalId(didArg);
      const duration = opts.for === undefined ? undefined : parseDuration(opts.for);
      if (opts.reason.trim().length === 0) throw new CliError("--reason must not be empty", EXIT.badInput);
      const result = await withService(io, (admin) =>
        admin.issue(
          {
            did,
            kind: kind as SanctionKind,
            reason: opts.reason,
            by: opts.by,
            ...(duration === undefined ? {} : { duration }),
          },
          actorOf(defaultIssuer()),
        ),
      );
      if (result.status !== "issued") throw new CliError(`cancelled: ${result.reason}`, EXIT.failure);
      const s = result.sanction;
      if (opts.json) io.out(`${JSON.stringify(s)}\n`);
      else
        io.out(
          `${s.kind} ${s.id} issued${lasting ? ` (${s.end === null ? "permanent" : `for ${formatDuration(s.end - s.start)}, until ${when(s.end)}`})` : ""}\n`,
        );
    });
  }

  program
    .command("revoke")
    .description("revoke a sanction by id; its effect ends live everywhere")
    .argument("<sanctionId>", "as printed when it was issued (`<did>.<suffix>`)")
    .option("--reason <text>", "why it is lifted", "")
    .option("--by <name>", "who lifts it", defaultIssuer())
    .addOption(json())
    .action(async (sanctionId: string, opts: Common & { reason: string; by: string }) => {
      const result = await withService(io, (admin) =>
        admin.revoke(sanctionId, opts.reason, actorOf(defaultIssuer()), opts.by),
      );
      if (result.status === "not_found")
        throw new CliError(`no sanction with id ${JSON.stringify(sanctionId.slice(0, 80))}`, EXIT.notFound);
      if (opts.json) io.out(`${JSON.stringify(result)}\n`);
      else
        io.out(
          result.status === "revoked"
            ? `revoked ${result.sanction.id}\n`
            : `${result.sanction.id} was already revoked by ${result.sanction.revoked?.by}\n`,
        );
    });

  program
    .command("sanctions")
    .description("list the sanctions in force for a digital ID (--all: every stored one)")
    .argument("<did>", "digital ID")
    .option("--all", "include warns, kicks, expired and revoked sanctions")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { all?: boolean; why?: string }) => {
      const did = assertDigitalId(didArg);
      const list = await withService(io, (admin) =>
        admin.sanctionsOf(did, actorOf(defaultIssuer(), opts.why), { all: opts.all === true }),
      );
      io.out(opts.json ? `${JSON.stringify(list)}\n` : `${sanctionRows(list)}\n`);
    });

  program
    .command("sessions")
    .description("list the live sessions of a digital ID in every server process")
    .argument("<did>", "digital ID")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { why?: string }) => {
      const did = assertDigitalId(didArg);
      const list = await withService(io, (admin) => admin.sessions(did, actorOf(defaultIssuer(), opts.why)));
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
    .argument("<did>", "digital ID")
    .option("--limit <n>", "how many", "50")
    .addOption(why())
    .addOption(json())
    .action(async (didArg: string, opts: Common & { limit: string; why?: string }) => {
      const did = assertDigitalId(didArg);
      const limit = Number(opts.limit);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError("--limit must be a whole number from 1 to 10000", EXIT.badInput);
      const events = await withService(io, (admin) => admin.events(did, actorOf(defaultIssuer(), opts.why), { limit }));
      if (opts.json) io.out(`${JSON.stringify(events)}\n`);
      else io.out(events.length === 0 ? "(no recorded offense)\n" : `${events.map(eventLine).join("\n")}\n`);
    });

  program
    .command("tail")
    .description("follow the live feed of offense events (Ctrl-C to stop; --json gives NDJSON)")
    .option("--from-start", "begin with the oldest kept event instead of new ones")
    .option("--count <n>", "stop after n events")
    .addOption(json())
    .action(async (opts: Common & { fromStart?: boolean; count?: string }) => {
      const limit = opts.count === undefined ? Infinity : Number(opts.count);
      if (opts.count !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
        throw new CliError("--count must be a positive whole number", EXIT.badInput);
      await withService(io, async (admin, store) => {
        await admin.watchFeed(actorOf(defaultIssuer()));
        let after = opts.fromStart ? "0" : await store.lastFeedId();
        let seen = 0;
        let stopping = false;
        const stop = () => {
          stopping = true;
        };
        process.once("SIGINT", stop);
        try {
          while (!stopping && seen < limit) {
            const events = await store.readFeed(after, { count: 100, blockMs: 1000 });
            for (const event of events) {
              if (seen >= limit) break;
              after = event.id ?? after;
              seen++;
              io.out(opts.json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
            }
          }
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
      const found = await withService(io, (admin) => admin.lookup(query, actorOf(defaultIssuer(), opts.why)));
      if (found.length === 0)
        throw new CliError(`no identity found for ${JSON.stringify(query.slice(0, 64))}`, EXIT.notFound);
      if (opts.json) return io.out(`${JSON.stringify(found)}\n`);
      for (const s of found) {
        const points =
          Object.entries(s.points)
            .map(([t, p]) => `${t}=${p.points}`)
            .join(" ") || "-";
        io.out(
          `${s.did}  name=${JSON.stringify(s.profile?.name ?? "")}  first-seen=${s.profile?.firstSeen ? when(s.profile.firstSeen) : "-"}  sessions=${s.sessions.length}  active=${s.active.map((a) => a.kind).join(",") || "-"}  points: ${points}\n`,
        );
      }
    });

  program
    .command("export")
    .description("print everything the store holds about a digital ID, as one JSON document")
    .argument("<did>", "digital ID")
    .addOption(why())
    .action(async (didArg: string, opts: { why?: string }) => {
      const did = assertDigitalId(didArg);
      const document = await withService(io, (admin) => admin.export(did, actorOf(defaultIssuer(), opts.why)));
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
      const result = await withService(io, (admin) =>
        admin.forget(did, actorOf(defaultIssuer(), opts.why), { includingSanctions: opts.includingSanctions === true }),
      );
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
      const entries = await withService(io, (admin) => admin.auditLog({ limit }));
      if (opts.json) return io.out(`${JSON.stringify(entries)}\n`);
      io.out(
        entries.length === 0
          ? "(empty)\n"
          : `${entries.map((e) => `#${e.seq}  ${when(e.at)}  ${e.actor}  ${e.action}  ${e.target ?? "-"}${e.why ? `  why=${JSON.stringify(e.why)}` : ""}  ${JSON.stringify(e.detail)}`).join("\n")}\n`,
      );
    });
  audit
    .command("verify")
    .description("check the hash chain of the audit log; names the first entry that was altered or removed")
    .addOption(json())
    .action(async (_opts: Common, command: Command) => {
      // `--json` may be taken by the parent `audit` command, which has it too.
      const opts = command.optsWithGlobals<Common>();
      const result = await withService(io, (admin) => admin.verifyAudit());
      if (opts.json) io.out(`${JSON.stringify(result)}\n`);
      else if (result.ok)
        io.out(
          `audit log intact: ${result.entries} entries${result.trimmed ? ` (${result.trimmed} older ones removed by retention)` : ""}\n`,
        );
      if (!result.ok) {
        if (!opts.json)
          io.err(
            `warden: audit log broken at entry ${result.seq}${result.id ? ` (${result.id})` : ""}: ${result.reason}\n`,
          );
        throw new CliError("", EXIT.auditBroken);
      }
    });

  refuseFlagsAsValues(program);
  return program;
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

function eventLine(e: OffenseEvent): string {
  const evidence = Object.entries(e.evidence)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(" ");
  return `${formatInstant(e.at)}  ${e.did}  ${e.room.name}/${e.room.id}  ${e.detector}/${e.kind}  ${e.track}+${e.severity}  ${evidence}`;
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
      if (e.code === "IDENTITY_NOT_FOUND" || e.code === "SANCTION_NOT_FOUND") return EXIT.notFound;
      return e.code === "STORE_UNAVAILABLE" || e.code === "STORE_SCRIPT" ? EXIT.failure : EXIT.badInput;
    }
    io.err(`warden: unexpected failure: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
}
