/**
 * The moderators' web console (issue 11, part 4), end to end in real headless Chromium
 * (Debian's chromium through playwright-core, installed by the set-up when missing): a real
 * world on real Redis, real @colyseus/sdk bots, the console's own pages and the admin API.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../rooms/app.js";
import { launchChromium } from "./helpers/chromium.js";
import { consoleDriver } from "./helpers/console.js";
import { prefixesForFile, redisUrl } from "./helpers/redis.js";
import { client, JWT_SECRET, observe, waitFor, WARDEN_SECRET, type Observed } from "./helpers/world.js";

const ADMIN = "console-admin-token-0123456789";
const { prefix } = prefixesForFile();
let world: World;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let moderatorToken: string;
let viewerToken: string;
const ui = consoleDriver(
  () => base,
  () => browser,
);
const { api, newPage, signIn } = ui;
/** Errors any page threw or logged: the console must run under its own CSP without one. */
const pageErrors = ui.errors;

/** A bot in the world room: a real SDK client under a display name. */
async function bot(sub: string, name: string, w = world): Promise<{ room: any; seen: Observed; did: string }> {
  const room = await client(w.port, sub, name).joinOrCreate("world");
  const seen = observe(room);
  const did = w.warden.digitalId(sub);
  await waitFor(async () => (await w.warden.sessions(did)).length === 1, `${name}'s session`);
  return { room, seen, did };
}

