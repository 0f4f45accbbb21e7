/**
 * The CLI as a client of the admin HTTP API (issue 11, part 2): a real world (Colyseus, the
 * warden, real Redis) with a bootstrap admin token and its own configuration, the real
 * `warden` bin in child processes, real SDK clients. Login through stdin, staff tokens, acts
 * that land live, the server's retention, break-glass, and servers that misbehave.
 */
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { userInfo, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { RedisStore } from "../src/index.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { BREAKGLASS_LINE, type CliRun, errorLines, warden } from "./helpers/cli.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const ROOT = "cli-http-bootstrap-admin-token-0123456789";
const DAY = 86_400_000;
const { admin: redis, prefix } = prefixesForFile();
const p = prefix("cli-http");
const dir = mkdtempSync(join(tmpdir(), "warden-cli-http-"));
let world: World;
let url: string;
/** Every token a test saw: none may appear in any output but `staff add`'s stdout. */
const tokens: string[] = [ROOT];
const runs: CliRun[] = [];
/** The `staff add` runs: their stdout hands the new token over, once. */
const handedOver = new Set<CliRun>();

async function cli(args: string[], env: Record<string, string | undefined>, input?: string): Promise<CliRun> {
  const run = await warden(
    args,
    { WARDEN_CREDENTIALS: join(dir, "none.json"), ...env },
    input === undefined ? {} : { input },
  );
  runs.push(run);
  return run;
}

beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    // The server's own configuration: sanctions kept 2 days after they end (the default is 365).
    warden: { secret: WARDEN_SECRET, store: redisUrl(), prefix: p, retention: { sanctionsMs: 2 * DAY } },
    admin: { adminTokens: [{ name: "root", token: ROOT }] },
  });
  url = `http://127.0.0.1:${world.port}`;
});
afterAll(async () => {
  await world?.close();
  // No token in any output of any run (except the one stdout that hands a new one over).
  for (const run of runs)
    for (const token of tokens) {
      expect(run.stderr).not.toContain(token);
      if (!handedOver.has(run)) expect(run.stdout).not.toContain(token);
    }
});

describe("warden login, whoami, the credentials file", () => {
  it("login reads the token from stdin, checks it with /whoami and stores it with mode 0600", async () => {
    const file = join(dir, "sub", "root.json");
    const env = { WARDEN_CREDENTIALS: file };
    const login = await cli(["login", "--url", url], env, `${ROOT}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain("signed in to");
    expect(login.stdout).toContain("as api:admin:root (admin)");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const who = await cli(["whoami", "--json"], env);
    expect(JSON.parse(who.stdout)).toMatchObject({ actor: "api:admin:root", role: "admin" });

    // A wrong token is refused at login and nothing is stored.
    const other = join(dir, "wrong.json");
    const wrong = await cli(["login", "--url", url], { WARDEN_CREDENTIALS: other }, "not-a-known-token-0123456789\n");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/UNAUTHORIZED/);
    expect(existsSync(other)).toBe(false);

    // A file others may read is refused, with what to do.
    chmodSync(file, 0o644);
    const loose = await cli(["whoami"], env);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(/readable or writable by others \(mode 0644\).*chmod 600/);
    expect(loose.stdout).toBe("");
    chmodSync(file, 0o600);
    expect((await cli(["logout"], env)).stdout).toContain("signed out");
    expect(existsSync(file)).toBe(false);
  });

  it("without WARDEN_URL, credentials or --direct: one line telling to warden login, exit 2", async () => {
    const run = await cli(["sanctions", "a".repeat(26)], {});
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/not signed in: run `warden login/);
  });

  it("a stored token is never sent to another WARDEN_URL; a token never travels over plain http to another host", async () => {
    const file = join(dir, "pinned.json");
    writeFileSync(file, JSON.stringify({ url, token: ROOT }), { mode: 0o600 });
    const elsewhere = await cli(["whoami"], { WARDEN_CREDENTIALS: file, WARDEN_URL: "http://127.0.0.2:1" });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/no token for 127\.0\.0\.2:1/);
    const remote = await cli(["whoami"], { WARDEN_URL: "http://mod.example.com", WARDEN_TOKEN: ROOT });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/refusing to send a token over plain http/);
  });
});

