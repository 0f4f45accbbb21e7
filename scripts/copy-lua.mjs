// Copies the files tsc does not (it copies only TypeScript): the Lua scripts next to the
// compiled Redis store, and the web console's static files next to src/admin/console.js.
import { cpSync } from "node:fs";

cpSync(
  new URL("../src/stores/redis/lua/", import.meta.url),
  new URL("../dist/src/stores/redis/lua/", import.meta.url),
  { recursive: true },
);

cpSync(new URL("../src/admin/console/", import.meta.url), new URL("../dist/src/admin/console/", import.meta.url), {
  recursive: true,
});
