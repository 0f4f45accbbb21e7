/**
 * Where the plugin's heap per client goes, from the snapshots a curve run writes:
 *
 *   BENCH_SNAPSHOTS=<dir> BENCH_CURVE=2000 npx tsx bench/run.ts --quick --only=curve
 *   node --max-old-space-size=12000 --import tsx bench/heap-diff.ts <dir> 2000
 *
 * Each server writes `<variant>-<pid>-<n>.heapsnapshot` at each heap measurement (1: after
 * the warm-up clients, 2: after the point's clients). Objects are grouped by type, name and
 * with `--retainers` first retainer (`Standing.first`, `Map.table`…); per group, (plugin after − before) −
 * (bare after − before), per client. `scaling` sums the groups whose object count grew by at
 * least half a client's worth each (the per-client structures); `total` is everything, code
 * and strings included (what heapUsed sees, noise with it). Takes the first point's pair
 * of each variant unless `--pid-bare` / `--pid-plugin` name others.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

type Groups = Map<string, { count: number; bytes: number }>;

/** Self sizes grouped by `type:name <- retainer.edge`. */
function groups(file: string): Groups {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [types] = m.node_types;
  const [edgeTypes] = m.edge_types;
  const ti = m.node_fields.indexOf("type");
  const ni = m.node_fields.indexOf("name");
  const si = m.node_fields.indexOf("self_size");
  const ci = m.node_fields.indexOf("edge_count");
  const eti = m.edge_fields.indexOf("type");
  const eni = m.edge_fields.indexOf("name_or_index");
  const eto = m.edge_fields.indexOf("to_node");
  const { nodes, edges, strings } = s;
  const retainer = new Map<number, string>();
  let e = 0;
  for (let i = 0; i < nodes.length; i += nf) {
    const count = nodes[i + ci]!;
    const type = types[nodes[i + ti]!]!;
    const owner = type === "object" || type === "closure" ? strings[nodes[i + ni]!]!.slice(0, 30) : type;
    for (let k = 0; k < count; k++, e += ef) {
      const edgeType = edgeTypes[edges[e + eti]!]!;
      if (edgeType === "weak" || edgeType === "shortcut") continue;
      const to = edges[e + eto]!;
      if (retainer.has(to)) continue;
      const name = edgeType === "element" || edgeType === "hidden" ? "[]" : strings[edges[e + eni]!];
      retainer.set(to, `${owner}.${name}`);
    }
  }
  const out: Groups = new Map();
  for (let i = 0; i < nodes.length; i += nf) {
    const type = types[nodes[i + ti]!]!;
    if (type === "code" || type === "native" || type === "hidden" || type === "object shape") continue;
    const name = type.includes("string") ? "(string)" : strings[nodes[i + ni]!]!.slice(0, 30);
    const key = byRetainer ? `${type}:${name} <- ${retainer.get(i) ?? "?"}` : `${type}:${name}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += nodes[i + si]!;
    out.set(key, g);
  }
  return out;
}

const [dirArg, clientsArg] = process.argv.slice(2);
const dir = dirArg ?? "";
const byRetainer = process.argv.includes("--retainers");
const clients = Number(clientsArg);
if (!dir || !Number.isInteger(clients) || clients <= 0) {
  console.error(
    "usage: bench/heap-diff.ts <snapshot dir> <clients of the point> [--retainers] [--pid-bare P] [--pid-plugin P]",
  );
  process.exit(2);
}
const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const files = readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot"));
function pair(variant: string): [string, string] {
  const pid =
    flag(`--pid-${variant}`) ??
    files
      .filter((f) => f.startsWith(`${variant}-`))
      .map((f) => f.split("-")[1]!)
      .sort((a, b) => Number(a) - Number(b))[0];
  const before = `${variant}-${pid}-1.heapsnapshot`;
  const after = `${variant}-${pid}-2.heapsnapshot`;
  if (!files.includes(before) || !files.includes(after)) throw new Error(`no ${variant} snapshot pair in ${dir}`);
  return [join(dir, before), join(dir, after)];
}
const [b1, b2, p1, p2] = [...pair("bare"), ...pair("plugin")].map(groups) as [Groups, Groups, Groups, Groups];
const zero = { count: 0, bytes: 0 };
const rows: { key: string; bytes: number; count: number }[] = [];
for (const key of new Set([...b1.keys(), ...b2.keys(), ...p1.keys(), ...p2.keys()])) {
  const [x1, x2, y1, y2] = [b1, b2, p1, p2].map((g) => g.get(key) ?? zero) as [
    typeof zero,
    typeof zero,
    typeof zero,
    typeof zero,
  ];
  rows.push({
    key,
    bytes: y2.bytes - y1.bytes - (x2.bytes - x1.bytes),
    count: y2.count - y1.count - (x2.count - x1.count),
  });
}
const per = (bytes: number) => Math.round((bytes / clients) * 10) / 10;
const scaling = rows.filter((r) => r.count >= clients / 2);
console.log(
  JSON.stringify({
    clients,
    totalBytesPerClient: per(rows.reduce((t, r) => t + r.bytes, 0)),
    scalingBytesPerClient: per(scaling.reduce((t, r) => t + r.bytes, 0)),
  }),
);
for (const r of scaling.sort((a, b) => b.bytes - a.bytes))
  console.log(`${String(per(r.bytes)).padStart(8)} B ${String(r.count).padStart(7)} × ${r.key}`);
