import { describe, expect, it } from "vitest";
import { WardenError } from "../src/errors.js";
import {
  DEFAULT_HALF_LIFE_MS,
  DEFAULT_TRACKS,
  decay,
  escalate,
  resolvePolicy,
  stepAt,
  type PolicyOptions,
  type ResolvedTrack,
} from "../src/policy/ladder.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function track(policy: ReturnType<typeof resolvePolicy>, name: string): ResolvedTrack {
  const t = policy.tracks.get(name);
  if (!t) throw new Error(`no track ${name}`);
  return t;
}

/** Resolves and returns the thrown WardenError, failing the test if nothing (or something else) is thrown. */
function refusal(options: unknown): WardenError {
  try {
    resolvePolicy(options as PolicyOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(WardenError);
    expect((error as WardenError).code).toBe("INVALID_OPTION");
    return error as WardenError;
  }
  throw new Error("resolvePolicy did not throw");
}

const spamWith = (ladder: unknown, extra: object = {}): unknown => ({ tracks: { spam: { ladder, ...extra } } });

describe("default policy", () => {
  const policy = resolvePolicy();

  it("resolves the four default tracks, in order, with durations in ms", () => {
    expect([...policy.tracks.keys()]).toEqual(["spam", "abuse", "malformed", "reported"]);
    expect(track(policy, "spam")).toEqual({
      name: "spam",
      halfLifeMs: 10 * MIN,
      ladder: [
        { at: 1, kind: "warn", duration: undefined },
        { at: 3, kind: "mute", duration: 5 * MIN },
        { at: 6, kind: "kick", duration: undefined },
        { at: 10, kind: "ban", duration: HOUR },
      ],
    });
    expect(track(policy, "abuse").halfLifeMs).toBe(30 * MIN);
    expect(track(policy, "abuse").ladder.map((s) => [s.at, s.kind, s.duration])).toEqual([
      [1, "warn", undefined],
      [2, "mute", 10 * MIN],
      [4, "kick", undefined],
      [6, "ban", DAY],
    ]);
    expect(track(policy, "malformed").halfLifeMs).toBe(10 * MIN);
    expect(track(policy, "malformed").ladder.map((s) => [s.at, s.kind, s.duration])).toEqual([
      [3, "warn", undefined],
      [10, "kick", undefined],
      [25, "ban", HOUR],
    ]);
    expect(track(policy, "reported").halfLifeMs).toBe(HOUR);
    expect(track(policy, "reported").ladder.map((s) => [s.at, s.kind, s.duration])).toEqual([
      [1, "warn", undefined],
      [2, "mute", 15 * MIN],
      [3, "kick", undefined],
      [5, "ban", DAY],
    ]);
  });

  it("is the same with {} and { tracks: {} }", () => {
    expect(resolvePolicy({})).toEqual(policy);
    expect(resolvePolicy({ tracks: {} })).toEqual(policy);
  });

  it("cannot be changed at run time (defaults and result are frozen)", () => {
    expect(Object.isFrozen(DEFAULT_TRACKS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_TRACKS.spam?.ladder[0])).toBe(true);
    const spam = track(policy, "spam");
    expect(Object.isFrozen(spam)).toBe(true);
    expect(Object.isFrozen(spam.ladder)).toBe(true);
    expect(Object.isFrozen(spam.ladder[0])).toBe(true);
    expect("set" in policy.tracks).toBe(false);
    expect(new Map(policy.tracks).size).toBe(4);
  });
});

describe("merging over the defaults", () => {
  it("a track given replaces that default entirely and keeps the other defaults", () => {
    const policy = resolvePolicy({ tracks: { spam: { halfLifeMs: 5000, ladder: [{ at: 2, kind: "kick" }] } } });
    expect([...policy.tracks.keys()]).toEqual(["spam", "abuse", "malformed", "reported"]);
    expect(track(policy, "spam")).toEqual({
      name: "spam",
      halfLifeMs: 5000,
      ladder: [{ at: 2, kind: "kick", duration: undefined }],
    });
    expect(track(policy, "abuse")).toEqual(track(resolvePolicy(), "abuse"));
  });

  it("false removes a default track", () => {
    const policy = resolvePolicy({ tracks: { malformed: false, reported: false } });
    expect([...policy.tracks.keys()]).toEqual(["spam", "abuse"]);
  });

  it("all defaults can be removed, leaving no track", () => {
    expect(
      resolvePolicy({ tracks: { spam: false, abuse: false, malformed: false, reported: false } }).tracks.size,
    ).toBe(0);
  });

  it("a new track is added after the defaults; halfLifeMs defaults to 10m", () => {
    const policy = resolvePolicy({ tracks: { griefing: { ladder: [{ at: 1, kind: "freeze", duration: 30_000 }] } } });
    expect([...policy.tracks.keys()]).toEqual(["spam", "abuse", "malformed", "reported", "griefing"]);
    expect(track(policy, "griefing").halfLifeMs).toBe(DEFAULT_HALF_LIFE_MS);
    expect(DEFAULT_HALF_LIFE_MS).toBe(10 * MIN);
    expect(track(policy, "griefing").ladder[0]).toEqual({ at: 1, kind: "freeze", duration: 30_000 });
  });

  it("a ladder given unsorted gets sorted ascending by at", () => {
    const policy = resolvePolicy(
      spamWith([
        { at: 10, kind: "ban" },
        { at: 1, kind: "warn" },
        { at: 6, kind: "kick" },
        { at: 2.5, kind: "mute", duration: "2h" },
      ]) as PolicyOptions,
    );
    expect(track(policy, "spam").ladder.map((s) => s.at)).toEqual([1, 2.5, 6, 10]);
    expect(track(policy, "spam").ladder[1]).toEqual({ at: 2.5, kind: "mute", duration: 2 * HOUR });
    // A lasting kind without duration is permanent.
    expect(track(policy, "spam").ladder[3]).toEqual({ at: 10, kind: "ban", duration: undefined });
  });

  it("does not mutate the options it is given", () => {
    const ladder = [
      { at: 3, kind: "kick" as const },
      { at: 1, kind: "warn" as const },
    ];
    resolvePolicy({ tracks: { spam: { ladder } } });
    expect(ladder.map((s) => s.at)).toEqual([3, 1]);
  });
});

describe("validation", () => {
  /** Every option refusal reads `createWarden: option "<path>" <sentence>` (src/util/validate.ts). */
  const at = (path: string, sentence: string): string => `createWarden: option "${path}" ${sentence}`;
  const AT_RANGE = "must be a number above 0 and at most 1000000";
  const MS_OR_DURATION =
    'must be a whole number of milliseconds from 1 to 315360000000 (10 years) or a duration such as "10m"';
  const TRACK_NAME = "is not a valid track name: it must match /^[a-z][a-z0-9_-]{0,31}$/";
  it.each<[string, unknown, string]>([
    [
      "a duration on kick",
      spamWith([
        { at: 1, kind: "warn" },
        { at: 2, kind: "mute" },
        { at: 3, kind: "kick", duration: "5m" },
      ]),
      at("policy.tracks.spam.ladder[2].duration", "is not allowed: kick acts once and cannot have a duration"),
    ],
    [
      "a duration on warn",
      spamWith([{ at: 1, kind: "warn", duration: 1000 }]),
      at("policy.tracks.spam.ladder[0].duration", "is not allowed: warn acts once and cannot have a duration"),
    ],
    [
      "a negative at",
      spamWith([
        { at: 1, kind: "warn" },
        { at: -1, kind: "kick" },
      ]),
      at("policy.tracks.spam.ladder[1].at", `${AT_RANGE}, got -1`),
    ],
    ["a zero at", spamWith([{ at: 0, kind: "warn" }]), at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got 0`)],
    [
      "a string at",
      spamWith([{ at: "3", kind: "warn" }]),
      at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got "3"`),
    ],
    [
      "an infinite at",
      spamWith([{ at: Infinity, kind: "warn" }]),
      at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got Infinity`),
    ],
    ["a NaN at", spamWith([{ at: NaN, kind: "warn" }]), at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got NaN`)],
    [
      "a huge at",
      spamWith([{ at: 1e9, kind: "warn" }]),
      at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got 1000000000`),
    ],
    ["a missing at", spamWith([{ kind: "warn" }]), at("policy.tracks.spam.ladder[0].at", `${AT_RANGE}, got undefined`)],
    [
      "duplicate at values",
      spamWith([
        { at: 3, kind: "warn" },
        { at: 1, kind: "warn" },
        { at: 3, kind: "kick" },
      ]),
      at("policy.tracks.spam.ladder", 'must have steps with distinct "at" values (3 appears twice)'),
    ],
    [
      "an at value three times",
      spamWith([
        { at: 2, kind: "warn" },
        { at: 2, kind: "kick" },
        { at: 2, kind: "ban" },
      ]),
      at("policy.tracks.spam.ladder", 'must have steps with distinct "at" values (2 appears 3 times)'),
    ],
    [
      "an unknown kind",
      spamWith([{ at: 1, kind: "nuke" }]),
      at("policy.tracks.spam.ladder[0].kind", 'must be "warn", "mute", "freeze", "kick" or "ban", got "nuke"'),
    ],
    [
      "a missing kind",
      spamWith([{ at: 1 }]),
      at("policy.tracks.spam.ladder[0].kind", 'must be "warn", "mute", "freeze", "kick" or "ban", got undefined'),
    ],
    [
      "a bad halfLifeMs string",
      spamWith([{ at: 1, kind: "warn" }], { halfLifeMs: "10x" }),
      at(
        "policy.tracks.spam.halfLifeMs",
        'is invalid: bad duration "10x": use a whole number and one of s, m, h, d, w (e.g. 30s, 10m, 2h, 7d)',
      ),
    ],
    [
      "a zero halfLifeMs",
      spamWith([{ at: 1, kind: "warn" }], { halfLifeMs: 0 }),
      at("policy.tracks.spam.halfLifeMs", `${MS_OR_DURATION}, got 0`),
    ],
    [
      "a halfLifeMs over 10 years",
      spamWith([{ at: 1, kind: "warn" }], { halfLifeMs: 1e15 }),
      at("policy.tracks.spam.halfLifeMs", `${MS_OR_DURATION}, got 1000000000000000`),
    ],
    [
      "a fractional duration",
      spamWith([{ at: 1, kind: "mute", duration: 1.5 }]),
      at("policy.tracks.spam.ladder[0].duration", `${MS_OR_DURATION}, got 1.5`),
    ],
    [
      "a bad duration string",
      {
        tracks: {
          abuse: {
            ladder: [
              { at: 1, kind: "warn" },
              { at: 2, kind: "ban", duration: "0s" },
            ],
          },
        },
      },
      at("policy.tracks.abuse.ladder[1].duration", 'is invalid: duration "0s" must be longer than zero'),
    ],
    ["an empty ladder", spamWith([]), at("policy.tracks.spam.ladder", "must have at least one step")],
    [
      "a missing ladder",
      { tracks: { spam: {} } },
      at("policy.tracks.spam.ladder", "must be an array of steps, got undefined"),
    ],
    [
      "a ladder that is no array",
      spamWith({ 0: { at: 1, kind: "warn" } }),
      at("policy.tracks.spam.ladder", "must be an array of steps, got an object"),
    ],
    [
      "a step that is no object",
      spamWith([{ at: 1, kind: "warn" }, "kick"]),
      at("policy.tracks.spam.ladder[1]", 'must be a step ({ at, kind, duration? }), got "kick"'),
    ],
    [
      "a misspelt step key",
      spamWith([{ at: 1, kind: "mute", durration: "5m" }]),
      'createWarden: unknown option "policy.tracks.spam.ladder[0].durration" — did you mean "policy.tracks.spam.ladder[0].duration"?',
    ],
    [
      "a misspelt track key",
      spamWith([{ at: 1, kind: "warn" }], { halfLife: "5m" }),
      'createWarden: unknown option "policy.tracks.spam.halfLife" — did you mean "policy.tracks.spam.halfLifeMs"?',
    ],
    [
      "a misspelt policy key",
      { track: {} },
      'createWarden: unknown option "policy.track" — did you mean "policy.tracks"?',
    ],
    [
      "a bad track name",
      { tracks: { Spam: { ladder: [{ at: 1, kind: "warn" }] } } },
      at("policy.tracks.Spam", TRACK_NAME),
    ],
    ["a track name with a space", { tracks: { "bad name": false } }, at('policy.tracks["bad name"]', TRACK_NAME)],
    [
      "a too long track name",
      { tracks: { ["x".repeat(33)]: false } },
      at(`policy.tracks.${"x".repeat(33)}`, TRACK_NAME),
    ],
    [
      "a __proto__ track name",
      JSON.parse('{"tracks":{"__proto__":{"ladder":[]}}}'),
      at("policy.tracks.__proto__", TRACK_NAME),
    ],
    [
      "false for a track that is no default",
      { tracks: { spma: false } },
      at(
        "policy.tracks.spma",
        'is false, which only removes a default track, and there is none by this name — did you mean "policy.tracks.spam"?',
      ),
    ],
    [
      "false for a track far from any default",
      { tracks: { griefing: false } },
      at(
        "policy.tracks.griefing",
        "is false, which only removes a default track, and there is none by this name (defaults: spam, abuse, malformed or reported)",
      ),
    ],
    [
      "a track that is true",
      { tracks: { spam: true } },
      at("policy.tracks.spam", "must be a track ({ halfLifeMs, ladder }) or false to remove it, got true"),
    ],
    [
      "a track that is an array",
      { tracks: { spam: [] } },
      at("policy.tracks.spam", "must be a track ({ halfLifeMs, ladder }) or false to remove it, got an array"),
    ],
    [
      "tracks that is no object",
      { tracks: [] },
      at("policy.tracks", "must be an object of tracks by name, got an array"),
    ],
    ["a policy that is no object", "strict", at("policy", 'must be an object, got "strict"')],
    ["a policy that is null", null, at("policy", "must be an object, got null")],
  ])("refuses %s with INVALID_OPTION and the exact path", (_label, options, message) => {
    expect(refusal(options).message).toBe(message);
  });

  it("names the index as given, before sorting", () => {
    expect(
      refusal(
        spamWith([
          { at: 9, kind: "ban" },
          { at: 1, kind: "warn", duration: "1m" },
        ]),
      ).message,
    ).toBe(at("policy.tracks.spam.ladder[1].duration", "is not allowed: warn acts once and cannot have a duration"));
  });

  it("the default tracks themselves pass validation (explicitly restated)", () => {
    expect(() => resolvePolicy({ tracks: { ...DEFAULT_TRACKS } })).not.toThrow();
  });
});

describe("decay", () => {
  it("halves at one half-life, quarters at two, keeps everything at zero", () => {
    expect(decay(8, 0, 1000)).toBe(8);
    expect(decay(8, 1000, 1000)).toBe(4);
    expect(decay(8, 2000, 1000)).toBe(2);
    expect(decay(8, 500, 1000)).toBeCloseTo(8 / Math.SQRT2, 12);
  });

  it("treats a negative elapsed time (clock skew) as zero, never adding points", () => {
    expect(decay(5, -60_000, 1000)).toBe(5);
  });

  it("tends to zero", () => {
    expect(decay(100, 100 * 1000, 1000)).toBeLessThan(1e-27);
    expect(decay(0, 1000, 1000)).toBe(0);
  });
});

describe("stepAt", () => {
  const spam = track(resolvePolicy(), "spam");

  it.each<[number, string | null]>([
    [0, null],
    [0.5, null],
    [0.99, null],
    [0.996, "warn"],
    [1, "warn"],
    [2.99, "warn"],
    [3, "mute"],
    [5.9, "mute"],
    [6, "kick"],
    [9.99, "kick"],
    [10, "ban"],
    [1000, "ban"],
    [-3, null],
    [NaN, null],
  ])("at %d points → %s", (points, kind) => {
    expect(stepAt(spam, points)?.kind ?? null).toBe(kind);
  });

  it("counts reaching a step despite float error and a little decay (resolution 0.005), but not being clearly below it", () => {
    const almostThree = 0.1 + 0.2 + 2.7; // 3.0000000000000004 or 2.9999999999999996 depending on order
    expect(stepAt(spam, 3 - 1e-12)?.kind).toBe("mute");
    expect(stepAt(spam, almostThree)?.kind).toBe("mute");
    // Decay then top-up that should land on 3 exactly.
    expect(stepAt(spam, decay(4, 1000, 1000) + 1)?.kind).toBe("mute");
    // Three offenses a second apart at a 10-minute half-life: 2.998 points reach the step at 3.
    expect(stepAt(spam, 1 + decay(1 + decay(1, 1000, 600_000), 1000, 600_000))?.kind).toBe("mute");
    expect(stepAt(spam, 3 - 1e-6)?.kind).toBe("mute");
    expect(stepAt(spam, 2.99)?.kind).toBe("warn");
  });

  it("returns the step object of the ladder (same reference)", () => {
    expect(stepAt(spam, 4)).toBe(spam.ladder[1]);
  });
});

describe("escalate", () => {
  const spam = track(resolvePolicy(), "spam");

  it.each<[number, number, string | null]>([
    // warn → mute → kick → ban as points rise one offense at a time
    [0, 1, "warn"],
    [1, 2, null], // still on warn: no re-issue
    [2, 3, "mute"],
    [3, 4, null],
    [4, 5, null],
    [5, 6, "kick"],
    [6, 7, null],
    [9, 10, "ban"],
    [10, 11, null], // sitting above the top: not re-banned by every offense
    // jumping several rungs at once issues the highest rung only
    [0, 6, "kick"],
    [2, 12, "ban"],
    // below the first rung both before and after
    [0, 0.5, null],
    // points going down (no new offense weight) never escalate
    [6, 3, null],
    [3, 3, null],
  ])("before %d, after %d → %s", (before, after, kind) => {
    expect(escalate(spam, before, after)?.kind ?? null).toBe(kind);
  });

  it("returns the step with its duration", () => {
    expect(escalate(spam, 2, 3)).toEqual({ at: 3, kind: "mute", duration: 5 * MIN });
  });

  it("after decay brings an ID back below a threshold, crossing it again re-issues that step", () => {
    // Reached the mute at 3 points; no further offense for two half-lives.
    const before = decay(3, 2 * spam.halfLifeMs, spam.halfLifeMs); // 0.75: below warn
    expect(stepAt(spam, before)).toBeNull();
    expect(escalate(spam, before, before + 1)?.kind).toBe("warn"); // 1.75: warn again
    // One half-life only: 1.5, still on warn; an offense brings 2.5, still on warn: nothing.
    const halfway = decay(3, spam.halfLifeMs, spam.halfLifeMs);
    expect(escalate(spam, halfway, halfway + 1)).toBeNull();
    // A heavier offense crosses 3 again: mute again.
    expect(escalate(spam, halfway, halfway + 2)?.kind).toBe("mute");
  });

  it("is pure: the same inputs give the same answer, so retrying is safe", () => {
    expect(escalate(spam, 2, 3)).toBe(escalate(spam, 2, 3));
    expect(escalate(spam, 2, 3)).toBe(spam.ladder[1]);
  });

  it("works on a ladder given unsorted", () => {
    const t = track(
      resolvePolicy(
        spamWith([
          { at: 5, kind: "ban" },
          { at: 2, kind: "warn" },
        ]) as PolicyOptions,
      ),
      "spam",
    );
    expect(escalate(t, 0, 2)?.kind).toBe("warn");
    expect(escalate(t, 2, 4)).toBeNull();
    expect(escalate(t, 4, 5)?.kind).toBe("ban");
  });
});

describe("escalate with the step last issued (hysteresis)", () => {
  const track = resolvePolicy().tracks.get("spam")!; // 1 warn · 3 mute · 6 kick · 10 ban
  it("does not issue the same step again after a second of decay", () => {
    // One offense a second: the 3rd reaches mute; by the 4th, decay took `before` just under 3.
    expect(escalate(track, 1.998, 2.998, 1)?.kind).toBe("mute");
    expect(escalate(track, 2.99, 3.99, 3)).toBeNull();
    expect(escalate(track, 5, 6, 3)?.kind).toBe("kick");
  });
  it("issues a step again once the points fell a whole point below it", () => {
    expect(escalate(track, 1.9, 2.9 + 0.2, 3)?.kind).toBe("mute");
  });
  it("without a known issued step it behaves as before", () => {
    expect(escalate(track, 2.99, 3.99)?.kind).toBe("mute");
    expect(escalate(track, 3, 4)).toBeNull();
  });
});
