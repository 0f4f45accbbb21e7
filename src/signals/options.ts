import {
  deepFreeze,
  optionalDuration,
  fail,
  keysOf,
  oneOf,
  optionalBoolean,
  optionalNumber,
  readArray,
  readObject,
  show,
} from "../util/validate.js";
import { formatAddress, parseCidr } from "./signals.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The longest automatic mute of a suspected evasion (`action: "mute"`). */
export const MAX_EVASION_MUTE_MS = 60 * MINUTE;

/** Most trusted proxies (addresses or networks) one warden takes. */
export const MAX_TRUSTED_PROXIES = 100;

/** Which signals a join leaves behind; each can be turned off. */
export interface EvasionSignalOptions {
  /**
   * The device id the game client sends in its join options (`deviceId`: 8-128 characters
   * of `A-Z a-z 0-9 _ -`, e.g. a random 128-bit value kept in the client's storage). The
   * only signal strong enough to flag an evasion.
   * @defaultValue `true`
   */
  device?: boolean;
  /**
   * The client's network address (behind `trustedProxies`, the forwarded one).
   * @defaultValue `true`
   */
  address?: boolean;
  /**
   * The network prefix of that address (`prefixV4`, `prefixV6`).
   * @defaultValue `true`
   */
  prefix?: boolean;
}

/**
 * Ban evasion (issue 13): signals noted at each join — kept only as keyed hashes, each for
 * `retentionMs` after it was last seen, erased by `forget` — link IDs with reasons a person
 * can read; an ID that joins with a strong link to a banned ID is flagged for review (never
 * banned automatically).
 */
export interface EvasionOptions {
  /**
   * The signal types noted; every one is on unless turned off (`{ address: false }`). With
   * all three off nothing is noted and nothing is flagged.
   * @defaultValue `{ device: true, address: true, prefix: true }`
   */
  signals?: EvasionSignalOptions;
  /**
   * Reverse proxies (load balancers) in front of the game servers, as addresses or CIDR
   * networks (`"10.0.0.0/8"`, `"2001:db8::/32"`). A connection from one of them is read
   * through its `X-Forwarded-For` header (the right-most address that is not itself a
   * trusted proxy). With none, the socket's address is used and forwarded headers are
   * ignored — a client can write any header it likes.
   * @defaultValue `[]` (none)
   */
  trustedProxies?: readonly string[];
  /**
   * Bits of an IPv4 address that make its network prefix (16-32).
   * @defaultValue `24`
   */
  prefixV4?: number;
  /**
   * Bits of an IPv6 address that make its network prefix: `64` (one subscriber's network)
   * or `48` (one site).
   * @defaultValue `64`
   */
  prefixV6?: 48 | 64;
  /**
   * How long a signal is kept after an ID was last seen with it: milliseconds or a duration string.
   * @defaultValue `"30d"`
   */
  retentionMs?: number | string;
  /**
   * A signal seen with more than this many IDs within `retentionMs` (a school, a carrier
   * NAT, an internet café) is crowded: it links nobody (2-100).
   * @defaultValue `8`
   */
  crowdLimit?: number;
  /**
   * What happens automatically to an ID flagged for a suspected evasion while a person
   * reviews it: `"none"` (the default: the flag only) or `"mute"` (for `muteMs`, at most an
   * hour). Never a ban.
   * @defaultValue `"none"`
   */
  action?: "none" | "mute";
  /**
   * Length of the automatic mute of `action: "mute"` (at most 1 hour).
   * @defaultValue `"10m"`
   */
  muteMs?: number | string;
  /**
   * How long a dismissed link (e.g. siblings on one device) is remembered: while it is, it
   * never flags again.
   * @defaultValue `"365d"`
   */
  dismissedKeepMs?: number | string;
}