describe("staff tokens through the CLI, acts that land live, the server's configuration", () => {
  const asRoot = () => ({ WARDEN_URL: url, WARDEN_TOKEN: ROOT });
  let annFile: string;
  let vicToken: string;

  it("staff add prints a moderator's token once; with it, ban --name closes the live client with 4403, audited as staff:<name>, kept as the server's retention says", async () => {
    const added = await cli(["staff", "add", "ann", "--role", "moderator"], asRoot());
    handedOver.add(added);
    expect(added.code, added.stderr).toBe(0);
    const token = /^(wst_\S+)$/m.exec(added.stdout)?.[1];
    expect(token).toBeDefined();
    tokens.push(token!);
    annFile = join(dir, "ann.json");
    expect((await cli(["login", "--url", url], { WARDEN_CREDENTIALS: annFile }, token)).code).toBe(0);
    const ann = { WARDEN_CREDENTIALS: annFile };

    const player = await client(world.port, "cli-http-target", "Griefer42").create("world");
    const seen = observe(player);
    const did = world.warden.digitalId("cli-http-target");
    await waitFor(async () => (await world.warden.sessions(did)).length === 1, "binding");

    const ban = await cli(["ban", "--name", "Griefer42", "--for", "1h", "--reason", "cheating", "--json"], ann);
    expect(ban.code, ban.stderr).toBe(0);
    const sanction = JSON.parse(ban.stdout);
    expect(sanction).toMatchObject({ did, kind: "ban", by: "staff:ann" });
    expect((await seen.left).code).toBe(4403);

    // The server's retention, not the CLI's defaults: kept 1 h + 2 days, not 1 h + 365 days.
    const ttl = await redis.pttl(new RedisKeys(p).sanctions(did));
    expect(ttl).toBeGreaterThan(2 * DAY);
    expect(ttl).toBeLessThanOrEqual(2 * DAY + 3_600_000);

    const audit = JSON.parse((await cli(["audit", "--json", "--limit", "50"], ann)).stdout) as any[];
    expect(audit.find((e) => e.action === "issue" && e.target === did)).toMatchObject({
      actor: "staff:ann",
      face: "api",
    });
    expect(audit.find((e) => e.action === "lookup" && e.target === did)).toMatchObject({ actor: "staff:ann" });

    // Same output as break-glass: the table lists it; revoke lifts it.
    const table = await cli(["sanctions", did], ann);
    expect(table.stdout).toContain(sanction.id);
    expect(table.stdout).toContain("staff:ann");
    const revoked = await cli(["revoke", sanction.id, "--reason", "appeal"], ann);
    expect(revoked.stdout).toBe(`revoked ${sanction.id}\n`);
    expect((await cli(["revoke", `${did}.aaaaaaaa`], ann)).code).toBe(3);
    const verify = await cli(["audit", "verify", "--json"], ann);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it("a viewer's token cannot ban (exit 2, the server's refusal in one line); staff list shows no token", async () => {
    const added = await cli(["staff", "add", "vic", "--role", "viewer", "--json"], asRoot());
    handedOver.add(added);
    vicToken = JSON.parse(added.stdout).token;
    tokens.push(vicToken);
    const vic = { WARDEN_URL: url, WARDEN_TOKEN: vicToken };
    const did = world.warden.digitalId("cli-http-viewer-target");
    const ban = await cli(["ban", did, "--reason", "x"], vic);
    expect(ban.code).toBe(2);
    expect(ban.stdout).toBe("");
    expect(ban.stderr.trim().split("\n")).toHaveLength(1);
    expect(ban.stderr).toMatch(/FORBIDDEN: a viewer may not do this/);
    expect((await cli(["sanctions", did, "--all", "--json"], vic)).stdout).toBe("[]\n");
    expect((await cli(["staff", "list"], vic)).stderr).toMatch(/FORBIDDEN: only an admin manages staff/);
    const list = await cli(["staff", "list"], asRoot());
    expect(list.stdout).toMatch(/ann\s+moderator/);
    expect(list.stdout).toMatch(/vic\s+viewer/);
  });

  it("a revoked token is refused with what to do", async () => {
    expect((await cli(["staff", "revoke", "vic"], asRoot())).stdout).toBe("revoked vic (viewer)\n");
    const run = await cli(["whoami"], { WARDEN_URL: url, WARDEN_TOKEN: vicToken });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/UNAUTHORIZED.*warden login again/);
    expect((await cli(["staff", "revoke", "nobody"], asRoot())).code).toBe(3);
    expect((await cli(["staff", "add", "x", "--role", "root"], asRoot())).code).toBe(2);
  });

  it("--direct acts are audited as breakglass:<user>, with a warning; without the audit key it refuses", async () => {
    const direct = { REDIS_URL: redisUrl(), WARDEN_PREFIX: p, WARDEN_SECRET };
    const did = world.warden.digitalId("cli-http-breakglass");
    const warn = await cli(["--direct", "warn", did, "--reason", "emergency", "--json"], direct);
    expect(warn.code, warn.stderr).toBe(0);
    expect(warn.stderr).toMatch(BREAKGLASS_LINE);
    expect(errorLines(warn.stderr)).toEqual([]);
    const breakglass = `breakglass:${userInfo().username}`;
    expect(JSON.parse(warn.stdout)).toMatchObject({ by: breakglass });
    const audit = JSON.parse((await cli(["audit", "--json", "--limit", "10"], asRoot())).stdout) as any[];
    expect(audit.find((e) => e.action === "issue" && e.target === did)).toMatchObject({
      actor: breakglass,
      face: "cli",
    });
    const noKey = await cli(["warn", did, "--reason", "x"], {
      WARDEN_DIRECT: "1",
      REDIS_URL: redisUrl(),
      WARDEN_PREFIX: p,
    });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/WARDEN_SECRET is not set/);
    expect((await cli(["--direct", "staff", "list"], direct)).stderr).toMatch(/not in --direct mode/);
  });

  it("tail follows /feed: offense events as NDJSON; /feed replays what a client missed after Last-Event-ID", async () => {
    const store = new RedisStore({ connection: redisUrl(), prefix: p });
    const did = world.warden.digitalId("cli-http-offender");
    const record = (kind: string) => ({
      event: {
        at: Date.now(),
        did,
        room: { name: "world", id: "r1" },
        detector: "payload" as const,
        kind,
        track: "malformed",
        severity: 1,
        evidence: { type: "teleport" },
      },
      halfLifeMs: 600_000,
    });
    const tail = cli(["tail", "--json", "--count", "2"], { WARDEN_CREDENTIALS: annFile });
    await new Promise((r) => setTimeout(r, 1500));
    await store.recordOffenses([record("live-1"), record("live-2")], Date.now(), 3_600_000);
    const run = await tail;
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.kind)).toEqual(["live-1", "live-2"]);

    // Reconnecting after live-1: the server sends live-2 (and only what came after) first.
    const controller = new AbortController();
    const res = await fetch(`${url}/warden/api/feed`, {
      // Its feed position: the composite cursor of the sharded feed (one stream id per shard).
      headers: { authorization: `Bearer ${ROOT}`, "last-event-id": lines[0].cursor ?? lines[0].id },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("live-2")) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).not.toContain("live-1");
    expect(text).toContain(`id: ${lines[1].cursor ?? lines[1].id}`);
    await store.close();
  });
});

