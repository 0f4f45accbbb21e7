/**
 * Synchronous chat-abuse detection on top of the `obscenity` package.
 *
 * `obscenity` already resolves leetspeak, repeated letters and many Unicode
 * confusables, but it works code point by code point, so zero-width padding,
 * combining marks and a few look-alike scripts slip through it. We therefore
 * normalise the message first ({@link normalizeChat}) and only then hand it to
 * obscenity's matcher.
 *
 * @packageDocumentation
 */
import {
  DataSet,
  RegExpMatcher,
  collapseDuplicatesTransformer,
  englishDataset as obscenityEnglishDataset,
  englishRecommendedTransformers,
  englishRecommendedWhitelistMatcherTransformers,
  parseRawPattern,
  resolveConfusablesTransformer,
  resolveLeetSpeakTransformer,
  toAsciiLowerCaseTransformer,
} from "obscenity";
import type { MatchPayload, TransformerContainer } from "obscenity";
import { attempt, childPath, fail, readArray, readObject, show } from "../util/validate.js";

/** Options of the chat detector. */
export interface ChatDetectorOptions {
  /** Use obscenity's English dataset. @defaultValue true */
  englishDataset?: boolean;
  /**
   * Extra whole words/phrases the game bans (matched through the same
   * normalisation & evasion handling as the dataset).
   *
   * @remarks
   * A term only matches as a whole word: "noobface" flags "you noobface!" but
   * not "noobfaces". Leetspeak ("n00bf4ce") and stretched letters
   * ("nooooobface") are still caught.
   */
  terms?: readonly string[];
  /**
   * Extra regular expressions, tested against the normalised text (see
   * {@link normalizeChat}).
   *
   * @remarks
   * The text they see is lower-case and has no leetspeak decoding; it is also
   * retried with spelled-out letters joined ("k y s" becomes "kys"). The `g`
   * and `y` flags are ignored so that a shared `lastIndex` cannot make results
   * depend on earlier calls. Zero-length matches never count.
   */
  patterns?: readonly RegExp[];
  /**
   * Words never flagged even if the dataset matches (whitelist).
   *
   * @remarks
   * A match (from any source) is dropped when it lies entirely inside an
   * occurrence of an allowed word in the normalised text, so allowing
   * "shiitake" also covers "Shiitakes".
   */
  allow?: readonly string[];
}

/** One abusive match reported by {@link ChatDetector.check}. */
export interface ChatMatch {
  /**
   * The matched term as the dataset/terms/pattern knows it (e.g. "fuck", or the
   * game's term, or the pattern's source) — NOT the user's whole text. Bounded
   * to 64 chars.
   */
  term: string;
  /** Where it came from. */
  source: "dataset" | "term" | "pattern";
}

/**
 * Only this many UTF-16 code units of a message are examined, so a huge
 * message costs the same as a long one. Text beyond it is not checked; games
 * should cap chat length at or below this. The normalised text is capped
 * again because NFKD can expand a character up to 18-fold (U+FDFA), which
 * would otherwise multiply matching time.
 */
const MAX_CHECKED_CHARS = 2000;

/** Reported terms are echoed into logs and UIs, so keep them short. */
const MAX_REPORTED_TERM = 64;

/**
 * Innocent words that obscenity's English dataset flags on its own (checked
 * against obscenity 0.4.6): "cockpit" hits `|cockp`, "cumin" hits `|cum`,
 * "rapeseed" hits `|rape`, and "shiitake" collapses to "shitake" only for
 * blacklist matching, so the dataset's own "shitake" whitelist entry never
 * covers it.
 */
const BUILTIN_ALLOW: readonly string[] = ["cockpit", "cumin", "rapeseed", "shiitake"];

/**
 * Repeat thresholds of obscenity's English preset, copied because the preset
 * does not export them. Game terms start from the same thresholds so they
 * tolerate the same stretched spellings as the dataset.
 */
const ENGLISH_REPEAT_THRESHOLDS: ReadonlyMap<string, number> = new Map([
  ["b", 2],
  ["e", 2],
  ["o", 2],
  ["l", 2],
  ["s", 2],
  ["g", 2],
]);

