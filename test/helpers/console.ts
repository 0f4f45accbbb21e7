/**
 * Driving the moderators' console in real Chromium: API calls as a staff member, pages that
 * collect every error the console throws or logs (it must run under its own CSP without
 * one), and the keyboard sign-in.
 */
import type { Page } from "playwright-core";
import { expect } from "vitest";
import type { launchChromium } from "./chromium.js";

export interface ConsoleDriver {
  /** The admin API as the holder of `token` (of the server at `at`, default the driver's): status and parsed body. */
  api(method: string, path: string, token: string, body?: unknown, at?: string): Promise<{ status: number; body: any }>;
  /** A fresh page whose errors land in `errors`. */
  newPage(): Promise<Page>;
  /** Opens the console (of the server at `at`) and signs in with a token (typed, submitted with Enter: the keyboard path). */
  signIn(page: Page, token: string, at?: string): Promise<void>;
  errors: string[];
}

export function consoleDriver(
  base: () => string,
  browser: () => Awaited<ReturnType<typeof launchChromium>>,
): ConsoleDriver {
  const errors: string[] = [];
  return {
    errors,
    async api(method, path, token, body, at = base()) {
      const res = await fetch(`${at}/warden/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: await res.json() };
    },
    async newPage() {
      const page = await browser().context.newPage();
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      return page;
    },
    async signIn(page, token, at = base()) {
      await page.goto(`${at}/warden/console`);
      await page.locator("#token").waitFor();
      // The sign-in page puts the focus in the token field.
      expect(await page.evaluate("document.activeElement?.id")).toBe("token");
      await page.keyboard.type(token);
      await page.keyboard.press("Enter");
      await page.locator("h1", { hasText: "Live feed" }).waitFor();
    },
  };
}