describe("tail over a connection that breaks", () => {
  it("reconnects with Last-Event-ID and misses nothing recorded while it was away", async () => {
    const store = new RedisStore({ connection: redisUrl(), prefix: p });
    const did = world.warden.digitalId("cli-http-reconnect");
    const record = (kind: string) =>
      store.recordOffenses(
        [
          {
            event: {
              at: Date.now(),
              did,
              room: { name: "world", id: "r2" },
              detector: "payload" as const,
              kind,
              track: "malformed",
              severity: 1,
              evidence: {},
            },
            halfLifeMs: 600_000,
          },
        ],
        Date.now(),
        3_600_000,
      );
    // A proxy in front of the real world that cuts the first feed connection right after
    // it carried "gap-a", then records "gap-b" while the CLI is away.
    const feeds: (string | undefined)[] = [];
    let cut = false;
    const proxy = createServer((req, res) => {
      const up = httpRequest(
        { host: "127.0.0.1", port: world.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const isFeed = req.url?.endsWith("/feed") === true;
          if (isFeed) feeds.push(req.headers["last-event-id"] as string | undefined);
          answer.on("data", (chunk: Buffer) => {
            if (isFeed && !cut && chunk.toString().includes("gap-a")) {
              cut = true;
              // Delivered first, then the connection dies.
              res.write(chunk, () =>
                setTimeout(() => {
                  res.destroy();
                  answer.destroy();
                  void record("gap-b");
                }, 100),
              );
            } else res.write(chunk);
          });
          answer.on("end", () => res.end());
          answer.on("error", () => res.destroy());
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const tail = cli(["tail", "--json", "--count", "3"], { WARDEN_URL: proxied, WARDEN_TOKEN: ROOT });
    await waitFor(() => feeds.length === 1, "the first feed connection", 10_000);
    await new Promise((r) => setTimeout(r, 300));
    await record("gap-a");
    await waitFor(() => feeds.length === 2, "the reconnection", 10_000);
    await new Promise((r) => setTimeout(r, 500));
    await record("gap-c");
    const run = await tail;
    proxy.closeAllConnections();
    proxy.close();
    await store.close();
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const events = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.kind)).toEqual(["gap-a", "gap-b", "gap-c"]);
    expect(feeds[0]).toBeUndefined();
    // It resumes from gap-a's feed position (the sharded feed's composite cursor).
    expect(feeds[1]).toBe(events[0].cursor ?? events[0].id);
    expect(run.stderr).toMatch(/live feed interrupted .*: reconnecting/);
  });
});

describe("a server that misbehaves: one clear line, a non-zero exit, within the deadline, no stack", () => {
  let hostile: Server;
  let base: string;
  beforeAll(async () => {
    hostile = createServer((req, res) => {
      if (req.url?.startsWith("/garbage/")) {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end("<html>not json at all</html>");
      }
      if (req.url?.startsWith("/huge/")) {
        // An endless body: the CLI must stop reading at its bound.
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(1 << 20, 0x20);
        const pump = () => {
          while (res.write(chunk)) {}
        };
        res.on("drain", pump);
        res.on("error", () => {});
        return pump();
      }
      if (req.url?.startsWith("/shape/")) {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ sanctions: "nope", identities: 5 }));
      }
      // /hang/: headers never come.
    });
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hostile.closeAllConnections();
    hostile.close();
  });

  const cases: [string, string, RegExp][] = [
    ["garbage", "garbage", /not the warden admin API \(not JSON\)/],
    ["a huge body", "huge", /larger than 32 MiB/],
    ["the wrong shape", "shape", /without the expected "sanctions" array/],
    ["a hang", "hang", /did not answer within 1500 ms/],
  ];
  it.each(cases)("%s", async (_, path, message) => {
    const started = Date.now();
    const run = await cli(["sanctions", "a".repeat(26)], {
      WARDEN_URL: `${base}/${path}`,
      WARDEN_TOKEN: ROOT,
      WARDEN_TIMEOUT_MS: "1500",
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("tail against a server that hangs fails once, clearly, rather than retrying forever", async () => {
    const run = await cli(["tail"], { WARDEN_URL: `${base}/hang`, WARDEN_TOKEN: ROOT, WARDEN_TIMEOUT_MS: "1500" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not answer within 1500 ms/);
  });

  it("a server that cannot be reached", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const run = await cli(["whoami"], { WARDEN_URL: `http://127.0.0.1:${port}`, WARDEN_TOKEN: ROOT });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`warden: cannot reach 127.0.0.1:${port}: ECONNREFUSED\n`);
  });
});