/**
 * Invisible characters used to split words without changing how they look:
 * soft hyphen, combining grapheme joiner, Hangul fillers, Khmer/Mongolian
 * invisible vowels and selectors, zero-width and bidi controls, word joiner
 * and invisible operators, variation selectors, BOM and tag characters. C0/C1
 * controls (other than whitespace, which becomes a space later) are dropped
 * too because they render as nothing in most chat UIs.
 */
const INVISIBLE =
  /[\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{E0000}-\u{E0FFF}]/gu;

/** Non-spacing and enclosing marks: diacritics and "Zalgo" stacks. */
const COMBINING_MARKS = /[\p{Mn}\p{Me}]/gu;

/** U+0085 is not in `\s` but is a line break, so it must not glue words. */
const WHITESPACE_RUN = /[\s\u0085]+/gu;

/**
 * Letters from other scripts that look like Latin ones. NFKD already folds
 * fullwidth, mathematical and circled letters, so only script look-alikes are
 * listed. Upper-case entries are mapped before lower-casing because several
 * Greek capitals look Latin while their lower-case forms do not (Η vs η).
 */
const CONFUSABLES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    // Cyrillic lower case
    а: "a",
    в: "b",
    е: "e",
    ԁ: "d",
    һ: "h",
    і: "i",
    ј: "j",
    к: "k",
    ӏ: "l",
    м: "m",
    н: "h",
    о: "o",
    р: "p",
    ԛ: "q",
    с: "c",
    ѕ: "s",
    т: "t",
    у: "y",
    ү: "y",
    ԝ: "w",
    х: "x",
    ь: "b",
    // Cyrillic upper case
    А: "a",
    В: "b",
    Е: "e",
    Ԁ: "d",
    Һ: "h",
    І: "i",
    Ӏ: "l",
    Ј: "j",
    К: "k",
    М: "m",
    Н: "h",
    О: "o",
    Р: "p",
    Ԛ: "q",
    С: "c",
    Ѕ: "s",
    Т: "t",
    У: "y",
    Ү: "y",
    Ԝ: "w",
    Х: "x",
    // Greek lower case
    α: "a",
    β: "b",
    γ: "y",
    ε: "e",
    η: "n",
    ι: "i",
    κ: "k",
    μ: "u",
    ν: "v",
    ο: "o",
    // ς also covers the lunate sigma ϲ, which NFKD folds into it.
    ρ: "p",
    ς: "c",
    τ: "t",
    υ: "u",
    χ: "x",
    ω: "w",
    ϳ: "j",
    // Greek upper case
    Α: "a",
    Β: "b",
    Ε: "e",
    Ζ: "z",
    Η: "h",
    Ι: "i",
    Κ: "k",
    Μ: "m",
    Ν: "n",
    Ο: "o",
    Ρ: "p",
    Τ: "t",
    Υ: "y",
    Χ: "x",
    Ϳ: "j",
    // Latin letters outside ASCII that NFKD leaves alone
    ı: "i",
    ɑ: "a",
    ɡ: "g",
    ɩ: "i",
    ʟ: "l",
    // Armenian
    օ: "o",
    ս: "u",
    հ: "h",
    ո: "n",
    ց: "g",
  }),
);

const CONFUSABLE_CHAR = new RegExp(`[${[...CONFUSABLES.keys()].join("")}]`, "gu");

/**
 * Characters obscenity's leetspeak decoder turns into letters. At a word edge
 * they are usually punctuation ("noobface!", "@player"), and decoding them
 * there glues a letter onto the word and defeats whole-word patterns.
 */
