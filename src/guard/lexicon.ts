/**
 * A word automaton for the chat detector: one trie over every vocabulary term, walked from
 * each word start of the normalised message. Evasions are resolved while walking, not by
 * rewriting the text: leet digits and symbols decode to letters (inside words that have a
 * letter: a number is never a word), a stretched letter is absorbed ("fuuuck"), `v` reads as
 * `u`, a `*` or `#` stands for one hidden letter ("f*ck"), and any run of separators matches
 * the one space of a phrase ("kill   yourself"). A clean word usually leaves the trie after
 * one or two characters, and the walk allocates nothing.
 *
 * @packageDocumentation
 */

/** Trie columns: a–z, then the phrase space. */
const COLUMNS = 27;
const SPACE = 26;
/** Node flags. */
const WORD = 1;
const PREFIX = 2;

/**
 * Endings that make a compound insult of a vocabulary term ("analface", "cockhead"): after a
 * term of four letters or more, one of these closing the word still matches.
 */
const COMPOUND_SUFFIXES: readonly string[] = [
  "face",
  "head",
  "hole",
  "wad",
  "bag",
  "stain",
  "sucker",
  "licker",
  "lord",
  "wit",
  "hat",
  "brain",
  "clown",
  "muncher",
  "monkey",
  "fucker",
];

/** Code unit → trie column for letters after decoding, or -1. */
function column(code: number): number {
  if (code >= 97 && code <= 122) return code - 97;
  return -1;
}

/** True for a letter or digit (ASCII, or any non-ASCII character outside punctuation and emoji). */
export function isWordCode(code: number): boolean {
  if (code < 128) return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57);
  if (code < 0xc0 || code === 0xd7 || code === 0xf7) return false;
  if (code >= 0x2000 && code <= 0x2bff) return false; // punctuation, symbols, arrows, box drawing
  if (code >= 0x3000 && code <= 0x3003) return false; // CJK space and punctuation
  if (code >= 0xd800 && code <= 0xdfff) return false; // surrogates: emoji and other astral symbols
  if (code >= 0xfe10 && code <= 0xfe6f) return false;
  if (code >= 0xff00 && code <= 0xff0f) return false;
  return true;
}

/** Symbols that stand for letters inside a word ("a$$", "sh!t", "f*ck"). */
function isLeetSymbol(code: number): boolean {
  return (
    code === 64 ||
    code === 36 ||
    code === 33 ||
    code === 124 ||
    code === 43 ||
    code === 40 ||
    code === 42 ||
    code === 35
  );
}

/** True when the one letter of the token [from, to) is "v" or "x". */
function vsOrBy(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = lower(text.charCodeAt(i));
    if (code === 118 || code === 120) return true;
  }
  return false;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** True when the token [from, to) is every character written twice ("ffuucckk"), at least 4 long. */
function doubled(text: string, from: number, to: number): boolean {
  if (to - from < 4 || (to - from) % 2 === 1) return false;
  for (let i = from; i < to; i += 2) if (text.charCodeAt(i) !== text.charCodeAt(i + 1)) return false;
  return true;
}

/** True when the character at `pos` is in a run of at least three equal characters. */
function inLongRun(text: string, pos: number, to: number): boolean {
  const code = text.charCodeAt(pos);
  let run = 1;
  for (let i = pos - 1; i >= 0 && text.charCodeAt(i) === code; i--) run++;
  for (let i = pos + 1; i < to && text.charCodeAt(i) === code; i++) run++;
  return run >= 3;
}

/** True at the end of the text or before a character that is not a letter or digit. */
function boundary(text: string, at: number, to: number): boolean {
  return at >= to || !isWordCode(text.charCodeAt(at));
}

/** Lower-case letter of an ASCII code unit. */
function lower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

/**
 * Where a word ends when, at `pos`, it closes with a plural ("s", "es") or, after a term of
 * four letters or more, a compound ending; -1 if it does not.
 */
function endingAt(text: string, pos: number, to: number, stride: number, compound: boolean): number {
  const first = lower(text.charCodeAt(pos));
  if (first === 115 && boundary(text, pos + stride, to)) return pos + stride;
  // "-es" only after a sibilant ("asses", "bitches"): "tardes" is Spanish, not a plural of "tard".
  const before = lower(text.charCodeAt(pos - stride));
  if (
    first === 101 &&
    (before === 115 || before === 104 || before === 120 || before === 122) &&
    lower(text.charCodeAt(pos + stride)) === 115 &&
    boundary(text, pos + 2 * stride, to)
  )
    return pos + 2 * stride;
  if (!compound) return -1;
  for (const suffix of COMPOUND_SUFFIXES) {
    let at = pos;
    let i = 0;
    while (i < suffix.length && at < to && primary(text.charCodeAt(at)) === primary(suffix.charCodeAt(i))) {
      at += stride;
      i++;
    }
    if (i < suffix.length) continue;
    if (boundary(text, at, to)) return at;
    if (lower(text.charCodeAt(at)) === 115 && boundary(text, at + stride, to)) return at + stride;
  }
  return -1;
}

