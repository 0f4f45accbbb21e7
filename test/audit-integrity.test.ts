/**
 * Audit never skipped (issue 9): an act and its audit entry cannot be separated, and
 * contention never fails a request. Real server, real clients, real Redis (and the
 * MemoryStore where the property is the store's).
 */
import { resolveConduct } from "../src/policy/conduct.js";
import { createDueProcess } from "../src/reviews/due-process.js";
import { resolveDueProcess } from "../src/reviews/options.js";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { AdminService, type Actor } from "../src/admin/service.js";
import { AuditLog, auditKeysFrom, hashEntry, type AuditEntry } from "../src/admin/audit.js";
import { WardenError } from "../src/errors.js";
import { deriveDigitalId, type DigitalId } from "../src/identity/digital-id.js";
import { DEFAULT_OPTIONS } from "../src/options.js";
import { resolvePolicy } from "../src/policy/ladder.js";
import type { Sanction } from "../src/sanctions/model.js";
import { SanctionsService } from "../src/sanctions/service.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { RedisStore } from "../src/stores/redis/redis-store.js";
import type { StoreRetention, WardenStore } from "../src/stores/store.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const MODERATOR = "moderator-token-audit-0123456789";
const VIEWER = "viewer-token-audit-0123456789ab";
const retention = DEFAULT_OPTIONS.retention;
const AUDIT_KEYS = auditKeysFrom(WARDEN_SECRET);
const MOD: Actor = { face: "code", who: "test:moderator" };
let n = 0;
const did = (): DigitalId => deriveDigitalId(WARDEN_SECRET, `audit-integrity-${++n}-${Math.random()}`);

const { admin, prefix } = prefixesForFile();

/** Every entry of a store's audit log, oldest first. */
async function allEntries(store: WardenStore): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let after = "0";
  for (;;) {
    const page = await store.auditRange(after, 1000);
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1]!.id!;
  }
}

function figure(name: string, values: Record<string, unknown>): void {
  console.info(`[figure] audit-integrity ${name}: ${JSON.stringify(values)}`);
}

// ---------------------------------------------------------------------------------------
// Stores that note what the audit log held when an act reached them, and that can be told
// to fail one kind of act (the store write after the entry). Real stores underneath.
// ---------------------------------------------------------------------------------------

type Act = "saveSanction" | "revokeSanction" | "forget";
// A mixin's base must take any[] (TypeScript's rule for mixin classes).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StoreClass = new (...args: any[]) => WardenStore;

function Observed<B extends StoreClass>(Base: B) {
  return class extends Base {
    /** For each act that reached the store: the newest audit entry at that moment. */
    readonly acts: { act: Act; newest: AuditEntry | undefined }[] = [];
    readonly failing = new Set<Act>();

    private async note(act: Act): Promise<void> {
      const [newest] = await this.auditEntries({ limit: 1 });
      this.acts.push({ act, newest });
      if (this.failing.has(act)) throw new WardenError("STORE_UNAVAILABLE", `the store refused ${act} (test)`);
    }

    override async saveSanction(sanction: Sanction, r: StoreRetention): Promise<void> {
      await this.note("saveSanction");
      return super.saveSanction(sanction, r);
    }

    override async revokeSanction(...args: Parameters<WardenStore["revokeSanction"]>) {
      await this.note("revokeSanction");
      return super.revokeSanction(...args);
    }

    override async forget(...args: Parameters<WardenStore["forget"]>): Promise<void> {
      await this.note("forget");
      return super.forget(...args);
    }
  };
}

/**
 * Another writer that always gets there first: just before each of the log's appends
 * reaches the store, it appends an entry of its own (through the same real store).
 */
function Beaten<B extends StoreClass>(Base: B) {
  return class extends Base {
    others = 0;
    override async appendAudit(...args: Parameters<WardenStore["appendAudit"]>) {
      const head = await this.auditHead();
      const body = {
        v: 2 as const,
        seq: head.seq + 1,
        at: Date.now(),
        actor: "other",
        face: "code" as const,
        action: "view" as const,
        target: null,
        why: null,
        detail: {},
        prev: head.hash,
      };
      await super.appendAudit([{ ...body, hash: hashEntry(body, AUDIT_KEYS.chain) }], head.hash, 0);
      this.others++;
      return super.appendAudit(...args);
    }
  };
}

