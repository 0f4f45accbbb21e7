/**
 * Synchronous chat-abuse detection.
 *
 * The built-in vocabulary (see lexicon-data.ts) is compiled into one trie
 * ({@link Lexicon}) walked over the message: plain ASCII text is read as it is,
 * anything else is normalised first ({@link normalizeChat}: zero-width padding,
 * combining marks, look-alike letters). Game `terms` go through the `obscenity`
 * package, and `patterns` are plain regular expressions over the normalised text.
 *
 * @packageDocumentation
 */
import {
  DataSet,
  RegExpMatcher,
  collapseDuplicatesTransformer,
  englishRecommendedWhitelistMatcherTransformers,
  parseRawPattern,
  resolveConfusablesTransformer,
  resolveLeetSpeakTransformer,
  toAsciiLowerCaseTransformer,
} from "obscenity";
import type { MatchPayload, TransformerContainer } from "obscenity";
import { attempt, childPath, fail, listOf, readArray, readObject, show } from "../util/validate.js";
import { LEXICON, PREFIX_TERMS, type LexiconCategory } from "./lexicon-data.js";
import { isWordCode, Lexicon, type LexiconHit } from "./lexicon.js";

/** Options of the chat detector. */
export interface ChatDetectorOptions {
  /**
   * Use the built-in English vocabulary (profanity, slurs, sexual terms, harassment and
   * threats). `false` removes `"en"` from {@link ChatDetectorOptions.languages}.
   * @defaultValue true
   */
  englishDataset?: boolean;
  /**
   * Languages whose vocabulary is checked in every message, as ISO 639-1 codes: `"en"`,
   * `"es"`, `"fr"`, `"de"`, `"it"`, `"pt"`, `"nl"`, `"sv"`, `"da"`, `"no"`, `"pl"`, `"cs"`,
   * `"fi"`, `"hu"`, `"tr"` (Latin-script lists of LDNOOBW; words match whole).
   * @defaultValue `["en"]`
   */
  languages?: readonly string[];
  /**
   * Languages checked only for a player whose locale (join option `locale`, else the
   * identity's) has that primary language: `["es", "fr"]` checks Spanish for `"es-MX"`.
   * @defaultValue `[]`
   */
  playerLanguages?: readonly string[];
  /**
   * Languages checked in the rooms of one name (as given to `gameServer.define`), for every
   * player in them: `{ "lobby-es": ["es"] }`.
   * @defaultValue `{}`
   */
  roomLanguages?: Readonly<Record<string, readonly string[]>>;
  /**
   * Categories to detect; a category set to `false` is never reported.
   * @defaultValue all `true`
   */
  categories?: Partial<Record<ChatCategory, boolean>>;
  /**
   * The game is about fighting: second-person threats of violence ("I'll kill you",
   * "you're dead") are allowed. Self-harm incitement ("kys", "kill yourself", "go die")
   * is still flagged as harassment.
   * @defaultValue false
   */
  gameViolence?: boolean;
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

/**
 * What a match is: `profanity`, `slur`, `sexual`, `harassment` (threats, self-harm
 * incitement) or `spam` (links). Game `terms` and `patterns` report `profanity`.
 */
export type ChatCategory = "profanity" | "slur" | "sexual" | "harassment" | "spam";

/** Every {@link ChatCategory}. */
export const CHAT_CATEGORIES: readonly ChatCategory[] = ["profanity", "slur", "sexual", "harassment", "spam"];

/** Languages with a built-in vocabulary. */
export const CHAT_LANGUAGES: readonly string[] = Object.keys(LEXICON);

/** One abusive match reported by {@link ChatDetector.check}. */
export interface ChatMatch {
  /**
   * The matched term as the dataset/terms/pattern knows it (e.g. "fuck", or the
   * game's term, or the pattern's source) — NOT the user's whole text. Bounded
   * to 64 chars.
   */
  term: string;
  /** Where it came from: the built-in vocabulary, a game term, a pattern, or the link detector. */
  source: "dataset" | "term" | "pattern" | "link";
  /** The category of the match. */
  category: ChatCategory;
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
 * Repeat thresholds of obscenity's English preset, copied because the preset
 * does not export them. Game terms start from the same thresholds so they
 * tolerate the same stretched spellings as the dataset did.
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
const INVISIBLE_SOURCE =
  "[\\u0000-\\u0008\\u000E-\\u001F\\u007F-\\u0084\\u0086-\\u009F\\u00AD\\u034F\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\u{E0000}-\\u{E0FFF}]";
const INVISIBLE = new RegExp(INVISIBLE_SOURCE, "gu");
/** The same class without `g`, for a test that keeps no `lastIndex`. */
const HAS_INVISIBLE = new RegExp(INVISIBLE_SOURCE, "u");

/**
 * Diacritics and "Zalgo" stacks: the combining diacritical mark blocks and enclosing marks.
 * Other scripts' marks (Devanagari vowel signs, the kana voicing marks NFKD splits off) are
 * part of their letters and stay.
 */
const COMBINING_MARKS = /[\u0300-\u036F\u0483-\u0489\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F\p{Me}]/gu;

/** A character and the combining marks on it. */
const MARKED = /(\P{M})(\p{M}+)/gu;

/** Letters of the scripts the look-alike table borrows from. */
const LOOKALIKE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/u;

/** A word, for deciding whether its look-alike letters are a disguise. */
const WORD_RUN = /[\p{L}\p{N}]+/gu;

/** A Latin letter. */
const LATIN_LETTER = /\p{Script=Latin}/u;

/** A letter outside the Latin script (what is left of a word after its look-alikes are taken out). */
const NON_LATIN_LETTER = /[^\p{Script=Latin}\p{N}]/u;

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

/** A Cyrillic, Greek or Armenian letter that is not a look-alike of a Latin one. */
const NATIVE_LETTER = new RegExp(
  `[[\\p{Script=Cyrillic}\\p{Script=Greek}\\p{Script=Armenian}]--[${[...CONFUSABLES.keys()].join("")}]]`,
  "v",
);

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
export const CHAT_OPTION_KEYS = [
  "englishDataset",
  "languages",
  "playerLanguages",
  "roomLanguages",
  "categories",
  "gameViolence",
  "terms",
  "patterns",
  "allow",
] as const;

/** Most entries of `terms` or `allow`. */
const MAX_WORDS = 10_000;
/** Longest entry of `terms` or `allow`, in UTF-16 code units. */
const MAX_WORD_CHARS = 200;
/** Most rooms in `roomLanguages`. */
const MAX_ROOMS = 1000;
/** Most `patterns`. */
const MAX_PATTERNS = 1000;
/** Longest pattern source. */
const MAX_PATTERN_CHARS = 1000;

/**
 * Normalises text so evasions collapse: NFKD + strip diacritics and Zalgo marks, remove
 * zero-width/invisible characters (U+200B–U+200F, U+2060–U+2064, U+FEFF, U+00AD, U+034F,
 * U+180E and similar), map look-alike letters (Cyrillic/Greek/Armenian such as а е о р с х
 * і ѕ → a e o p c x i s; fullwidth Ａ–Ｚ → A–Z via NFKD), lower-case, collapse every
 * whitespace run to a single space, and recompose (NFC).
 *
 * @remarks
 * Other scripts survive: look-alikes are only mapped inside a word made of Latin letters and
 * look-alikes ("ѕһіт", "fսck"), not in a Russian or Greek word, and only the diacritic
 * blocks are stripped, so Hangul, kana and Devanagari come back whole. Leetspeak and
 * repeated letters are deliberately left alone: the matcher resolves those, and
 * regular-expression `patterns` are easier to write against text that still has its digits.
 *
 * @param text - Any string, including lone surrogates.
 * @returns The normalised text; never throws.
 */
export function normalizeChat(text: string): string {
  // Each step runs only when a test says it would change something: most chat in other
  // scripts has no marks to strip, no invisible characters and no look-alikes of its own.
  let out = text.normalize("NFKD");
  if (HAS_MARK.test(out)) out = out.replace(MARKED, stripMarks);
  if (HAS_INVISIBLE.test(out)) out = out.replace(INVISIBLE, "");
  CONFUSABLE_CHAR.lastIndex = 0;
  if (CONFUSABLE_CHAR.test(out)) {
    // A message that has Cyrillic, Greek or Armenian letters with no Latin look-alike is written
    // in that script: its words are left alone unless they mix in Latin letters ("fսck").
    const native = NATIVE_LETTER.test(out);
    // Text written in another script with no Latin letter at all has nothing to unmask.
    if (!native || LATIN_LETTER.test(out)) out = out.replace(WORD_RUN, native ? unmaskMixed : unmask);
  }
  out = out.toLowerCase();
  if (HAS_WHITESPACE_TO_FOLD.test(out)) out = out.replace(WHITESPACE_RUN, " ");
  return out.normalize("NFC");
}

/** Any combining mark (the cheap test before {@link MARKED}). */
const HAS_MARK = /\p{M}/u;
/** Any whitespace other than a lone space, or two spaces in a row. */
const HAS_WHITESPACE_TO_FOLD = /[^\S ]|\u0085| {2}/u;

/**
 * Diacritics off a letter. A Greek, Cyrillic or Armenian letter keeps one or two marks (the
 * tonos of "έ", the breve of "й"), which NFC puts back; a stack of more is Zalgo.
 */
function stripMarks(marked: string, base: string, marks: string): string {
  if (marks.length <= 2 && LOOKALIKE_SCRIPT.test(base)) return marked;
  return base + marks.replace(COMBINING_MARKS, "");
}

/** A word's look-alike letters as Latin, when nothing but Latin letters is left beside them. */
function unmask(word: string): string {
  CONFUSABLE_CHAR.lastIndex = 0;
  if (!CONFUSABLE_CHAR.test(word)) return word;
  CONFUSABLE_CHAR.lastIndex = 0;
  if (NON_LATIN_LETTER.test(word.replace(CONFUSABLE_CHAR, ""))) return word;
  return word.replace(CONFUSABLE_CHAR, (char) => CONFUSABLES.get(char) ?? char);
}

/** {@link unmask}, for a word that also has a Latin letter (in text written in another script). */
function unmaskMixed(word: string): string {
  return LATIN_LETTER.test(word) ? unmask(word) : word;
}

/** True when `text` is printable ASCII only: normalising it would only lower-case it. */
function plainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/**
 * True when `text` has three single characters in a row separated by spaces or light
 * punctuation ("f u c k", "k.y.s"), with a letter among them: only then is the joined view
 * built. Scans without allocating.
 */
function hasSpelledRun(text: string): boolean {
  let run = 0;
  let letter = false;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (isWordCode(code) || code === 36 || code === 64 || code === 33 || code === 124 || code === 40) {
      let end = i + 1;
      while (end < text.length && isWordCode(text.charCodeAt(end))) end++;
      if (end - i === 1) {
        run++;
        if (!(code >= 48 && code <= 57)) letter = true;
        if (run >= 3 && letter) return true;
      } else {
        run = 0;
        letter = false;
      }
      i = end;
    } else i++;
  }
  return false;
}

/** Links: a scheme, `www.`, or a host name under a common top-level domain ("discord.gg/x"). */
const LINK =
  /(?:https?:\/\/|www\.)[^\s]|(?<![\p{L}\p{N}.@-])[a-z0-9][a-z0-9-]*\.(?:com|net|org|gg|io|ru|xyz|ly|me|tv|co|info|biz|link|club|shop|site|online|top|app|dev|cc|to|su|pw|tk)(?![\p{L}\p{N}])/iu;

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
function viewsOf(normalised: string, edges: boolean): string[] {
  const joined = hasSpelledRun(normalised)
    ? normalised.replace(SPELLED_OUT, (run) => run.replace(SPELLED_OUT_SEPARATORS, ""))
    : normalised;
  const views = [normalised];
  if (joined !== normalised) views.push(joined);
  if (!edges) return views;
  const edged = joined.replace(EDGE_LEET_SYMBOLS, (run) => " ".repeat(run.length));
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
  /** Including `"en"` when `englishDataset` is true. */
  readonly languages: readonly string[];
  readonly playerLanguages: readonly string[];
  readonly roomLanguages: Readonly<Record<string, readonly string[]>>;
  readonly categories: Readonly<Record<ChatCategory, boolean>>;
  readonly gameViolence: boolean;
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

  const languagesAt = (at: string, value: unknown, fallback: readonly string[]): string[] => {
    if (value === undefined) return [...fallback];
    return readArray(at, value, CHAT_LANGUAGES.length, "an array of language codes").map((entry, index) => {
      if (typeof entry !== "string" || !CHAT_LANGUAGES.includes(entry))
        fail(`${at}[${index}]`, `must be one of ${listOf(CHAT_LANGUAGES)}, got ${show(entry)}`);
      return entry;
    });
  };
  const languagesOf = (key: string, fallback: readonly string[]): string[] =>
    languagesAt(childPath(path, key), given[key], fallback);
  const languages = languagesOf("languages", ["en"]).filter((lang) => englishDataset || lang !== "en");
  const playerLanguages = languagesOf("playerLanguages", []).filter((lang) => !languages.includes(lang));
  const roomsPath = childPath(path, "roomLanguages");
  const roomsGiven =
    given.roomLanguages === undefined
      ? {}
      : readObject(roomsPath, given.roomLanguages, null, "an object of language lists by room name");
  if (Object.keys(roomsGiven).length > MAX_ROOMS)
    fail(roomsPath, `must name at most ${MAX_ROOMS} rooms, got ${Object.keys(roomsGiven).length}`);
  const roomLanguages: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  for (const [room, list] of Object.entries(roomsGiven)) {
    const own = languagesAt(childPath(roomsPath, room), list, []).filter((lang) => !languages.includes(lang));
    if (own.length > 0) roomLanguages[room] = Object.freeze(own);
  }
  const categoriesPath = childPath(path, "categories");
  const categoriesGiven =
    given.categories === undefined ? {} : readObject(categoriesPath, given.categories, CHAT_CATEGORIES);
  const categories = {} as Record<ChatCategory, boolean>;
  for (const category of CHAT_CATEGORIES) {
    const value = categoriesGiven[category] ?? true;
    if (typeof value !== "boolean")
      fail(childPath(categoriesPath, category), `must be true or false, got ${show(value)}`);
    categories[category] = value;
  }
  const gameViolence = given.gameViolence ?? false;
  if (typeof gameViolence !== "boolean")
    fail(childPath(path, "gameViolence"), `must be true or false, got ${show(gameViolence)}`);

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
    languages: Object.freeze(languages),
    playerLanguages: Object.freeze(playerLanguages),
    roomLanguages: Object.freeze(roomLanguages),
    categories: Object.freeze(categories),
    gameViolence,
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

/** The hit that starts first; on a tie, `a` (the earlier source). */
function earlier(a: Hit | null, b: Hit | null): Hit | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.index < a.index ? b : a;
}

/** Built-in allowances: Latin-alphabet words the vocabulary would otherwise flag as a compound's start. */
const BUILTIN_ALLOW: readonly string[] = [
  "shiitake",
  "shitake",
  "shittah",
  "shittim",
  "niggard",
  "slutch",
  "wankle",
  "wankel",
  "cocktail",
  "cockpit",
];

/** A compiled vocabulary: the trie and what each of its entries reports. */
interface Vocabulary {
  lexicon: Lexicon;
  terms: readonly string[];
  categories: readonly ChatCategory[];
}

/** The category a vocabulary term reports: a threat is harassment. */
function reportedCategory(category: LexiconCategory): ChatCategory {
  return category === "threat" ? "harassment" : category;
}

/** The vocabulary of `languages`, without disabled categories (and threats when the game is violent). */
function vocabularyOf(languages: readonly string[], options: ResolvedChatOptions): Vocabulary | null {
  const terms: string[] = [];
  const categories: ChatCategory[] = [];
  for (const lang of languages) {
    for (const [term, category] of LEXICON[lang] ?? []) {
      if (category === "threat" && options.gameViolence) continue;
      const reported = reportedCategory(category);
      if (!options.categories[reported]) continue;
      terms.push(term);
      categories.push(reported);
    }
  }
  if (terms.length === 0) return null;
  return { lexicon: new Lexicon(terms, new Set(PREFIX_TERMS)), terms, categories };
}

/** Primary language subtag of a locale preference ("es-MX", "pt-BR, en"), lower case. */
function primaryLanguage(locale: string): string {
  let end = 0;
  while (end < locale.length && end < 8) {
    const code = locale.charCodeAt(end);
    if (!((code >= 97 && code <= 122) || (code >= 65 && code <= 90))) break;
    end++;
  }
  return locale.slice(0, end).toLowerCase();
}

/**
 * Detects abusive chat messages. Build one per configuration and reuse it:
 * all matchers are compiled in the constructor.
 *
 * @example
 * ```ts
 * const chat = new ChatDetector({ terms: ["noobface"], patterns: [/\bkys\b/] });
 * chat.check("you n00bf4ce"); // { term: "noobface", source: "term", category: "profanity" }
 * ```
 */
export class ChatDetector {
  readonly #vocabulary: Vocabulary | null;
  readonly #playerVocabularies: ReadonlyMap<string, Vocabulary>;
  readonly #roomVocabularies: ReadonlyMap<string, Vocabulary>;
  readonly #termMatcher: RegExpMatcher | null;
  readonly #termSet: DataSet<{ term: string }>;
  readonly #patterns: readonly CompiledPattern[];
  readonly #allow: readonly string[];
  readonly #links: boolean;
  /** Terms, patterns or allowed words need the lower-cased normalised text even for ASCII. */
  readonly #normaliseAscii: boolean;
  /** Reused by every lookup, so a clean message allocates nothing for it. */
  readonly #hit: LexiconHit = { entry: -1, start: 0, end: 0 };

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
    this.#allow = [...new Set([...BUILTIN_ALLOW, ...checked.allow].map((word) => normalizeChat(word).trim()))];
    this.#vocabulary = vocabularyOf(checked.languages, checked);
    const players = new Map<string, Vocabulary>();
    for (const lang of checked.playerLanguages) {
      const vocabulary = vocabularyOf([lang], checked);
      if (vocabulary !== null) players.set(lang, vocabulary);
    }
    this.#playerVocabularies = players;
    const rooms = new Map<string, Vocabulary>();
    for (const [room, languages] of Object.entries(checked.roomLanguages)) {
      const vocabulary = vocabularyOf(languages, checked);
      if (vocabulary !== null) rooms.set(room, vocabulary);
    }
    this.#roomVocabularies = rooms;
    this.#links = checked.categories.spam;

