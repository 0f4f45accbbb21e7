/**
 * The audit log against an insider with Redis access (issue 11, part 3): the chain is keyed
 * (an HMAC under a key only the server processes hold) and its head is checkpointed outside
 * Redis, so that rewriting, re-chaining, re-writing as the old format, cutting the tail or
 * removing entries within the retention window all fail `verify`. Real Redis; the insider is
 * a raw ioredis connection that knows every key name and the format, but not the secret.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { startWorld } from "../rooms/app.js";
import {
  AuditLog,
  auditKeysFrom,
  hashEntry,
  parseCheckpoints,
  type AuditAct,
  type AuditCheckpoint,
  type AuditEntry,
} from "../src/admin/audit.js";
import { DEFAULT_OPTIONS } from "../src/options.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { RedisStore } from "../src/stores/redis/redis-store.js";
import { keysUnder, prefixesForFile, redisUrl } from "./helpers/redis.js";
import { JWT_SECRET, WARDEN_SECRET } from "./helpers/world.js";

const KEYS = auditKeysFrom(WARDEN_SECRET);
const RETENTION = DEFAULT_OPTIONS.retention.auditMs;
const { admin: redis, prefix } = prefixesForFile();
const dir = mkdtempSync(join(tmpdir(), "warden-audit-"));
const stores: RedisStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

function act(i: number, actor = "staff:ann"): AuditAct {
  return { actor, face: "api", action: "issue", target: `target-${i}`, detail: { kind: "warn" } };
}

/** A log over a fresh prefix, with checkpoints (every entry) in a file of its own unless told otherwise. */
async function fresh(label: string, checkpoints = true) {
  const p = prefix(label);
  const store = new RedisStore({ connection: redisUrl(), prefix: p });
  stores.push(store);
  await store.connect();
  const file = join(dir, `${p}.jsonl`);
  const log = new AuditLog(store, RETENTION, KEYS, Date.now, {
    processId: "p-test",
    ...(checkpoints ? { checkpoints: { file, log: false, everyEntries: 1 } } : {}),
  });
  return { p, store, log, file, keys: new RedisKeys(p) };
}

async function appendAll(log: AuditLog, count: number, from = 0): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(act(from + i));
  await log.flushCheckpoints();
}

/** The insider: reads every stored entry with plain Redis commands. */
async function stored(keys: RedisKeys): Promise<AuditEntry[]> {
  const page = (await redis.xrange(keys.auditLog(), "-", "+")) as [string, string[]][];
  return page.map(([, fields]) => JSON.parse(fields[1]!) as AuditEntry);
}

/** The insider: replaces the whole stream and the head with `entries` (as they are). */
async function overwrite(keys: RedisKeys, entries: AuditEntry[], trimmed?: number): Promise<void> {
  await redis.del(keys.auditLog());
  for (const e of entries) await redis.xadd(keys.auditLog(), "*", "e", JSON.stringify(e));
  const last = entries[entries.length - 1];
  await redis.hset(keys.auditHead(), "seq", last?.seq ?? 0, "hash", last?.hash ?? "");
  if (trimmed !== undefined) await redis.hset(keys.auditHead(), "trimmed", trimmed);
}

/** The insider: re-links `entries` from index `from` on with `link` (what they can compute), keeping the chain consistent. */
function rechain(
  entries: AuditEntry[],
  from: number,
  link: (body: Omit<AuditEntry, "hash" | "id">) => string,
  change: (e: AuditEntry) => AuditEntry = (e) => e,
): AuditEntry[] {
  const out = entries.slice(0, from);
  let prev = from === 0 ? "" : entries[from - 1]!.hash;
  for (const e of entries.slice(from)) {
    const { hash: _h, id: _id, ...body } = change({ ...e });
    const next = { ...body, prev };
    const hash = link(next);
    out.push({ ...next, hash });
    prev = hash;
  }
  return out;
}

const sha256Link = (body: Omit<AuditEntry, "hash" | "id">) => {
  const { v: _v, ...legacy } = body;
  return hashEntry(legacy);
};

