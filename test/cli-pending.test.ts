/**
 * Four-eyes through the CLI (`warden pending …`): a real world with `dueProcess.fourEyesBans`
 * on real Redis, the real `warden` bin in child processes, real SDK clients. Moderator ann
 * proposes a permanent ban (`warden ban`, exit 0, told who must confirm), ann's own confirm is
 * refused (FOUR_EYES), bob sees it by name and confirms: the bot's socket closes with 4403.
 * The with-alts ban, the cancel path and the break-glass (`--direct`) path too.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { type CliRun, errorLines, warden } from "./helpers/cli.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const ROOT = "cli-pending-bootstrap-admin-token-0123456789";
const { prefix } = prefixesForFile();
const p = prefix("cli-pending");
const dir = mkdtempSync(join(tmpdir(), "warden-cli-pending-"));
let world: World;
let url: string;
let ann: Record<string, string>;
let bob: Record<string, string>;
const tokens: string[] = [ROOT];
const runs: CliRun[] = [];

async function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const run = await warden(args, { WARDEN_CREDENTIALS: join(dir, "none.json"), ...env });
  runs.push(run);
  return run;
}

/** A moderator's credential, issued by the admin with `warden staff add`. */
async function moderator(name: string): Promise<Record<string, string>> {
  const added = await warden(["staff", "add", name, "--role", "moderator"], { WARDEN_URL: url, WARDEN_TOKEN: ROOT });
  expect(added.code, added.stderr).toBe(0);
  const token = /^(wst_\S+)$/m.exec(added.stdout)?.[1];
  expect(token).toBeDefined();
  tokens.push(token!);
  return { WARDEN_URL: url, WARDEN_TOKEN: token! };
}

/** A bot in a room under `name`, watched until it leaves. */
async function bot(account: string, name: string) {
  const room = await client(world.port, account, name).create("world");
  const seen = observe(room);
  const did = world.warden.digitalId(account);
  await waitFor(async () => (await world.warden.sessions(did)).length === 1, "binding");
  return { seen, did };
}

/** The id a proposal printed: `… proposed (<id>) …`. */
function proposedId(run: CliRun): string {
  const id = /proposed \(([a-z2-7]{26}\.[a-z2-7]{8}\.b)\)/.exec(run.stdout)?.[1];
  expect(id, run.stdout).toBeDefined();
  return id!;
}

beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: p,
      dueProcess: { fourEyesBans: true, pendingBanMs: "10m" },
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    },
    admin: { adminTokens: [{ name: "root", token: ROOT }], rateLimit: { perMinute: 100_000 } },
  });
  url = `http://127.0.0.1:${world.port}`;
  ann = await moderator("ann");
  bob = await moderator("bob");
});
afterAll(async () => {
  await world?.close();
  for (const run of runs)
    for (const token of tokens) {
      expect(run.stdout).not.toContain(token);
      expect(run.stderr).not.toContain(token);
    }
});