    this.#termSet = new DataSet<{ term: string }>();
    this.#termMatcher = checked.terms.length === 0 ? null : this.#buildTermMatcher(checked.terms);
    this.#normaliseAscii = this.#termMatcher !== null || this.#patterns.length > 0 || checked.allow.length > 0;
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
   * examined, and at most 2000 of their normalised form. Within a message the
   * earliest match wins; on a tie the vocabulary is preferred over game terms,
   * game terms over patterns, and patterns over links. A clean printable-ASCII
   * message is read in place: no normalised copy is made.
   *
   * @param text - The raw chat message.
   * @param locale - The player's locale preference (e.g. `"es-MX"`): adds the vocabulary of
   *   its language when that language is in `playerLanguages`.
   * @param room - The room's name: adds the vocabularies `roomLanguages` gives it.
   */
  check(text: string, locale?: string, room?: string): ChatMatch | null {
    if (typeof text !== "string" || text.length === 0) return null;
    const capped = capLength(text);
    const ascii = plainAscii(capped);
    const normalised = ascii && !this.#normaliseAscii ? capped : capLength(normalizeChat(capped));
    let extra: Vocabulary | undefined;
    if (locale !== undefined && this.#playerVocabularies.size > 0)
      extra = this.#playerVocabularies.get(primaryLanguage(locale));
    const local = room !== undefined && this.#roomVocabularies.size > 0 ? this.#roomVocabularies.get(room) : undefined;
    // The common case, a clean message with no spelled-out run and no game terms, reads the
    // text once and allocates nothing: the other views are built only when they can differ.
    const first = this.#firstHit(normalised, extra, local);
    if (first !== null || (this.#termMatcher === null && !hasSpelledRun(normalised))) return first;
    const views = viewsOf(normalised, this.#termMatcher !== null);
    for (let i = 1; i < views.length; i++) {
      const hit = this.#firstHit(views[i] ?? "", extra, local);
      if (hit !== null) return hit;
    }
    return null;
  }

  #firstHit(view: string, extra: Vocabulary | undefined, local: Vocabulary | undefined): ChatMatch | null {
    // Candidates arrive in tie-break order, so keeping the first minimum honours it.
    let best: Hit | null = null;
    if (this.#vocabulary !== null) best = this.#vocabularyHit(view, this.#vocabulary);
    if (extra !== undefined) best = earlier(best, this.#vocabularyHit(view, extra));
    if (local !== undefined) best = earlier(best, this.#vocabularyHit(view, local));
    if (this.#termMatcher !== null) {
      const match: MatchPayload | undefined = this.#termMatcher.getAllMatches(view, true)[0];
      if (match !== undefined) {
        const term = this.#termSet.getPayloadWithPhraseMetadata(match).phraseMetadata?.term;
        best = earlier(best, {
          index: match.startIndex,
          match: { term: term ?? "term", source: "term", category: "profanity" },
        });
      }
    }
    if (this.#patterns.length > 0) {
      const allowed = this.#allowedIntervals(view);
      for (const { reported, regExp } of this.#patterns) {
        const index = firstAllowedMiss(view, regExp, allowed);
        if (index !== -1)
          best = earlier(best, { index, match: { term: reported, source: "pattern", category: "profanity" } });
      }
    }
    // Only text with a dot or a slash can hold a link: the regular expression runs on those alone.
    if (this.#links && (view.includes(".") || view.includes("/"))) {
      const link = LINK.exec(view);
      if (link !== null)
        best = earlier(best, { index: link.index, match: { term: "link", source: "link", category: "spam" } });
    }
    return best?.match ?? null;
  }

  /** The first vocabulary term of `view` not inside an allowed word. */
  #vocabularyHit(view: string, vocabulary: Vocabulary): Hit | null {
    const hit = this.#hit;
    let from = 0;
    let allowed: Array<[number, number]> | undefined;
    while (vocabulary.lexicon.find(view, hit, from)) {
      allowed ??= this.#allowedIntervals(view.toLowerCase());
      const { start, end } = hit;
      if (!allowed.some(([lo, hi]) => lo <= start && end <= hi)) {
        const term = vocabulary.terms[hit.entry] ?? "profanity";
        const category = vocabulary.categories[hit.entry] ?? "profanity";
        return { index: start, match: { term: boundTerm(term), source: "dataset", category } };
      }
      from = Math.max(end, start + 1);
    }
    return null;
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
