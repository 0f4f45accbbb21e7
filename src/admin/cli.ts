/**
 * `warden` — the moderator CLI. A face over the same sanctions service the plugin and the
 * automatic policy use; no logic of its own beyond parsing and printing.
 *
 * Environment: REDIS_URL (the Redis the servers use), WARDEN_SECRET (for `id`),
 * WARDEN_PREFIX (key prefix, default "warden").
 *
 * Exit codes: 0 done · 1 store unreachable or unexpected failure · 2 bad input or refused
 * (nothing written; e.g. FOUR_EYES) · 3 unknown sanction, identity, appeal or case · 4
 * `audit verify` found the chain broken.
 *
 * Every look at an identity's data and every act is recorded in the audit log as
 * `cli:<user>` (with `--why` when given).
 */
import { userInfo } from "node:os";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration, formatDuration } from "../duration.js";
import { formatInstant } from "../util/time.js";
import { WardenError } from "../errors.js";
import { assertDigitalId, deriveDigitalId, type DigitalId } from "../identity/digital-id.js";
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
import { resolveConduct } from "../policy/conduct.js";
import { createDueProcess, type DueProcess } from "../reviews/due-process.js";
import { resolveDueProcess } from "../reviews/options.js";
import { parseDay, reportToCsv } from "../reviews/transparency.js";

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
  // The audit chain is keyed: the CLI links its entries under the servers' key, so it needs their secret.
  const auditSecret =
    io.env.WARDEN_AUDIT_KEY ||
    requireEnv(
      io.env,
      "WARDEN_SECRET",
      "the CLI links audit entries under the servers' audit key (or set WARDEN_AUDIT_KEY)",
    );
  const checkpointFile = io.env.WARDEN_AUDIT_CHECKPOINTS || undefined;
  const store = new RedisStore({ connection: url, prefix: io.env.WARDEN_PREFIX || DEFAULT_OPTIONS.prefix });
  let audit: AuditLog | undefined;
  try {
    await store.connect();
    const retention = DEFAULT_OPTIONS.retention;
    const dueProcess = resolveDueProcess(undefined);
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
    return await run(admin, store);
  } finally {
    await audit?.close();
    await store.close();
  }
}

