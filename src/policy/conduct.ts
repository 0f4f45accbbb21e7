/**
 * The code of conduct: the rules a statement of reasons quotes (DSA Art. 17(3)(d): the
 * ground relied on), and which rule each policy track enforces. Validated data, frozen, read
 * by the escalation when it drafts a policy sanction and by anyone who lists the rules.
 */
import type { ConductRule } from "../reviews/model.js";
import { isRuleUrl, STATEMENT_LIMITS } from "../sanctions/model.js";
import { boundText } from "../util/text.js";
import { childPath, deepFreeze, fail, listOf, readObject, show, suggest } from "../util/validate.js";

/** One rule as the operator writes it; the id is its key in {@link ConductOptions.rules}. */
export interface ConductRuleOptions {
  /** Shown to the player as the rule broken: 1-80 characters. */
  title: string;
  /** What the rule asks, in a sentence or two: 1-500 characters. */
  text: string;
  /**
   * Where the whole code of conduct can be read (http or https, at most 300 characters).
   * @defaultValue none
   */
  url?: string;
}

/** The `conduct` option. */
export interface ConductOptions {
  /**
   * Rules by id (1-40 of `a-z0-9_-`), merged over {@link DEFAULT_CONDUCT}'s one rule at a
   * time: a rule given replaces the default of that id; `false` removes a default rule (a
   * default track mapped to it then quotes no rule).
   * @defaultValue {@link DEFAULT_CONDUCT}.rules: `spam`, `abuse`, `integrity`, `reports`, `evasion`
   */
  rules?: Record<string, ConductRuleOptions | false>;
  /**
   * Policy track → the id of the rule it enforces, merged over the default mapping. A
   * track mapped to a rule that does not exist is refused.
   * @defaultValue `{ spam: "spam", abuse: "abuse", malformed: "integrity", reported: "reports" }`
   */
  tracks?: Record<string, string>;
}

/** The validated code of conduct (frozen). */
export interface Conduct {
  /** The rule with this id, or undefined when there is none. */
  rule(id: string): ConductRule | undefined;
  /** The rule a policy track enforces, or undefined when the track has none. */
  ruleForTrack(track: string): ConductRule | undefined;
  /** Every rule, defaults first in their order, then the operator's. */
  rules(): readonly ConductRule[];
  /** Track → rule id, as resolved. */
  readonly tracks: Readonly<Record<string, string>>;
}

/**
 * The default code of conduct, one rule per default policy track, and `evasion` (no track:
 * moderators quote it when they ban another account of a banned player). A starting point
 * to replace with the game's own wording (and a `url` to the full text). Frozen.
 */
export const DEFAULT_CONDUCT: Readonly<{
  rules: Readonly<Record<string, ConductRuleOptions>>;
  tracks: Readonly<Record<string, string>>;
}> = deepFreeze({
  rules: {
    spam: {
      title: "No spam or flooding",
      text: "Do not flood the game with messages or actions, repeat the same message, or send more than normal play needs.",
    },
    abuse: {
      title: "No abusive language",
      text: "Do not insult, harass, threaten or use slurs against other players, in chat or in names.",
    },
    integrity: {
      title: "Play with an unmodified client",
      text: "Do not send forged, malformed or oversized traffic, or use a modified client to get around the game's rules.",
    },
    reports: {
      title: "Respect other players",
      text: "Treat other players with respect: behaviour that several players report and a moderator confirms is sanctioned.",
    },
    evasion: {
      title: "One account while banned",
      text: "Do not play on another account while one of your accounts is banned: a ban applies to the player, not only to the account.",
    },
  },
  tracks: { spam: "spam", abuse: "abuse", malformed: "integrity", reported: "reports" },
});

const CONDUCT_KEYS = ["rules", "tracks"] as const;
const RULE_KEYS = ["title", "text", "url"] as const;
/** Most rules and most track mappings. */
const MAX_RULES = 64;
const MAX_TRACKS = 64;
const TRACK_NAME = STATEMENT_LIMITS.track;

/**
 * Validates the `conduct` option and merges it over {@link DEFAULT_CONDUCT}. Throws
 * `WardenError("INVALID_OPTION")` naming the path (`conduct.rules.spam.title`), with the
 * nearest known name for a misspelt one.
 *
 * @param tracks - The policy's track names, when known: a mapping given for a track the
 *   policy does not have is refused (almost surely a typo). Default mappings of tracks the
 *   policy removed are kept; they are simply never asked for.
 */
