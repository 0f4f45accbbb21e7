import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";

const LUA_DIR = new URL("./lua/", import.meta.url);
const INCLUDE = /^--- @include "([\w-]+)"$/gm;

/**
 * Script name → number of KEYS, as in the file name (`name-N.lua`); `"n"` = variable, the
 * caller passes the key count first.
 */
const SCRIPTS = {
  saveSanction: 1,
  revokeSanction: 1,
  fileReport: 2,
  recordOffenses: "n",
  appendAudit: 2,
  forgive: 1,
  saveReview: 2,
  deleteReview: 2,
  noteInvolved: 1,
  countReportBy: 1,
  noteReporter: 1,
  countStats: "n",
  countActive: 1,
  noteOwnSignals: 1,
  noteSignalId: 2,
  signalPeers: 2,
  dismissLink: 1,
} as const;
export type ScriptName = keyof typeof SCRIPTS;

function loadLua(name: string, keys: number | "n"): string {
  const source = readFileSync(new URL(`${name}-${keys}.lua`, LUA_DIR), "utf8");
  return source.replace(INCLUDE, (_, include: string) =>
    readFileSync(new URL(`includes/${include}.lua`, LUA_DIR), "utf8"),
  );
}

/** Command signatures that {@link defineScripts} adds to a connection. */
export interface WardenCommands {
  saveSanction(key: string, ...args: (string | number)[]): Promise<number>;
  revokeSanction(key: string, ...args: (string | number)[]): Promise<[number, string?, string?]>;
  fileReport(reporters: string, weights: string, ...args: (string | number)[]): Promise<[number, string?]>;
  /** Per event: `[1, id, before, after, step]` (step -1 = none), or `[0, step]` for an event recorded before (a replay). */
  recordOffenses(
    keyCount: number,
    ...keysThenArgs: (string | number)[]
  ): Promise<([1, string, string, string, number] | [0, number])[]>;
  appendAudit(log: string, head: string, ...args: (string | number)[]): Promise<[number, number, string, number]>;
  /** 1 forgiven, 0 no points on the track or a later step issued since. */
  forgive(points: string, ...args: (string | number)[]): Promise<number>;
  /** `[1, previous involved JSON or ""]` saved, `[0]` conflict. */
  saveReview(record: string, index: string, ...args: (string | number)[]): Promise<[number, string?]>;
  /** The deleted record's involved JSON, or "" when there was none. */
  deleteReview(record: string, index: string, id: string): Promise<string>;
  noteInvolved(involved: string, ...args: (string | number)[]): Promise<number>;
  /** Reports within the window, this one included. */
  countReportBy(reportedBy: string, ...args: (string | number)[]): Promise<number>;
  /** `[upheld, unfounded, suspendedUntil]`. */
  noteReporter(reporter: string, ...args: (string | number)[]): Promise<[number, number, number]>;
  countStats(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number>;
  /** `[kind, count, kind, count, …]`. */
  countActive(active: string, ...args: (string | number)[]): Promise<(string | number)[]>;
  /** `[[first, last, …] per signal noted, [dropped signal, …]]`. */
  noteOwnSignals(signals: string, ...args: (string | number)[]): Promise<unknown>;
  /** `[did, first, last, …]` of the other IDs, newest first. */
  noteSignalId(ids: string, firsts: string, ...args: (string | number)[]): Promise<unknown>;
  /** `[did, first, last, …]` of the other IDs, newest first. */
  signalPeers(ids: string, firsts: string, ...args: (string | number)[]): Promise<unknown>;
  dismissLink(dismissed: string, ...args: (string | number)[]): Promise<number>;
}

/** Loads every script once per connection (ioredis `defineCommand`: EVALSHA with EVAL fallback). */
export function defineScripts(connection: Redis | Cluster): Redis & WardenCommands {
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    if (typeof (connection as unknown as Record<string, unknown>)[name] === "function") continue;
    connection.defineCommand(
      name,
      keys === "n" ? { lua: loadLua(name, keys) } : { numberOfKeys: keys, lua: loadLua(name, keys) },
    );
  }
  return connection as Redis & WardenCommands;
}
