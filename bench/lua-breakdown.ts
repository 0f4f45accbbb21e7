/**
 * Where the Redis time of one offense event goes: runs the recorder's Lua script
 * (src/stores/redis/lua/recordOffenses-n.lua) on batches of 1000 events for 1000 IDs, and
 * variants of it with one part taken out, and prints Redis's own execution time per event
 * (INFO commandstats, cmdstat_eval usec) for each. Compare with a plain XADD (~2 µs).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/lua-breakdown.ts [--json]
 *
 * (`npm run bench` runs it too, in full mode, and puts the rows in details.record.luaBreakdown.)
 *
 * Variants are made by deleting lines of the script; one whose lines are not found any more
 * (the script changed) is reported as skipped. Keys are deleted afterwards.
 */
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { deriveDigitalId } from "../src/index.js";
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
const variants: Record<string, string | null> = {
  "full script": full,
  "− per-ID history (XADD + PEXPIRE)": without([/^\s*redis\.call\("XADD", history.*\n/m, /^\s*redis\.call\("PEXPIRE", history.*\n/m]),
  "− points (HMGET, HSET, decay) and the TTL block": without(
    [/^\s*local stored = [\s\S]*?redis\.call\("PEXPIRE", points, retention\)\n\s*end\n/m],
    [[/out\[i\] = .*\n/, 'out[i] = { id, "0", "1", "0" }\n']],
  ),
  "− both PEXPIREs": without([/^\s*redis\.call\("PEXPIRE", history.*\n/m, /^\s*redis\.call\("PEXPIRE", points.*\n/m]),
  "feed XADD only (MINID)": `local minid = string.format("%d", tonumber(ARGV[1]) - tonumber(ARGV[2])) local out = {} for i = 1, (#KEYS - 1) / 2 do local a = 3 + (i - 1) * 4 out[i] = redis.call("XADD", KEYS[1], "MINID", minid, "*", "e", ARGV[a]) end return out`,
  "loop over the arguments only": `local out = {} for i = 1, (#KEYS - 1) / 2 do out[i] = i end return out`,
};

const dids = Array.from({ length: BATCH }, (_, i) => deriveDigitalId(WARDEN_SECRET, `lua-${i}`));
const json = JSON.stringify({ at: Date.now(), did: dids[0], room: { name: "world", id: "benchRoom01" }, detector: "flood", kind: "rate", track: "spam", severity: 1, evidence: { type: "move", dropped: 12, rate: 15, burst: 30 } });
async function evalStats(): Promise<[number, number]> {
  const m = /cmdstat_eval:calls=(\d+),usec=(\d+)/.exec(await redis.info("commandstats"));
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
const rows: { variant: string; usPerEvent: number | null }[] = [];
for (const [name, lua] of Object.entries(variants)) {
  if (lua === null) {
    rows.push({ variant: `${name} (skipped: script changed)`, usPerEvent: null });
    continue;
  }
  const keys = [`${prefix}:feed`];
  const args: (string | number)[] = [Date.now(), 30 * 86_400_000];
  for (let i = 0; i < BATCH; i++) {
    keys.push(`${prefix}:{${dids[i]}}:events`, `${prefix}:{${dids[i]}}:points`);
    args.push(json, "spam", 1, 600_000);
  }
  await redis.eval(lua, keys.length, ...keys, ...args); // load + warm
  const [c0, u0] = await evalStats();
  for (let r = 0; r < REPS; r++) {
    args[0] = Date.now();
    await redis.eval(lua, keys.length, ...keys, ...args);
  }
  const [c1, u1] = await evalStats();
  rows.push({ variant: name, usPerEvent: Math.round(((u1 - u0) / (c1 - c0) / BATCH) * 100) / 100 });
}
let cursor = "0";
do {
  const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
  cursor = next;
  if (found.length > 0) await redis.unlink(...found);
} while (cursor !== "0");
redis.disconnect();
if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
else for (const r of rows) console.log(`${String(r.usPerEvent ?? "—").padStart(7)} µs/event  ${r.variant}`);
