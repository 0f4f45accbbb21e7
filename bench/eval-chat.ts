/**
 * Evaluation of the chat detector against public lists nobody here wrote (npm dev
 * dependencies: LDNOOBW via naughty-words, badwords-list, cuss, an-array-of-english-words),
 * generated evasions of its own vocabulary, and a clean game-chat corpus in fifteen
 * languages (bench/corpus/clean-chat.ts). Prints a JSON report and a Markdown summary.
 *
 *   npm run eval:chat            (node --expose-gc --import tsx bench/eval-chat.ts)
 *   DETECTOR=/path/to/chat.ts npm run eval:chat   (another build of the detector, for before/after)
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { LEXICON, PREFIX_TERMS } from "../src/guard/lexicon-data.js";
import { CLEAN_CHAT } from "./corpus/clean-chat.js";

const require = createRequire(import.meta.url);
type Check = { check(text: string, locale?: string): { term: string; category?: string } | null };
type DetectorClass = new (options?: Record<string, unknown>) => Check;
const module_ = (await import(
  process.env.DETECTOR === undefined ? "../src/guard/chat.js" : pathToFileURL(process.env.DETECTOR).href
)) as { ChatDetector: DetectorClass };
const { ChatDetector } = module_;
const quick = process.argv.includes("--quick");

const norm = (term: string) =>
  term
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .trim();

// --- Public lists ------------------------------------------------------------------------
const ldnoobwEn: string[] = (require("naughty-words/en.json") as string[]).map(norm);
const badwords: string[] = (require("badwords-list").array as string[]).map(norm);
const { cuss } = (await import("cuss")) as { cuss: Record<string, number> };
const cussSure = Object.entries(cuss)
  .filter(([, rating]) => rating === 2)
  .map(([word]) => norm(word));
const dictionary: string[] = require("an-array-of-english-words") as string[];

/** A detector with these options; an older build that does not know them gets its defaults. */
function build(options?: Record<string, unknown>): Check {
  try {
    return new ChatDetector(options);
  } catch (error) {
    if (process.env.DETECTOR === undefined) throw error;
    return new ChatDetector();
  }
}
const english = build();
const flagged = (detector: Check, text: string, locale?: string) => detector.check(text, locale) !== null;

function coverage(list: readonly string[]) {
  const unique = [...new Set(list)].filter((t) => /\p{L}/u.test(t));
  const missed = unique.filter((t) => !flagged(english, t));
  return {
    terms: unique.length,
    caught: unique.length - missed.length,
    rate: 1 - missed.length / unique.length,
    missed,
  };
}

// --- Evasions of the vocabulary -----------------------------------------------------------
const LEET: Record<string, string> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };
const LOOKALIKE: Record<string, string> = { a: "а", e: "е", o: "о", p: "р", c: "с", x: "х", i: "і", s: "ѕ", y: "у" };
const VOWELS = /[aeiou]/;
const mapChars = (t: string, table: Record<string, string>) => [...t].map((c) => table[c] ?? c).join("");
const GENERATORS: Record<string, (t: string) => string | null> = {
  plain: (t) => t,
  case: (t) => [...t].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join(""),
  // A word made only of leet digits ("455") is a number and never flagged: not an evasion.
  leet: (t) => (/[aeiost]/.test(t) && /[^aeiost]/.test(t) ? mapChars(t, LEET) : null),
  spacing: (t) => [...t].join(" "),
  punctuation: (t) => [...t].join("."),
  dashes: (t) => [...t].join("-"),
  zero_width: (t) => [...t].join("\u200b"),
  lookalikes: (t) => (/[aeopcxisy]/.test(t) ? mapChars(t, LOOKALIKE) : null),
  fullwidth: (t) => [...t].map((c) => String.fromCodePoint((c.codePointAt(0) ?? 0) + 0xfee0)).join(""),
  diacritics: (t) => t.replace(/[aeiou]/, (v) => `${v}\u0308`),
  stretching: (t) => t.replace(/[aeiou]/g, (v) => v.repeat(4)),
  doubled: (t) => [...t].map((c) => c + c).join(""),
  self_censor: (t) => {
    // f*ck, sh*t: the inner vowels hidden, one star each; needs two visible letters.
    const chars = [...t];
    const out = chars.map((c, i) => (i > 0 && i < chars.length - 1 && VOWELS.test(c) ? "*" : c)).join("");
    return out === t || out.replace(/\*/g, "").length < 2 ? null : out;
  },
  u_to_v: (t) => (t.includes("u") ? t.replace(/u/g, "v") : null),
  compound: (t) => `${t}face`,
  in_sentence: (t) => `lol you are such a ${t}, gg`,
  punctuated_end: (t) => `${t}!!!`,
  leet_stretched: (t) =>
    /[aeios]/.test(t) && /[^aeiost]/.test(t) ? mapChars(t, LEET).replace(/[a-z]/, (c) => c.repeat(3)) : null,
};

