/**
 * Real headless Chromium for the console's end-to-end tests: Debian's `chromium`, driven by
 * playwright-core, installed with apt-get on first use when it is missing (CI images and
 * fresh machines), each browser with a fresh user-data-dir of its own.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs Debian's chromium when it is missing (needs root, as on CI); throws a sentence saying what to do if it cannot. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    // The package lists may be stale or absent on a fresh image; a failed update is not fatal by itself.
    try {
      execFileSync("apt-get", ["update"], { stdio: "pipe", env, timeout: 300_000 });
    } catch {}
    execFileSync(
      "apt-get",
      ["install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "chromium", "fonts-dejavu-core"],
      { stdio: "pipe", env, timeout: 600_000 },
    );
  } catch (e) {
    const output = (e as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-3).join(" | ") ?? "";
    throw new Error(
      `Chromium is not installed at ${CHROMIUM} and "apt-get install -y chromium" failed (${output || (e as Error).message}). Install it as root and run the tests again.`,
    );
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, yet ${CHROMIUM} is missing`);
  return CHROMIUM;
}

/** A headless Chromium with a fresh profile (removed by `close`). */
export async function launchChromium(
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = ensureChromium();
  const dir = mkdtempSync(join(tmpdir(), "warden-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