function isLetterCode(code: number): boolean {
  return isWordCode(code) && !(code >= 48 && code <= 57);
}

/** Wildcards: one hidden letter each. */
function isWildcard(code: number): boolean {
  return code === 42 || code === 35;
}

/** The letter a code unit reads as (lower case, leet decoded, v as u), or the code itself. */
function primary(code: number): number {
  if (code >= 65 && code <= 90) code += 32;
  switch (code) {
    case 118:
      return 117; // v → u
    case 48:
      return 111; // 0 → o
    case 49:
    case 124:
    case 33:
      return 105; // 1 | ! → i
    case 51:
      return 101; // 3 → e
    case 52:
    case 64:
      return 97; // 4 @ → a
    case 53:
    case 36:
      return 115; // 5 $ → s
    case 55:
    case 43:
      return 116; // 7 + → t
    case 56:
      return 98; // 8 → b
    case 57:
      return 103; // 9 → g
    case 40:
      return 99; // ( → c
    default:
      return code;
  }
}

/** A second reading for ambiguous symbols ("k1ll", "|ick"), or -1. */
function secondary(code: number): number {
  return code === 49 || code === 124 ? 108 : -1;
}

/** Where {@link Lexicon.find} found a term: filled in place, so a hit allocates nothing either. */
export interface LexiconHit {
  entry: number;
  start: number;
  end: number;
}

/**
 * Terms compiled into one trie. Entries are indexed in the order given; {@link find} reports
 * the index of the first term found (earliest start, then the shortest at that start).
 */
export class Lexicon {
  #next: Int32Array;
  #wide: Array<Map<number, number> | undefined> = [];
  #term: Int32Array;
  #flags: Uint8Array;
  #size = 1;
  readonly size: number;

  /**
   * @param terms - Normalised terms (lower case, one space between words).
   * @param prefixes - Terms that also match as the start of a longer word.
   */
  constructor(terms: readonly string[], prefixes: ReadonlySet<string> = new Set()) {
    let capacity = 1;
    for (const term of terms) capacity += term.length;
    this.#next = new Int32Array(capacity * COLUMNS).fill(-1);
    this.#term = new Int32Array(capacity).fill(-1);
    this.#flags = new Uint8Array(capacity);
    for (let index = 0; index < terms.length; index++) {
      const term = terms[index] ?? "";
      this.#add(term, index, prefixes.has(term));
    }
    this.size = terms.length;
  }

  #add(term: string, index: number, prefix: boolean): void {
    let state = 0;
    let last = -1;
    for (let i = 0; i < term.length; i++) {
      const raw = term.charCodeAt(i);
      if (raw === 39 || raw === 0x2019) continue;
      let code = raw === 32 ? 32 : primary(raw);
      if (code === 32 && last === 32) continue;
      if (code !== 32 && !isWordCode(code) && !isLeetSymbol(raw)) code = 32;
      state = this.#step(state, code, true);
      last = code;
    }
    if (state === 0) return;
    if (this.#term[state] === -1) this.#term[state] = index;
    this.#flags[state] = (this.#flags[state] ?? 0) | WORD | (prefix ? PREFIX : 0);
  }