const vocabulary = (LEXICON.en ?? []).map(([term, category]) => ({ term, category }));
const words = vocabulary.filter(({ term }) => /^[a-z]{3,}$/.test(term));
const phrases = vocabulary.filter(({ term }) => term.includes(" "));
const recall: Record<string, { tried: number; caught: number; rate: number; missed: string[] }> = {};
for (const [name, generate] of Object.entries(GENERATORS)) {
  let tried = 0;
  const missed: string[] = [];
  for (const { term } of words) {
    const text = generate(term);
    if (text === null) continue;
    tried++;
    if (!flagged(english, text)) missed.push(text);
  }
  recall[name] = {
    tried,
    caught: tried - missed.length,
    rate: (tried - missed.length) / tried,
    missed: missed.slice(0, 12),
  };
}
const PHRASE_GENERATORS: Record<string, (t: string) => string> = {
  phrase_plain: (t) => t,
  phrase_spaces: (t) => t.replace(/ /g, "   "),
  phrase_punctuation: (t) => t.replace(/ /g, "... "),
  phrase_case: (t) => t.toUpperCase(),
  phrase_zero_width: (t) => t.replace(/(\w)(\w)/, "$1\u200b$2"),
  phrase_in_sentence: (t) => `omg just ${t} already`,
  phrase_leet: (t) => mapChars(t, { o: "0", e: "3", i: "1" }),
};
for (const [name, generate] of Object.entries(PHRASE_GENERATORS)) {
  const missed = phrases.map(({ term }) => generate(term)).filter((text) => !flagged(english, text));
  recall[name] = {
    tried: phrases.length,
    caught: phrases.length - missed.length,
    rate: (phrases.length - missed.length) / phrases.length,
    missed: missed.slice(0, 12),
  };
}
let allTried = 0;
let allCaught = 0;
for (const r of Object.values(recall)) {
  allTried += r.tried;
  allCaught += r.caught;
}

// --- False positives ------------------------------------------------------------------------
// A dictionary word that is itself on a public list (or in the vocabulary), or such a word
// plus a plural/inflection ending, is a true positive: those are what the lists ban.
const listed = new Set([...ldnoobwEn, ...badwords, ...Object.keys(cuss).map(norm), ...vocabulary.map((v) => v.term)]);
const inflected = (w: string) =>
  listed.has(w) ||
  ["s", "es", "ed", "ing", "er", "ers", "y", "in", "ier", "iest"].some(
    (e) => w.endsWith(e) && listed.has(w.slice(0, -e.length)),
  );
const dictFlagged: string[] = [];
let dictListed = 0;
for (const word of dictionary) {
  if (!flagged(english, word)) continue;
  if (inflected(word)) dictListed++;
  else dictFlagged.push(word);
}
// Of the rest, words that begin with one of the strong terms ("shithole", "whoremonger") are
// derivatives a chat filter is meant to flag; the others are the Scunthorpe cases.
const strongCompounds = dictFlagged.filter((w) => PREFIX_TERMS.some((p) => w.startsWith(p)));
const scunthorpe = dictFlagged.filter((w) => !strongCompounds.includes(w));

