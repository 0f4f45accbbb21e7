/**
 * Prometheus metrics (issue 11, part 5) and the sanction log line (part 6), end to end: a
 * real world on real Redis, real SDK clients sending clean, abusive and malformed frames,
 * `/warden/metrics` scraped over HTTP and its text parsed. Also: the endpoint's protection
 * (no token, a wrong one, a huge header), two wardens in one process with their own
 * registries, and label cardinality that stays bounded however many rooms and players.
 */
import type { AddressInfo } from "node:net";
import type { Room } from "@colyseus/sdk";
import express from "express";
import { register as globalRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { createWarden, type Warden } from "../src/index.js";
import { DROP_REASONS, GATE_OUTCOMES, SANCTION_ORIGINS } from "../src/metrics/metrics.js";
import { OFFENSE_TRACKS } from "../src/guard/guard.js";
import { SANCTION_KINDS } from "../src/sanctions/model.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, rejection, waitFor, WARDEN_SECRET, type Observed } from "./helpers/world.js";

const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const ADMIN = "metrics-admin-token-0123456789";
const { prefix } = prefixesForFile();
const logs: string[] = [];
const logsB: string[] = [];
const subjects: string[] = [];
let a: World;
/** A second warden in the same process (not a second world: Colyseus's matchmaker is one per process). */
let b: Warden;
let n = 0;
/** A raw account subject: it must never show up in a log line or a metric. */
const nextSubject = (label: string) => {
  const sub = `acct-${label}-${++n}-${prefix}`;
  subjects.push(sub);
  return sub;
};

beforeAll(async () => {
  // The second world must find no token in the environment: its metrics stay off.
  delete process.env.WARDEN_METRICS_TOKEN;
  const capture = (into: string[]) => ({
    info: (m: string) => into.push(m),
    warn: (m: string) => into.push(m),
    error: (m: string) => into.push(m),
  });
  a = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 0,
    metricsToken: METRICS_TOKEN,
    admin: { adminTokens: [{ name: "root", token: ADMIN }] },
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: prefix("metrics-a"),
      logger: capture(logs),
      policy: {
        tracks: {
          spam: { halfLifeMs: "10m", ladder: [{ at: 1000, kind: "warn" }] },
          malformed: { halfLifeMs: "10m", ladder: [{ at: 3, kind: "warn" }] },
          abuse: { halfLifeMs: "10m", ladder: [{ at: 1000, kind: "warn" }] },
        },
      },
    },
  });
  b = createWarden({ secret: WARDEN_SECRET, store: redisUrl(), prefix: prefix("metrics-b"), logger: capture(logsB) });
  await a.warden.ready();
  await b.ready();
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

