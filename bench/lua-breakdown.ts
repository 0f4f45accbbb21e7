/**
 * Where the Redis time of one offense event goes: runs the recorder's Lua script
 * (src/stores/redis/lua/recordOffenses-n.lua) on batches of 1000 events for 1000 IDs, and
 * variants of it with one part taken out (or switched off by its arguments: no uids = no
 * dedupe, no ladder = no step decision), and prints Redis's own execution time per event
 * (INFO commandstats, cmdstat_eval usec) for each. Compare with a plain XADD (~2 µs).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/lua-breakdown.ts [--json]
 *
 * (`npm run bench` runs it too, in full mode, and puts the rows in details.record.luaBreakdown.)
 *
 * Variants are made by deleting lines of the script; one whose lines are not found any more
 * (the script changed) is reported as skipped. Variants take turns batch by batch and each
 * reports its median. Keys are deleted afterwards.
 */
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { deriveDigitalId } from "../src/identity/digital-id.js";
import { WARDEN_SECRET } from "./lib/clients.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = new Redis(url, { connectionName: "warden-bench-lua" });
const prefix = process.env.WARDEN_PREFIX ?? `bench-lua-${process.pid}`;
const full = readFileSync(new URL("../src/stores/redis/lua/recordOffenses-n.lua", import.meta.url), "utf8");
const BATCH = 1000;
const REPS = Number(process.env.REPS ?? 20);

function without(patterns: RegExp[], replace: [RegExp, string][] = []): string | null {
  let s = full;
  for (const p of patterns) {
    if (!p.test(s)) return null;
    s = s.replace(p, "");
  }
  for (const [p, r] of replace) {
    if (!p.test(s)) return null;
    s = s.replace(p, r);
  }
  return s;
}
/** The script's argument layout, for the hand-written variants below (KEYS: feed, then 3 per event; ARGV: 6, then 6 per event). */
const LOOP = "local out = {} for i = 1, (#KEYS - 1) / 3 do local a = 7 + (i - 1) * 6";
interface Variant {
  lua: string | null;
  /** Events carry uids (deduplicated); false = "" (the script skips the recorded set). */
  uids?: boolean;
  /** Events carry their track's ladder (the step is decided); false = "". */
  ladder?: boolean;
  /** Every batch after the first is the first again: all duplicates. */
  replay?: boolean;
}
const variants: Record<string, Variant> = {
  "full script": { lua: full },
  "replayed batch (every event a duplicate)": { lua: full, replay: true },
  "− dedupe (no uids: no ZADD, no upkeep of the recorded set)": { lua: full, uids: false },
  "− step decision (no ladder)": { lua: full, ladder: false },
  "− dedupe and step decision (the script before issue 9, near enough)": { lua: full, uids: false, ladder: false },
  "− per-ID history (XADD + PEXPIRE)": {
    lua: without([/^\s*redis\.call\("XADD", history.*\n/m, /^\s*redis\.call\("PEXPIRE", history.*\n/m]),
  },
  "− points (HMGET, decay, step, HSET) and their TTLs": {
    lua: without(
      [/^\s*local before = 0\n[\s\S]*?redis\.call\("PEXPIRE", points, retention\)\n\s*end\n/m],
      [
        [/local stored = redis\.call\("HMGET".*\n/, "local stored = {}\n"],
        [/out\[i\] = \{ 1, .*\n/, 'out[i] = { 1, id, "0", "1", -1 }\n'],
      ],
    ),
  },
  "− the per-batch PEXPIREs (history, points)": {
    lua: without([/^\s*redis\.call\("PEXPIRE", history.*\n/m, /^\s*redis\.call\("PEXPIRE", points.*\n/m]),
  },
  "feed XADD only (MINID)": {
    lua: `local minid = string.format("%d", tonumber(ARGV[1]) - tonumber(ARGV[2])) ${LOOP} out[i] = redis.call("XADD", KEYS[1], "MINID", minid, "*", "e", ARGV[a]) end return out`,
  },
  "loop over the arguments only": { lua: `${LOOP} out[i] = a end return out` },
};

const dids = Array.from({ length: BATCH }, (_, i) => deriveDigitalId(WARDEN_SECRET, `lua-${i}`));
const json = JSON.stringify({
  uid: "Ab3dE6gH9jK1:1k2",
  at: Date.now(),
  did: dids[0],
  room: { name: "world", id: "benchRoom01" },
  detector: "flood",
  kind: "rate",
  track: "spam",
  severity: 1,
  evidence: { type: "move", dropped: 12, rate: 15, burst: 30 },
});
async function evalStats(): Promise<[number, number]> {
  const m = /cmdstat_eval:calls=(\d+),usec=(\d+)/.exec(await redis.info("commandstats"));
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
let batchNo = 0;
/** KEYS then ARGV of one batch; every batch gets fresh uids unless it replays the previous one. */
function batch(variant: Variant, replay: boolean): (string | number)[] {
  if (!replay) batchNo++;
  const keys = [`${prefix}:feed`];
  const args: (string | number)[] = [Date.now(), 30 * 86_400_000, 86_400_000, 1, 0.005, 60_000];
  for (let i = 0; i < BATCH; i++) {
    keys.push(`${prefix}:{${dids[i]}}:events`, `${prefix}:{${dids[i]}}:points`, `${prefix}:{${dids[i]}}:recorded`);
    args.push(
      json,
      variant.uids === false ? "" : `Ab3dE6gH9jK1:${(batchNo * BATCH + i).toString(36)}`,
      "spam",
      1,
      600_000,
      variant.ladder === false ? "" : "1 3 6 10",
    );
  }
  return [keys.length, ...keys, ...args];
}
// Variants take turns, one batch each, and each reports its median: a busy machine slows
// every variant alike instead of whichever happened to run during the slow spell.
const samples = new Map<string, number[]>();
for (const [name, variant] of Object.entries(variants)) {
  if (variant.lua === null) continue;
  samples.set(name, []);
  await redis.eval(variant.lua, ...(batch(variant, false) as [number, ...(string | number)[]])); // load + warm
}
for (let r = 0; r < REPS; r++) {
  for (const [name, variant] of Object.entries(variants)) {
    if (variant.lua === null) continue;
    const [c0, u0] = await evalStats();
    await redis.eval(variant.lua, ...(batch(variant, variant.replay === true) as [number, ...(string | number)[]]));
    const [c1, u1] = await evalStats();
    samples.get(name)!.push((u1 - u0) / (c1 - c0) / BATCH);
  }
}
const rows: { variant: string; usPerEvent: number | null }[] = Object.entries(variants).map(([name, variant]) => {
  const taken = samples.get(name);
  if (variant.lua === null || taken === undefined)
    return { variant: `${name} (skipped: script changed)`, usPerEvent: null };
  const sorted = [...taken].sort((a, b) => a - b);
  return { variant: name, usPerEvent: Math.round(sorted[Math.floor(sorted.length / 2)]! * 100) / 100 };
});
let cursor = "0";
do {
  const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
  cursor = next;
  if (found.length > 0) await redis.unlink(...found);
} while (cursor !== "0");
redis.disconnect();
if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
else for (const r of rows) console.log(`${String(r.usPerEvent ?? "—").padStart(7)} µs/event  ${r.variant}`);