// Digit-only tokens: every number up to 99 999 alone, and in score/room/coordinate sentences.
let digitTried = 0;
const digitFlagged: string[] = [];
const allLanguages = build({ languages: Object.keys(LEXICON) });
for (let n = 0; n < (quick ? 10_000 : 100_000); n++) {
  for (const text of [String(n), `my score is ${n}`, `room ${n}`, `gg ${n % 10}-${n % 7}`, `at ${n},${n % 321}`]) {
    digitTried++;
    if (flagged(allLanguages, text)) digitFlagged.push(text);
  }
}

// The clean corpus: each language with its own vocabulary opted in for the player, and with
// every language's vocabulary on at once (the worst case for stems of one language in another).
const perPlayer = build({ playerLanguages: Object.keys(LEXICON).filter((l) => l !== "en") });
const clean: Record<string, { lines: number; flagged: string[]; flagged_all_languages: string[] }> = {};
let cleanLines = 0;
let cleanFlagged = 0;
let cleanFlaggedAll = 0;
for (const [lang, lines] of Object.entries(CLEAN_CHAT)) {
  const hits = lines.filter((line) => flagged(perPlayer, line, lang));
  const hitsAll = lines.filter((line) => flagged(allLanguages, line));
  clean[lang] = { lines: lines.length, flagged: hits, flagged_all_languages: hitsAll };
  cleanLines += lines.length;
  cleanFlagged += hits.length;
  cleanFlaggedAll += hitsAll.length;
}
// The other languages' vocabularies, each on its own words: so that "puta madre" is caught.
const foreign: Record<string, number> = {};
for (const lang of Object.keys(LEXICON)) {
  if (lang === "en") continue;
  const entries = LEXICON[lang] ?? [];
  foreign[lang] = entries.filter(([t]) => flagged(perPlayer, t, lang)).length / entries.length;
}

// --- Cost per clean message ------------------------------------------------------------------
const gc = (globalThis as { gc?: () => void }).gc;
function cost(detector: Check, lines: readonly string[], locale?: string) {
  const perLine: number[] = [];
  const reps = quick ? 2000 : 20_000;
  for (const line of lines) detector.check(line, locale);
  for (let warm = 0; warm < 3; warm++)
    for (const line of lines) for (let i = 0; i < 2000; i++) detector.check(line, locale);
  for (const line of lines) {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps / 5; i++) detector.check(line, locale);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / (reps / 5));
    }
    perLine.push(best);
  }
  let bytes = Number.NaN;
  if (gc !== undefined) {
    const deltas: number[] = [];
    gc();
    for (let round = 0; round < 200; round++) {
      const before = process.memoryUsage().heapUsed;
      for (const line of lines) for (let i = 0; i < 10; i++) detector.check(line, locale);
      deltas.push((process.memoryUsage().heapUsed - before) / (lines.length * 10));
    }
    deltas.sort((a, b) => a - b);
    bytes = deltas[Math.floor(deltas.length * 0.75)] ?? Number.NaN;
  }
  perLine.sort((a, b) => a - b);
  return {
    median_ns: Math.round(perLine[Math.floor(perLine.length / 2)] ?? 0),
    p90_ns: Math.round(perLine[Math.floor(perLine.length * 0.9)] ?? 0),
    bytes_per_msg: Math.round(bytes),
  };
}
const costs = {
  en_default: cost(english, CLEAN_CHAT.en ?? []),
  es_player_language: cost(perPlayer, CLEAN_CHAT.es ?? [], "es"),
  ru_default: cost(english, CLEAN_CHAT.ru ?? []),
  ja_default: cost(english, CLEAN_CHAT.ja ?? []),
};

