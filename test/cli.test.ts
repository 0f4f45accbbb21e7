import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { deriveDigitalId } from "../src/index.js";
import { warden } from "./helpers/cli.js";
import { dropPrefix, keysUnder, redisUrl, uniquePrefix } from "./helpers/redis.js";

const prefix = uniquePrefix("cli");
const secret = "cli-secret-0123456789";
const env = { REDIS_URL: redisUrl(), WARDEN_PREFIX: prefix, WARDEN_SECRET: secret };
const admin = new Redis(redisUrl());
const did = deriveDigitalId(secret, "cli-player");

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
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
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
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("warden CLI: end to end with --json", () => {
  it("id → ban → sanctions → revoke → sanctions", async () => {
    const id = await warden(["id", "cli-player", "--json"], env);
    expect(id.code).toBe(0);
    expect(JSON.parse(id.stdout)).toEqual({ did });

    const ban = await warden(["ban", did, "--for", "2h", "--reason", "griefing spawn", "--by", "mod:ann", "--json"], env);
    expect(ban.code).toBe(0);
    const sanction = JSON.parse(ban.stdout);
    expect(sanction).toMatchObject({ did, kind: "ban", reason: "griefing spawn", by: "mod:ann" });
    expect(sanction.end - sanction.start).toBe(7_200_000);

    const listed = JSON.parse((await warden(["sanctions", did, "--json"], env)).stdout);
    expect(listed.map((s: { id: string }) => s.id)).toEqual([sanction.id]);
    const table = await warden(["sanctions", did], env);
    expect(table.stdout).toContain(sanction.id);
    expect(table.stdout).toContain("griefing spawn");

    const revoked = await warden(["revoke", sanction.id, "--reason", "appeal", "--json"], env);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ status: "revoked", sanction: { id: sanction.id, revoked: { reason: "appeal" } } });
    expect(JSON.parse((await warden(["sanctions", did, "--json"], env)).stdout)).toEqual([]);
    expect(JSON.parse((await warden(["sanctions", did, "--all", "--json"], env)).stdout)).toHaveLength(1);
  });

  it("--help works on every command", async () => {
    for (const command of ["id", "warn", "mute", "freeze", "kick", "ban", "revoke", "sanctions", "sessions"]) {
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
      event: { at: Date.now(), did: offender, room: { name: "world", id: "r1" }, detector: "payload" as const, kind, track: "malformed", severity: 1, evidence: { type: "teleport" } },
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
    const lines = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((e) => e.kind)).toEqual(["live-1", "live-2"]);
    await store.close();
  });
});
