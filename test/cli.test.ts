import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { deriveDigitalId } from "../src/index.js";
import { userInfo } from "node:os";
import { errorLines, warden as run } from "./helpers/cli.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";

const prefix = uniquePrefix("cli");
const secret = "cli-secret-0123456789";
const env = { REDIS_URL: redisUrl(), WARDEN_PREFIX: prefix, WARDEN_SECRET: secret };
const admin = new Redis(redisUrl());
const did = deriveDigitalId(secret, "cli-player");
const breakglass = `breakglass:${userInfo().username}`;
/** These tests are of the break-glass mode: the store directly. */
const warden = (args: string[], e: Record<string, string | undefined>) => run(["--direct", ...args], e);

afterAll(async () => {
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

describe("warden CLI: bad input is one line on stderr, a non-zero exit, and nothing written", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown kind", ["nuke", did, "--reason", "x"], /unknown command 'nuke'/],
    ["bad duration", ["ban", did, "--for", "10x", "--reason", "x"], /bad duration "10x"/],
    ["missing reason", ["mute", did, "--for", "10m"], /required option '--reason <text>'/],
    ["empty reason", ["mute", did, "--reason", "  "], /reason/],
    ["duration on a kick", ["kick", did, "--for", "10m", "--reason", "x"], /unknown option '--for'/],
    ["malformed digital ID", ["ban", "alice", "--reason", "x"], /not a digital ID/],
    ["unknown sanction id", ["revoke", `${did}.aaaaaaaa`], /no sanction with id/],
  ];
  it.each(cases)("%s", async (_, args, message) => {
    const run = await warden(args, env);
    expect(run.code).not.toBe(0);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
    expect(await keysUnder(admin, prefix)).toEqual([]);
  });

  it("a flag that takes a value never swallows the next flag: --reason --json is exit 2, nothing stored", async () => {
    for (const args of [
      ["ban", did, "--reason", "--json"],
      ["mute", did, "--for", "--reason", "x"],
      ["revoke", `${did}.aaaaaaaa`, "--reason", "--wrongful"],
    ]) {
      const run = await warden(args, env);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(/needs a value, but the next word is the flag --/);
      expect(errorLines(run.stderr)).toHaveLength(1);
    }
    expect(await keysUnder(admin, prefix)).toEqual([]);
  });

  it("exit codes: 2 for bad input, 3 for an unknown sanction id, 2 without REDIS_URL", async () => {
    expect((await warden(["ban", "alice", "--reason", "x"], env)).code).toBe(2);
    expect((await warden(["revoke", `${did}.aaaaaaaa`], env)).code).toBe(3);
    const noRedis = await warden(["sanctions", did], { WARDEN_PREFIX: prefix });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toMatch(/REDIS_URL is not set/);
  });

  it("exit 1 with one line when Redis cannot be reached", async () => {
    const run = await warden(["sanctions", did], { ...env, REDIS_URL: "redis://127.0.0.1:1" });
    expect(run.code).toBe(1);
    expect(errorLines(run.stderr)).toHaveLength(1);
  });
});