export function resolveConduct(options?: unknown, path = "conduct", tracks?: readonly string[]): Conduct {
  const given = options === undefined ? undefined : readObject(path, options, CONDUCT_KEYS);

  const rulesPath = childPath(path, "rules");
  const rulesGiven =
    given?.rules === undefined ? {} : readObject(rulesPath, given.rules, null, "an object of rules by id");
  const ruleIds = Object.keys(rulesGiven);
  if (ruleIds.length > MAX_RULES) fail(rulesPath, `must have at most ${MAX_RULES} rules, got ${ruleIds.length}`);
  const rules = new Map<string, ConductRule>();
  for (const [id, rule] of Object.entries(DEFAULT_CONDUCT.rules)) rules.set(id, { id, ...rule });
  for (const id of ruleIds) {
    const rulePath = childPath(rulesPath, id);
    if (!STATEMENT_LIMITS.ruleId.test(id)) fail(rulePath, "is not a valid rule id: use 1-40 of a-z, 0-9, _ and -");
    const rule = rulesGiven[id];
    if (rule === false) {
      if (!Object.hasOwn(DEFAULT_CONDUCT.rules, id)) {
        const defaults = Object.keys(DEFAULT_CONDUCT.rules);
        const near = suggest(id, defaults);
        fail(
          rulePath,
          "is false, which only removes a default rule, and there is none by this id" +
            (near === undefined
              ? ` (defaults: ${listOf(defaults)})`
              : ` — did you mean "${childPath(rulesPath, near)}"?`),
        );
      }
      rules.delete(id);
    } else {
      rules.set(id, resolveRule(rulePath, id, rule));
    }
  }

  const tracksPath = childPath(path, "tracks");
  const tracksGiven =
    given?.tracks === undefined ? {} : readObject(tracksPath, given.tracks, null, "an object of rule ids by track");
  const trackNames = Object.keys(tracksGiven);
  if (trackNames.length > MAX_TRACKS)
    fail(tracksPath, `must have at most ${MAX_TRACKS} tracks, got ${trackNames.length}`);
  const mapping = new Map<string, string>();
  // A default mapping to a rule the operator removed goes with it: that track quotes no rule.
  for (const [track, id] of Object.entries(DEFAULT_CONDUCT.tracks)) if (rules.has(id)) mapping.set(track, id);
  const ids = [...rules.keys()];
  for (const track of trackNames) {
    const trackPath = childPath(tracksPath, track);
    if (!TRACK_NAME.test(track)) fail(trackPath, `is not a valid track name: it must match ${String(TRACK_NAME)}`);
    if (tracks !== undefined && !tracks.includes(track)) {
      const near = suggest(track, tracks);
      fail(
        trackPath,
        "names a track the policy does not have" +
          (near === undefined
            ? tracks.length === 0
              ? " (the policy has no tracks)"
              : ` (tracks: ${listOf(tracks)})`
            : ` — did you mean "${childPath(tracksPath, near)}"?`),
      );
    }
    const id = tracksGiven[track];
    if (typeof id !== "string") fail(trackPath, `must be the id of a rule, got ${show(id)}`);
    if (!rules.has(id)) {
      const near = suggest(id, ids);
      fail(
        trackPath,
        `names the rule ${show(id)}, which does not exist` +
          (near === undefined ? ` (rules: ${listOf(ids)})` : ` — did you mean "${near}"?`),
      );
    }
    mapping.set(track, id);
  }

  const frozenRules = new Map<string, ConductRule>();
  for (const [id, rule] of rules) frozenRules.set(id, Object.freeze(rule));
  const list = Object.freeze([...frozenRules.values()]);
  const trackTable: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [track, id] of mapping) trackTable[track] = id;
  Object.freeze(trackTable);
  return Object.freeze({
    rule: (id: string): ConductRule | undefined => (typeof id === "string" ? frozenRules.get(id) : undefined),
    ruleForTrack: (track: string): ConductRule | undefined => {
      const id = typeof track === "string" ? mapping.get(track) : undefined;
      return id === undefined ? undefined : frozenRules.get(id);
    },
    rules: (): readonly ConductRule[] => list,
    tracks: trackTable,
  });
}

function resolveRule(path: string, id: string, value: unknown): ConductRule {
  const given = readObject(path, value, RULE_KEYS, "a rule ({ title, text, url? }) or false to remove it");
  const title = boundedString(childPath(path, "title"), given.title, STATEMENT_LIMITS.ruleTitle);
  const text = boundedString(childPath(path, "text"), given.text, STATEMENT_LIMITS.ruleText);
  const rule: ConductRule = { id, title, text };
  if (given.url !== undefined) {
    if (!isRuleUrl(given.url))
      fail(
        childPath(path, "url"),
        `must be an http:// or https:// URL of at most ${STATEMENT_LIMITS.ruleUrl} characters, got ${show(given.url)}`,
      );
    rule.url = given.url;
  }
  return rule;
}

/** A string that is not empty once cleaned (see boundText) and fits in `max` characters. */
function boundedString(path: string, value: unknown, max: number): string {
  if (typeof value !== "string" || value.length > max || boundText(value, max).length === 0)
    fail(path, `must be a non-empty string of at most ${max} characters, got ${show(value)}`);
  return boundText(value, max);
}