/** One sample of the exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** GET /warden/metrics of the world with the given Authorization header (or none). */
async function scrapeRaw(world: World, authorization?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${world.port}/warden/metrics`, {
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function scrape(): Promise<Sample[]> {
  const res = await scrapeRaw(a, `Bearer ${METRICS_TOKEN}`);
  expect(res.status).toBe(200);
  return parse(await res.text());
}

/** The value of one series (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

async function join(sub: string, roomId?: string): Promise<{ room: Room; seen: Observed; did: string }> {
  const c = client(a.port, sub);
  const room = roomId ? await c.joinById(roomId) : await c.create("world");
  const seen = observe(room);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return { room, seen, did: a.warden.digitalId(sub) };
}

/** Sends a chat marker and waits for its echo: every frame sent before it was handled. */
async function settle(p: { room: Room; seen: Observed }, marker: string): Promise<void> {
  p.room.send("chat", { text: marker });
  await waitFor(() => p.seen.chats.some((c) => c.text === marker), `the echo of ${marker}`);
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${a.port}/warden/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

describe("what the metrics count", () => {
  it("clean frames are inspected and none dropped; the join gate is timed", async () => {
    const clean = await join(nextSubject("clean"));
    const before = await scrape();
    for (let i = 0; i < 10; i++) clean.room.send("move", { x: i, y: i });
    await settle(clean, "clean marker");
    const after = await scrape();
    // 10 moves and the marker, nothing else.
    expect(value(after, "warden_frames_inspected_total") - value(before, "warden_frames_inspected_total")).toBe(11);
    for (const reason of [...Object.keys(DROP_REASONS), "disagreement"])
      expect(value(after, "warden_frames_dropped_total", { reason })).toBe(
        value(before, "warden_frames_dropped_total", { reason }),
      );
    expect(value(after, "warden_join_gate_seconds_count", { outcome: "admitted" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "warden_live_sessions")).toBeGreaterThanOrEqual(1);
    await clean.room.leave();
  });

  it("malformed and abusive frames are dropped by reason, offenses and a policy sanction appear with their labels", async () => {
    const offender = await join(nextSubject("offender"));
    const before = await scrape();
    offender.room.send("teleport", { x: 1 });
    offender.room.send("teleport", { x: 2 });
    offender.room.send("chat", { text: "x".repeat(3000) });
    offender.room.send("chat", { text: "what the fuck is this" });
    await settle(offender, "offender marker");
    // Three malformed events reach the ladder's warn at 3 points.
    await waitFor(() => offender.seen.notices.some((n) => n.kind === "warn"), "the policy's warning");
    await a.warden.recorder.drain();
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    expect(delta("warden_frames_inspected_total")).toBe(5);
    expect(delta("warden_frames_dropped_total", { reason: "unknown_type" })).toBe(2);
    expect(delta("warden_frames_dropped_total", { reason: "oversized" })).toBe(1);
    expect(delta("warden_frames_dropped_total", { reason: "abusive" })).toBe(1);
    expect(delta("warden_frames_dropped_total", { reason: "rate" })).toBe(0);
    expect(delta("warden_offenses_total", { track: "malformed", detector: "payload" })).toBe(3);
    expect(delta("warden_offenses_total", { track: "abuse", detector: "chat" })).toBe(1);
    expect(delta("warden_sanctions_total", { kind: "warn", origin: "policy" })).toBe(1);
    // Recorded in batches: the flush histogram saw them, nothing overflowed or failed.
    expect(value(after, "warden_recorder_flush_seconds_count", { result: "ok" })).toBeGreaterThan(0);
    expect(value(after, "warden_recorder_flush_seconds_bucket", { result: "ok", le: "+Inf" })).toBe(
      value(after, "warden_recorder_flush_seconds_count", { result: "ok" }),
    );
    expect(delta("warden_recorder_recorded_events_total")).toBe(4);
    expect(value(after, "warden_recorder_overflowed_events_total")).toBe(0);
    expect(value(after, "warden_recorder_failed_batches_total")).toBe(0);
    expect(value(after, "warden_recorder_buffered_events")).toBe(0);
    // The warning reached the offender's live session here: its propagation was observed.
    expect(delta("warden_sanction_propagation_seconds_count", { kind: "warn" })).toBe(1);
    await offender.room.leave();
  });

  it("a flood is dropped as rate, a staff mute counts as staff, its audit entry is counted, muted chat is dropped as muted", async () => {
    const player = await join(nextSubject("flooder"));
    const before = await scrape();
    for (let i = 0; i < 45; i++) player.room.send("move", { x: i, y: 0 });
    await settle(player, "flood marker");
    let after = await scrape();
    expect(value(after, "warden_frames_inspected_total") - value(before, "warden_frames_inspected_total")).toBe(46);
    const rate =
      value(after, "warden_frames_dropped_total", { reason: "rate" }) -
      value(before, "warden_frames_dropped_total", { reason: "rate" });
    // The move bucket holds 30 (refilled at 15/s while the burst goes out): most of the other 15 are dropped.
    expect(rate).toBeGreaterThanOrEqual(5);
    expect(rate).toBeLessThanOrEqual(15);

    const issued = await api("POST", `/identities/${player.did}/sanctions`, {
      kind: "mute",
      duration: "10m",
      reason: "calm down, please",
    });
    expect(issued.status).toBe(201);
    await waitFor(() => player.seen.notices.some((n) => n.kind === "mute"), "the mute notice");
    // Muted chat gets no echo: wait for the drop to be counted (and then check it is counted once).
    player.room.send("chat", { text: "can anyone hear me?" });
    const muted = (samples: Sample[]) => value(samples, "warden_frames_dropped_total", { reason: "muted" });
    await waitFor(async () => muted(await scrape()) > muted(before), "the muted drop");
    after = await scrape();
    expect(
      value(after, "warden_frames_dropped_total", { reason: "muted" }) -
        value(before, "warden_frames_dropped_total", { reason: "muted" }),
    ).toBe(1);
    expect(
      value(after, "warden_sanctions_total", { kind: "mute", origin: "staff" }) -
        value(before, "warden_sanctions_total", { kind: "mute", origin: "staff" }),
    ).toBe(1);
    expect(value(after, "warden_sanction_propagation_seconds_count", { kind: "mute" })).toBe(1);
    // The act was audited before it was stored: at least its entry was appended by this process.
    expect(value(after, "warden_audit_appends_total")).toBeGreaterThan(value(before, "warden_audit_appends_total"));
    const appends = value(after, "warden_audit_appends_total");
    const lookedUp = await api("GET", `/identities/${player.did}`);
    expect(lookedUp.status).toBe(200);
    expect(value(await scrape(), "warden_audit_appends_total")).toBe(appends + 1);
    await player.room.leave();
  });

  it("one log line per sanction: pseudonymous ID, kind, reason code, origin; never an account ID or a name", async () => {
    const target = await join(nextSubject("logged"));
    const issued = await api("POST", `/identities/${target.did}/sanctions`, {
      kind: "freeze",
      duration: "5m",
      reason: "you were standing on acct-secret-name",
    });
    expect(issued.status).toBe(201);
    await waitFor(() => target.seen.notices.some((n) => n.kind === "freeze"), "the freeze notice");
    // A frozen player's move is dropped as frozen, once per move.
    const frozen = async () => value(await scrape(), "warden_frames_dropped_total", { reason: "frozen" });
    const frozenBefore = await frozen();
    target.room.send("move", { x: 5, y: 5 });
    target.room.send("move", { x: 6, y: 6 });
    await settle(target, "frozen marker");
    expect(await frozen()).toBe(frozenBefore + 2);
    const lines = logs.filter((l) => l.startsWith("sanction issued:"));
    // Every sanction issued in this world so far (policy warn, staff mute, this freeze): one line each.
    const dids = subjects.map((s) => a.warden.digitalId(s));
    const sanctions = (await Promise.all(dids.map((d) => a.warden.sanctions.history(d)))).flat();
    expect(sanctions.length).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBe(sanctions.length);
    for (const s of sanctions) expect(lines.filter((l) => l.includes(`id=${s.id}`))).toHaveLength(1);
    const freeze = lines.find((l) => l.includes(`did=${target.did}`))!;
    expect(freeze).toMatch(
      new RegExp(`^sanction issued: did=${target.did} kind=freeze reason=free_text origin=staff until=\\S+Z id=`),
    );
    // A policy sanction names the rule its track breaks (the code of conduct's id), not the track.
    const rule = a.warden.options.conduct.ruleForTrack("malformed")?.id;
    expect(rule).toMatch(/^[a-z]/);
    expect(lines.find((l) => l.includes("kind=warn"))).toContain(`reason=${rule} origin=policy`);
    // Never a raw account ID, the moderator's free text or the staff member's name — in any line at all.
    for (const line of logs) {
      for (const sub of subjects) expect(line).not.toContain(sub);
      expect(line).not.toContain("acct-secret-name");
    }
    for (const line of lines) expect(line).not.toContain("root");
    await target.room.leave();
  });
});

describe("join gate and propagation", () => {
  it("a ban reaches the live session (propagation observed as ban) and the banned join is timed as banned", async () => {
    const sub = nextSubject("banned");
    const player = await join(sub);
    const before = await scrape();
    const issued = await api("POST", `/identities/${player.did}/sanctions`, {
      kind: "ban",
      duration: "10m",
      reason: "cheating",
    });
    expect(issued.status).toBe(201);
    expect((await player.seen.left).code).toBe(4403);
    const refused = await rejection(client(a.port, sub).create("world"));
    expect(refused.code).toBe(4403);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    expect(delta("warden_sanction_propagation_seconds_count", { kind: "ban" })).toBe(1);
    expect(delta("warden_join_gate_seconds_count", { outcome: "banned" })).toBe(1);
    expect(delta("warden_join_gate_seconds_count", { outcome: "admitted" })).toBe(0);
    expect(delta("warden_sanctions_total", { kind: "ban", origin: "staff" })).toBe(1);
  });
});

describe("the endpoint's protection", () => {
  it("refuses a request without a token, with a wrong one, or with a token cut or padded (401)", async () => {
    for (const header of [
      undefined,
      "",
      `Bearer ${METRICS_TOKEN}x`,
      `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
      `bearer ${METRICS_TOKEN}`,
      `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString("base64")}`,
      `Bearer ${METRICS_TOKEN} ${METRICS_TOKEN}`,
      `Bearer ${ADMIN}`,
    ]) {
      const res = await scrapeRaw(a, header);
      expect(res.status, String(header)).toBe(401);
      const text = await res.text();
      expect(text).not.toContain("warden_");
    }
    const ok = await scrapeRaw(a, `Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    // Colyseus's any-origin CORS header is removed: no page elsewhere may read the metrics.
    expect(ok.headers.get("access-control-allow-origin")).toBeNull();
    await ok.text();
  });

  it("hostile: a huge Authorization header is refused; a header too large for Node is refused before us; the server serves on", async () => {
    const big = await scrapeRaw(a, `Bearer ${"A".repeat(12_000)}`);
    expect(big.status).toBe(401);
    await big.text();
    // Over Node's 16 KiB header limit: answered 431 by the HTTP server itself (or the socket cut).
    const huge = await scrapeRaw(a, `Bearer ${"A".repeat(40_000)}`).then(
      (r) => r.status,
      () => 0,
    );
    expect([0, 431]).toContain(huge);
    expect((await scrapeRaw(a, `Bearer ${METRICS_TOKEN}`)).status).toBe(200);
  });

  it("off by default: metricsRoutes() without a token (none in the environment either) serves nothing unless public", async () => {
    // The routers of the second warden on an express app of their own (real HTTP).
    const app = express();
    app.use("/closed", b.metricsRoutes());
    app.use("/open", b.metricsRoutes({ public: true }));
    app.use("/guarded", b.metricsRoutes({ token: METRICS_TOKEN }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const closed = await fetch(`http://127.0.0.1:${port}/closed/`);
      expect(closed.status).toBe(404);
      expect(await closed.text()).not.toContain("warden_");
      expect((await fetch(`http://127.0.0.1:${port}/guarded/`)).status).toBe(401);
      const open = await fetch(`http://127.0.0.1:${port}/open/`);
      expect(open.status).toBe(200);
      expect(await open.text()).toContain("warden_frames_inspected_total");
      expect((await fetch(`http://127.0.0.1:${port}/open/nothing-here`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(logsB.some((l) => l.startsWith("metrics disabled"))).toBe(true);
    expect(() => b.metricsRoutes({ token: "short" })).toThrow(/16 to 512/);
    expect(() => b.metricsRoutes({ token: `${"x".repeat(20)} y` })).toThrow(/without spaces/);
  });
});

