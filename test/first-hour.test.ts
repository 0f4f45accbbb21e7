/**
 * A newcomer's first hour (issue 11, part 6): `npm start` says what to do next, the dev-only
 * token command mints tokens the demo world accepts and refuses to run against real secrets,
 * and `npm run demo` shows sanctions landing on its misbehaving bots — not on its polite
 * ones — with a console and a staff credential that work. Real processes (the npm entry
 * points), real Colyseus clients, the demo's embedded store (as a fresh machine runs it).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "@colyseus/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { deriveDigitalId } from "../src/identity/digital-id.js";
import { DEV_JWT_SECRET, DEV_WARDEN_SECRET, notDevelopment } from "../rooms/dev.js";
import { devToken } from "../rooms/dev-token.js";
import { verifyDemoToken } from "../rooms/world.js";
import { startWorldProcess, type WorldProcess } from "./helpers/process.js";
import { waitFor } from "./helpers/world.js";

const ROOMS = fileURLToPath(new URL("../rooms/", import.meta.url));
const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" };

/** Runs a rooms/ script in its own process; resolves with its exit code and output. */
function run(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", `${ROOMS}${script}`, ...args], {
      env: { ...baseEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

describe("the dev-only token command", () => {
  it("is refused against a real secret or in production, whatever the arguments", () => {
    for (const env of [
      { JWT_SECRET: "a-real-secret-of-this-deployment" },
      { WARDEN_SECRET: "another-real-secret-0123456789" },
      { NODE_ENV: "production" },
    ]) {
      const result = devToken(["--name", "alice"], env);
      expect(result.ok).toBe(false);
      expect(notDevelopment(env, "x")).not.toBeNull();
    }
    // The development values themselves are development.
    expect(devToken([], { JWT_SECRET: DEV_JWT_SECRET, WARDEN_SECRET: DEV_WARDEN_SECRET }).ok).toBe(true);
  });

  it("bad input is refused with a clear error, never a token", () => {
    for (const args of [["--name", ""], ["--name", "x".repeat(33)], ["--ttl", "5"], ["--ttl", "1e99"], ["--bogus"]]) {
      const result = devToken(args, {});
      expect(result.ok, JSON.stringify(args)).toBe(false);
    }
  });

  it("as a script: exit 2 and no token against a real JWT_SECRET; a token on stdout otherwise", async () => {
    const refused = await run("dev-token.ts", ["--name", "alice"], { JWT_SECRET: "a-real-secret-of-this-deployment" });
    expect(refused.code).toBe(2);
    expect(refused.out).toBe("");
    expect(refused.err).toMatch(/development only.*JWT_SECRET/);
    const ok = await run("dev-token.ts", ["--name", "alice"], {});
    expect(ok.code).toBe(0);
    expect(verifyDemoToken(ok.out.trim(), DEV_JWT_SECRET)).toMatchObject({ sub: "dev-alice", name: "alice" });
  });

  describe("against `npm start` with the development secrets", () => {
    let server: WorldProcess;
    afterAll(async () => server?.kill());

    it("the server prints what to do next, and a dev token joins its world", async () => {
      server = await startWorldProcess({});
      const printed = server.output.join("");
      expect(printed).toContain("npm run dev-token -- --name alice");
      expect(printed).toContain("npm run demo");
      const made = devToken(["--name", "alice"], {});
      if (!made.ok) throw new Error(made.error);
      const client = new Client(`ws://127.0.0.1:${server.port}`);
      client.auth.token = made.token;
      const room = await client.joinOrCreate("world");
      expect(room.sessionId).toBeTruthy();
      await room.leave();
    });
  });

  it("with a real JWT_SECRET the server does not advertise the dev token command", async () => {
    const real = await startWorldProcess({ JWT_SECRET: "a-real-secret-of-this-deployment" });
    try {
      const printed = real.output.join("");
      expect(printed).toContain("[warden-demo] next:");
      expect(printed).not.toContain("dev-token");
    } finally {
      await real.kill();
    }
  });
});

describe("npm run demo", () => {
  it("is refused against real secrets", async () => {
    const refused = await run("demo.ts", [], { WARDEN_SECRET: "another-real-secret-0123456789", PORT: "0" });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/development only/);
  });

  it("within a minute sanctions land on the spammer, the abusive chatter and the malformed-frame sender — none on the polite players — and the console and credential it prints work", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", `${ROOMS}demo.ts`], {
      env: { ...baseEnv, PORT: "0", DEMO_SECONDS: "120" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      await waitFor(() => /moderator credential \(this run only\): (\S+)/.test(out), "the demo's banner", 30_000);
      const credential = /moderator credential \(this run only\): (\S+)/.exec(out)![1]!;
      const consoleUrl = /the console: +(\S+)/.exec(out)![1]!;
      const did = (name: string) => deriveDigitalId(DEV_WARDEN_SECRET, `demo-${name}`);
      const sanctioned = (name: string, kind: string) =>
        new RegExp(`sanction issued: did=${did(name)} kind=${kind} `).test(out);
      await waitFor(
        () => sanctioned("spambot", "mute") && sanctioned("ruderex", "mute") && sanctioned("glitchbot", "kick"),
        "a mute on SpamBot and RudeRex and a kick of GlitchBot",
        60_000,
      );
      for (const polite of ["ada", "bo"]) expect(out).not.toContain(`did=${did(polite)}`);
      // The console is served, and the printed credential is a moderator's personal one.
      const page = await fetch(consoleUrl.replace("localhost", "127.0.0.1"));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<html");
      const api = consoleUrl.replace("localhost", "127.0.0.1").replace(/\/warden\/console\/?$/, "/warden/api");
      const who = await fetch(`${api}/whoami`, { headers: { authorization: `Bearer ${credential}` } });
      expect(await who.json()).toMatchObject({ actor: "staff:demo-moderator", role: "moderator" });
      const sanctions = await fetch(`${api}/identities/${did("spambot")}/sanctions`, {
        headers: { authorization: `Bearer ${credential}` },
      });
      expect(sanctions.status).toBe(200);
      expect(JSON.stringify(await sanctions.json())).toContain('"kind":"mute"');
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  }, 120_000);
});