describe("an insider with Redis access but not the secret", () => {
  it("rewrites an entry and re-chains the rest with sha256: verify names the entry", async () => {
    const { log, keys } = await fresh("sha");
    await appendAll(log, 6);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 6, legacy: 0, checkpoints: { read: 6, matched: 6 } });
    const entries = await stored(keys);
    // Everything from entry 3 on, recomputed the old way, with the actor changed.
    const forged = rechain(entries, 2, sha256Link, (e) => (e.seq === 3 ? { ...e, actor: "staff:someone-else" } : e));
    await overwrite(keys, forged);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false, seq: 3 });
    if (!result.ok) expect(result.reason).toMatch(/altered/);
  });

  it("re-chains under a guessed key (HMAC with the wrong secret): verify fails at the first rewritten entry", async () => {
    const { log, keys } = await fresh("guess");
    await appendAll(log, 5);
    const wrong = auditKeysFrom("a-guess-of-the-secret-0123456789");
    const forged = rechain(
      await stored(keys),
      1,
      (b) => hashEntry(b, wrong.chain),
      (e) => (e.seq === 2 ? { ...e, target: "another-target" } : e),
    );
    await overwrite(keys, forged);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 2 });
  });

  it("re-writes the whole log in the old unkeyed format: the checkpoints do not match", async () => {
    const { log, keys } = await fresh("legacy-all");
    await appendAll(log, 4);
    const forged = rechain(await stored(keys), 0, sha256Link, (e) => {
      const { v: _v, ...legacy } = e;
      return legacy as AuditEntry;
    });
    await overwrite(keys, forged);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false, seq: 1 });
    if (!result.ok) expect(result.reason).toMatch(/checkpointed/);
  });

  it("turns one keyed entry into an unkeyed one: refused, the old format is only read before the first keyed entry", async () => {
    const { log, keys } = await fresh("legacy-one");
    await appendAll(log, 4);
    const entries = await stored(keys);
    // Entry 3 as a legacy entry, and the rest re-linked under sha256 too: still refused.
    const forged = rechain(entries, 2, sha256Link, (e) => {
      const { v: _v, ...legacy } = e;
      return legacy as AuditEntry;
    });
    await overwrite(keys, forged);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3 });
  });

  it("cuts the newest entries and rewrites the head to match: detected against the checkpoint; without checkpoints verify says it cannot tell", async () => {
    const { log, keys, file } = await fresh("cut");
    await appendAll(log, 6);
    const entries = await stored(keys);
    await overwrite(keys, entries.slice(0, 4));
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false, seq: 5 });
    if (!result.ok) expect(result.reason).toMatch(/checkpoint saw entry 6: the newest entries were cut/);

    // The same cut seen by a verifier that has no checkpoint: honest about what it cannot see.
    const blind = new AuditLog(log["store"] as RedisStore, RETENTION, KEYS);
    const unseen = await blind.verify();
    expect(unseen).toMatchObject({ ok: true, entries: 4 });
    expect(unseen.checkpoints.warning).toMatch(/cannot be detected/);
    // …and with the file handed over by hand (another process's checkpoints), it sees it again.
    expect(await blind.verify({ checkpoints: parseCheckpoints(readFileSync(file, "utf8")) })).toMatchObject({
      ok: false,
      seq: 5,
    });
  });

  it("forges a checkpoint (signed with another key) to cover a cut: the forged checkpoint is named", async () => {
    const { log, keys, file } = await fresh("forge");
    await appendAll(log, 5);
    const entries = await stored(keys);
    await overwrite(keys, entries.slice(0, 3));
    const other = auditKeysFrom("not-the-servers-secret-0123456789");
    const body: Omit<AuditCheckpoint, "mac"> = {
      kind: "warden-audit-checkpoint",
      v: 1,
      seq: 3,
      hash: entries[2]!.hash,
      trimmed: 0,
      at: Date.now(),
      process: "p-test",
    };
    const mac = createHmac("sha256", other.checkpoint)
      .update(JSON.stringify([body.kind, body.v, body.seq, body.hash, body.trimmed, body.at, body.process]))
      .digest("hex");
    // The insider replaces the file too (they cannot sign for this server).
    writeFileSync(file, `${JSON.stringify({ ...body, mac })}\n`);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false, seq: 3 });
    if (!result.ok) expect(result.reason).toMatch(/not signed with this server's key/);
  });

  it("removes the oldest entries and claims retention did it: refused while they are inside the retention window", async () => {
    const { log, keys } = await fresh("front");
    await appendAll(log, 5);
    const entries = await stored(keys);
    await overwrite(keys, entries.slice(2), 2);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toMatch(/inside the retention window/);
  });

  it("never finds the secret or the audit keys in Redis", async () => {
    const { p, log } = await fresh("scan");
    await appendAll(log, 3);
    const needles = [
      WARDEN_SECRET,
      KEYS.chain.toString("hex"),
      KEYS.chain.toString("base64"),
      KEYS.checkpoint.toString("hex"),
      KEYS.checkpoint.toString("base64"),
    ];
    const keys = await keysUnder(redis, p);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const type = await redis.type(key);
      const dump =
        type === "stream"
          ? JSON.stringify(await redis.xrange(key, "-", "+"))
          : type === "hash"
            ? JSON.stringify(await redis.hgetall(key))
            : String(await redis.get(key).catch(() => ""));
      for (const needle of needles) expect(`${key} ${dump}`).not.toContain(needle);
    }
  });
});

