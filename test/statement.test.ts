/**
 * The statement of reasons (issue 10, DSA Art. 17), against a real Colyseus server, real SDK
 * clients and a real Redis: every sanction reaches the player as `warden:notice` with its
 * statement (scope, rule, facts, how it was detected and decided, where and until when to
 * appeal) and a short sentence in the player's locale, before the restriction bites. Forged
 * statements cost nothing but themselves; due-process notices on the bus reach the player's
 * live sessions; the `conduct` and `notices` options are validated like every option.
 */
import type { AddressInfo } from "node:net";
import {
  defineRoom,
  defineServer,
  definePlugins,
  Room,
  type Client as ServerClient,
  type Server,
} from "@colyseus/core";
import { schema, t, type SchemaType } from "@colyseus/schema";
import { Client, type Room as ClientRoom } from "@colyseus/sdk";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarden, type Sanction, type Warden, type WardenNotice, type WardenOptions } from "../src/index.js";
import { resolveOptions } from "../src/options.js";
import { resolveConduct } from "../src/policy/conduct.js";
import { MAX_STATEMENT_FACTS, type StatementFact } from "../src/reviews/model.js";
import { MAX_RECORD_CHARS, parseBusMessage, parseSanction } from "../src/sanctions/codec.js";
import { banMessage } from "../src/sanctions/enforcer.js";
import { draftSanction, MIN_APPEAL_WINDOW_MS, type SanctionRequest } from "../src/sanctions/model.js";
import { NOTICE_KEYS, NoticeText, resolveNotices } from "../src/sanctions/notice.js";
import { SanctionsService } from "../src/sanctions/service.js";
import { RedisKeys } from "../src/stores/redis/keys.js";
import { formatInstant } from "../src/util/time.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { JWT_SECRET, waitFor } from "./helpers/world.js";

const DAY = 86_400_000;
const Avatar = schema({ x: t.number(), restriction: t.string() }, "StatementAvatar");
const State = schema({ avatars: t.map(Avatar) }, "StatementState");
type State = SchemaType<typeof State>;
type AvatarType = SchemaType<typeof Avatar>;

const prefix = uniquePrefix("statement");
const keys = new RedisKeys(prefix);
const quiet = { info() {}, warn() {}, error() {} };
const SECRET = "statement-secret-0123456789";
let warden: Warden;
let server: Server;
let port: number;
let redis: Redis;
let account = 0;
const nextAccount = () => `statement-${++account}-${prefix}`;
/** What the server did, per session, in order: notices sent, restrictions written, chats handled, chats dropped. */
const serverLog = new Map<string, string[]>();
const logOf = (sessionId: string): string[] => {
  let log = serverLog.get(sessionId);
  if (log === undefined) serverLog.set(sessionId, (log = []));
  return log;
};

beforeAll(async () => {
  redis = new Redis(redisUrl());
  const avatars = new Map<string, AvatarType>();
  warden = createWarden({
    secret: SECRET,
    store: redisUrl(),
    prefix,
    restrictionField: {
      // The avatar, seen through a proxy that logs when the warden writes the restriction.
      avatarOf: (_room, client) => {
        const avatar = avatars.get(client.sessionId);
        if (avatar === undefined) return undefined;
        return new Proxy(avatar, {
          get: (target, key) => (target as unknown as Record<string | symbol, unknown>)[key],
          set: (target, key, value) => {
            logOf(client.sessionId).push(`restriction:${String(value)}`);
            (target as unknown as Record<string | symbol, unknown>)[key] = value;
            return true;
          },
        });
      },
    },
    guard: {
      frames: { rate: 1000, burst: 2000 },
      // `spamme` floods at once: the second one within a second is a `rate` offense on the spam track.
      flood: { types: { spamme: { rate: 1, burst: 1 }, chat: { rate: 1000, burst: 2000 } } },
    },
    // The first spam offense mutes (the default ladder warns first).
    policy: { tracks: { spam: { ladder: [{ at: 1, kind: "mute", duration: "5m" }] }, malformed: false } },
    notices: { locales: { "en-GB": { "sanction.warn": "Mind how you go: {reason}." } } },
    logger: quiet,
  });

  class Arena extends Room<{ state: State }> {
    // Every claim of the token (the locale claim included) reaches `identify`.
    static override async onAuth(token: string) {
      return jwt.verify(token, JWT_SECRET, { algorithms: ["HS256"] });
    }
    override plugins = definePlugins([warden.plugin()]);
    override state = new State();
    override messages = {
      chat: (client: ServerClient, message: { n?: number }) => {
        logOf(client.sessionId).push(`chat:${message?.n}`);
        client.send("echo", { n: message?.n });
      },
      spamme: () => {},
      marker: (client: ServerClient, message: { n?: number }) => client.send("marker", { n: message?.n }),
    };
    override onJoin(client: ServerClient) {
      const avatar = new Avatar();
      avatar.x = 0;
      avatar.restriction = "";
      this.state.avatars.set(client.sessionId, avatar);
      avatars.set(client.sessionId, avatar);
      // Runs after the plugin's onJoin: from here on, every notice the warden sends is logged in order.
      const send = client.send.bind(client);
      client.send = ((type: string, message: unknown, options?: unknown) => {
        if (type === "warden:notice") logOf(client.sessionId).push(`notice:${(message as WardenNotice).kind}`);
        return (send as (...args: unknown[]) => void)(type, message, options);
      }) as typeof client.send;
    }
    override onLeave(client: ServerClient) {
      this.state.avatars.delete(client.sessionId);
      avatars.delete(client.sessionId);
    }
  }

  server = defineServer({
    rooms: { arena: defineRoom(Arena) },
    transport: new WebSocketTransport(),
    greet: false,
    gracefullyShutdown: false,
  });
  await server.listen(0);
  port = (server.transport.server!.address() as AddressInfo).port;
  await warden.ready();
  // Every muted chat the guard drops asks the enforcer to remind the player: log it.
  const remind = warden.enforcer.remind.bind(warden.enforcer);
  warden.enforcer.remind = (session, kind) => {
    logOf(session.sessionId).push(`drop:${kind}`);
    remind(session, kind);
  };
});

