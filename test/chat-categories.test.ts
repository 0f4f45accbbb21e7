/**
 * Chat categories, tracks and player languages in a real room: real server, real SDK clients,
 * real Redis. The warden maps slurs to their own track ("hate") with a ladder, so the test can
 * see the policy weigh a category differently; Spanish is checked for players whose locale is
 * Spanish only.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import type { OffenseEvent } from "../src/recorder/offense.js";
import { dropPrefix, redisUrl, uniquePrefix } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

let world: World;
let redis: Redis;
const prefix = uniquePrefix("chatcat");
let account = 0;
const nextAccount = () => `cat-${++account}-${prefix}`;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    reconnectSeconds: 0,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix,
      logger: { info() {}, warn() {}, error() {} },
      guard: {
        flood: { types: { chat: { rate: 50, burst: 50 } } },
        chat: {
          playerLanguages: ["es"],
          roomLanguages: { world: ["de"], elsewhere: ["it"] },
          tracks: { slur: "hate", harassment: "harassment" },
        },
      },
      policy: {
        tracks: {
          abuse: { halfLifeMs: "10m", ladder: [{ at: 100, kind: "warn" }] },
          spam: { halfLifeMs: "10m", ladder: [{ at: 100, kind: "warn" }] },
          hate: { halfLifeMs: "10m", ladder: [{ at: 1, kind: "warn" }] },
          harassment: { halfLifeMs: "10m", ladder: [{ at: 100, kind: "warn" }] },
        },
      },
    },
  });
  await world.warden.ready();
});

afterAll(async () => {
  await world?.close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

async function join(sub: string, options: Record<string, unknown> = {}, roomId?: string) {
  const c = client(world.port, sub);
  const room = roomId ? await c.joinById(roomId, options) : await c.create("world", options);
  const seen = observe(room);
  await waitFor(() => (room.state as any)?.avatars?.get(room.sessionId) !== undefined, "own avatar in state");
  return { room, seen, did: world.warden.digitalId(sub) };
}

async function chatEvents(did: string): Promise<OffenseEvent[]> {
  return (await world.warden.store.offensesOf(did, { limit: 100 })).filter((e) => e.kind === "abusive_text");
}

describe("chat categories", () => {
  it("records the category and counts each on its own track; only the slur's track sanctions", async () => {
    const speaker = await join(nextAccount());
    const listener = await join(nextAccount(), {}, speaker.room.roomId);
    const texts = ["you f*cking idiot", "kys", "join discord.gg/freecoins", "what a f4gg0t"];
    for (const text of texts) speaker.room.send("chat", { text });
    speaker.room.send("chat", { text: "clean marker" });
    await waitFor(() => listener.seen.chats.some((c) => c.text === "clean marker"), "the clean marker");
    expect(listener.seen.chats.map((c) => c.text)).toEqual(["clean marker"]);
    await waitFor(async () => (await chatEvents(speaker.did)).length === texts.length, "four chat offenses");
    const byCategory = Object.fromEntries(
      (await chatEvents(speaker.did)).map((e) => [e.evidence.category, { track: e.track, term: e.evidence.term }]),
    );
    expect(byCategory).toEqual({
      profanity: { track: "abuse", term: "fuck" },
      harassment: { track: "harassment", term: "kys" },
      spam: { track: "spam", term: "link" },
      slur: { track: "hate", term: "faggot" },
    });
    // One slur is a warning on "hate"; the profanity and harassment tracks are far from theirs.
    await waitFor(() => speaker.seen.notices.some((n) => n.kind === "warn"), "the warning for the slur");
    const sanctions = await world.warden.sanctions.history(speaker.did);
    expect(sanctions.map((s) => s.kind)).toEqual(["warn"]);
    await speaker.room.leave();
    await listener.room.leave();
  });

  it("checks Spanish for a player whose locale is Spanish, and only for them", async () => {
    const spanish = await join(nextAccount(), { locale: "es-MX" });
    const english = await join(nextAccount(), {}, spanish.room.roomId);
    spanish.room.send("chat", { text: "puta madre" });
    english.room.send("chat", { text: "puta madre" });
    spanish.room.send("chat", { text: "marker es" });
    await waitFor(() => english.seen.chats.some((c) => c.text === "marker es"), "the Spanish marker");
    // The English speaker's "puta madre" went through; the Spanish speaker's did not.
    expect(english.seen.chats.filter((c) => c.text === "puta madre").map((c) => c.from)).toEqual([
      english.room.sessionId,
    ]);
    await waitFor(async () => (await chatEvents(spanish.did)).length === 1, "the Spanish player's offense");
    expect((await chatEvents(spanish.did))[0]?.evidence).toMatchObject({ term: "puta", category: "profanity" });
    expect(await chatEvents(english.did)).toEqual([]);
    await spanish.room.leave();
    await english.room.leave();
  });

  it("checks the room's languages for everyone in it, and only the languages of that room", async () => {
    const player = await join(nextAccount());
    player.room.send("chat", { text: "du arschloch" });
    player.room.send("chat", { text: "vaffanculo" });
    player.room.send("chat", { text: "marker room" });
    await waitFor(() => player.seen.chats.some((c) => c.text === "marker room"), "the room marker");
    // German is the "world" room's language; Italian belongs to another room.
    expect(player.seen.chats.map((c) => c.text)).toEqual(["vaffanculo", "marker room"]);
    await waitFor(async () => (await chatEvents(player.did)).length === 1, "the German offense");
    expect((await chatEvents(player.did))[0]?.evidence).toMatchObject({ term: "arschloch" });
    await player.room.leave();
  });

  it("never flags scores, room numbers and everyday chat in other languages", async () => {
    const player = await join(nextAccount(), { locale: "es" });
    const lines = [
      "my score is 455",
      "room 717",
      "gg 3-1",
      "80085",
      "1v1 me",
      "buenas tardes",
      "heil mich bitte",
      "hola a todos",
    ];
    for (const text of lines) player.room.send("chat", { text });
    await waitFor(() => player.seen.chats.length === lines.length, "every line echoed");
    expect(player.seen.chats.map((c) => c.text)).toEqual(lines);
    await world.warden.recorder.drain();
    expect(await chatEvents(player.did)).toEqual([]);
    await player.room.leave();
  });
});