describe("the honest paths", () => {
  it("a log written by an earlier version (sha256) goes on keyed: verify is ok and counts the legacy prefix", async () => {
    const { store, log, keys } = await fresh("migrate");
    // Written the old way: no `v`, plain sha256 links.
    let head = await store.auditHead();
    for (let i = 0; i < 3; i++) {
      const body = {
        seq: head.seq + 1,
        at: Date.now(),
        actor: "cli:old",
        face: "cli" as const,
        action: "issue" as const,
        target: `old-${i}`,
        why: null,
        detail: {},
        prev: head.hash,
      };
      const result = await store.appendAudit([{ ...body, hash: hashEntry(body) }], head.hash, 0);
      head = result.head;
    }
    await appendAll(log, 3);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 6, legacy: 3 });
    expect((await stored(keys)).map((e) => e.v ?? null)).toEqual([null, null, null, 2, 2, 2]);
  });

  it("two logs on one Redis (two processes) append at once with checkpoints in one file; a restarted one verifies", async () => {
    const p = prefix("two");
    const file = join(dir, `${p}.jsonl`);
    const open = async (id: string) => {
      const store = new RedisStore({ connection: redisUrl(), prefix: p });
      stores.push(store);
      await store.connect();
      return new AuditLog(store, RETENTION, KEYS, Date.now, {
        processId: id,
        checkpoints: { file, log: false, everyEntries: 3 },
      });
    };
    const [a, b] = [await open("pa"), await open("pb")];
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => a.append(act(i, "staff:a"))),
      ...Array.from({ length: 30 }, (_, i) => b.append(act(i, "staff:b"))),
    ]);
    await Promise.all([a.close(), b.close()]);
    const checkpoints = parseCheckpoints(readFileSync(file, "utf8"));
    expect(new Set(checkpoints.map((c) => c.process))).toEqual(new Set(["pa", "pb"]));
    const restarted = await open("pc");
    expect(await restarted.verify()).toMatchObject({
      ok: true,
      entries: 60,
      checkpoints: { read: checkpoints.length, matched: checkpoints.length },
    });
  });

  it("retention removes old entries: their checkpoints count as expired, and the log verifies", async () => {
    // The MemoryStore trims by the entries' time (Redis by the stream ids' real time), so a clock can be moved here.
    let now = Date.now() - 10 * 86_400_000;
    const file = join(dir, `memory-retention-${process.pid}.jsonl`);
    const log = new AuditLog(new MemoryStore(), 86_400_000, KEYS, () => now, {
      checkpoints: { file, log: false, everyEntries: 1 },
    });
    await appendAll(log, 3);
    // Nine days later: the day-long retention trims the first three on the next append.
    now += 9 * 86_400_000;
    await appendAll(log, 2, 3);
    const result = await log.verify();
    expect(result).toMatchObject({ ok: true, entries: 2, trimmed: 3, checkpoints: { expired: 3, matched: 2 } });
  });

  it("through the real server: GET /audit/verify reads the configured checkpoint file and catches a cut", async () => {
    const p = prefix("server");
    const file = join(dir, `${p}.jsonl`);
    const token = "moderator-token-keyed-audit-0123";
    const world = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: {
        secret: WARDEN_SECRET,
        store: redisUrl(),
        prefix: p,
        audit: { checkpoints: { file, log: false, everyEntries: 1 } },
      },
      admin: { moderatorTokens: [{ name: "ann", token }] },
    });
    try {
      const api = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${world.port}/warden/api${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return (await res.json()) as Record<string, unknown>;
      };
      for (const q of ["ann", "bob", "cyd"]) await api(`/identities?q=${q}`);
      await new Promise((r) => setTimeout(r, 50));
      expect(await api("/audit/verify")).toMatchObject({ ok: true, entries: 3, checkpoints: { matched: 3 } });
      const keys = new RedisKeys(p);
      await overwrite(keys, (await stored(keys)).slice(0, 1));
      expect(await api("/audit/verify")).toMatchObject({ ok: false, seq: 2 });
    } finally {
      await world.close();
    }
  });
});

describe("options", () => {
  it("refuses a short audit key and bad checkpoint options with a sentence", async () => {
    const { createWarden } = await import("../src/index.js");
    expect(() => createWarden({ secret: WARDEN_SECRET, audit: { key: "short" } })).toThrow(
      /option "audit.key" must be a string or Buffer of 32/,
    );
    expect(() => createWarden({ secret: WARDEN_SECRET, audit: { checkpoints: { everyEntries: 0 } } })).toThrow(
      /audit.checkpoints.everyEntries/,
    );
    expect(() =>
      createWarden({ secret: WARDEN_SECRET, audit: { checkpoints: { fiel: "x" } as unknown as { file: string } } }),
    ).toThrow(/unknown option "audit.checkpoints.fiel"/);
  });
});
