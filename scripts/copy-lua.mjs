// Copies the Lua scripts next to the compiled Redis store (tsc copies only TypeScript).
import { cpSync } from "node:fs";

cpSync(
  new URL("../src/stores/redis/lua/", import.meta.url),
  new URL("../dist/src/stores/redis/lua/", import.meta.url),
  { recursive: true },
);