describe("warden pending: four-eyes for permanent bans from the CLI", () => {
  it("ann's ban is proposed (exit 0, says who must confirm); ann's confirm is refused; bob sees it by name and confirms: 4403", async () => {
    const { seen, did } = await bot("cli-pending-bot", "Griefer42");
    const ban = await cli(["ban", "--name", "Griefer42", "--reason", "aimbot"], ann);
    expect(ban.code, ban.stderr).toBe(0);
    expect(ban.stderr).toBe("");
    expect(ban.stdout).toMatch(/permanent ban of [a-z2-7]{26} proposed/);
    expect(ban.stdout).toMatch(/nothing is restricted until a second moderator confirms it/);
    const id = proposedId(ban);
    expect(ban.stdout).toContain(`warden pending confirm ${id} --yes`);
    // Nothing landed yet.
    expect(await world.warden.admin.sanctions.active(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();

    // Bob's list shows it with the subject's display name and the proposer.
    const list = await cli(["pending", "list"], bob);
    expect(list.code, list.stderr).toBe(0);
    const row = list.stdout.split("\n").find((l) => l.startsWith(id));
    expect(row).toBeDefined();
    expect(row).toContain(`${did} ("Griefer42")`);
    expect(row).toContain("staff:ann");
    expect(row).toContain('"aimbot"');
    const json = JSON.parse((await cli(["pending", "list", "--json"], bob)).stdout);
    expect(json.find((x: any) => x.id === id)).toMatchObject({ did, name: "Griefer42", proposedBy: "staff:ann" });
    const shown = await cli(["pending", "show", id], bob);
    expect(shown.stdout).toMatch(/subject\s+[a-z2-7]{26} \("Griefer42"\)/);
    expect(shown.stdout).toMatch(/proposed by\s+staff:ann/);

    // The proposer may not confirm their own proposal: refused, one line, exit 2, nothing issued.
    const self = await cli(["pending", "confirm", id, "--yes"], ann);
    expect(self.code).toBe(2);
    expect(errorLines(self.stderr)).toHaveLength(1);
    expect(self.stderr).toMatch(/FOUR_EYES/);
    expect(await world.warden.admin.sanctions.active(did)).toEqual([]);

    // Without --yes, confirm shows what it would do and does nothing.
    const dry = await cli(["pending", "confirm", id], bob);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/nothing done: add --yes to ban [a-z2-7]{26} \("Griefer42"\) permanently/);
    expect(await world.warden.admin.sanctions.active(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();

    const confirmed = await cli(["pending", "confirm", id, "--yes"], bob);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toMatch(
      new RegExp(`^ban ${did}\\.[a-z2-7]{8} of ${did} \\("Griefer42"\\) issued \\(permanent; proposed by staff:ann\\)`),
    );
    expect((await seen.left).code).toBe(4403);
    const [sanction] = await world.warden.admin.sanctions.active(did);
    expect(sanction).toMatchObject({ kind: "ban", end: null, by: "staff:bob" });

    // Closed: gone from the list; a second confirm is refused.
    expect((await cli(["pending", "list"], bob)).stdout).not.toContain(id);
    const again = await cli(["pending", "confirm", id, "--yes"], bob);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/PENDING_BAN_CLOSED/);
    // An unknown id: exit 3.
    const unknown = await cli(["pending", "show", `${did}.aaaaaaaa.b`], bob);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/PENDING_BAN_NOT_FOUND/);
  });

  it("ban --with-alts --yes under four-eyes is a proposal too (exit 0, not an error); --json gives it", async () => {
    const { seen, did } = await bot("cli-pending-alts", "AltLord");
    const run = await cli(["ban", did, "--with-alts", "--yes", "--reason", "evading"], ann);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const id = proposedId(run);
    expect(run.stdout).toContain(`warden pending confirm ${id} --yes`);
    const asJson = await cli(["ban", did, "--with-alts", "--yes", "--reason", "evading", "--json"], ann);
    expect(asJson.code, asJson.stderr).toBe(0);
    // Every bot here joins from 127.0.0.1, so the earlier bots are linked: the proposal carries them.
    const answer = JSON.parse(asJson.stdout);
    expect(answer.pending).toMatchObject({ did, state: "pending", proposedBy: "staff:ann" });
    expect(answer.blastRadius.length).toBeGreaterThan(0);
    expect(answer.pending.alts).toEqual(answer.blastRadius.map((l: any) => l.did));
    expect(run.stdout).toMatch(/confirming it also bans (this linked ID|these \d+ linked IDs)/);
    const list = await cli(["pending", "list", "--json"], bob);
    expect(JSON.parse(list.stdout).filter((x: any) => x.did === did)).toHaveLength(2);
    expect(await world.warden.admin.sanctions.active(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();
  });

  it("cancel: bob cancels ann's proposal with a reason; nothing is issued and it cannot be confirmed after", async () => {
    const { seen, did } = await bot("cli-pending-cancel", "Innocent");
    const id = proposedId(await cli(["ban", did, "--reason", "wrong player?"], ann));
    const cancelled = await cli(["pending", "cancel", id, "--reason", "wrong player"], bob);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toBe(`proposed ban ${id} of ${did} ("Innocent") cancelled: no ban issued\n`);
    const shown = await cli(["pending", "show", id, "--json"], bob);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      state: "cancelled",
      decidedBy: "staff:bob",
      outcome: { reason: "wrong player" },
    });
    const late = await cli(["pending", "confirm", id, "--yes"], bob);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/PENDING_BAN_CLOSED/);
    expect(await world.warden.admin.sanctions.history(did)).toEqual([]);
    expect(seen.leftCode).toBeNull();
  });

  it("--direct (break-glass): lists, shows and confirms ann's proposal through the service as breakglass:<user>", async () => {
    const { seen, did } = await bot("cli-pending-direct", "Bypasser");
    const id = proposedId(await cli(["ban", did, "--reason", "exploit"], ann));
    const direct = { REDIS_URL: redisUrl(), WARDEN_SECRET, WARDEN_PREFIX: p };
    const who = `breakglass:${userInfo().username}`;
    const list = await cli(["--direct", "pending", "list"], direct);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toMatch(/break-glass/);
    expect(list.stdout.split("\n").find((l) => l.startsWith(id))).toContain(`${did} ("Bypasser")`);
    const confirmed = await cli(["--direct", "pending", "confirm", id, "--yes", "--json"], direct);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const body = JSON.parse(confirmed.stdout);
    expect(body.sanction).toMatchObject({ did, kind: "ban", end: null, by: who });
    expect(body.pending).toMatchObject({ state: "confirmed", decidedBy: who, proposedBy: "staff:ann" });
    // The servers apply the ban the store now holds: the bot is closed out live.
    expect((await seen.left).code).toBe(4403);
    // Audited as the break-glass user.
    const entries = await world.warden.admin.auditLog({ limit: 50 });
    expect(entries.find((e) => e.detail.pendingBan === id && e.detail.step === "confirm")).toMatchObject({
      actor: who,
    });
    // A direct cancel of an already confirmed proposal is refused (exit 2).
    const cancel = await cli(["--direct", "pending", "cancel", id], direct);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toMatch(/already confirmed/);
  });

  it("--direct with WARDEN_FOUR_EYES=1: a permanent ban is only proposed, and its proposer cannot confirm it", async () => {
    const { seen, did } = await bot("cli-pending-direct-4e", "Lonewolf");
    const direct = { REDIS_URL: redisUrl(), WARDEN_SECRET, WARDEN_PREFIX: p, WARDEN_FOUR_EYES: "1" };
    const proposed = await cli(["--direct", "ban", did, "--reason", "exploit"], direct);
    expect(proposed.code, proposed.stderr).toBe(0);
    const id = proposedId(proposed);
    expect(await world.warden.sanctions.active(did)).toEqual([]);
    // The same operator (the same break-glass actor) is refused, and nothing is issued.
    const own = await cli(["--direct", "pending", "confirm", id, "--yes"], direct);
    expect(own.code).toBe(2);
    expect(own.stderr).toMatch(/who proposed a permanent ban may not confirm it/);
    expect(seen.leftCode).toBeNull();
    // A second person (a moderator over HTTP) confirms it.
    const confirmed = await cli(["pending", "confirm", id, "--yes"], bob);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect((await seen.left).code).toBe(4403);
  });
});