describe("store errors", () => {
  it("a warden whose store cannot be reached counts its failures", async () => {
    // A real connection refused: nothing listens on port 1.
    const down = createWarden({
      secret: WARDEN_SECRET,
      store: "redis://127.0.0.1:1",
      prefix: prefix("metrics-down"),
      logger: { info() {}, warn() {}, error() {} },
    });
    try {
      const errors = async () => value(parse(await down.metricsRegistry.metrics()), "warden_store_errors_total");
      await waitFor(async () => (await errors()) >= 2, "two counted store failures", 10_000);
      // The same count as stats() (read first: a retry may add one meanwhile, never take one away).
      const counted = down.stats().storeErrors;
      expect(await errors()).toBeGreaterThanOrEqual(counted);
      expect(counted).toBeGreaterThanOrEqual(2);
    } finally {
      await down.close();
    }
  });
});

describe("isolation and cardinality", () => {
  it("two wardens in one process keep separate registries, and neither writes to prom-client's global one", async () => {
    expect(a.warden.metricsRegistry).not.toBe(b.metricsRegistry);
    const inA = parse(await a.warden.metricsRegistry.metrics());
    const inB = parse(await b.metricsRegistry.metrics());
    expect(value(inA, "warden_frames_inspected_total")).toBeGreaterThan(50);
    // Nobody played in the second world.
    expect(value(inB, "warden_frames_inspected_total")).toBe(0);
    expect(value(inB, "warden_sanctions_total", { kind: "warn", origin: "policy" })).toBe(0);
    const global = await globalRegistry.getMetricsAsJSON();
    expect(global.filter((m) => m.name.startsWith("warden_"))).toEqual([]);
  });

  it("hostile: many rooms and players, odd type names: every label value comes from a fixed set", async () => {
    const before = await scrape();
    const players: { room: Room; seen: Observed; did: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const p = await join(nextSubject(`crowd${i}`));
      players.push(p);
      p.room.send(`evil_label_${i}_${p.room.roomId}`, { x: 1 });
      p.room.send("move", { x: i, y: i });
      await settle(p, `crowd marker ${i}`);
    }
    const after = await scrape();
    // Every label name and value is one of the fixed sets: no ID, room, session or type name.
    const allowed: Record<string, Set<string>> = {
      reason: new Set([...Object.keys(DROP_REASONS), "disagreement"]),
      track: new Set(Object.values(OFFENSE_TRACKS).map((t) => t.track)),
      detector: new Set(["flood", "payload", "chat", "colyseus", "report", "evasion"]),
      kind: new Set(SANCTION_KINDS),
      origin: new Set(SANCTION_ORIGINS),
      result: new Set(["ok", "failed"]),
      outcome: new Set(GATE_OUTCOMES),
    };
    for (const s of after) {
      for (const [label, v] of Object.entries(s.labels)) {
        if (label === "le") continue;
        expect(allowed[label], `label ${label} of ${s.name}`).toBeDefined();
        expect(allowed[label]!.has(v), `${s.name}{${label}="${v}"}`).toBe(true);
      }
    }
    // No new series for new players or rooms (a new bucket set only for a new fixed label).
    const series = (samples: Sample[]) =>
      new Set(samples.filter((s) => !s.name.includes("_bucket")).map((s) => `${s.name}${JSON.stringify(s.labels)}`));
    const added = [...series(after)].filter((s) => !series(before).has(s));
    expect(added).toEqual([]);
    const text = await (await scrapeRaw(a, `Bearer ${METRICS_TOKEN}`)).text();
    for (const p of players) {
      expect(text).not.toContain(p.did);
      expect(text).not.toContain(p.room.roomId);
      expect(text).not.toContain(p.room.sessionId);
    }
    expect(text).not.toContain("evil_label");
    expect(value(after, "warden_frames_dropped_total", { reason: "unknown_type" })).toBe(
      value(before, "warden_frames_dropped_total", { reason: "unknown_type" }) + 8,
    );
    for (const p of players) await p.room.leave();
  });
});