afterAll(async () => {
  await server?.gracefullyShutdown(false);
  await warden?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

interface Player {
  sub: string;
  room: ClientRoom<State>;
  notices: WardenNotice[];
  /** What the client saw, in order: `notice:<kind>`, `echo:<n>`, `state:<restriction>`, `left:<code>`. */
  log: string[];
  left: Promise<number>;
}

async function join(
  sub: string,
  options: Record<string, unknown> = {},
  claims: Record<string, unknown> = {},
): Promise<Player> {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = jwt.sign({ sub, name: sub, ...claims }, JWT_SECRET, { algorithm: "HS256" });
  const room = await c.create<State>("arena", options);
  room.reconnection.enabled = false;
  const player: Player = { sub, room, notices: [], log: [], left: undefined as never };
  room.onMessage("warden:notice", (notice: WardenNotice) => {
    player.notices.push(notice);
    player.log.push(`notice:${notice.kind}`);
  });
  room.onMessage("echo", (m: { n: number }) => player.log.push(`echo:${m.n}`));
  room.onMessage("*", () => {});
  let restriction = "";
  room.onStateChange(() => {
    const now = (room.state as unknown as State).avatars?.get(room.sessionId)?.restriction ?? "";
    if (now !== restriction) player.log.push(`state:${now}`);
    restriction = now;
  });
  player.left = new Promise((resolve) =>
    room.onLeave((code: number) => {
      player.log.push(`left:${code}`);
      resolve(code);
    }),
  );
  await waitFor(() => room.state?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return player;
}

async function issue(sub: string, request: Partial<SanctionRequest>): Promise<Sanction> {
  const result = await warden.sanctions.issue({
    did: warden.digitalId(sub),
    kind: "warn",
    reason: "test",
    by: "test",
    ...request,
  } as SanctionRequest);
  if (result.status !== "issued") throw new Error(`not issued: ${result.reason}`);
  return result.sanction;
}

/** Sends a marker and waits for it to come back: every frame sent before it was handled. */
async function barrier(player: Player): Promise<void> {
  const n = Math.random();
  let back = false;
  const off = player.room.onMessage("marker", (m: { n: number }) => {
    if (m.n === n) back = true;
  });
  player.room.send("marker", { n });
  await waitFor(() => back, "the marker");
  off();
}

const leave = async (...players: Player[]) => {
  for (const p of players) await p.room.leave().catch(() => undefined);
};

const SENTENCE_TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/;

describe("a policy sanction reaches the player with its statement of reasons", () => {
  it("a policy mute: notice with scope, rule, the event, automated detection and decision, appeal handle and a six-month deadline, and a readable sentence", async () => {
    const player = await join(nextAccount());
    const started = Date.now();
    // Chat flows all along (numbered); `spamme` floods, and the spam track's first step mutes.
    let n = 0;
    const chatter = setInterval(() => player.room.send("chat", { n: ++n }), 10);
    try {
      await new Promise((r) => setTimeout(r, 60));
      for (let i = 0; i < 3; i++) player.room.send("spamme", {});
      await waitFor(() => player.notices.some((x) => x.kind === "mute"), "the mute notice", 10_000);
      await waitFor(() => player.log.includes("state:muted"), "the restriction in state");
      // Keep chatting a little: these are dropped by the mute.
      const sentAtNotice = n;
      await waitFor(() => n > sentAtNotice + 10, "more chat after the mute");
    } finally {
      clearInterval(chatter);
    }
    await barrier(player);

    const notice = player.notices.find((x) => x.kind === "mute")!;
    const did = warden.digitalId(player.sub);
    expect(notice.sanctionId?.startsWith(`${did}.`)).toBe(true);
    expect(notice.locale).toBe("en");
    expect(notice.until).toBeGreaterThan(started + 4 * 60_000);
    const st = notice.statement!;
    expect(st.scope).toEqual({ capabilities: ["chat"], rooms: "all" });
    expect(st.rule).toMatchObject({ id: "spam", title: "No spam or flooding" });
    expect(st.facts.reports).toBe(0);
    expect(st.facts.events).toHaveLength(1);
    expect(st.facts.events[0]).toMatchObject({ detector: "flood", kind: "rate", track: "spam" });
    expect(st.facts.events[0]!.evidence).toMatchObject({ type: "spamme" });
    expect(st.facts.events[0]!.at).toBeGreaterThanOrEqual(started - 1000);
    expect(st.automated).toEqual({ detection: true, decision: true });
    expect(st.decidedBy).toBe("policy");
    expect(st.appeal.handle).toBe(notice.sanctionId);
    expect(st.appeal.until - Date.now()).toBeGreaterThanOrEqual(183 * DAY - 60_000);
    expect(st.ladder).toEqual({ track: "spam", step: 0 });
    // The sentence: what, until when, why, how decided, how to appeal.
    expect(notice.message).toMatch(
      new RegExp(
        `^You are muted until ${SENTENCE_TIME.source}: automatic: spam \\(rate\\)\\. Rule broken: No spam or flooding\\. Decided automatically\\. You can appeal until ${SENTENCE_TIME.source} \\(reference ${notice.sanctionId!.replace(".", "\\.")}\\)\\.$`,
      ),
    );
    expect(notice.message).toContain(formatInstant(st.appeal.until, "readable"));
    // The stored sanction carries the same statement (a player can fetch it later).
    const stored = await warden.sanctions.find(notice.sanctionId!);
    expect(stored?.statement).toEqual(st);

    // Before the restriction bites, on the server: the notice is sent before the avatar's restriction
    // is written and before the first chat is dropped; no chat is handled after it.
    const log = logOf(player.room.sessionId);
    const noticeAt = log.indexOf("notice:mute");
    expect(noticeAt).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("restriction:muted")).toBeGreaterThan(noticeAt);
    const firstDrop = log.indexOf("drop:mute");
    expect(firstDrop).toBeGreaterThan(noticeAt);
    expect(log.slice(noticeAt).filter((e) => e.startsWith("chat:"))).toEqual([]);
    expect(log.slice(0, noticeAt).filter((e) => e.startsWith("drop:"))).toEqual([]);
    expect(log.slice(0, noticeAt).filter((e) => e.startsWith("chat:")).length).toBeGreaterThan(0);
    // And on the client: the notice came before the state change, and no chat echoed after it.
    const seen = player.log.indexOf("notice:mute");
    expect(player.log.indexOf("state:muted")).toBeGreaterThan(seen);
    expect(player.log.slice(seen).filter((e) => e.startsWith("echo:"))).toEqual([]);
    expect(player.log.slice(0, seen).filter((e) => e.startsWith("echo:")).length).toBeGreaterThan(0);
    await leave(player);
  }, 20_000);

  it("a moderator's ban: a notice with automated.decision false, then the socket closes with 4403", async () => {
    const player = await join(nextAccount());
    const ban = await issue(player.sub, {
      kind: "ban",
      duration: 3_600_000,
      reason: "aimbot",
      by: "api:moderator",
      grounds: { rule: warden.options.conduct.rule("integrity"), role: "moderator" },
    });
    expect(await player.left).toBe(4403);
    expect(player.log.slice(-2)).toEqual(["notice:ban", "left:4403"]);
    const notice = player.notices.find((x) => x.kind === "ban")!;
    expect(notice.sanctionId).toBe(ban.id);
    expect(notice.statement).toMatchObject({
      scope: { capabilities: ["join"], rooms: "all" },
      rule: { id: "integrity", title: "Play with an unmodified client" },
      facts: { events: [], reports: 0 },
      automated: { detection: false, decision: false },
      decidedBy: "moderator",
      appeal: { handle: ban.id, until: ban.start + MIN_APPEAL_WINDOW_MS },
    });
    expect(notice.message).toBe(
      `You are banned until ${formatInstant(ban.end, "readable")}: aimbot. Rule broken: Play with an unmodified client. Decided by a moderator. You can appeal until ${formatInstant(ban.start + MIN_APPEAL_WINDOW_MS, "readable")} (reference ${ban.id}).`,
    );
    // The join error of the ban stays the short message, with the reason.
    const again = await new Client(`ws://127.0.0.1:${port}`);
    again.auth.token = jwt.sign({ sub: player.sub }, JWT_SECRET, { algorithm: "HS256" });
    const refused = await again.create("arena", {}).then(
      () => null,
      (e: { code?: number; message?: string }) => e,
    );
    expect(refused).toMatchObject({ code: 4403, message: banMessage(ban) });
    expect(Buffer.byteLength(banMessage(ban))).toBeLessThanOrEqual(120);
  });
});

describe("locales", () => {
  it('"de" in the join options gives the German sentence; an unknown locale falls back to en; de-AT to de', async () => {
    const german = await join(nextAccount(), { locale: "de" });
    const klingon = await join(nextAccount(), { locale: "tlh" });
    const austrian = await join(nextAccount(), { locale: "de-AT" });
    const junk = await join(nextAccount(), { locale: { toString: "de" } });
    for (const p of [german, klingon, austrian, junk]) await issue(p.sub, { kind: "warn", reason: "be nice" });
    for (const p of [german, klingon, austrian, junk])
      await waitFor(() => p.notices.some((x) => x.kind === "warn"), "the warn notice");
    const [de, tlh, at, bad] = [german, klingon, austrian, junk].map((p) => p.notices.find((x) => x.kind === "warn")!);
    expect(de!.locale).toBe("de");
    expect(de!.message).toMatch(
      /^Du hast eine Verwarnung erhalten: be nice\. Von einer Person entschieden \(moderator\)\. Du kannst bis \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC Einspruch einlegen \(Referenz [a-z2-7.]+\)\.$/,
    );
    expect(tlh!.locale).toBe("en");
    expect(tlh!.message).toMatch(
      /^You have received a warning: be nice\. Decided by a moderator\. You can appeal until /,
    );
    expect(at!.locale).toBe("de");
    expect(bad!.locale).toBe("en");
    await leave(german, klingon, austrian, junk);
  });

  it("the identity's locale claim applies when the join options name none; the join option wins over it", async () => {
    const claimOnly = await join(nextAccount(), {}, { locale: "fr" });
    const both = await join(nextAccount(), { locale: "es" }, { locale: "fr" });
    const unknownOption = await join(nextAccount(), { locale: "zz" }, { locale: "fr" });
    for (const p of [claimOnly, both, unknownOption]) await issue(p.sub, { kind: "warn", reason: "calme" });
    for (const p of [claimOnly, both, unknownOption])
      await waitFor(() => p.notices.some((x) => x.kind === "warn"), "the warn notice");
    expect(claimOnly.notices[0]!.locale).toBe("fr");
    expect(claimOnly.notices[0]!.message).toMatch(/^Vous avez reçu un avertissement : calme\. /);
    expect(both.notices[0]!.locale).toBe("es");
    expect(both.notices[0]!.message).toMatch(/^Has recibido una advertencia: calme\. /);
    // A join option there are no texts for does not hide the identity's.
    expect(unknownOption.notices[0]!.locale).toBe("fr");
    await leave(claimOnly, both, unknownOption);
  });

  it("an operator template overrides the built-in one for its locale only", async () => {
    const british = await join(nextAccount(), { locale: "en-GB" });
    const american = await join(nextAccount(), { locale: "en-US" });
    for (const p of [british, american]) await issue(p.sub, { kind: "warn", reason: "queue jumping" });
    for (const p of [british, american]) await waitFor(() => p.notices.length > 0, "the warn notice");
    expect(british.notices[0]!.locale).toBe("en-GB");
    expect(british.notices[0]!.message).toMatch(
      /^Mind how you go: queue jumping\. Decided by a moderator\. You can appeal/,
    );
    expect(american.notices[0]!.locale).toBe("en");
    expect(american.notices[0]!.message).toMatch(/^You have received a warning: queue jumping\./);
    await leave(british, american);
  });

  it("a template with an unknown placeholder is refused at createWarden with INVALID_OPTION", () => {
    const refuse = (notices: unknown) => {
      try {
        createWarden({ secret: SECRET, notices, logger: quiet } as WardenOptions);
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error("createWarden accepted it");
    };
    expect(refuse({ locales: { de: { appeal: "Einspruch bis {dedline} ({handle})" } } })).toMatchObject({
      code: "INVALID_OPTION",
      message:
        'createWarden: option "notices.locales.de.appeal" uses the unknown placeholder {dedline} — did you mean {deadline}? (it can use {deadline} or {handle})',
    });
    expect(refuse({ locales: { en: { permanent: "for {ever}" } } }).message).toBe(
      'createWarden: option "notices.locales.en.permanent" uses the unknown placeholder {ever} (it takes no placeholders)',
    );
    expect(refuse({ locales: { en: { "sanction.bann": "x" } } }).message).toBe(
      'createWarden: unknown option "notices.locales.en["sanction.bann"]" — did you mean "notices.locales.en["sanction.ban"]"?',
    );
    expect(refuse({ defaultLocale: "fre" }).message).toBe(
      'createWarden: option "notices.defaultLocale" must be a locale there are templates for, got "fre" — did you mean "fr"?',
    );
    expect(refuse({ locales: { "not a locale": {} } }).message).toMatch(/is not a locale/);
    expect(refuse({ locales: { de: { until: "" } } }).message).toMatch(/must be a non-empty string/);
    expect(refuse({ locales: { de: { until: 5 } } }).code).toBe("INVALID_OPTION");
    expect(refuse({ locale: "de" }).message).toMatch(/did you mean "notices.locales"/);
  });

  it("hostile values under conduct and notices are refused as options, never thrown as anything else", () => {
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwing = Object.defineProperty({}, "x", {
      enumerable: true,
      get: () => {
        throw new Error("getter");
      },
    });
    const hostile: unknown[] = [
      null,
      "x",
      "",
      [],
      0,
      Number.NaN,
      true,
      Symbol("s"),
      () => {},
      new Map(),
      revoked,
      throwing,
    ];
    const paths = [
      ["conduct"],
      ["conduct", "rules"],
      ["conduct", "rules", "spam"],
      ["conduct", "rules", "spam", "url"],
      ["conduct", "tracks"],
      ["conduct", "tracks", "spam"],
      ["notices"],
      ["notices", "defaultLocale"],
      ["notices", "locales"],
      ["notices", "locales", "de"],
      ["notices", "locales", "de", "until"],
    ];
    let refused = 0;
    for (const path of paths)
      for (const value of hostile) {
        const options: Record<string, unknown> = { secret: SECRET, logger: quiet };
        let at = options;
        path.forEach((key, i) => {
          if (i === path.length - 1) at[key] = value;
          else at = (at[key] ??= {}) as Record<string, unknown>;
        });
        try {
          resolveOptions(options as unknown as WardenOptions);
        } catch (error) {
          refused++;
          expect((error as { code?: string }).code, `${path.join(".")} = ${String(typeof value)}`).toBe(
            "INVALID_OPTION",
          );
        }
      }
    expect(refused).toBeGreaterThan(paths.length * hostile.length * 0.8);
  });
});

describe("code of conduct", () => {
  const refuse = (conduct: unknown, policy?: unknown) => {
    try {
      createWarden({ secret: SECRET, conduct, policy, logger: quiet } as WardenOptions);
    } catch (e) {
      return e as { code: string; message: string };
    }
    throw new Error("createWarden accepted it");
  };
  const resolve = (conduct: unknown, policy?: unknown) =>
    resolveOptions({ secret: SECRET, conduct, policy, logger: quiet } as WardenOptions).conduct;

  it("refuses bad rules and track mappings with INVALID_OPTION, naming the path and the nearest name", () => {
    expect(refuse({ tracks: { spma: "spam" } })).toMatchObject({
      code: "INVALID_OPTION",
      message:
        'createWarden: option "conduct.tracks.spma" names a track the policy does not have — did you mean "conduct.tracks.spam"?',
    });
    expect(refuse({ tracks: { spam: "spamming" } }).message).toBe(
      'createWarden: option "conduct.tracks.spam" names the rule "spamming", which does not exist — did you mean "spam"?',
    );
    expect(refuse({ tracks: { abuse: "cheating" } }).message).toBe(
      'createWarden: option "conduct.tracks.abuse" names the rule "cheating", which does not exist (rules: spam, abuse, integrity, reports or evasion)',
    );
    // A mapping to a rule the same options remove is a mapping to an unknown rule.
    expect(refuse({ rules: { abuse: false }, tracks: { abuse: "abuse" } }).message).toMatch(
      /"conduct.tracks.abuse" names the rule "abuse", which does not exist/,
    );
    expect(refuse({ rule: {} }).message).toBe(
      'createWarden: unknown option "conduct.rule" — did you mean "conduct.rules"?',
    );
    expect(refuse({ rules: { spam: { titel: "x", text: "y" } } }).message).toBe(
      'createWarden: unknown option "conduct.rules.spam.titel" — did you mean "conduct.rules.spam.title"?',
    );
    expect(refuse({ rules: { spma: false } }).message).toBe(
      'createWarden: option "conduct.rules.spma" is false, which only removes a default rule, and there is none by this id — did you mean "conduct.rules.spam"?',
    );
    expect(refuse({ rules: { cheating: { title: "No cheats" } } }).message).toBe(
      'createWarden: option "conduct.rules.cheating.text" must be a non-empty string of at most 500 characters, got undefined',
    );
    expect(refuse({ rules: { cheating: { title: "x".repeat(81), text: "t" } } }).message).toMatch(
      /"conduct.rules.cheating.title" must be a non-empty string of at most 80 characters/,
    );
    expect(refuse({ rules: { cheating: { title: "T", text: "t", url: "javascript:alert(1)" } } }).message).toMatch(
      /"conduct.rules.cheating.url" must be an http:\/\/ or https:\/\/ URL/,
    );
    expect(refuse({ rules: { "No Cheats": { title: "T", text: "t" } } }).message).toMatch(/is not a valid rule id/);
    expect(refuse({ tracks: { spam: 3 } }).message).toMatch(/"conduct.tracks.spam" must be the id of a rule, got 3/);
    // Hostile values are refused as options, never thrown as something else.
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const value of [null, "x", [], 3, proxy, new Map(), { rules: null }, { tracks: [] }, { rules: { a: [] } }])
      expect(refuse(value).code).toBe("INVALID_OPTION");
  });

  it("merges over the defaults, maps tracks to rules, and is frozen", () => {
    const defaults = resolve(undefined);
    expect(defaults.rules().map((r) => r.id)).toEqual(["spam", "abuse", "integrity", "reports", "evasion"]);
    expect(defaults.ruleForTrack("malformed")?.title).toBe("Play with an unmodified client");
    expect(defaults.ruleForTrack("reported")?.title).toBe("Respect other players");
    expect(defaults.ruleForTrack("nope")).toBeUndefined();
    expect(Object.isFrozen(defaults)).toBe(true);
    expect(Object.isFrozen(defaults.rule("spam"))).toBe(true);

    const custom = resolve(
      {
        rules: {
          spam: {
            title: "Keep the chat readable",
            text: "One message at a time.",
            url: "https://example.com/rules#spam",
          },
          integrity: false,
          griefing: { title: "No griefing", text: "Do not ruin other players' games on purpose." },
        },
        tracks: { griefing: "griefing" },
      },
      { tracks: { griefing: { ladder: [{ at: 1, kind: "warn" }] } } },
    );
    expect(custom.rules().map((r) => r.id)).toEqual(["spam", "abuse", "reports", "evasion", "griefing"]);
    expect(custom.ruleForTrack("spam")).toEqual({
      id: "spam",
      title: "Keep the chat readable",
      text: "One message at a time.",
      url: "https://example.com/rules#spam",
    });
    // The default mapping of a removed rule goes with it: that track quotes no rule.
    expect(custom.ruleForTrack("malformed")).toBeUndefined();
    expect(custom.ruleForTrack("griefing")?.title).toBe("No griefing");
    expect(resolveConduct(undefined).rule("__proto__")).toBeUndefined();
  });
});

describe("forged statements and notices", () => {
  it("a statement forged into Redis is dropped, and the sanction still applies (mute on join, ban refuses the join)", async () => {
    const sub = nextAccount();
    const did = warden.digitalId(sub);
    const mute = draftSanction({ did, kind: "mute", duration: 600_000, reason: "forged mute", by: "test" }, Date.now());
    const ban = draftSanction(
      { did: warden.digitalId(`${sub}-b`), kind: "ban", duration: 600_000, reason: "forged ban", by: "test" },
      Date.now(),
    );
    const junk: unknown[] = [
      "junk",
      { scope: 1 },
      { ...mute.statement, appeal: { handle: `${did}.aaaaaaaa`, until: Date.now() + DAY } },
      { ...mute.statement, facts: { events: Array.from({ length: 50 }, () => mute.statement!.facts), reports: 0 } },
      { ...mute.statement, decidedBy: "Alice Smith" },
      { ...mute.statement, erased: "yes" },
      { ...mute.statement, rule: { id: "spam", title: "x", text: "y", url: "javascript:alert(1)" } },
    ];
    for (const statement of junk) {
      const parsed = parseSanction(JSON.stringify({ ...mute, statement }));
      expect(parsed).not.toBeNull();
      expect(parsed!.statement).toBeUndefined();
      expect(parsed!.id).toBe(mute.id);
    }
    await redis.hset(
      keys.sanctions(did),
      mute.id,
      JSON.stringify({ ...mute, statement: { scope: "everything", rule: 42 } }),
    );
    await redis.hset(keys.sanctions(ban.did), ban.id, JSON.stringify({ ...ban, statement: ["<script>"] }));

    const player = await join(sub);
    await waitFor(() => player.notices.some((x) => x.kind === "mute"), "the mute notice on join");
    const notice = player.notices.find((x) => x.kind === "mute")!;
    expect(notice.statement).toBeUndefined();
    expect(notice.message).toBe(`You are muted until ${formatInstant(mute.end, "readable")}: forged mute.`);
    await waitFor(() => player.log.includes("state:muted"), "the restriction in state");
    expect((await warden.sanctions.find(mute.id))?.statement).toBeUndefined();

    const banned = new Client(`ws://127.0.0.1:${port}`);
    banned.auth.token = jwt.sign({ sub: `${sub}-b` }, JWT_SECRET, { algorithm: "HS256" });
    const refused = await banned.create("arena", {}).then(
      () => null,
      (e: { code?: number; message?: string }) => e,
    );
    expect(refused).toMatchObject({ code: 4403, message: `banned until ${formatInstant(ban.end)}: forged ban` });

    // The same on the bus: a kick with a junk statement still closes the session.
    const kick = draftSanction({ did, kind: "kick", reason: "bus kick", by: "test" }, Date.now());
    await redis.publish(
      keys.busChannel(),
      JSON.stringify({ type: "issued", sanction: { ...kick, statement: { junk: true } } }),
    );
    expect(await player.left).toBe(4401);
    const kicked = player.notices.find((x) => x.kind === "kick")!;
    expect(kicked.statement).toBeUndefined();
    expect(kicked.message).toBe("You have been removed from the game: bus kick.");
  });

  it("a `notice` bus message reaches every live session of that ID here, in each session's locale, once", async () => {
    const sub = nextAccount();
    const did = warden.digitalId(sub);
    const german = await join(sub, { locale: "de" });
    const english = await join(sub);
    const bystander = await join(nextAccount(), { locale: "de" });
    const sanctionId = `${did}.abcdefgh`;
    const ref = `${sanctionId}.a`;
    const notice = (state: string, key: string, vars: Record<string, unknown> = {}, topic = "appeal") =>
      JSON.stringify({ type: "notice", did, notice: { topic, key, ref, state, vars } });
    // Malformed ones first: dropped by the codec; pub/sub keeps the order, so they are handled by
    // the time the valid one arrives.
    const malformed = [
      notice("upheld", "Appeal.Upheld"),
      notice("upheld", "appeal.upheld", Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`v${i}`, "x"]))),
      notice("upheld", "appeal.upheld", { reason: "x".repeat(201) }),
      notice("upheld", "appeal.upheld", { reason: 3 }),
      notice("upheld", "appeal.upheld", {}, "ban"),
      notice("a-state-that-is-far-too-long", "appeal.upheld"),
      JSON.stringify({
        type: "notice",
        did: "someone",
        notice: { topic: "appeal", key: "appeal.upheld", ref, state: "x", vars: {} },
      }),
      JSON.stringify({
        type: "notice",
        did,
        notice: { topic: "appeal", key: "appeal.upheld", ref: "r".repeat(81), state: "x", vars: {} },
      }),
    ];
    for (const m of malformed) {
      expect(parseBusMessage(m)).toBeNull();
      await redis.publish(keys.busChannel(), m);
    }
    const upheld = notice("upheld", "appeal.upheld", { reason: "the evidence was thin", handle: sanctionId });
    await redis.publish(keys.busChannel(), upheld);
    await redis.publish(keys.busChannel(), upheld);
    await redis.publish(keys.busChannel(), notice("in_review", "appeal.nextgen"));
    await waitFor(() => german.notices.length >= 2 && english.notices.length >= 2, "the notices");
    await barrier(german);
    await barrier(english);
    for (const p of [german, english])
      expect(p.notices.map((x) => `${x.kind}:${x.state}`)).toEqual(["appeal:upheld", "appeal:in_review"]);
    expect(german.notices[0]).toMatchObject({
      kind: "appeal",
      topic: "appeal",
      ref,
      state: "upheld",
      key: "appeal.upheld",
      sanctionId,
      locale: "de",
      reason: "the evidence was thin",
      message: `Deinem Einspruch ${ref} wurde stattgegeben: the evidence was thin.`,
    });
    expect(english.notices[0]!.message).toBe(`Your appeal ${ref} was upheld: the evidence was thin.`);
    // A key this version does not know: a generic sentence about the appeal.
    expect(german.notices[1]!.message).toBe(`Neuigkeiten zu deinem Einspruch ${ref}: in review.`);
    expect(english.notices[1]!.message).toBe(`There is news about your appeal ${ref}: in review.`);
    expect(bystander.notices).toEqual([]);
    // A report receipt, to an ID with a session, with a time var rendered readably.
    await redis.publish(
      keys.busChannel(),
      JSON.stringify({
        type: "notice",
        did,
        notice: {
          topic: "report",
          key: "report.suspended",
          ref: "reporting",
          state: "suspended",
          vars: { until: "2030-01-02T03:04:05.000Z" },
        },
      }),
    );
    await waitFor(() => english.notices.length === 3, "the report notice");
    expect(english.notices[2]).toMatchObject({ kind: "report", topic: "report", ref: "reporting", state: "suspended" });
    expect(english.notices[2]!.sanctionId).toBeUndefined();
    expect(english.notices[2]!.message).toBe(
      "You cannot send reports until 2030-01-02 03:04 UTC: too many of your reports were unfounded.",
    );
    // Applied directly and echoed by the bus: once.
    warden.enforcer.apply({
      type: "notice",
      did,
      notice: { topic: "appeal", key: "appeal.withdrawn", ref, state: "withdrawn", vars: {} },
    });
    await redis.publish(keys.busChannel(), notice("withdrawn", "appeal.withdrawn"));
    await barrier(english);
    await new Promise((r) => setTimeout(r, 100));
    expect(english.notices.filter((x) => x.state === "withdrawn")).toHaveLength(1);
    // No session of the ID here: nothing, and nothing thrown.
    expect(() =>
      warden.enforcer.apply({
        type: "notice",
        did: warden.digitalId(nextAccount()),
        notice: { topic: "report", key: "report.received", ref: "r1", state: "received", vars: {} },
      }),
    ).not.toThrow();
    await leave(german, english, bystander);
  });

  it("a ban whose statement was erased reads 'details erased at your request', never '(erased)'", async () => {
    const did = warden.digitalId(nextAccount());
    const ban = draftSanction({ did, kind: "ban", reason: "cheating", by: "test" }, Date.now());
    const erased = {
      ...ban,
      reason: "(erased)",
      statement: { ...ban.statement!, rule: null, facts: { events: [], reports: 0 }, erased: true as const },
    };
    expect(parseSanction(JSON.stringify(erased))?.statement?.erased).toBe(true);
    expect(banMessage(erased)).toBe("banned permanently: details erased at your request");
    expect(banMessage({ ...ban, reason: "(erased)" })).toBe("banned permanently: details erased at your request");
    const text = new NoticeText();
    expect(text.sanction(erased, "en")).toMatch(
      /^You are banned permanently: details erased at your request\. Decided by a moderator\./,
    );
    expect(text.sanction(erased, "en")).not.toContain("(erased)");
    expect(text.sanction(erased, "fr")).toMatch(
      /^Votre accès au jeu est bloqué définitivement : détails effacés à votre demande\./,
    );
  });
});