const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 3 : 2)} %`;
const report = {
  node: process.version,
  coverage: {
    ldnoobw_en: coverage(ldnoobwEn),
    badwords_list: coverage(badwords),
    cuss_rating_2: coverage(cussSure),
  },
  recall,
  recall_overall: allCaught / allTried,
  dictionary: {
    words: dictionary.length,
    flagged_listed: dictListed,
    false_positives: dictFlagged.length,
    rate: dictFlagged.length / dictionary.length,
    strong_compounds: strongCompounds.length,
    scunthorpe: scunthorpe.length,
    scunthorpe_rate: scunthorpe.length / dictionary.length,
    examples: dictFlagged.slice(0, 80),
    scunthorpe_words: scunthorpe,
  },
  digits: { tried: digitTried, flagged: digitFlagged.length, examples: digitFlagged.slice(0, 10) },
  clean_corpus: {
    lines: cleanLines,
    flagged: cleanFlagged,
    flagged_all_languages: cleanFlaggedAll,
    by_language: clean,
  },
  foreign_vocabulary_self_recall: foreign,
  cost: costs,
};
if (process.argv.includes("--json")) console.log(JSON.stringify(report, null, 2));
else {
  const lines = [
    `node ${process.version}`,
    "",
    "| measure | result |",
    "|---|---|",
    ...Object.entries(report.coverage).map(([k, c]) => `| coverage ${k} (${c.terms} terms) | ${pct(c.rate)} |`),
    `| recall over all evasion types (${allTried} texts) | ${pct(report.recall_overall)} |`,
    `| dictionary false positives (${dictionary.length} words; ${dictListed} flagged words are listed terms or their inflections) | ${dictFlagged.length} = ${pct(report.dictionary.rate)} |`,
    `| … of which start with a strong term (${PREFIX_TERMS.length} terms: "shithole", "fuckup") | ${strongCompounds.length} |`,
    `| … the rest: innocent words flagged (Scunthorpe cases) | ${scunthorpe.length} = ${pct(report.dictionary.scunthorpe_rate)} |`,
    `| digit-only tokens (${digitTried} texts, every language on) | ${digitFlagged.length} flagged |`,
    `| clean corpus (${cleanLines} lines, ${Object.keys(CLEAN_CHAT).length} languages), English + the line's language as player language | ${cleanFlagged} flagged |`,
    `| clean corpus, every vocabulary on for everyone | ${cleanFlaggedAll} flagged |`,
    ...Object.entries(costs).map(
      ([k, c]) => `| cost ${k} | median ${c.median_ns} ns, p90 ${c.p90_ns} ns, ${c.bytes_per_msg} B/msg |`,
    ),
    "",
    "| evasion | tried | recall |",
    "|---|---|---|",
    ...Object.entries(recall).map(([k, r]) => `| ${k} | ${r.tried} | ${pct(r.rate)} |`),
  ];
  console.log(lines.join("\n"));
  console.log(
    "\nmissed (first per type):",
    JSON.stringify(Object.fromEntries(Object.entries(recall).map(([k, r]) => [k, r.missed.slice(0, 6)]))),
  );
  console.log("coverage missed ldnoobw:", JSON.stringify(report.coverage.ldnoobw_en.missed));
  console.log("coverage missed badwords:", JSON.stringify(report.coverage.badwords_list.missed.slice(0, 60)));
  console.log("coverage missed cuss2:", JSON.stringify(report.coverage.cuss_rating_2.missed.slice(0, 60)));
  console.log("dictionary FPs:", JSON.stringify(report.dictionary.examples));
  console.log("scunthorpe:", JSON.stringify(scunthorpe));
  console.log(
    "clean flagged:",
    JSON.stringify(Object.fromEntries(Object.entries(clean).map(([k, v]) => [k, v.flagged]))),
  );
  console.log("foreign self-recall:", JSON.stringify(foreign));
}
