/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `BENCH_PROFILE=<dir> npm run
 * bench`): self time per function, the share of the repository's own code (src/, rooms/),
 * and optionally the total (self + children) time of functions matching a pattern.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 30] [--match <regex>]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file] = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--"));
if (!file) {
  console.error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top N] [--match REGEX]");
  process.exit(2);
}
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const top = Number(arg("--top") ?? 30);
const match = arg("--match") ? new RegExp(arg("--match")!) : null;

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++)
  self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
const total = profile.endTime - profile.startTime;

const short = (url: string) =>
  url
    .replace(/^file:\/\//, "")
    .replace(/.*\/node_modules\//, "~/")
    .replace(/.*\/work\/main\//, "");
const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const selfByLabel = new Map<string, number>();
let idle = 0;
let own = 0;
for (const [id, us] of self) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === "(idle)") idle += us;
  if (/\/work\/main\/(src|rooms)\//.test(n.callFrame.url)) own += us;
  const l = label(n);
  selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + us);
}
const busy = total - idle;
const pct = (us: number) => `${((us / busy) * 100).toFixed(2)}%`;
console.log(
  `${file}: ${(total / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s not idle; repository code (src/, rooms/) self time ${(own / 1000).toFixed(1)} ms = ${pct(own)} of busy`,
);
console.log(`top ${top} by self time (share of busy time):`);
for (const [l, us] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${pct(us).padStart(7)}  ${(us / 1000).toFixed(1).padStart(9)} ms  ${l}`);

if (match) {
  // Total time: samples whose stack contains a matching frame (counted once per sample).
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const l = label(n);
      if (match.test(l) && !seen.has(l)) {
        seen.add(l);
        totals.set(l, (totals.get(l) ?? 0) + (profile.timeDeltas[i] ?? 0));
      }
    }
  }
  console.log(`total (self + callees) of frames matching ${match}:`);
  for (const [l, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us).padStart(7)}  ${(us / 1000).toFixed(1).padStart(9)} ms  ${l}`);
}