function actorOf(who: string, why?: string): Actor {
  return { face: "cli", who, why: why ?? null, role: "moderator" };
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
      .option("--rule <id>", "the rule of the code of conduct broken (shown to the player)")
      .addOption(json());
    if (lasting) command.option("--for <duration>", "how long: 30s, 10m, 2h, 7d, 2w (at most 3650d)");
    if (kind === "ban")
      command
        .option("--with-alts", "also ban the IDs linked to it (shows them first; acts only with --yes)")
        .option("--yes", "with --with-alts: act on the blast radius shown");
    command.action(
      async (
        didArg: string,
        opts: Common & {
          reason: string;
          by: string;
          for?: string;
          rule?: string;
          withAlts?: boolean;
          yes?: boolean;
        },
      ) => {
        // Everything is checked before the store is opened: bad input writes nothing.
        const did = assertDigitalId(didArg);
        const duration = opts.for === undefined ? undefined : parseDuration(opts.for);
        if (opts.reason.trim().length === 0) throw new CliError("--reason must not be empty", EXIT.badInput);
        if (opts.yes && !opts.withAlts) throw new CliError("--yes only confirms --with-alts", EXIT.badInput);
        if (opts.withAlts) return banWithAlts(io, did, { ...opts, duration });
        const result = await withService(io, (admin) =>
          admin.issue(
            {
              did,
              kind: kind as SanctionKind,
              reason: opts.reason,
              by: opts.by,
              ...(duration === undefined ? {} : { duration }),
              ...(opts.rule === undefined ? {} : { rule: opts.rule }),
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
      },
    );
  }

  program
    .command("revoke")
    .description("revoke a sanction by id; its effect ends live everywhere")
    .argument("<sanctionId>", "as printed when it was issued (`<did>.<suffix>`)")
    .option("--reason <text>", "why it is lifted", "")
    .option("--by <name>", "who lifts it", defaultIssuer())
    .option("--wrongful", "the sanction was wrong: also forgive the ladder step it came from")
    .option("--with-alts", "also revoke the sanctions that follow from it (the bans of its alts, an extension)")
    .addOption(json())
    .action(
      async (
        sanctionId: string,
        opts: Common & { reason: string; by: string; wrongful?: boolean; withAlts?: boolean },
      ) => {
        const result = await withService(io, (admin) =>
          admin.revoke(sanctionId, opts.reason, actorOf(defaultIssuer()), opts.by, {
            wrongful: opts.wrongful === true,
            withAlts: opts.withAlts === true,
          }),
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
      },
    );

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
    .option(
      "--subject",
      "the data subject's own copy: other people redacted (reporters, others' chat lines, staff names)",
    )
    .addOption(why())
    .action(async (didArg: string, opts: { why?: string; subject?: boolean }) => {
      const did = assertDigitalId(didArg);
      const document = await withService(io, (admin) =>
        admin.export(did, actorOf(defaultIssuer(), opts.why), { copy: opts.subject ? "subject" : "staff" }),
      );
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
    .description(
      "check the keyed chain of the audit log against its checkpoints; names the first entry that was altered, removed or cut",
    )
    .option(
      "--checkpoints <files...>",
      "checkpoint files (JSON lines, or logs holding checkpoint lines) of the servers",
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
      const result = await withService(io, (admin) => admin.verifyAudit({ checkpoints }));
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

  addDueProcessCommands(program, io, json, why);
  addEvasionCommands(program, io, json, why);
  refuseFlagsAsValues(program);
  return program;
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
      const list = await withService(io, (admin) => admin.appealQueue(actorOf(defaultIssuer()), limit));
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
      const found = await withService(io, (admin) => admin.appeal(id, actorOf(defaultIssuer(), opts.why)));
      print(opts, found, `${JSON.stringify(found, null, 2)}\n`);
    });
  appeal
    .command("review")
    .description("take the appeal into review")
    .argument("<appealId>")
    .addOption(json())
    .action(async (id: string, opts: Common) => {
      const a = await withService(io, (admin) => admin.takeAppeal(id, actorOf(defaultIssuer())));
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
      const a = await withService(io, (admin) =>
        admin.decideAppeal(
          id,
          {
            outcome: outcome === "uphold" ? "upheld" : "rejected",
            reason: opts.reason,
            ...(end === undefined ? {} : { end }),
          },
          actorOf(defaultIssuer()),
        ),
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
      const list = await withService(io, (admin) => admin.caseQueue(actorOf(defaultIssuer()), limit));
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
      const c = await withService(io, (admin) => admin.reportCase(id, actorOf(defaultIssuer(), opts.why)));
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
      const c = await withService(io, (admin) =>
        admin.decideCase(
          id,
          {
            action: "sanction",
            kind: opts.kind as SanctionKind,
            reason: opts.reason,
            ...(duration === undefined ? {} : { duration }),
            ...(opts.rule === undefined ? {} : { rule: opts.rule }),
          },
          actorOf(defaultIssuer()),
        ),
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
      const c = await withService(io, (admin) =>
        admin.decideCase(
          id,
          { action: "dismiss", reason: opts.reason, unfounded: opts.unfounded === true },
          actorOf(defaultIssuer()),
        ),
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
      const list = await withService(io, (admin) => admin.evidence(did, actorOf(defaultIssuer(), opts.why)));
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
      const report = await withService(io, (admin) => admin.transparency(opts.from, opts.to));
      if (opts.json) return io.out(`${JSON.stringify(report, null, 2)}\n`);
      io.out(reportToCsv(report));
    });
}

/** `warden ban <did> --with-alts [--yes]`: the blast radius first; acts only with `--yes`. */
async function banWithAlts(
  io: Io,
  did: DigitalId,
  opts: Common & { reason: string; by: string; rule?: string; yes?: boolean; duration: number | undefined },
): Promise<void> {
  const result = await withService(io, (admin) =>
    admin.banWithAlts(
      did,
      {
        reason: opts.reason,
        by: opts.by,
        ...(opts.duration === undefined ? {} : { duration: opts.duration }),
        ...(opts.rule === undefined ? {} : { rule: opts.rule }),
      },
      actorOf(defaultIssuer()),
      { confirm: opts.yes === true },
    ),
  );
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
      const links = await withService(io, (admin) => admin.alts(did, actorOf(defaultIssuer(), opts.why)));
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
      const list = await withService(io, (admin) => admin.evasionQueue(actorOf(defaultIssuer()), limit));
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
      const record = await withService(io, (admin) => admin.evasionCase(id, actorOf(defaultIssuer(), opts.why)));
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
      const record = await withService(io, (admin) => admin.decideEvasion(id, decision, actorOf(defaultIssuer())));
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
      if (
        e.code === "IDENTITY_NOT_FOUND" ||
        e.code === "SANCTION_NOT_FOUND" ||
        e.code === "APPEAL_NOT_FOUND" ||
        e.code === "CASE_NOT_FOUND"
      )
        return EXIT.notFound;
      return e.code === "STORE_UNAVAILABLE" || e.code === "STORE_SCRIPT" ? EXIT.failure : EXIT.badInput;
    }
    io.err(`warden: unexpected failure: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
}