const EDGE_LEET_SYMBOLS = /(?<![\p{L}\p{N}!|(@$/])[!|(@$/]+|[!|(@$/]+(?![\p{L}\p{N}!|(@$/])/gu;

/**
 * Three or more single characters separated by spaces or light punctuation
 * ("f u c k", "k.y.s", "s-h-1-t"). Normal prose almost never has such runs,
 * and joining them is what lets spelled-out words match.
 */
const SPELLED_OUT = /(?<![\p{L}\p{N}])[\p{L}\p{N}$@!|(](?:[ .,\-_*~+:;'"`^=#]+[\p{L}\p{N}$@!|(]){2,}(?![\p{L}\p{N}])/gu;

const SPELLED_OUT_SEPARATORS = /[ .,\-_*~+:;'"`^=#]+/g;

/** Characters that obscenity's pattern syntax treats specially. */
const PATTERN_META = /[\\[\]?|]/;

/** Where obscenity's `|` assertion compiles to a meaningful `\b`. */
const ASCII_WORD_CHAR = /^[A-Za-z0-9_]$/;

/** The keys of {@link ChatDetectorOptions}. */
export const CHAT_OPTION_KEYS = ["englishDataset", "terms", "patterns", "allow"] as const;

/** Most entries of `terms` or `allow`. */
const MAX_WORDS = 10_000;
/** Longest entry of `terms` or `allow`, in UTF-16 code units. */
const MAX_WORD_CHARS = 200;
/** Most `patterns`. */
const MAX_PATTERNS = 1000;
/** Longest pattern source. */
const MAX_PATTERN_CHARS = 1000;

/**
 * Normalises text so evasions collapse: NFKD + strip combining marks
 * (diacritics), remove zero-width/invisible characters (U+200B–U+200F,
 * U+2060–U+2064, U+FEFF, U+00AD, U+034F, U+180E and similar), map common
 * look-alike letters (Cyrillic/Greek lookalikes such as а е о р с х і ѕ → a e o
 * p c x i s; fullwidth Ａ–Ｚ → A–Z via NFKD), lower-case, and collapse every
 * whitespace run to a single space.
 *
 * @remarks
 * Leetspeak and repeated letters are deliberately left alone: obscenity's
 * transformers resolve those while matching, and regular-expression
 * `patterns` are easier to write against text that still has its digits.
 *
 * @param text - Any string, including lone surrogates.
 * @returns The normalised text; never throws.
 */
export function normalizeChat(text: string): string {
  return text
    .normalize("NFKD")
    .replace(COMBINING_MARKS, "")
    .replace(INVISIBLE, "")
    .replace(CONFUSABLE_CHAR, (char) => CONFUSABLES.get(char) ?? char)
    .toLowerCase()
    .replace(WHITESPACE_RUN, " ");
}

/** The part of a text we are willing to spend time on. */
function capLength(text: string): string {
  if (text.length <= MAX_CHECKED_CHARS) return text;
  let end = MAX_CHECKED_CHARS;
  const last = text.charCodeAt(end - 1);
  // Cutting between a surrogate pair would turn an emoji into a lone surrogate.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** Bounds by code points so an astral character is never cut in half. */
function boundTerm(term: string): string {
  const codePoints = Array.from(term);
  return codePoints.length <= MAX_REPORTED_TERM ? term : codePoints.slice(0, MAX_REPORTED_TERM).join("");
}

/**
 * The views of a message worth matching, most literal first: as normalised,
 * with spelled-out letters joined, and additionally with leet symbols at word
 * edges blanked. Later views only add catches, so each one is tried only when
 * the previous found nothing.
 */
function viewsOf(normalised: string): string[] {
  const joined = normalised.replace(SPELLED_OUT, (run) => run.replace(SPELLED_OUT_SEPARATORS, ""));
  const edged = joined.replace(EDGE_LEET_SYMBOLS, (run) => " ".repeat(run.length));
  const views = [normalised];
  if (joined !== normalised) views.push(joined);
  if (edged !== joined) views.push(edged);
  return views;
}

/**
 * Runs obscenity transformers over a string outside a matcher, so a game term
 * is written down the way the matcher will see the text it should match.
 */
function applyTransformers(text: string, containers: readonly TransformerContainer[]): string {
  const transformers = containers.map((container) => ("factory" in container ? container.factory() : container));
  let out = "";
  for (const char of text) {
    let code: number | undefined = char.codePointAt(0);
    for (const transformer of transformers) {
      if (code === undefined) break;
      code = transformer.transform(code);
    }
    if (code !== undefined) out += String.fromCodePoint(code);
  }
  return out;
}

/** The matcher's view of a term, split into runs of the same character. */
function runsOf(text: string): Array<{ char: string; length: number }> {
  const runs: Array<{ char: string; length: number }> = [];
  for (const char of text) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.char === char) last.length += 1;
    else runs.push({ char, length: 1 });
  }
  return runs;
}

function escapePatternChar(char: string): string {
  return PATTERN_META.test(char) ? `\\${char}` : char;
}

/** A game term ready to become an obscenity pattern. */
interface PreparedTerm {
  reported: string;
  runs: Array<{ char: string; length: number }>;
}

/**
 * Builds the obscenity pattern for a game term. The matcher caps each run of a
 * repeated character at its threshold, so a run shorter than the threshold is
 * followed by optional copies: "bat" with a threshold of 2 for "t" must still
 * match "batt". Word boundaries are only asserted next to ASCII word
 * characters, because obscenity compiles them to `\b`, which never holds
 * beside punctuation or non-ASCII letters.
 */
function termPattern(
  runs: ReadonlyArray<{ char: string; length: number }>,
  thresholds: ReadonlyMap<string, number>,
): string {
  let body = "";
  for (const { char, length } of runs) {
    const escaped = escapePatternChar(char);
    body += escaped.repeat(length);
    const extra = (thresholds.get(char) ?? 1) - length;
    for (let i = 0; i < extra; i++) body += `[${escaped}]`;
  }
  const first = runs[0]?.char ?? "";
  const last = runs[runs.length - 1]?.char ?? "";
  return `${ASCII_WORD_CHAR.test(first) ? "|" : ""}${body}${ASCII_WORD_CHAR.test(last) ? "|" : ""}`;
}

/** Chat detector options after {@link resolveChatOptions}: every field present and checked. */
export interface ResolvedChatOptions {
  readonly englishDataset: boolean;
  readonly terms: readonly string[];
  /** Fresh copies, without the `g` and `y` flags. */
  readonly patterns: readonly RegExp[];
  readonly allow: readonly string[];
}

/** The transformers a game term is decoded with, both when checked and when compiled. */
function termDecoders(): TransformerContainer[] {
  return [resolveConfusablesTransformer(), resolveLeetSpeakTransformer(), toAsciiLowerCaseTransformer()];
}

/** Checks a list of words (`terms`, `allow`): strings, each with something visible in it. */
function wordList(path: string, value: unknown): string[] {
  if (value === undefined) return [];
  return readArray(path, value, MAX_WORDS, "an array of strings").map((entry, index) => {
    const entryPath = `${path}[${index}]`;
    if (typeof entry !== "string" || entry.length > MAX_WORD_CHARS)
      fail(entryPath, `must be a string of at most ${MAX_WORD_CHARS} characters, got ${show(entry)}`);
    if (normalizeChat(entry).trim() === "")
      fail(entryPath, `must contain at least one visible character, got ${show(entry)}`);
    return entry;
  });
}

/**
 * Validates the chat detector's options, so that `new ChatDetector(resolved)` cannot throw.
 * `createWarden` calls it (through `resolveOptions`) before anything is created.
 *
 * @param options - The detector's part of the `guard.chat` option; `undefined` = defaults.
 * @param path - Where the options sit, for error sentences.
 * @throws `WardenError("INVALID_OPTION")` naming the path, e.g.
 *   `createWarden: option "guard.chat.patterns[1]" must be a RegExp, got "b"`.
 */
export function resolveChatOptions(options: unknown, path = "guard.chat"): ResolvedChatOptions {
  const given = readObject(path, options === undefined ? {} : options, CHAT_OPTION_KEYS);
  const englishDataset = given.englishDataset ?? true;
  if (typeof englishDataset !== "boolean")
    fail(childPath(path, "englishDataset"), `must be true or false, got ${show(englishDataset)}`);

  const terms = wordList(childPath(path, "terms"), given.terms);
  const decode = termDecoders();
  terms.forEach((term, index) => {
    // Escaping makes every term a valid pattern; checked here all the same, so that the
    // constructor has nothing left that could fail.
    try {
      parseRawPattern(
        termPattern(runsOf(applyTransformers(normalizeChat(term).trim(), decode)), ENGLISH_REPEAT_THRESHOLDS),
      );
    } catch (error) {
      fail(`${childPath(path, "terms")}[${index}]`, `cannot be turned into a pattern, got ${show(term)}`, error);
    }
  });
  const allow = wordList(childPath(path, "allow"), given.allow);

  const patternsPath = childPath(path, "patterns");
  const patterns =
    given.patterns === undefined
      ? []
      : readArray(patternsPath, given.patterns, MAX_PATTERNS, "an array of RegExp").map((entry, index) => {
          const entryPath = `${patternsPath}[${index}]`;
          return attempt(entryPath, () => {
            if (!(entry instanceof RegExp)) fail(entryPath, `must be a RegExp, got ${show(entry)}`);
            const { source, flags } = entry;
            if (source.length > MAX_PATTERN_CHARS)
              fail(entryPath, `must have a source of at most ${MAX_PATTERN_CHARS} characters, got ${source.length}`);
            // A copy without g and y: a shared lastIndex must not make results depend on earlier calls.
            return new RegExp(source, flags.replace(/[gy]/g, ""));
          });
        });

  return Object.freeze({
    englishDataset,
    terms: Object.freeze(terms),
    patterns: Object.freeze(patterns),
    allow: Object.freeze(allow),
  });
}

/**
 * Start of the first non-empty match of `regExp` (which must be global) that
 * is not inside an allowed span, or -1. `matchAll` works on a copy of the
 * regular expression, so the shared instance's `lastIndex` is never touched.
 */
function firstAllowedMiss(view: string, regExp: RegExp, allowed: ReadonlyArray<readonly [number, number]>): number {
  for (const match of view.matchAll(regExp)) {
    const start = match.index;
    const end = start + match[0].length;
    if (end === start) continue;
    if (!allowed.some(([from, to]) => from <= start && end <= to)) return start;
  }
  return -1;
}

/** A compiled game regular expression. */
interface CompiledPattern {
  reported: string;
  regExp: RegExp;
}

/** A hit inside one view, ordered by where it starts. */
interface Hit {
  index: number;
  match: ChatMatch;
}

/**
 * Detects abusive chat messages. Build one per configuration and reuse it:
 * all matchers are compiled in the constructor.
 *
 * @example
 * ```ts
 * const chat = new ChatDetector({ terms: ["noobface"], patterns: [/\bkys\b/] });
 * chat.check("you n00bf4ce"); // { term: "noobface", source: "term" }
 * ```
 */
export class ChatDetector {
  readonly #datasetMatcher: RegExpMatcher | null;
  readonly #termMatcher: RegExpMatcher | null;
  readonly #termSet: DataSet<{ term: string }>;
  readonly #patterns: readonly CompiledPattern[];
  readonly #allow: readonly string[];

  /**
   * @param options - Detector configuration; every field is optional. Options that went
   * through {@link resolveChatOptions} (as `createWarden` does) are never refused.
   * @throws `WardenError("INVALID_OPTION")` naming the offending path (e.g.
   * `guard.chat.patterns[1]`) when the options are malformed.
   */
  constructor(options: ChatDetectorOptions = {}) {
    // The one validation path; idempotent, so options resolved before pass unchanged.
    const checked = resolveChatOptions(options);
    this.#patterns = checked.patterns.map(
      (pattern): CompiledPattern => ({
        reported: boundTerm(pattern.source),
        regExp: new RegExp(pattern.source, `${pattern.flags}g`),
      }),
    );

    // Whitelist lookups see the normalised text, so the words must be normalised too.
    this.#allow = [...new Set(checked.allow.map((word) => normalizeChat(word).trim()))];

    if (checked.englishDataset) {
      const built = obscenityEnglishDataset.build();
      this.#datasetMatcher = new RegExpMatcher({
        blacklistedTerms: built.blacklistedTerms,
        whitelistedTerms: [...(built.whitelistedTerms ?? []), ...BUILTIN_ALLOW, ...this.#allow],
        ...englishRecommendedTransformers,
      });
    } else {
      this.#datasetMatcher = null;
    }

    this.#termSet = new DataSet<{ term: string }>();
    this.#termMatcher = checked.terms.length === 0 ? null : this.#buildTermMatcher(checked.terms);
  }

  /**
   * Game terms get their own matcher because obscenity's English preset
   * collapses most doubled letters to one ("butt" → "but"); reusing it would
   * turn a term like "butt" into a pattern that flags "but". Here each letter
   * may repeat as often as it does in any term, and no less than the English
   * preset allows.
   */
  #buildTermMatcher(terms: readonly string[]): RegExpMatcher {
    const decode = termDecoders();
    const prepared: PreparedTerm[] = terms.map((raw) => ({
      reported: boundTerm(raw.trim()),
      runs: runsOf(applyTransformers(normalizeChat(raw).trim(), decode)),
    }));
    const thresholds = new Map(ENGLISH_REPEAT_THRESHOLDS);
    for (const { runs } of prepared) {
      for (const { char, length } of runs) {
        thresholds.set(char, Math.max(thresholds.get(char) ?? 1, length));
      }
    }
    for (const { reported, runs } of prepared) {
      const parsed = parseRawPattern(termPattern(runs, thresholds));
      this.#termSet.addPhrase((phrase) => phrase.setMetadata({ term: reported }).addPattern(parsed));
    }
    const built = this.#termSet.build();
    return new RegExpMatcher({
      blacklistedTerms: built.blacklistedTerms,
      whitelistedTerms: [...(built.whitelistedTerms ?? []), ...this.#allow],
      blacklistMatcherTransformers: [
        ...decode,
        collapseDuplicatesTransformer({ defaultThreshold: 1, customThresholds: thresholds }),
      ],
      whitelistMatcherTransformers: englishRecommendedWhitelistMatcherTransformers,
    });
  }

  /**
   * First abusive match in `text`, or null.
   *
   * @remarks
   * Synchronous and never throws for any string (huge, lone surrogates,
   * control characters, emoji). Only the first 2000 UTF-16 code units are
   * examined, and at most 2000 of their normalised form. Within a message the earliest match wins; on a tie the dataset
   * is preferred over game terms, and game terms over patterns.
   *
   * @param text - The raw chat message.
   */
  check(text: string): ChatMatch | null {
    if (typeof text !== "string" || text.length === 0) return null;
    for (const view of viewsOf(capLength(normalizeChat(capLength(text))))) {
      const hit = this.#firstHit(view);
      if (hit !== null) return hit;
    }
    return null;
  }

  #firstHit(view: string): ChatMatch | null {
    const hits: Hit[] = [];
    if (this.#datasetMatcher !== null) {
      const match = this.#datasetMatcher.getAllMatches(view, true)[0];
      if (match !== undefined) {
        const word = obscenityEnglishDataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord;
        hits.push({ index: match.startIndex, match: { term: boundTerm(word ?? "profanity"), source: "dataset" } });
      }
    }
    if (this.#termMatcher !== null) {
      const match: MatchPayload | undefined = this.#termMatcher.getAllMatches(view, true)[0];
      if (match !== undefined) {
        const term = this.#termSet.getPayloadWithPhraseMetadata(match).phraseMetadata?.term;
        hits.push({ index: match.startIndex, match: { term: term ?? "term", source: "term" } });
      }
    }
    if (this.#patterns.length > 0) {
      const allowed = this.#allowedIntervals(view);
      for (const { reported, regExp } of this.#patterns) {
        const index = firstAllowedMiss(view, regExp, allowed);
        if (index !== -1) hits.push({ index, match: { term: reported, source: "pattern" } });
      }
    }
    // Hits were pushed in tie-break order, so keeping the first minimum honours it.
    let best: Hit | undefined;
    for (const hit of hits) if (best === undefined || hit.index < best.index) best = hit;
    return best?.match ?? null;
  }

  /** Spans of `view` covered by allowed words, as [start, end) pairs. */
  #allowedIntervals(view: string): Array<[number, number]> {
    const intervals: Array<[number, number]> = [];
    for (const word of this.#allow) {
      for (let at = view.indexOf(word); at !== -1; at = view.indexOf(word, at + 1)) {
        intervals.push([at, at + word.length]);
      }
    }
    return intervals;
  }
}
