#!/usr/bin/env node
// The `warden` CLI. Runs the compiled code from dist/ in an installed package, or the
// TypeScript sources through tsx in a checkout of the repository.
import { existsSync } from "node:fs";

const source = new URL("../src/admin/cli.ts", import.meta.url);
const compiled = new URL("../dist/src/admin/cli.js", import.meta.url);

async function load() {
  if (existsSync(source)) {
    try {
      const { register } = await import("tsx/esm/api");
      register();
      return await import(source.href);
    } catch (e) {
      if (!existsSync(compiled)) throw e;
    }
  }
  return import(compiled.href);
}

const { runCli } = await load();
process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
