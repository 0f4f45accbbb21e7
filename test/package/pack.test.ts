/**
 * Packaging (issue 11, part 8): what `npm pack` makes installs into a project of its own and
 * works there — `import "colyseus-warden"` resolves to the built dist/, a room with the plugin
 * runs, a real SDK client joins and receives a sanction's notice, and the `warden` bin starts.
 * Nothing of this repository is on that project's module path but the tarball.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "warden-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SERVER = `
import { createServer } from "node:http";
import { defineRoom, defineServer, Room } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { Client } from "@colyseus/sdk";
import { createWarden } from "colyseus-warden";

const warden = createWarden({ secret: "packaged-warden-secret-0123456789", logger: { info() {}, warn() {}, error() {} } });
class World extends Room {
  static onAuth(token) { return { sub: token }; }
  plugins = [warden.plugin()];
  messages = { chat() {} };
}
const http = createServer();
const server = defineServer({ rooms: { world: defineRoom(World) }, transport: new WebSocketTransport({ server: http }), greet: false });
await server.listen(0);
const port = http.address().port;
const sdk = new Client("ws://127.0.0.1:" + port);
sdk.auth.token = "account-1";
const room = await sdk.joinOrCreate("world");
const notice = new Promise((resolve) => room.onMessage("warden:notice", resolve));
await warden.sanctions.issue({ did: warden.digitalId("account-1"), kind: "mute", duration: 60000, reason: "packaged", by: "test" });
const got = await Promise.race([notice, new Promise((_, reject) => setTimeout(() => reject(new Error("no notice")), 10000))]);
console.log("NOTICE " + JSON.stringify({ kind: got.kind, reason: got.reason }));
await room.leave();
await warden.close();
await server.gracefullyShutdown(false);
process.exit(0);
`;

describe("the packed package", () => {
  it("installs from its tarball into a fresh project, runs a room with the plugin, and its bin starts", async () => {
    const started = Date.now();
    // `npm pack` runs `prepare` (the build) itself, as a git install would.
    await run("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: repo, maxBuffer: 64 << 20 });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    const project = join(work, "app");
    await run("mkdir", ["-p", project]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    const pkg = (await import("../../package.json", { with: { type: "json" } })).default as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    await run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        join(work, tarball!),
        `@colyseus/core@${pkg.dependencies["@colyseus/core"]}`,
        `@colyseus/ws-transport@${pkg.dependencies["@colyseus/ws-transport"]}`,
        `@colyseus/sdk@${pkg.devDependencies["@colyseus/sdk"]}`,
      ],
      { cwd: project, maxBuffer: 64 << 20 },
    );
    writeFileSync(join(project, "server.mjs"), SERVER);
    const { stdout } = await run(process.execPath, ["server.mjs"], { cwd: project, timeout: 60_000 });
    expect(stdout).toContain('NOTICE {"kind":"mute","reason":"packaged"}');

    const help = await run(process.execPath, [join(project, "node_modules/colyseus-warden/bin/warden.js"), "--help"], {
      cwd: project,
    });
    expect(help.stdout).toMatch(/Usage: warden/);
    console.info(`[figure] package: pack + install + run in ${Date.now() - started} ms`);
  });
});