/** The validated ban-evasion options, every duration in milliseconds. */
export interface ResolvedEvasion {
  readonly signals: { readonly device: boolean; readonly address: boolean; readonly prefix: boolean };
  /** Normalised networks (`10.0.0.0/8`, `127.0.0.1/32`). */
  readonly trustedProxies: readonly string[];
  readonly prefixV4: number;
  readonly prefixV6: 48 | 64;
  readonly retentionMs: number;
  readonly crowdLimit: number;
  readonly action: "none" | "mute";
  readonly muteMs: number;
  readonly dismissedKeepMs: number;
}

/** The ban-evasion defaults. */
export const EVASION_DEFAULTS: ResolvedEvasion = deepFreeze({
  signals: { device: true, address: true, prefix: true },
  trustedProxies: [],
  prefixV4: 24,
  prefixV6: 64,
  retentionMs: 30 * DAY,
  crowdLimit: 8,
  action: "none",
  muteMs: 10 * MINUTE,
  dismissedKeepMs: 365 * DAY,
});

const KEYS = keysOf<EvasionOptions>({
  signals: true,
  trustedProxies: true,
  prefixV4: true,
  prefixV6: true,
  retentionMs: true,
  crowdLimit: true,
  action: true,
  muteMs: true,
  dismissedKeepMs: true,
});
const SIGNAL_KEYS = keysOf<EvasionSignalOptions>({ device: true, address: true, prefix: true });

/** Merges the `evasion` option over {@link EVASION_DEFAULTS} and validates it. Throws `INVALID_OPTION`. */
export function resolveEvasion(value: unknown, path = "evasion"): ResolvedEvasion {
  const given = value === undefined ? {} : readObject(path, value, KEYS);
  const d = EVASION_DEFAULTS;
  const span = (key: keyof EvasionOptions, fallback: number): number =>
    optionalDuration(`${path}.${key}`, given[key], fallback);
  const signals = given.signals === undefined ? {} : readObject(`${path}.signals`, given.signals, SIGNAL_KEYS);
  const proxies =
    given.trustedProxies === undefined
      ? []
      : readArray(
          `${path}.trustedProxies`,
          given.trustedProxies,
          MAX_TRUSTED_PROXIES,
          "an array of IP addresses or CIDR networks",
        ).map((entry, i) => {
          const network = parseCidr(entry);
          if (network === null)
            fail(
              `${path}.trustedProxies[${i}]`,
              `must be an IP address or a CIDR network such as "10.0.0.0/8", got ${show(entry)}`,
            );
          return `${formatAddress(network)}/${network.bits}`;
        });
  const prefixV6 = given.prefixV6 === undefined ? d.prefixV6 : given.prefixV6;
  if (prefixV6 !== 48 && prefixV6 !== 64) fail(`${path}.prefixV6`, `must be 48 or 64, got ${show(prefixV6)}`);
  const muteMs = span("muteMs", d.muteMs);
  if (muteMs > MAX_EVASION_MUTE_MS)
    fail(
      `${path}.muteMs`,
      `must be at most 1 hour (a suspected evasion waits for a person), got ${show(given.muteMs)}`,
    );
  return deepFreeze({
    signals: {
      device: optionalBoolean(`${path}.signals.device`, signals.device, d.signals.device),
      address: optionalBoolean(`${path}.signals.address`, signals.address, d.signals.address),
      prefix: optionalBoolean(`${path}.signals.prefix`, signals.prefix, d.signals.prefix),
    },
    trustedProxies: [...new Set(proxies)],
    prefixV4: optionalNumber(`${path}.prefixV4`, given.prefixV4, d.prefixV4, { min: 16, max: 32, integer: true }),
    prefixV6,
    retentionMs: span("retentionMs", d.retentionMs),
    crowdLimit: optionalNumber(`${path}.crowdLimit`, given.crowdLimit, d.crowdLimit, {
      min: 2,
      max: 100,
      integer: true,
    }),
    action: oneOf(`${path}.action`, given.action, ["none", "mute"] as const, d.action),
    muteMs,
    dismissedKeepMs: span("dismissedKeepMs", d.dismissedKeepMs),
  });
}
