/**
 * The default `identify` fits Colyseus's own auth (issue 11, part 6): `@colyseus/auth` puts
 * the user's `id` in its tokens (not `sub`), and `anonymousId` (with `anonymous: true`) for
 * an anonymous sign-in. Real worlds, real SDK clients with tokens shaped as @colyseus/auth
 * signs them (HS256 over the user object, see packages/auth/src/auth.ts), real Redis.
 */
import { Client } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { identifyFromJwtClaims } from "../src/index.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { JWT_SECRET, observe, waitFor, WARDEN_SECRET } from "./helpers/world.js";

const { prefix } = prefixesForFile();
const quiet = { info() {}, warn() {}, error() {} };

function clientWith(port: number, claims: object): Client {
  const c = new Client(`ws://127.0.0.1:${port}`);
  c.auth.token = jwt.sign(claims, JWT_SECRET, { algorithm: "HS256" });
  return c;
}

async function open(anonymousPlayers?: "allow" | "refuse"): Promise<World> {
  return startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: prefix(`auth-${anonymousPlayers ?? "default"}`),
      logger: quiet,
      ...(anonymousPlayers === undefined ? {} : { anonymousPlayers }),
    },
  });
}

describe("identifyFromJwtClaims", () => {
  it("reads sub, else id (string or whole number), else anonymousId in a namespace of its own", () => {
    expect(identifyFromJwtClaims({ sub: "a", id: "b", name: "N" })).toEqual({ subject: "a", name: "N" });
    expect(identifyFromJwtClaims({ id: 42, username: "neo" })).toEqual({ subject: "42", name: "neo" });
    expect(identifyFromJwtClaims({ id: "u1", displayName: "D", iss: "game" })).toEqual({
      subject: "u1",
      issuer: "game",
      name: "D",
    });
    expect(identifyFromJwtClaims({ anonymousId: "xyz", anonymous: true, id: undefined })).toEqual({
      subject: "xyz",
      issuer: "anonymous",
      anonymous: true,
    });
    // Far-out or missing values name nobody.
    for (const bad of [
      {},
      { id: 1.5 },
      { id: Number.MAX_VALUE },
      { id: "" },
      { id: {} },
      { anonymousId: 7 },
      null,
      "x",
    ])
      expect(identifyFromJwtClaims(bad)).toBeNull();
  });
});

// One world at a time: Colyseus's matchmaker is one per thread, so two worlds open in one
// file would answer each other's joins.
describe("through a real world", () => {
  let world: World;
  beforeAll(async () => {
    world = await open();
  });
  afterAll(async () => {
    await world?.close();
  });

  it("an @colyseus/auth user token (id, no sub) joins and is bound to the ID of that account", async () => {
    const room = await clientWith(world.port, { id: 1234, username: "neo", email: "n@example.com" }).create("world");
    const did = world.warden.digitalId("1234");
    await waitFor(async () => (await world.warden.sessions(did)).length === 1, "binding of the id claim");
    expect((await world.warden.sessions(did))[0]!.sessionId).toBe(room.sessionId);
    await room.leave();
  });

  it("an anonymous player gets an ID apart from every account, and a sanction follows that token", async () => {
    const claims = { anonymousId: "1234", anonymous: true };
    const room = await clientWith(world.port, claims).create("world");
    const seen = observe(room);
    const anonDid = world.warden.digitalId("1234", "anonymous");
    expect(anonDid).not.toBe(world.warden.digitalId("1234"));
    await waitFor(async () => (await world.warden.sessions(anonDid)).length === 1, "anonymous binding");
    await world.warden.sanctions.issue({ did: anonDid, kind: "ban", reason: "spam", duration: 60_000, by: "test" });
    expect((await seen.left).code).toBe(4403);
    // The same token is refused at the gate; the account "1234" is not affected.
    await expect(clientWith(world.port, claims).create("world")).rejects.toThrow();
    const account = await clientWith(world.port, { id: 1234 }).create("world");
    await account.leave();
  });

  it("a token naming nobody (no sub, id or anonymousId) is refused", async () => {
    await expect(clientWith(world.port, { name: "ghost" }).create("world")).rejects.toThrow(/sub, id or anonymousId/);
  });
});

describe('with anonymousPlayers: "refuse"', () => {
  let strict: World;
  beforeAll(async () => {
    strict = await open("refuse");
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('with anonymousPlayers: "refuse" an anonymous token is refused at join; an account joins', async () => {
    await expect(clientWith(strict.port, { anonymousId: "abc", anonymous: true }).create("world")).rejects.toThrow(
      /no verified identity/,
    );
    expect(await strict.warden.sessions(strict.warden.digitalId("abc", "anonymous"))).toEqual([]);
    const ok = await clientWith(strict.port, { id: "acct-1" }).create("world");
    await ok.leave();
  });

  it("option validation", async () => {
    await expect(
      startWorld({
        port: 0,
        jwtSecret: JWT_SECRET,
        warden: { secret: WARDEN_SECRET, anonymousPlayers: "maybe" as never },
      }),
    ).rejects.toMatchObject({ code: "INVALID_OPTION" });
  });
});