describe("draftSanction builds the statement, bounded", () => {
  const did = "a".repeat(26);
  const NOW = Date.UTC(2026, 0, 1);
  const fact = (i: number): StatementFact => ({
    at: NOW - 100_000 + i,
    detector: "flood",
    kind: "rate",
    track: "spam",
    evidence: { n: i },
  });

  it("keeps the newest MAX_STATEMENT_FACTS of 50 facts (given in any order), oldest first", () => {
    const events = Array.from({ length: 50 }, (_, i) => fact(i)).reverse();
    const s = draftSanction(
      { did, kind: "mute", duration: 60_000, reason: "r", by: "policy", grounds: { events } },
      NOW,
    );
    expect(MAX_STATEMENT_FACTS).toBe(5);
    expect(s.statement!.facts.events.map((e) => e.evidence.n)).toEqual([45, 46, 47, 48, 49]);
    expect(s.statement!.automated).toEqual({ detection: true, decision: true });
    expect(s.statement!.decidedBy).toBe("policy");
  });

  it("cuts huge evidence: 8 scalar fields, strings of 200, keys of 40; objects and non-finite numbers go", () => {
    const evidence: Record<string, unknown> = {
      nested: { deep: true },
      list: [1, 2],
      nan: Number.NaN,
      [`${"k".repeat(100)}`]: "v",
      text: "x".repeat(10_000),
      __proto__: "p",
    };
    for (let i = 0; i < 20; i++) evidence[`f${i}`] = i;
    const s = draftSanction(
      {
        did,
        kind: "warn",
        reason: "r",
        by: "api:moderator",
        grounds: { events: [{ ...fact(0), evidence: evidence as never }] },
      },
      NOW,
    );
    const kept = s.statement!.facts.events[0]!.evidence;
    expect(Object.keys(kept)).toHaveLength(8);
    expect(kept["k".repeat(40)]).toBe("v");
    expect((kept.text as string).length).toBe(200);
    expect(kept.nested).toBeUndefined();
    expect(kept.list).toBeUndefined();
    expect(kept.nan).toBeUndefined();
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  it("the scope follows the kind; the appeal handle is the id; the deadline is start + window (at least 183 days)", () => {
    const scopes = Object.fromEntries(
      (["warn", "mute", "freeze", "kick", "ban"] as const).map((kind) => [
        kind,
        draftSanction({ did, kind, reason: "r", by: "t" }, NOW).statement!.scope.capabilities,
      ]),
    );
    expect(scopes).toEqual({ warn: [], mute: ["chat"], freeze: ["input"], kick: ["session"], ban: ["join"] });
    expect(MIN_APPEAL_WINDOW_MS).toBe(183 * DAY);
    const s = draftSanction({ did, kind: "kick", reason: "r", by: "t" }, NOW);
    expect(s.statement!.appeal).toEqual({ handle: s.id, until: NOW + 183 * DAY });
    expect(s.statement!.rule).toBeNull();
    expect(s.statement!.automated).toEqual({ detection: false, decision: false });
    expect(s.statement!.decidedBy).toBe("moderator");
    expect(draftSanction({ did, kind: "kick", reason: "r", by: "t" }, NOW, 365 * DAY).statement!.appeal.until).toBe(
      NOW + 365 * DAY,
    );
    expect(() => draftSanction({ did, kind: "kick", reason: "r", by: "t" }, NOW, 30 * DAY)).toThrow(
      expect.objectContaining({ code: "INVALID_SANCTION" }),
    );
    const service = (appealWindowMs: number) =>
      new SanctionsService(
        warden.store,
        { sanctionsMs: DAY, bindingsMs: DAY },
        { before: () => null, issued: () => {}, revoked: () => {} },
        { appealWindowMs },
      );
    expect(() => service(DAY)).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    expect(service(400 * DAY).appealWindowMs).toBe(400 * DAY);
  });

  it("bounds the rule and the role, and refuses grounds that would tell the player something wrong", () => {
    const s = draftSanction(
      {
        did,
        kind: "ban",
        reason: "r",
        by: "api:admin",
        grounds: {
          rule: { id: "cheating", title: "T".repeat(200), text: "x".repeat(2000), url: "https://example.com/rules" },
          role: "admin",
          reports: 3,
          automatedDetection: true,
          ladder: { track: "abuse", step: 2 },
        },
      },
      NOW,
    );
    expect(s.statement!.rule!.title).toHaveLength(80);
    expect(s.statement!.rule!.text).toHaveLength(500);
    expect(s.statement).toMatchObject({
      facts: { events: [], reports: 3 },
      automated: { detection: true, decision: false },
      decidedBy: "admin",
      ladder: { track: "abuse", step: 2 },
    });
    const refused = (grounds: unknown) => () =>
      draftSanction({ did, kind: "warn", reason: "r", by: "t", grounds: grounds as never }, NOW);
    for (const grounds of [
      "x",
      { rule: { id: "Bad Id", title: "t", text: "t" } },
      { rule: { id: "ok", title: "t", text: "t", url: "javascript:alert(1)" } },
      { rule: { id: "ok", title: "", text: "t" } },
      { role: "Game Master" },
      { reports: -1 },
      { reports: 1.5 },
      { automatedDetection: "yes" },
      { events: "x" },
      { events: [{ at: -1, detector: "d", kind: "k", track: "t", evidence: {} }] },
      { ladder: { track: "spam", step: -1 } },
    ])
      expect(refused(grounds), JSON.stringify(grounds)).toThrow(expect.objectContaining({ code: "INVALID_SANCTION" }));
  });

  it("the largest statement fits a record, and round-trips through the codec unchanged", () => {
    const quoted = '"\\'.repeat(100);
    const evidence = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`${'"'.repeat(39)}${i}`, quoted]));
    const s = draftSanction(
      {
        did,
        kind: "ban",
        duration: 60_000,
        reason: '"'.repeat(500),
        by: '"'.repeat(100),
        grounds: {
          rule: {
            id: "r".repeat(40),
            title: '"'.repeat(80),
            text: '"'.repeat(500),
            url: `https://example.com/${"a".repeat(270)}`,
          },
          events: Array.from({ length: 5 }, (_, i) => ({
            ...fact(i),
            detector: '"'.repeat(40),
            kind: '"'.repeat(40),
            track: '"'.repeat(40),
            evidence,
          })),
          role: "r".repeat(40),
          reports: Number.MAX_SAFE_INTEGER,
          ladder: { track: "t".repeat(32), step: 99 },
        },
      },
      NOW,
    );
    const withRevocation = { ...s, revoked: { at: NOW, by: '"'.repeat(100), reason: '"'.repeat(500) } };
    const json = JSON.stringify({ type: "issued", sanction: withRevocation });
    expect(json.length).toBeLessThanOrEqual(MAX_RECORD_CHARS);
    expect(parseSanction(JSON.stringify(withRevocation))).toEqual(withRevocation);
  });

  it("every built-in locale has every key, and its placeholders are the key's", () => {
    const text = resolveNotices(undefined);
    expect(text.locales()).toEqual(["en", "de", "fr", "es"]);
    for (const locale of text.locales()) {
      const templates = text.templates(locale);
      expect(Object.keys(templates).sort()).toEqual([...NOTICE_KEYS].sort());
      // Re-validating the built-ins as operator templates refuses nothing.
      expect(() => resolveNotices({ locales: { [locale]: templates } })).not.toThrow();
    }
    expect(formatInstant(Date.UTC(2026, 0, 2, 3, 4, 5), "readable")).toBe("2026-01-02 03:04 UTC");
    expect(formatInstant(Number.NaN, "readable")).toBe("(invalid time)");
    expect(formatInstant(8.64e15, "readable")).toBe("+275760-09-13 00:00 UTC");
  });
});