  #step(state: number, code: number, create: boolean): number {
    const col = code === 32 ? SPACE : column(code);
    if (col >= 0) {
      const at = state * COLUMNS + col;
      let to = this.#next[at] ?? -1;
      if (to === -1 && create) {
        to = this.#size++;
        this.#next[at] = to;
      }
      return to;
    }
    let wide = this.#wide[state];
    let to = wide?.get(code) ?? -1;
    if (to === -1 && create) {
      if (wide === undefined) {
        wide = new Map();
        this.#wide[state] = wide;
      }
      to = this.#size++;
      wide.set(code, to);
    }
    return to;
  }

  /**
   * The first term in `text` (already normalised; ASCII may still be upper case) between
   * `from` and `to`, written into `hit`; returns whether one was found.
   */
  find(text: string, hit: LexiconHit, from = 0, to = text.length): boolean {
    let pos = from;
    while (pos < to) {
      const code = text.charCodeAt(pos);
      const wordish = isWordCode(code) || isLeetSymbol(code);
      if (!wordish) {
        pos++;
        continue;
      }
      // A token: letters, digits and leet symbols. Without a letter it is a number or a
      // symbol run, never a word ("455", "1337", "$$$").
      let end = pos;
      let letters = 0;
      while (end < to) {
        const c = text.charCodeAt(end);
        if (isLetterCode(c)) letters++;
        else if (!(isWordCode(c) || isLeetSymbol(c))) break;
        end++;
      }
      // A "v" or "x" between numbers is a game's notation ("1v1", "3x3"), not leet ("lul").
      const notation =
        letters === 1 && isDigit(text.charCodeAt(pos)) && isDigit(text.charCodeAt(end - 1)) && vsOrBy(text, pos, end);
      if (letters > 0 && !notation) {
        // Every letter written twice ("ffuucckk"): walk every other character.
        this.#stride = doubled(text, pos, end) ? 2 : 1;
        for (let start = pos; start < end; start++) {
          const c = text.charCodeAt(start);
          // A word starts at the token's start or right after a symbol ("!!fuck"), never at a wildcard.
          if (isWildcard(c) || (start > pos && isWordCode(text.charCodeAt(start - 1)))) continue;
          if (this.#stride === 2 && (start - pos) % 2 === 1) continue;
          const found = this.#walk(text, start, to, 0, -1, 0);
          if (found !== -1) {
            hit.entry = this.#term[found] ?? -1;
            hit.start = start;
            hit.end = this.#end;
            return true;
          }
        }
      }
      pos = end;
    }
    return false;
  }

  /** End of the last match of {@link #walk}. */
  #end = 0;
  /** 2 while walking a token whose every letter is doubled. */
  #stride = 1;

  /** Depth-first walk; returns the terminal node reached, or -1. */
  #walk(text: string, pos: number, to: number, state: number, prev: number, letters: number): number {
    const flags = this.#flags[state] ?? 0;
    if (flags !== 0 && letters >= 2) {
      const next = pos < to ? text.charCodeAt(pos) : 32;
      if ((flags & PREFIX) !== 0 || !isWordCode(next)) {
        this.#end = pos;
        return state;
      }
      // A plural ("dicks", "asses") or a compound ("cockhead").
      const ending = endingAt(text, pos, to, this.#stride, letters >= 4);
      if (ending !== -1) {
        this.#end = ending;
        return state;
      }
    }
    if (pos >= to) return -1;
    const raw = text.charCodeAt(pos);
    const step = this.#stride;
    if (!isWordCode(raw) && !isLeetSymbol(raw)) {
      // An apostrophe inside a word is skipped ("i'll"); any other separator run is a phrase's space.
      if ((raw === 39 || raw === 0x2019) && pos + 1 < to && isWordCode(text.charCodeAt(pos + 1)))
        return this.#walk(text, pos + 1, to, state, prev, letters);
      const space = this.#next[state * COLUMNS + SPACE] ?? -1;
      if (space === -1) return -1;
      let after = pos + 1;
      while (after < to && !isWordCode(text.charCodeAt(after)) && !isLeetSymbol(text.charCodeAt(after))) after++;
      if (after >= to) return -1;
      return this.#walk(text, after, to, space, 32, letters);
    }
    if (isWildcard(raw)) {
      if (letters === 0) return -1;
      for (let col = 0; col < SPACE; col++) {
        const child = this.#next[state * COLUMNS + col] ?? -1;
        if (child === -1) continue;
        const found = this.#walk(text, pos + step, to, child, -1, letters);
        if (found !== -1) return found;
      }
      return -1;
    }
    const code = primary(raw);
    const child = this.#step(state, code, false);
    if (child !== -1) {
      const found = this.#walk(text, pos + step, to, child, code, letters + 1);
      if (found !== -1) return found;
    }
    const other = secondary(raw);
    if (other !== -1) {
      const alt = this.#step(state, other, false);
      if (alt !== -1) {
        const found = this.#walk(text, pos + step, to, alt, other, letters + 1);
        if (found !== -1) return found;
      }
    }
    // A stretched letter ("fuuuck"): only in a run of three or more, so that an ordinary
    // double letter stays significant ("rapping" is not "raping", "annals" not "anals").
    if ((code === prev || (other !== -1 && other === prev)) && step === 1 && inLongRun(text, pos, to))
      return this.#walk(text, pos + 1, to, state, prev, letters);
    return -1;
  }
}
