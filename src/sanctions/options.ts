import type { Client, Room } from "@colyseus/core";
import { fail, keysOf, optionalName, readObject, show } from "../util/validate.js";

/** Opt-in publication of each avatar's restriction into room state. */
export interface RestrictionFieldOptions {
  /** Returns the schema object of the client's avatar (or undefined if it has none yet). */
  avatarOf(room: Room, client: Client): object | undefined;
  /**
   * Name of a `string` field on that object. The warden writes `""`, `"muted"`, `"frozen"`
   * or `"muted frozen"` into it.
   * @defaultValue `"restriction"`
   */
  field?: string;
}

const RESTRICTION_FIELD_KEYS = keysOf<RestrictionFieldOptions>({ avatarOf: true, field: true });

/** The `restrictionField` option, checked; undefined when off. Throws `INVALID_OPTION`. */
export function resolveRestrictionField(
  value: unknown,
  path = "restrictionField",
): Required<RestrictionFieldOptions> | undefined {
  if (value === undefined) return undefined;
  const given = readObject(path, value, RESTRICTION_FIELD_KEYS, "{ avatarOf(room, client), field? }");
  if (typeof given.avatarOf !== "function")
    fail(path, `needs avatarOf, a function (room, client) => avatar, got ${show(given.avatarOf)} for it`);
  return {
    avatarOf: given.avatarOf as RestrictionFieldOptions["avatarOf"],
    field: optionalName(`${path}.field`, given.field, "restriction"),
  };
}