beforeAll(async () => {
  world = await startWorld({
    port: 0,
    jwtSecret: JWT_SECRET,
    warden: {
      secret: WARDEN_SECRET,
      store: redisUrl(),
      prefix: prefix("console"),
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    },
    admin: { adminTokens: [{ name: "root", token: ADMIN }] },
  });
  base = `http://127.0.0.1:${world.port}`;
  moderatorToken = (await api("POST", "/staff", ADMIN, { name: "mia", role: "moderator" })).body.token;
  viewerToken = (await api("POST", "/staff", ADMIN, { name: "vic", role: "viewer" })).body.token;
  // The first run on a fresh machine installs chromium (apt-get): minutes, once.
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

describe("the moderator's console in Chromium", () => {
  let spammer: Awaited<ReturnType<typeof bot>>;

  it("a moderator signs in, sees a misbehaving bot in the live feed within a second, bans it (4403), revokes, and the audit page shows both", async () => {
    const page = await newPage();
    await signIn(page, moderatorToken);
    expect(page.url()).toMatch(/\/warden\/console\/#\/feed$/);
    await page.locator("#feed-status[data-state=live]").waitFor();

    spammer = await bot("console-spammer", "SpamBot");
    const sent = Date.now();
    spammer.room.send("chat", { text: "fuck you all" });
    const row = page.locator(`#feed li[data-type=offense][data-did="${spammer.did}"]`).first();
    await row.waitFor({ timeout: 1000 });
    const delay = Date.now() - sent;
    expect(delay).toBeLessThan(1000);
    // The feed names the bot, not only its ID, and says what it did.
    expect(await row.locator(".who-link").textContent()).toBe("SpamBot");
    expect(await row.textContent()).toContain("abusive_text");

    // Filters: the abuse track shows it, the spam track hides it.
    const offenses = page.locator(`#feed li[data-type=offense][data-did="${spammer.did}"]`);
    await page.selectOption("#filter-track", "abuse");
    expect(await offenses.count()).toBe(1);
    await page.evaluate(`(() => {
      const select = document.getElementById("filter-track");
      select.append(new Option("spam", "spam"));
      select.value = "spam";
      select.dispatchEvent(new Event("change"));
    })()`);
    expect(await offenses.count()).toBe(0);
    await page.selectOption("#filter-track", "");
    // Pause holds new items back (and counts them); resume shows them.
    await page.click("#pause");
    expect(await page.locator("#pause").getAttribute("aria-pressed")).toBe("true");
    spammer.room.send("chat", { text: "shit head" });
    await page.locator(".waiting", { hasText: /^[1-9]\d* new while paused$/ }).waitFor();
    expect(await offenses.count()).toBe(1);
    await page.click("#pause");
    await waitFor(async () => (await offenses.count()) === 2, "the held-back offense after resume");

    await row.locator(".who-link").click();
    await page.locator("#identity-name", { hasText: "SpamBot" }).waitFor();
    await page.locator("text=Not connected.").waitFor({ state: "detached" });
    await page.locator(".track[data-track=abuse]").waitFor();
    // Where it stands on the abuse ladder (the default one: warn, mute, kick, ban).
    expect(await page.locator(".track[data-track=abuse] .ladder li").allTextContents()).toEqual([
      "1 → warn",
      "2 → mute 10 minutes",
      "4 → kick",
      "6 → ban 1 day",
    ]);
    expect(await page.locator(".track[data-track=abuse] .ladder li[aria-current=step]").count()).toBe(1);

    await page.click("button[data-act=ban]");
    await page.locator("#act-reason").fill("abusive chat in the world room");
    await page.click("#act-review");
    const consequence = await page.locator("#act-consequence").textContent();
    expect(consequence).toContain("SpamBot");
    expect(consequence).toContain("disconnected from every room now and refused at every join for 1 hour");
    await page.click("#act-confirm");
    expect((await spammer.seen.left).code).toBe(4403);

    const active = page.locator("li.sanction[data-state=active]", { has: page.locator(".k-ban") });
    await active.waitFor();
    await active.locator("button[data-act=revoke]").click();
    expect(await page.locator("#revoke-consequence").textContent()).toContain("they may join again at once");
    await page.locator("#revoke-reason").fill("second look: it was a test");
    await page.click("#revoke-confirm");
    await page.locator("li.sanction[data-state=revoked]", { has: page.locator(".k-ban") }).waitFor();
    const stored = await world.warden.sanctions.history(spammer.did as never);
    const ban = stored.find((s) => s.kind === "ban");
    expect(ban).toMatchObject({ by: "staff:mia", reason: "abusive chat in the world room" });
    expect(ban?.revoked).toMatchObject({ by: "staff:mia", reason: "second look: it was a test" });

    await page.click("a[data-nav=audit]");
    await page.locator("h1", { hasText: "Audit log" }).waitFor();
    await page.locator("#audit-rows tr[data-action=issue][data-actor='staff:mia']").waitFor();
    await page.locator("#audit-rows tr[data-action=revoke][data-actor='staff:mia']").waitFor();
    await page.click("#verify");
    await page.locator("#verify-result", { hasText: "Intact." }).waitFor();
    console.info(`[console e2e] offense shown in the live feed ${delay} ms after the bot sent it`);
    await page.close();
  });

  it("a viewer sees the identity and the feed but no act button, no evidence and no staff page", async () => {
    const page = await newPage();
    await signIn(page, viewerToken);
    await page.goto(`${base}/warden/console/#/id/${spammer.did}`);
    await page.locator("#identity-name", { hasText: "SpamBot" }).waitFor();
    await page.locator("#sanctions li").first().waitFor();
    expect(await page.locator("[data-act]").count()).toBe(0);
    expect(await page.locator("h2", { hasText: "Evidence" }).count()).toBe(0);
    expect(await page.locator("a[data-nav=staff]").isVisible()).toBe(false);
    // Nor the pending bans (a viewer may not confirm a ban): no nav item, and the page is refused.
    expect(await page.locator("a[data-nav=pending]").isVisible()).toBe(false);
    await page.goto(`${base}/warden/console/#/pending`);
    await page.locator("h1", { hasText: "No such page" }).waitFor();
    // The staff page is refused by the console, and by the API behind it.
    await page.goto(`${base}/warden/console/#/staff`);
    await page.locator("h1", { hasText: "No such page" }).waitFor();
    await page.close();
  });

  it("a hostile display name is shown as text and never runs", async () => {
    const page = await newPage();
    await signIn(page, moderatorToken);
    await page.locator("#feed-status[data-state=live]").waitFor();
    // Short enough that no bound cuts it (display names are kept to 64 characters).
    const evil = `<img src=x onerror=__pwned=1>`;
    const attacker = await bot("console-xss", evil);
    attacker.room.send("chat", { text: "shit head" });
    const row = page.locator(`#feed li[data-did="${attacker.did}"]`).first();
    await row.waitFor();
    expect(await row.locator(".who-link").textContent()).toBe(evil);
    expect(await page.locator("#feed img, #feed script").count()).toBe(0);
    await row.locator(".who-link").click();
    await page.locator("#identity-name").waitFor();
    await waitFor(async () => (await page.locator("#identity-name").textContent()) === evil, "the name");
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();

    // The page's CSP turns Trusted Types on: even a stray innerHTML with a string is refused
    // (on a page of its own, whose refusal is expected and not counted among the errors).
    const probe = await browser.context.newPage();
    await probe.goto(`${base}/warden/console/`);
    expect(
      await probe.evaluate(`(() => {
        try {
          document.body.innerHTML = "<b>x</b>";
          return "parsed";
        } catch {
          return "refused";
        }
      })()`),
    ).toBe("refused");
    await probe.close();
    await attacker.room.leave();
    await page.close();
  });

  it("fits a phone: no horizontal scroll at 390 px on the feed, identity and audit pages", async () => {
    const page = await newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, moderatorToken);
    const overflow = () => page.evaluate("document.documentElement.scrollWidth - window.innerWidth") as Promise<number>;
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${base}/warden/console/#/id/${spammer.did}`);
    await page.locator("#sanctions li").first().waitFor();
    await page.locator("button[data-act=ban]").waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${base}/warden/console/#/audit`);
    await page.locator("#audit-rows tr").first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.close();
  });

  it("no page threw or logged an error under the CSP", () => {
    expect(pageErrors).toEqual([]);
  });
});

describe("four-eyes in the console: the Pending bans page", () => {
  let fourEyes: World;
  let at: string;
  let ann: string;
  let bob: string;
  /** This scenario's page errors; a refused request's "Failed to load resource" (403) is expected. */
  const errors: string[] = [];
  const open = async (): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource: .*403/.test(m.text())) errors.push(m.text());
    });
    return page;
  };

  beforeAll(async () => {
    fourEyes = await startWorld({
      port: 0,
      jwtSecret: JWT_SECRET,
      warden: {
        secret: WARDEN_SECRET,
        store: redisUrl(),
        prefix: prefix("console-four-eyes"),
        dueProcess: { fourEyesBans: true, pendingBanMs: "10m" },
        logger: { info: () => {}, warn: () => {}, error: () => {} },
      },
      admin: { adminTokens: [{ name: "root", token: ADMIN }] },
    });
    at = `http://127.0.0.1:${fourEyes.port}`;
    ann = (await api("POST", "/staff", ADMIN, { name: "ann", role: "moderator" }, at)).body.token;
    bob = (await api("POST", "/staff", ADMIN, { name: "bob", role: "moderator" }, at)).body.token;
  });
  afterAll(async () => fourEyes?.close());

  it("ann proposes a permanent ban, cannot confirm it herself (the refusal is shown), bob signs in, sees it by name, confirms: 4403, and the ban is on the identity page", async () => {
    const target = await bot("console-four-eyes-target", "RuleBreaker", fourEyes);
    const a = await open();
    await signIn(a, ann, at);
    await a.goto(`${at}/warden/console/#/id/${target.did}`);
    await a.locator("#identity-name", { hasText: "RuleBreaker" }).waitFor();
    await a.click("button[data-act=ban]");
    await a.locator("#act-reason").fill("wallhack, seen by three players");
    await a.getByLabel("Permanent", { exact: true }).check();
    await a.click("#act-review");
    expect(await a.locator("#act-consequence").textContent()).toContain("permanently");
    await a.click("#act-confirm");
    await a.locator("#toast", { hasText: "Proposed, not issued" }).waitFor();
    expect(await fourEyes.warden.admin.sanctions.active(target.did as never)).toEqual([]);

    // Her own proposal on the Pending bans page: confirming it is refused, and the page says why.
    await a.click("a[data-nav=pending]");
    await a.locator("h1", { hasText: "Pending bans" }).waitFor();
    expect(await a.evaluate("document.activeElement?.tagName")).toBe("H1");
    const mine = a.locator("#pending-list tbody tr", { hasText: "RuleBreaker" });
    await mine.waitFor();
    expect(await mine.textContent()).toContain("staff:ann (you)");
    expect(await mine.textContent()).toContain("wallhack, seen by three players");
    await mine.locator("button[data-act=confirm]").click();
    expect(await a.locator("#pending-consequence").textContent()).toContain("RuleBreaker (" /* name and short ID */);
    await a.click("#pending-confirm-go");
    await a.locator("#pending-error", { hasText: "You proposed this ban, so you cannot confirm it" }).waitFor();
    expect(await a.locator("#pending-error").getAttribute("role")).toBe("alert");
    expect(await fourEyes.warden.admin.sanctions.active(target.did as never)).toEqual([]);
    expect(target.seen.leftCode).toBeNull();
    await a.keyboard.press("Escape");
    await a.close();

    // Bob signs in, finds it by name, and confirms it with the keyboard.
    const b = await open();
    await signIn(b, bob, at);
    await b.click("a[data-nav=pending]");
    const row = b.locator("#pending-list tbody tr", { hasText: "RuleBreaker" });
    await row.waitFor();
    expect(await row.locator(".who-link").textContent()).toBe("RuleBreaker");
    expect(await row.textContent()).toContain("staff:ann");
    expect(await row.textContent()).not.toContain("(you)");
    const confirm = row.locator("button[data-act=confirm]");
    expect(await confirm.getAttribute("aria-label")).toBe("Confirm the ban of RuleBreaker");
    await confirm.focus();
    await b.keyboard.press("Enter");
    const consequence = await b.locator("#pending-consequence").textContent();
    expect(consequence).toContain("RuleBreaker");
    expect(consequence).toContain("disconnected from every room now and refused at every join permanently");
    expect(await b.locator("dialog").textContent()).toContain("Proposed by staff:ann. You confirm it as staff:bob");
    // The focus is on the act, so Enter confirms.
    expect(await b.evaluate("document.activeElement?.id")).toBe("pending-confirm-go");
    await b.keyboard.press("Enter");
    expect((await target.seen.left).code).toBe(4403);
    await b.locator("#pending-none").waitFor();
    const [ban] = await fourEyes.warden.admin.sanctions.active(target.did as never);
    expect(ban).toMatchObject({ kind: "ban", end: null, by: "staff:bob", reason: "wallhack, seen by three players" });

    // The ban shows on the identity page.
    await b.goto(`${at}/warden/console/#/id/${target.did}`);
    await b.locator("li.sanction[data-state=active]", { has: b.locator(".k-ban") }).waitFor();
    await b.close();
  });

  it("bob cancels a proposal with a reason: nothing is issued and the list empties", async () => {
    const target = await bot("console-four-eyes-cancel", "MaybeInnocent", fourEyes);
    const proposed = await api(
      "POST",
      `/identities/${target.did}/sanctions`,
      ann,
      { kind: "ban", reason: "looks like a cheat" },
      at,
    );
    expect(proposed.status).toBe(202);
    const b = await open();
    // At a phone's width, as the other pages: the table becomes cards, nothing scrolls sideways.
    await b.setViewportSize({ width: 390, height: 844 });
    await signIn(b, bob, at);
    await b.goto(`${at}/warden/console/#/pending`);
    const row = b.locator("#pending-list tbody tr", { hasText: "MaybeInnocent" });
    await row.waitFor();
    expect(await b.evaluate("document.documentElement.scrollWidth - window.innerWidth")).toBeLessThanOrEqual(0);
    await row.locator("button[data-act=cancel]").click();
    expect(await b.locator("#pending-cancel-consequence").textContent()).toContain("no ban is issued");
    // The reason field has the focus and a label.
    expect(await b.evaluate("document.activeElement?.id")).toBe("pending-cancel-reason");
    await b.keyboard.type("the replay shows no cheat");
    await b.click("#pending-cancel-go");
    await b.locator("#pending-none").waitFor();
    const record = (await api("GET", `/pending-bans/${proposed.body.pending.id}`, bob, undefined, at)).body.pending;
    expect(record).toMatchObject({
      state: "cancelled",
      decidedBy: "staff:bob",
      outcome: { reason: "the replay shows no cheat" },
    });
    expect(await fourEyes.warden.admin.sanctions.history(target.did as never)).toEqual([]);
    expect(target.seen.leftCode).toBeNull();
    await target.room.leave();
    await b.close();
  });

  it("no page of the scenario threw or logged an error under the CSP", () => {
    expect(errors).toEqual([]);
  });
});

