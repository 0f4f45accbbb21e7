import { describe, expect, it } from "vitest";
import {
  createWarden,
  deriveDigitalId,
  formatDuration,
  isDigitalId,
  parseDuration,
  WardenError,
} from "../src/index.js";
import { draftSanction, describeSanction } from "../src/sanctions/model.js";
import { randomBase32 } from "../src/util/base32.js";

const secret = "unit-secret-0123456789";

describe("digital ID", () => {
  it("is a stable keyed pseudonym: same subject and key → same ID; other key or subject → other ID", () => {
    const a = deriveDigitalId(secret, "account-42");
    expect(a).toMatch(/^[a-z2-7]{26}$/);
    expect(isDigitalId(a)).toBe(true);
    expect(deriveDigitalId(secret, "account-42")).toBe(a);
    expect(deriveDigitalId("another-secret-0123456", "account-42")).not.toBe(a);
    expect(deriveDigitalId(secret, "account-43")).not.toBe(a);
    expect(a).not.toContain("42");
  });

  it("refuses an empty subject", () => {
    expect(() => deriveDigitalId(secret, "")).toThrow(WardenError);
  });
});

describe("random ids", () => {
  it("are base32 of the length asked for, across many pool refills, without a repeat", () => {
    const seen = new Set<string>();
    // 8 characters × 4 000 = 32 pools of 1 024 bytes; 16 and 1 500 (beyond a pool) too.
    for (let i = 0; i < 4000; i++) {
      const id = randomBase32(8);
      expect(id).toMatch(/^[a-z2-7]{8}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(4000);
    expect(randomBase32(16)).toMatch(/^[a-z2-7]{16}$/);
    expect(randomBase32(1500)).toMatch(/^[a-z2-7]{1500}$/);
    expect(() => randomBase32(-1)).toThrow(RangeError);
  });
});

describe("durations", () => {
  it.each([
    ["30s", 30_000],
    ["10m", 600_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    ["1w", 604_800_000],
  ])("%s = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  it.each(["10x", "", "5", "-5m", "1.5h", "0s", "m10"])("refuses %j with INVALID_DURATION", (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: "INVALID_DURATION" }));
  });
});

describe("sanction drafts", () => {
  const did = deriveDigitalId(secret, "x");
  it("refuses what makes no sense, with a sentence", () => {
    expect(() => draftSanction({ did, kind: "kick", duration: 1000, reason: "r", by: "t" }, 0)).toThrow(
      "kick cannot have a duration",
    );
    expect(() => draftSanction({ did, kind: "nuke" as never, reason: "r", by: "t" }, 0)).toThrow(
      /unknown sanction kind/,
    );
    expect(() => draftSanction({ did, kind: "ban", reason: "  ", by: "t" }, 0)).toThrow(/needs a reason/);
    expect(() => draftSanction({ did: "not-a-did", kind: "ban", reason: "r", by: "t" }, 0)).toThrow(
      expect.objectContaining({ code: "INVALID_DID" }),
    );
    expect(() => draftSanction({ did, kind: "ban", duration: -1, reason: "r", by: "t" }, 0)).toThrow(/positive/);
  });
  it("bounds and cleans the reason, ids carry the digital ID, and the notice says what, why and until when", () => {
    const s = draftSanction(
      { did, kind: "mute", duration: 60_000, reason: `spam\u0000\u202e${"x".repeat(2000)}`, by: "t" },
      1_000,
    );
    expect(s.reason.length).toBeLessThanOrEqual(500);
    expect(s.reason).not.toMatch(/[\u0000\u202e]/);
    expect(s.id.startsWith(`${did}.`)).toBe(true);
    expect(s.end).toBe(61_000);
    expect(describeSanction({ kind: "ban", reason: "cheating", end: null })).toBe(
      "You are banned permanently: cheating",
    );
    expect(describeSanction({ kind: "mute", reason: "spam", end: 0 })).toBe(
      "You are muted until 1970-01-01T00:00:00.000Z: spam",
    );
  });
});

describe("createWarden option validation", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["missing secret", {}, /option "secret"/],
    ["short secret", { secret: "short" }, /option "secret" must be at least 16/],
    ["bad store", { secret, store: 42 }, /option "store"/],
    ["non-redis url", { secret, store: "http://localhost" }, /option "store" must be a redis:\/\//],
    ["bad prefix", { secret, prefix: "a b" }, /option "prefix"/],
    ["bad muteTypes", { secret, muteTypes: "chat" }, /option "muteTypes"/],
    ["bad failMode", { secret, failMode: "maybe" }, /option "failMode" must be "open" or "closed"/],
    ["bad timeout", { secret, storeTimeoutMs: -1 }, /option "storeTimeoutMs"/],
    ["bad retention", { secret, retention: { sanctionsMs: 0 } }, /option "retention.sanctionsMs"/],
    ["bad restrictionField", { secret, restrictionField: { field: "x" } }, /option "restrictionField"/],
    ["bad identify", { secret, identify: "sub" }, /option "identify" must be a function/],
  ];
  it.each(cases)("%s → INVALID_OPTION naming the option", (_, options, message) => {
    let error: unknown;
    try {
      createWarden(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({ code: "INVALID_OPTION", name: "WardenError" });
    expect((error as Error).message).toMatch(message);
  });
});

describe("error catalogue", () => {
  it("README documents every error code", async () => {
    const { readFile } = await import("node:fs/promises");
    const { ERROR_CATALOGUE } = await import("../src/index.js");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(readme).toContain(`\`${code}\``);
  });
});