describe("warden CLI: end to end with --json", () => {
  it("id → ban → sanctions → revoke → sanctions", async () => {
    const id = await warden(["id", "cli-player", "--json"], env);
    expect(id.code).toBe(0);
    expect(JSON.parse(id.stdout)).toEqual({ did });

    const ban = await warden(["ban", did, "--for", "2h", "--reason", "griefing spawn", "--json"], env);
    expect(ban.code).toBe(0);
    const sanction = JSON.parse(ban.stdout);
    expect(sanction).toMatchObject({ did, kind: "ban", reason: "griefing spawn", by: breakglass });
    expect(sanction.end - sanction.start).toBe(7_200_000);

    const listed = JSON.parse((await warden(["sanctions", did, "--json"], env)).stdout);
    expect(listed.map((s: { id: string }) => s.id)).toEqual([sanction.id]);
    const table = await warden(["sanctions", did], env);
    expect(table.stdout).toContain(sanction.id);
    expect(table.stdout).toContain("griefing spawn");

    const revoked = await warden(["revoke", sanction.id, "--reason", "appeal", "--json"], env);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({
      status: "revoked",
      sanction: { id: sanction.id, revoked: { reason: "appeal" } },
    });
    expect(JSON.parse((await warden(["sanctions", did, "--json"], env)).stdout)).toEqual([]);
    expect(JSON.parse((await warden(["sanctions", did, "--all", "--json"], env)).stdout)).toHaveLength(1);
  });

  it("--help works on every command", async () => {
    for (const command of [
      "id",
      "lookup",
      "warn",
      "mute",
      "freeze",
      "kick",
      "ban",
      "revoke",
      "sanctions",
      "sessions",
      "history",
      "tail",
      "export",
      "forget",
      "audit",
    ]) {
      const run = await warden([command, "--help"], env);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: warden ${command}`);
    }
  });
});

describe("warden CLI: history and tail", () => {
  it("history lists an ID's recorded offenses; tail follows the live feed as NDJSON", async () => {
    const { RedisStore } = await import("../src/index.js");
    const store = new RedisStore({ connection: redisUrl(), prefix });
    const offender = deriveDigitalId(secret, "cli-offender");
    const record = (kind: string) => ({
      event: {
        at: Date.now(),
        did: offender,
        room: { name: "world", id: "r1" },
        detector: "payload" as const,
        kind,
        track: "malformed",
        severity: 1,
        evidence: { type: "teleport" },
      },
      halfLifeMs: 600_000,
    });
    await store.recordOffenses([record("unknown_type"), record("oversized")], Date.now(), 3_600_000);

    const history = await warden(["history", offender, "--json"], env);
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout).map((e: { kind: string }) => e.kind)).toEqual(["oversized", "unknown_type"]);
    const table = await warden(["history", offender], env);
    expect(table.stdout).toContain("payload/unknown_type");
    expect(table.stdout).toContain('type="teleport"');

    const tail = warden(["tail", "--json", "--count", "2"], env);
    // tail starts from the newest event: write two more once it is listening.
    await new Promise((r) => setTimeout(r, 1500));
    await store.recordOffenses([record("live-1"), record("live-2")], Date.now(), 3_600_000);
    const run = await tail;
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.kind)).toEqual(["live-1", "live-2"]);
    await store.close();
  });
});

describe("warden CLI: lookups, export, forget and the audit log", () => {
  it("every look and act lands in the audit log; audit verify passes, then fails naming the altered or missing entry", async () => {
    const { RedisKeys } = await import("../src/stores/redis/keys.js");
    const keys = new RedisKeys(prefix);
    const target = deriveDigitalId(secret, "cli-audited");
    expect((await warden(["warn", target, "--reason", "first warning"], env)).code).toBe(0);
    const lookup = await warden(["lookup", target, "--json", "--why", "ticket 9"], env);
    expect(lookup.code).toBe(0);
    expect(JSON.parse(lookup.stdout)[0]).toMatchObject({ did: target });
    expect((await warden(["lookup", "nobody-by-this-name"], env)).code).toBe(3);

    const exported = await warden(["export", target], env);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({
      did: target,
      sanctions: [{ kind: "warn", reason: "first warning" }],
    });

    const audit = JSON.parse((await warden(["audit", "--json", "--limit", "100"], env)).stdout) as {
      action: string;
      target: string | null;
      why: string | null;
      actor: string;
    }[];
    const about = audit.filter((e) => e.target === target).map((e) => e.action);
    expect(about).toEqual(expect.arrayContaining(["issue", "lookup", "export"]));
    expect(audit.find((e) => e.action === "lookup" && e.target === target)?.why).toBe("ticket 9");
    // Break-glass: every act and look is the OS user's, marked as such.
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((e) => e.actor === breakglass)).toBe(true);

    const ok = await warden(["audit", "verify", "--json"], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true });

    // Alter one entry: rewrite the stream with the same ids, one entry's detail changed.
    const entries = await admin.xrange(keys.auditLog(), "-", "+");
    const victim = entries[1]!;
    const altered = JSON.parse(victim[1][1]!);
    altered.detail = { ...altered.detail, forged: true };
    await admin.del(keys.auditLog());
    for (const [id, fields] of entries)
      await admin.xadd(keys.auditLog(), id, "e", id === victim[0] ? JSON.stringify(altered) : fields[1]!);
    const broken = await warden(["audit", "verify"], env);
    expect(broken.code).toBe(4);
    expect(broken.stderr).toContain(`entry ${altered.seq}`);
    expect(broken.stderr).toMatch(/altered/);

    // Put it back, then delete one entry in the middle.
    await admin.del(keys.auditLog());
    for (const [id, fields] of entries) await admin.xadd(keys.auditLog(), id, "e", fields[1]!);
    expect((await warden(["audit", "verify"], env)).code).toBe(0);
    await admin.xdel(keys.auditLog(), entries[2]![0]);
    const gap = await warden(["audit", "verify", "--json"], env);
    expect(gap.code).toBe(4);
    expect(JSON.parse(gap.stdout)).toMatchObject({ ok: false, seq: JSON.parse(entries[2]![1][1]!).seq });
    await admin.del(keys.auditLog(), keys.auditHead());
  });

  it("forget erases the ID and says what it kept", async () => {
    const target = deriveDigitalId(secret, "cli-forgotten");
    await warden(["ban", target, "--for", "1h", "--reason", "cheating"], env);
    const forgot = await warden(["forget", target, "--json"], env);
    expect(forgot.code).toBe(0);
    expect(JSON.parse(forgot.stdout)).toEqual({ keptBans: 1 });
    const [kept] = JSON.parse((await warden(["sanctions", target, "--json"], env)).stdout);
    expect(kept).toMatchObject({ kind: "ban", reason: "details erased at your request" });
    expect((await warden(["forget", target, "--including-sanctions"], env)).code).toBe(0);
    expect(JSON.parse((await warden(["sanctions", target, "--all", "--json"], env)).stdout)).toEqual([]);
  });
});
