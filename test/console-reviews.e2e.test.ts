/**
 * The console's review queues (issue 11, part 4: "report and appeal queues plug in here"),
 * end to end in real headless Chromium: real world on real Redis, real SDK players who
 * report a bot in the room; a moderator decides the case in the console (the bot is muted
 * live); the bot appeals in the room; the moderator who muted it is refused (four-eyes) and a
 * second moderator upholds the appeal (the mute is lifted live). A viewer sees no case queue.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { launchChromium } from "./helpers/chromium.js";
import { consoleDriver } from "./helpers/console.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET, type Observed } from "./helpers/world.js";

const ADMIN = "reviews-admin-token-0123456789";
const { prefix } = prefixesForFile();
let world: World;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const ui = consoleDriver(
  () => `http://127.0.0.1:${world.port}`,
  () => browser,
);
const tokens: Record<"mia" | "max" | "vic", string> = { mia: "", max: "", vic: "" };

interface Player {
  room: any;
  seen: Observed;
  did: string;
  acks: any[];
}

async function player(sub: string, name: string): Promise<Player> {
  const room = await client(world.port, sub, name).joinOrCreate("world");
  const seen = observe(room);
  const acks: any[] = [];
  room.onMessage("report:ack", (a: any) => acks.push(a));
  room.onMessage("appeal:ack", (a: any) => acks.push(a));
  const did = world.warden.digitalId(sub);
  await waitFor(async () => (await world.warden.sessions(did)).length === 1, `${name}'s session`);
  return { room, seen, did, acks };
}

beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: prefix("reviews"),
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      // Two reports from players past their first millisecond open a case.
      reports: { threshold: 2, newIdMs: 1 },
    },
    admin: { adminTokens: [{ name: "root", token: ADMIN }] },
  });
  for (const [name, role] of [
    ["mia", "moderator"],
    ["max", "moderator"],
    ["vic", "viewer"],
  ] as const)
    tokens[name] = (await ui.api("POST", "/staff", ADMIN, { name, role })).body.token;
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

async function open(page: Page, token: string, hash: string): Promise<void> {
  await ui.signIn(page, token);
  await page.goto(`http://127.0.0.1:${world.port}/warden/console/#/${hash}`);
}

describe("review queues in the console", () => {
  let target: Player;
  let sanctionId: string;

  it("a report case opened by players' reports is decided in the console: the confirmation says what happens, the player is muted live", async () => {
    target = await player("reviews-target", "Trolly");
    const a = await player("reviews-a", "Ann");
    const b = await player("reviews-b", "Ben");
    await new Promise((r) => setTimeout(r, 20)); // past newIdMs
    for (const from of [a, b]) {
      from.room.send("report", {
        sessionId: target.room.sessionId,
        reason: "insults everyone",
        category: "harassment",
      });
      await waitFor(() => from.acks.some((x) => x.sessionId === target.room.sessionId), "the report's ack");
    }
    const page = await ui.newPage();
    await open(page, tokens.mia, "cases");
    const link = page.locator(`#case-list a[data-case^="${target.did}"]`);
    await link.waitFor();
    await link.click();
    await page.locator("h1", { hasText: "Report case" }).waitFor();
    expect(await page.locator("#case-state [data-state]").getAttribute("data-state")).toBe("open");
    expect(await page.locator("table[aria-label='Reports in this case'] tbody tr").count()).toBe(2);
    await page.locator("label", { hasText: "Sanction the player" }).click();
    await page.selectOption("#case-kind", "mute");
    await page.selectOption("#case-duration", "1h");
    await page.fill("#case-reason", "harassing other players, as two of them reported");
    await page.click("#case-decide-review");
    expect(await page.locator("#case-decide-consequence").textContent()).toMatch(/cannot chat for 1 hour/);
    await page.click("#case-decide-confirm");
    await page.locator("#case-state [data-state=actioned]").waitFor();
    await waitFor(() => target.seen.notices.some((n) => n.kind === "mute"), "the mute notice in the room");
    const mute = (await world.warden.sanctions.history(target.did)).find((s) => s.kind === "mute")!;
    expect(mute.by).toBe("staff:mia");
    sanctionId = mute.id;
    await a.room.leave();
    await b.room.leave();
    await page.close();
  });

  it("the muted player appeals in the room; the moderator who muted them is refused; another upholds it and the mute is lifted live", async () => {
    target.room.send("appeal", { sanctionId, text: "I was quoting someone else, please look again" });
    await waitFor(() => target.acks.some((x) => x.status === "filed"), "the appeal's ack");
    const appealId = target.acks.find((x) => x.status === "filed").appealId as string;

    // Four-eyes: mia issued the mute, so her decision is refused — and the page says why.
    const mias = await ui.newPage();
    await open(mias, tokens.mia, `appeals/${encodeURIComponent(appealId)}`);
    await mias.locator("#appeal-text", { hasText: "quoting someone else" }).waitFor();
    await mias.locator("label", { hasText: "Uphold: revoke the sanction" }).click();
    await mias.fill("#appeal-reason", "fine");
    await mias.click("#appeal-decide-review");
    await mias.click("#appeal-decide-confirm");
    await mias.locator("#appeal-decide .error", { hasText: "FOUR_EYES" }).waitFor();
    await mias.close();

    const page = await ui.newPage();
    await open(page, tokens.max, "appeals");
    await page.locator(`#appeal-list a[data-appeal="${appealId}"]`).click();
    await page.click("#appeal-take");
    await page.locator("#appeal-state [data-state=in_review]").waitFor();
    await page.locator("label", { hasText: "Uphold: revoke the sanction" }).click();
    await page.fill("#appeal-reason", "the quoted line was someone else's; the mute is lifted");
    await page.click("#appeal-decide-review");
    expect(await page.locator("#appeal-decide-consequence").textContent()).toMatch(/revoked now/);
    await page.click("#appeal-decide-confirm");
    await page.locator("#appeal-state [data-state=upheld]").waitFor();
    await waitFor(() => target.seen.notices.some((n) => n.kind === "lifted"), "the lift notice in the room");
    const mute = (await world.warden.sanctions.history(target.did)).find((s) => s.id === sanctionId)!;
    expect(mute.revoked?.by).toBe("staff:max");
    await page.close();
  });

  it("a viewer sees the appeal queue but no report cases, and no decision buttons", async () => {
    const page = await ui.newPage();
    await ui.signIn(page, tokens.vic);
    expect(await page.locator("a[data-nav=cases]").isVisible()).toBe(false);
    expect(await page.locator("a[data-nav=appeals]").isVisible()).toBe(true);
    await page.goto(`http://127.0.0.1:${world.port}/warden/console/#/cases`);
    await page.locator("h1", { hasText: "No such page" }).waitFor();
    await page.close();
  });

  it("the console ran without an error under its CSP (the one 403 is the four-eyes refusal)", () => {
    const refused = ui.errors.filter((e) => /status of 403/.test(e));
    expect(refused).toHaveLength(1);
    expect(ui.errors.filter((e) => !refused.includes(e))).toEqual([]);
  });
});
