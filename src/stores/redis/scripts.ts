import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";

const LUA_DIR = new URL("./lua/", import.meta.url);
const INCLUDE = /^--- @include "([\w-]+)"$/gm;

/** Script name → number of KEYS, read from the file name (`name-N.lua`). */
const SCRIPTS = { saveSanction: 1, revokeSanction: 1 } as const;
export type ScriptName = keyof typeof SCRIPTS;

function loadLua(name: string, keys: number): string {
  const source = readFileSync(new URL(`${name}-${keys}.lua`, LUA_DIR), "utf8");
  return source.replace(INCLUDE, (_, include: string) => readFileSync(new URL(`includes/${include}.lua`, LUA_DIR), "utf8"));
}

/** Command signatures that {@link defineScripts} adds to a connection. */
export interface WardenCommands {
  saveSanction(key: string, ...args: (string | number)[]): Promise<number>;
  revokeSanction(key: string, ...args: (string | number)[]): Promise<[number, string?, string?]>;
}

/** Loads every script once per connection (ioredis `defineCommand`: EVALSHA with EVAL fallback). */
export function defineScripts(connection: Redis | Cluster): Redis & WardenCommands {
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    if (typeof (connection as unknown as Record<string, unknown>)[name] === "function") continue;
    connection.defineCommand(name, { numberOfKeys: keys, lua: loadLua(name, keys) });
  }
  return connection as Redis & WardenCommands;
}