/** Counts the compare-and-set conflicts the store answered. */
function Counting<B extends StoreClass>(Base: B) {
  return class extends Base {
    conflicts = 0;
    override async appendAudit(...args: Parameters<WardenStore["appendAudit"]>) {
      const result = await super.appendAudit(...args);
      if (result.status === "conflict") this.conflicts++;
      return result;
    }
  };
}

const ObservedMemory = Observed(MemoryStore);
const ObservedRedis = Observed(RedisStore);
type ObservedStore = WardenStore & {
  readonly acts: { act: Act; newest: AuditEntry | undefined }[];
  readonly failing: Set<Act>;
};

function adminOver(store: WardenStore, audit = new AuditLog(store, retention.auditMs, AUDIT_KEYS)): AdminService {
  const sanctions = new SanctionsService(store, retention, { before: () => null, issued: () => {}, revoked: () => {} });
  const dueProcess = resolveDueProcess(undefined);
  const due = createDueProcess(store, dueProcess, { storeFailed: () => {}, findSanction: (id) => sanctions.find(id) });
  return new AdminService(
    store,
    sanctions,
    audit,
    { policy: resolvePolicy(), retention, conduct: resolveConduct(undefined), dueProcess },
    due,
  );
}

const stores: Record<string, () => Promise<{ store: ObservedStore; close(): Promise<void> }>> = {
  MemoryStore: async () => {
    const store = new ObservedMemory();
    return { store, close: () => store.close() };
  },
  RedisStore: async () => {
    const store = new ObservedRedis({ connection: redisUrl(), prefix: prefix("audit-acts") });
    await store.connect();
    return { store, close: () => store.close() };
  },
};

for (const [name, make] of Object.entries(stores)) {
  describe(`entry first, then the act: ${name}`, () => {
    it("issue, revoke and forget reach the store only after their entry is in the log", async () => {
      const { store, close } = await make();
      try {
        const service = adminOver(store);
        const target = did();
        const issued = await service.issue({ did: target, kind: "ban", duration: 60_000, reason: "entry first" }, MOD);
        if (issued.status !== "issued") throw new Error("not issued");
        await service.revoke(issued.sanction.id, "appeal", MOD);
        await service.issue({ did: target, kind: "ban", duration: 60_000, reason: "again" }, MOD);
        await service.forget(target, MOD);
        expect(store.acts.map((a) => [a.act, a.newest?.action, a.newest?.target])).toEqual([
          ["saveSanction", "issue", target],
          ["revokeSanction", "revoke", issued.sanction.id],
          ["saveSanction", "issue", target],
          ["forget", "forget", target],
        ]);
        expect(store.acts[0]!.newest!.detail).toEqual({
          sanctionId: issued.sanction.id,
          kind: "ban",
          end: issued.sanction.end,
        });
        // A sanction id that does not exist: nothing happens, so nothing is recorded.
        const before = (await allEntries(store)).length;
        expect(await service.revoke(`${target}.aaaaaaaa`, "x", MOD)).toEqual({ status: "not_found", related: [] });
        expect((await allEntries(store)).length).toBe(before);
        expect(await service.verifyAudit()).toMatchObject({ ok: true, entries: before });
      } finally {
        await close();
      }
    });

    it("an act whose store write fails after its entry was written leaves an entry that says so", async () => {
      const { store, close } = await make();
      try {
        const service = adminOver(store);
        const target = did();
        const standing = await service.issue({ did: target, kind: "mute", duration: 60_000, reason: "standing" }, MOD);
        if (standing.status !== "issued") throw new Error("not issued");

        for (const act of ["saveSanction", "revokeSanction", "forget"] as const) store.failing.add(act);
        await expect(service.issue({ did: target, kind: "ban", reason: "will fail" }, MOD)).rejects.toMatchObject({
          name: "WardenError",
          code: "STORE_UNAVAILABLE",
        });
        await expect(service.revoke(standing.sanction.id, "will fail", MOD)).rejects.toMatchObject({
          code: "STORE_UNAVAILABLE",
        });
        await expect(service.forget(target, MOD)).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
        store.failing.clear();

        const entries = (await allEntries(store)).slice(1); // after the standing mute's entry
        const banEntry = entries[0]!;
        expect(banEntry).toMatchObject({ action: "issue", target, detail: { kind: "ban", end: null } });
        const banId = banEntry.detail.sanctionId;
        expect(entries.map((e) => [e.action, e.detail.failed ?? null, e.detail.entry ?? null])).toEqual([
          ["issue", null, null],
          ["issue", "STORE_UNAVAILABLE", banEntry.seq],
          ["revoke", null, null],
          ["revoke", "STORE_UNAVAILABLE", entries[2]!.seq],
          ["forget", null, null],
          ["forget", "STORE_UNAVAILABLE", entries[4]!.seq],
        ]);
        expect(entries[1]!.detail.sanctionId).toBe(banId);
        expect(entries[3]!.target).toBe(standing.sanction.id);
        // And indeed nothing happened: no ban, the mute still in force.
        expect((await store.sanctionsOf(target)).map((s) => [s.kind, s.revoked === undefined])).toEqual([
          ["mute", true],
        ]);
        expect(await service.verifyAudit()).toMatchObject({ ok: true, entries: 7 });
      } finally {
        await close();
      }
    });
  });
}