describe("the console's HTTP answers", () => {
  const CSP_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "require-trusted-types-for 'script'",
  ];

  it("every answer carries a strict CSP, nosniff and no-referrer, and no CORS grant", async () => {
    for (const path of [
      "/warden/console/",
      "/warden/console/app.js",
      "/warden/console/console.css",
      "/warden/console/nope.js",
    ]) {
      const res = await fetch(`${base}${path}`, { headers: { origin: "https://evil.example" } });
      const csp = res.headers.get("content-security-policy") ?? "";
      for (const part of CSP_PARTS) expect(csp, path).toContain(part);
      expect(csp).not.toContain("unsafe");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
    const js = await fetch(`${base}/warden/console/app.js`);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    const html = await (await fetch(`${base}/warden/console/`)).text();
    // No inline script or style for the CSP to forbid: scripts by src only, no style attribute.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
  });

  it("serves only its own files: no traversal, no directory, GET and HEAD only; the bare path redirects to the slash", async () => {
    for (const path of [
      "/warden/console/%2e%2e/%2e%2e/package.json",
      "/warden/console/..%2f..%2fpackage.json",
      "/warden/console/%2e%2e%2fconsole.ts",
      "/warden/console/console",
      "/warden/console/app.js%00.css",
    ]) {
      const res = await fetch(`${base}${path}`);
      // (fetch resolves %2e%2e itself: such a path never reaches the console, which is the point.)
      expect(res.status, path).toBe(404);
      const text = await res.text();
      expect(text).not.toContain("colyseus-warden");
      expect(text).not.toContain("createConsoleRouter");
    }
    const post = await fetch(`${base}/warden/console/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    const bare = await fetch(`${base}/warden/console?next=//evil.example`, { redirect: "manual" });
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe("/warden/console/");
    const etag = (await fetch(`${base}/warden/console/app.js`)).headers.get("etag")!;
    expect((await fetch(`${base}/warden/console/app.js`, { headers: { "if-none-match": etag } })).status).toBe(304);
  });
});
