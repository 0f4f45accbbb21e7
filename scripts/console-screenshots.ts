/**
 * Screenshots of the web console's main pages for the README (`npm run docs:screenshots`):
 * a demo world in memory, a moderator, a few real SDK bots misbehaving, and headless
 * Chromium (installed when missing) at 1280×800. Writes docs/console-*.png.
 */
import { mkdirSync } from "node:fs";
import { Client } from "@colyseus/sdk";
import jwt from "jsonwebtoken";
import { startWorld } from "../rooms/app.js";
import { launchChromium } from "../test/helpers/chromium.js";

const JWT_SECRET = "screenshots-jwt-secret-0123456789";
const ADMIN = "screenshots-admin-token-0123456789";
const out = new URL("../docs/", import.meta.url);
mkdirSync(out, { recursive: true });

const world = await startWorld({
  port: 0,
  jwtSecret: JWT_SECRET,
  warden: {
    secret: "screenshots-warden-secret-0123456789",
    // Four-eyes on, for the Pending bans page (the bans shown below are not permanent).
    dueProcess: { fourEyesBans: true, evidence: { enabled: true } },
    // Two reports open a case (for the Report cases page).
    reports: { threshold: 2, newIdMs: 1 },
    logger: { info() {}, warn() {}, error() {} },
  },
  admin: { adminTokens: [{ name: "root", token: ADMIN }] },
});
const base = `http://127.0.0.1:${world.port}`;
const api = async (method: string, path: string, body?: unknown) =>
  (
    await fetch(`${base}/warden/api${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  ).json() as Promise<Record<string, unknown>>;
const moderator = (await api("POST", "/staff", { name: "mia", role: "moderator" })).token as string;
const second = (await api("POST", "/staff", { name: "noor", role: "moderator" })).token as string;
const tokenOf = (sub: string, name: string) => jwt.sign({ sub, name }, JWT_SECRET, { algorithm: "HS256" });
const join = (sub: string, name: string) => {
  const c = new Client(`ws://127.0.0.1:${world.port}`);
  c.auth.token = tokenOf(sub, name);
  return c.joinOrCreate("world");
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const browser = await launchChromium({ width: 1280, height: 800 });
try {
  const page = await browser.context.newPage();
  await page.goto(`${base}/warden/console/`);
  await page.locator("#token").waitFor();
  await page.screenshot({ path: new URL("console-sign-in.png", out).pathname });

  await page.fill("#token", moderator);
  await page.keyboard.press("Enter");
  await page.locator("#feed-status[data-state=live]").waitFor();
  const friendly = await join("alice", "Alice");
  const chatter = await join("troll", "TrollKing");
  const spammer = await join("spam", "BuyGoldNow");
  friendly.send("chat", { text: "hi all" });
  for (const text of ["fuck you", "shit head", "you absolute fuck"]) {
    chatter.send("chat", { text });
    await pause(150);
  }
  for (let i = 0; i < 40; i++) spammer.send("move", { x: i, y: i });
  spammer.send("chat", { text: "x".repeat(3000) });
  // Two players report the abusive one: a report case for the moderators.
  for (const from of [friendly, spammer])
    from.send("report", {
      sessionId: chatter.sessionId,
      reason: "insults everyone in the room",
      category: "harassment",
    });
  await pause(1500);
  await page.screenshot({ path: new URL("console-feed.png", out).pathname });

  await page.locator("#feed .who-link", { hasText: "TrollKing" }).first().click();
  await page.locator("#identity-name", { hasText: "TrollKing" }).waitFor();
  await page.locator(".track").first().waitFor();
  await page.screenshot({ path: new URL("console-identity.png", out).pathname, fullPage: true });

  await page.click("button[data-act=ban]");
  await page.fill("#act-reason", "repeated abuse in the world room");
  await page.click("#act-review");
  await page.screenshot({ path: new URL("console-confirm.png", out).pathname });
  await page.click("#act-confirm");
  await page.locator("li.sanction[data-state=active]", { has: page.locator(".k-ban") }).waitFor();

  await page.click("a[data-nav=audit]");
  await page.locator("#audit-rows tr").first().waitFor();
  await page.click("#verify");
  await page.locator("#verify-result", { hasText: "Intact." }).waitFor();
  await page.screenshot({ path: new URL("console-audit.png", out).pathname });

  // A permanent ban proposed by another moderator, waiting on the Pending bans page.
  const spammerId = world.warden.digitalId("spam");
  await fetch(`${base}/warden/api/identities/${spammerId}/sanctions`, {
    method: "POST",
    headers: { authorization: `Bearer ${second}`, "content-type": "application/json" },
    body: JSON.stringify({ kind: "ban", reason: "gold-selling spam bot, 40 moves a second" }),
  });
  await page.click("a[data-nav=pending]");
  await page.locator("#pending-list tbody tr").first().waitFor();
  await page.locator("#pending-list tbody tr button[data-act=confirm]").first().click();
  await page.locator("#pending-consequence").waitFor();
  await page.screenshot({ path: new URL("console-pending.png", out).pathname });
  await page.keyboard.press("Escape");

  // The banned player appeals through the player API; a second moderator opens it.
  const troll = world.warden.digitalId("troll");
  const ban = (await world.warden.sanctions.active(troll)).find((x) => x.kind === "ban");
  await fetch(`${base}/warden/player/appeals`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokenOf("troll", "TrollKing")}`, "content-type": "application/json" },
    body: JSON.stringify({ sanctionId: ban?.id, text: "I was quoting the guy who insulted me, not insulting anyone." }),
  });
  await page.click("a[data-nav=cases]");
  await page.locator("#case-list a[data-case]").first().click();
  await page.locator("#case-state").waitFor();
  await page.screenshot({ path: new URL("console-case.png", out).pathname, fullPage: true });
  const other = await browser.context.newPage();
  await other.goto(`${base}/warden/console/`);
  await other.fill("#token", second);
  await other.keyboard.press("Enter");
  await other.locator("#feed-status").waitFor();
  await other.click("a[data-nav=appeals]");
  await other.locator("#appeal-list a[data-appeal]").first().click();
  await other.locator("#appeal-text").waitFor();
  await other.locator("label", { hasText: "Uphold: shorten it" }).click();
  await other.fill("#appeal-reason", "the quoted line was someone else's; a shorter ban stands for the rest");
  await other.screenshot({ path: new URL("console-appeal.png", out).pathname, fullPage: true });
  await other.close();

  await page.setViewportSize({ width: 390, height: 844 });
  await page.click("a[data-nav=feed]");
  await page.locator("#feed li").first().waitFor();
  await page.screenshot({ path: new URL("console-phone.png", out).pathname });
  await Promise.all([friendly.leave(), spammer.leave()]).catch(() => {});
  console.info("wrote docs/console-{sign-in,feed,identity,confirm,audit,pending,case,appeal,phone}.png");
} finally {
  await browser.close();
  await world.close();
}