describe("entry first, then the act: a real Redis failure", () => {
  it("a sanction Redis refuses to store (wrong type at its key) leaves the entry and a second one saying it failed", async () => {
    const keys = new RedisKeys(prefix("audit-wrongtype"));
    const store = new RedisStore({ connection: redisUrl(), prefix: keys.prefix });
    await store.connect();
    try {
      const service = adminOver(store);
      const target = did();
      await admin.set(keys.sanctions(target), "not a hash");
      const failure = await service
        .issue({ did: target, kind: "ban", duration: 60_000, reason: "refused by redis" }, MOD)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(failure).toBeInstanceOf(WardenError);
      expect((failure as WardenError).code).toBe("STORE_SCRIPT");
      const [entry, followUp, ...rest] = await allEntries(store);
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({ action: "issue", target, detail: { kind: "ban" } });
      expect(followUp).toMatchObject({
        action: "issue",
        target,
        detail: { sanctionId: entry!.detail.sanctionId, failed: "STORE_SCRIPT", entry: entry!.seq },
      });
      expect(await admin.get(keys.sanctions(target))).toBe("not a hash");
      expect(await service.verifyAudit()).toMatchObject({ ok: true, entries: 2 });
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Contention between processes.
// ---------------------------------------------------------------------------------------

describe("two writers appending at once", () => {
  const PER_WRITER = 250;
  type Counted = WardenStore & { conflicts: number };
  const pairs: Record<string, () => Promise<{ stores: [Counted, Counted]; close(): Promise<void> }>> = {
    // Two processes: two RedisStores with their own connections, one log.
    RedisStore: async () => {
      const p = prefix("audit-two");
      const CountedRedis = Counting(RedisStore);
      const stores: [Counted, Counted] = [
        new CountedRedis({ connection: redisUrl(), prefix: p }),
        new CountedRedis({ connection: redisUrl(), prefix: p }),
      ];
      await Promise.all(stores.map((s) => s.connect()));
      return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
    },
    // Two AuditLogs over one MemoryStore: each its own queue, so the store's compare-and-set decides.
    MemoryStore: async () => {
      const store = new (Counting(MemoryStore))();
      return { stores: [store, store], close: () => store.close() };
    },
  };

  for (const [name, make] of Object.entries(pairs)) {
    it(`${name}: ${2 * PER_WRITER} appends from two AuditLogs — none fails, seq contiguous, chain intact`, async () => {
      const { stores, close } = await make();
      try {
        const logs = stores.map((s) => new AuditLog(s, retention.auditMs, AUDIT_KEYS));
        const append = (w: number, i: number) =>
          logs[w]!.append({ actor: `writer-${w}`, face: "code", action: "view", target: null, detail: { i } });
        // Each writer: half its appends in one burst, the other half in waves of 5 (many store calls that race the other writer's).
        const writer = async (w: number) => {
          const half = PER_WRITER / 2;
          const burst = Promise.allSettled(Array.from({ length: half }, (_, i) => append(w, i)));
          const waves: PromiseSettledResult<AuditEntry>[] = [];
          for (let i = half; i < PER_WRITER; i += 5)
            waves.push(...(await Promise.allSettled(Array.from({ length: 5 }, (_, j) => append(w, i + j)))));
          return [...(await burst), ...waves];
        };
        const started = performance.now();
        const results = (await Promise.all([writer(0), writer(1)])).flat();
        const ms = Math.round(performance.now() - started);
        const rejected = results.filter((r) => r.status === "rejected");
        expect(rejected.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        expect(results).toHaveLength(2 * PER_WRITER);
        const entries = await allEntries(stores[0]);
        expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 2 * PER_WRITER }, (_, i) => i + 1));
        for (let w = 0; w < 2; w++) {
          const mine = entries.filter((e) => e.actor === `writer-${w}`).map((e) => e.detail.i);
          expect(mine.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
        }
        // What each append resolved with is what the log holds at that seq.
        const bySeq = new Map(entries.map((e) => [e.seq, e.hash]));
        for (const r of results) if (r.status === "fulfilled") expect(bySeq.get(r.value.seq)).toBe(r.value.hash);
        expect(await logs[1]!.verify()).toMatchObject({ ok: true, entries: 2 * PER_WRITER, trimmed: 0 });
        const conflicts = name === "MemoryStore" ? stores[0].conflicts : stores[0].conflicts + stores[1].conflicts;
        expect(conflicts).toBeGreaterThan(0); // the two writers did race
        figure(`two writers (${name})`, {
          appends: 2 * PER_WRITER,
          failed: rejected.length,
          conflictsResolved: conflicts,
          ms,
        });
      } finally {
        await close();
      }
    });
  }

  it("verify() walks entries appended while it runs without calling them a break", async () => {
    const store = new RedisStore({ connection: redisUrl(), prefix: prefix("audit-verify") });
    await store.connect();
    try {
      const log = new AuditLog(store, retention.auditMs, AUDIT_KEYS);
      for (let i = 0; i < 1500; i += 100)
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            log.append({ actor: "seed", face: "code", action: "view", target: null, detail: { i: i + j } }),
          ),
        );
      const writer = new AuditLog(store, retention.auditMs, AUDIT_KEYS);
      const more = Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          writer.append({ actor: "during", face: "code", action: "view", target: null, detail: { i } }),
        ),
      );
      const verdicts = await Promise.all([log.verify(), log.verify(), more.then(() => log.verify())]);
      for (const v of verdicts) expect(v).toMatchObject({ ok: true });
      expect(verdicts[2]).toMatchObject({ ok: true, entries: 1800, trimmed: 0 });
    } finally {
      await store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// A store that is down, and a head that never stops moving.
// ---------------------------------------------------------------------------------------

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a store that is down", () => {
  it("nothing listening: appends and acts reject with STORE_UNAVAILABLE, and no act is attempted", async () => {
    const store = new ObservedRedis({
      connection: `redis://127.0.0.1:${await closedPort()}`,
      prefix: prefix("audit-down"),
    });
    try {
      const log = new AuditLog(store, retention.auditMs, AUDIT_KEYS);
      const service = adminOver(store, log);
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 20 }, (_, i) =>
          log.append({ actor: "t", face: "code", action: "view", target: null, detail: { i } }),
        ),
        service.issue({ did: did(), kind: "ban", reason: "while down" }, MOD),
        service.forget(did(), MOD, { includingSanctions: true }),
      ]);
      for (const o of outcomes) {
        expect(o.status).toBe("rejected");
        const reason = (o as PromiseRejectedResult).reason as WardenError;
        expect(reason).toBeInstanceOf(WardenError);
        expect(reason.code).toBe("STORE_UNAVAILABLE");
      }
      expect(store.acts).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("cut while in use: pending appends reject with STORE_UNAVAILABLE; once back, the chain goes on intact", async () => {
    // The test holds the connection (the store never closes one it was given), so that it can cut it.
    const connection = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
    connection.on("error", () => {});
    const store = new RedisStore({ connection, prefix: prefix("audit-cut") });
    await store.connect();
    try {
      const log = new AuditLog(store, retention.auditMs, AUDIT_KEYS);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          log.append({ actor: "before", face: "code", action: "view", target: null, detail: { i } }),
        ),
      );
      connection.disconnect();
      const during = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          log.append({ actor: "during", face: "code", action: "view", target: null, detail: { i } }),
        ),
      );
      expect(during.map((o) => (o.status === "rejected" ? (o.reason as WardenError).code : "fulfilled"))).toEqual(
        Array(30).fill("STORE_UNAVAILABLE"),
      );
      await connection.connect();
      const after = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          log.append({ actor: "after", face: "code", action: "view", target: null, detail: { i } }),
        ),
      );
      expect(after.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 11 + i));
      expect(await log.verify()).toMatchObject({ ok: true, entries: 20, trimmed: 0 });
    } finally {
      await store.close();
      connection.disconnect();
    }
  });

  const beaten: Record<string, () => WardenStore & { others: number }> = {
    MemoryStore: () => new (Beaten(MemoryStore))(),
    RedisStore: () => new (Beaten(RedisStore))({ connection: redisUrl(), prefix: prefix("audit-beaten") }),
  };
  for (const [name, make] of Object.entries(beaten)) {
    it(`${name}: a head that never stops moving — gives up after contentionTimeoutMs with STORE_UNAVAILABLE, not after a few attempts`, async () => {
      const store = make();
      await store.connect();
      try {
        const log = new AuditLog(store, retention.auditMs, AUDIT_KEYS, Date.now, { contentionTimeoutMs: 400 });
        const started = performance.now();
        const error = await log.append({ actor: "t", face: "code", action: "view", target: null }).then(
          () => null,
          (e: unknown) => e,
        );
        const ms = performance.now() - started;
        expect(error).toBeInstanceOf(WardenError);
        expect((error as WardenError).code).toBe("STORE_UNAVAILABLE");
        expect((error as WardenError).message).toMatch(/kept moving the head for 400 ms \(\d+ attempts\)/);
        const attempts = Number(/\((\d+) attempts\)/.exec((error as WardenError).message)![1]);
        expect(attempts).toBe(store.others);
        expect(attempts).toBeGreaterThanOrEqual(5);
        expect(ms).toBeGreaterThanOrEqual(395);
        expect(ms).toBeLessThan(2000);
        // Nothing of ours went in; the other writer's chain is intact.
        expect(await log.verify()).toMatchObject({ ok: true, entries: attempts, trimmed: 0 });
        figure(`head that never stops moving (${name})`, { contentionTimeoutMs: 400, ms: Math.round(ms), attempts });
      } finally {
        await store.close();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// The admin HTTP API under load: the tester's scenario.
// ---------------------------------------------------------------------------------------

/** A viewer's own token. */
const personal = (name: string) => `viewer-token-of-${name}-0123456789`;

describe("admin API under load (real server, real Redis)", () => {
  let world: World;
  let base: string;
  const worldPrefix = prefix("audit-api");

  beforeAll(async () => {
    world = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: {
        secret: WARDEN_SECRET,
        store: redisUrl(),
        prefix: worldPrefix,
        logger: { info() {}, warn() {}, error() {} },
      },
      // One named token per person: the actor comes from the credential (the header is ignored).
      admin: {
        moderatorTokens: [{ name: "mod-in-the-middle", token: MODERATOR }],
        viewerTokens: [
          { name: "checker", token: VIEWER },
          ...Array.from({ length: 300 }, (_, i) => ({ name: `v${i}`, token: personal(`v${i}`) })),
          ...Array.from({ length: 200 }, (_, i) => ({ name: `s${i}`, token: personal(`s${i}`) })),
        ],
      },
    });
    await world.warden.ready();
    base = `http://127.0.0.1:${world.port}/warden/api`;
  });

  afterAll(async () => {
    await world?.close();
  });

  it("300 viewer look-ups + 200 SSE connects + a moderator ban in the middle: 0 × 500, every act has its entry, verify ok", async () => {
    const LOOKUPS = 300;
    const FEEDS = 200;
    const sub = `audit-load-${worldPrefix}`;
    const room = await client(world.port, sub, "Loaded").create("world");
    const seen = observe(room);
    const target = world.warden.digitalId(sub);
    await waitFor(async () => (await world.warden.sessions(target)).length === 1, "the player's binding");

    const auth = (token: string, actor: string) => ({
      authorization: `Bearer ${actor === "mod-in-the-middle" || actor === "checker" ? token : personal(actor)}`,
      // Ignored: a header naming someone else changes no entry.
      "x-warden-actor": "someone-else",
    });
    const lookup = async (i: number) => {
      const res = await fetch(`${base}/identities?q=${target}`, { headers: auth(VIEWER, `v${i}`) });
      const body = (await res.json()) as { identities?: { did: string }[] };
      return { kind: "lookup", status: res.status, found: body.identities?.length ?? -1 };
    };
    const controllers: AbortController[] = [];
    const connect = async (i: number) => {
      const controller = new AbortController();
      controllers.push(controller);
      const res = await fetch(`${base}/feed`, { headers: auth(VIEWER, `s${i}`), signal: controller.signal });
      if (res.status !== 200) return { kind: "feed", status: res.status, connected: false };
      const reader = res.body!.getReader();
      let text = "";
      while (!text.includes(": connected")) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      return { kind: "feed", status: res.status, connected: text.includes(": connected") };
    };
    const ban = async () => {
      const res = await fetch(`${base}/identities/${target}/sanctions`, {
        method: "POST",
        headers: { ...auth(MODERATOR, "mod-in-the-middle"), "content-type": "application/json" },
        body: JSON.stringify({ kind: "ban", duration: "1h", reason: "banned mid-burst" }),
      });
      return { kind: "ban", status: res.status, sanction: ((await res.json()) as { sanction?: Sanction }).sanction };
    };

    const started = performance.now();
    const requests: Promise<{ kind: string; status: number; [k: string]: unknown }>[] = [];
    for (let i = 0; i < Math.max(LOOKUPS, FEEDS); i++) {
      if (i < LOOKUPS) requests.push(lookup(i));
      if (i < FEEDS) requests.push(connect(i));
      if (i === Math.floor(LOOKUPS / 2)) requests.push(ban());
    }
    const results = await Promise.all(requests);
    const ms = Math.round(performance.now() - started);
    for (const c of controllers) c.abort();

    const statuses: Record<string, number> = {};
    for (const r of results) statuses[`${r.kind} ${r.status}`] = (statuses[`${r.kind} ${r.status}`] ?? 0) + 1;
    figure("admin API burst", { lookups: LOOKUPS, feeds: FEEDS, bans: 1, ms, statuses });
    expect(statuses).toEqual({ "lookup 200": LOOKUPS, "feed 200": FEEDS, "ban 201": 1 });
    expect(results.filter((r) => r.kind === "feed").every((r) => r.connected === true)).toBe(true);
    expect(results.filter((r) => r.kind === "lookup").every((r) => r.found === 1)).toBe(true);

    // The ban was enforced…
    const banned = results.find((r) => r.kind === "ban")!.sanction as Sanction;
    expect((await seen.left).code).toBe(4403);
    // …and every act has exactly its entry.
    const entries = await allEntries(world.warden.store);
    const count = (pred: (e: AuditEntry) => boolean) => entries.filter(pred).length;
    for (let i = 0; i < LOOKUPS; i++)
      expect(count((e) => e.actor === `api:viewer:v${i}` && e.action === "lookup" && e.target === target)).toBe(1);
    for (let i = 0; i < FEEDS; i++)
      expect(count((e) => e.actor === `api:viewer:s${i}` && e.action === "view" && e.detail.what === "live feed")).toBe(
        1,
      );
    const banEntries = entries.filter((e) => e.action === "issue");
    expect(banEntries).toHaveLength(1);
    expect(banEntries[0]).toMatchObject({
      actor: "api:moderator:mod-in-the-middle",
      target,
      detail: { sanctionId: banned.id, kind: "ban", end: banned.end },
    });
    expect(entries.some((e) => "failed" in e.detail)).toBe(false);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
    expect(entries.length).toBe(LOOKUPS + FEEDS + 1);

    const verify = await fetch(`${base}/audit/verify`, { headers: auth(VIEWER, "checker") });
    expect(verify.status).toBe(200);
    expect(await verify.json()).toMatchObject({ ok: true, entries: LOOKUPS + FEEDS + 1, trimmed: 0 });
  });
});
