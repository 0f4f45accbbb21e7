/**
 * Ban evasion (issue 13): what a join leaves behind (keyed hashes of a device id, the
 * address, its network prefix), the links between IDs those make — with reasons a person
 * can read — and the evasion flag: an ID that joins with a strong link to an ID under an
 * active ban gets an evasion record in the review queue. A person confirms it (bans the
 * alt, or extends the original: the admin service issues that sanction) or dismisses it,
 * and a dismissed link never flags again. Nothing here bans anyone.
 */
import { randomBase32 } from "../util/base32.js";
import { WardenError } from "../errors.js";
import { assertDigitalId, type DigitalId } from "../identity/digital-id.js";
import { didOfReviewId, type EvasionRecord } from "../reviews/model.js";
import { isActive, type Sanction } from "../sanctions/model.js";
import type { ReviewStore, SanctionStore, SignalStore } from "../stores/store.js";
import { boundText } from "../util/text.js";
import type { AltLink, Signal, SignalType } from "./model.js";
import type { ResolvedEvasion } from "./options.js";
import {
  type Cidr,
  clientAddress,
  formatAddress,
  forwardedForOf,
  isDeviceId,
  keyedSignal,
  linksFrom,
  networkPrefix,
  parseCidr,
  SIGNAL_WEIGHTS,
  STRONG,
} from "./signals.js";

/** What a join offers: the socket's peer address, the connection's headers, the client's join option `deviceId`. Raw: memory only. */
export interface RawSignals {
  address?: string | undefined;
  headers?: Record<string, string | string[] | undefined> | undefined;
  deviceId?: unknown;
}

/** What the service reports to the warden. */
export interface EvasionHooks {
  /** An evasion record was written (a suspected evasion is waiting for a person). */
  flagged(record: EvasionRecord): void;
  /** The store failed; the join goes on without the check. */
  storeFailed(operation: string, cause: unknown): void;
  /** A person dismissed a suspected evasion (e.g. to lift the automatic mute that came with it). */
  dismissed?(record: EvasionRecord): void;
}

/** A moderator's decision on a suspected evasion. */
export interface EvasionVerdict {
  action: "ban" | "extend" | "dismiss";
  reason: string;
}

const token = randomBase32;

const OUTCOMES = { ban: "banned", extend: "extended", dismiss: "dismissed" } as const;

/** The ban in force the evasion is measured against: a permanent one first, else the one ending last. */
function activeBan(sanctions: readonly Sanction[], now: number): Sanction | undefined {
  let best: Sanction | undefined;
  for (const s of sanctions) {
    if (s.kind !== "ban" || !isActive(s, now)) continue;
    if (best === undefined || s.end === null || (best.end !== null && s.end > best.end)) best = s;
    if (best.end === null) break;
  }
  return best;
}

export class EvasionService {
  private readonly trusted: readonly Cidr[];
  /** (did, bannedDid) pairs being checked and written in this process: one record per pair, even for two joins at once. */
  private readonly writing = new Set<string>();

  constructor(
    private readonly store: SignalStore & ReviewStore & SanctionStore,
    private readonly secret: string | Buffer,
    readonly options: ResolvedEvasion,
    private readonly hooks: EvasionHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.trusted = options.trustedProxies.map((p) => parseCidr(p)).filter((c): c is Cidr => c !== null);
  }

  /** True when at least one signal type is on. */
  get enabled(): boolean {
    const s = this.options.signals;
    return s.device || s.address || s.prefix;
  }

  /**
   * The keyed signals of a join, per the options (types turned off are left out): the
   * device id when the client sent a well-formed one, the client's address (through trusted
   * proxies) and its network prefix. The raw values are hashed here and go no further.
   */
  signalsOf(raw: RawSignals): Signal[] {
    const { device, address, prefix } = this.options.signals;
    const out: Signal[] = [];
    if (device && isDeviceId(raw.deviceId)) out.push(this.signal("device", raw.deviceId));
    if (address || prefix) {
      const forwarded = this.trusted.length === 0 ? undefined : forwardedForOf(raw.headers);
      const client = clientAddress(raw.address, forwarded, this.trusted);
      if (client !== null) {
        if (address) out.push(this.signal("address", formatAddress(client)));
        if (prefix)
          out.push(this.signal("prefix", networkPrefix(client, this.options.prefixV4, this.options.prefixV6)));
      }
    }
    return out;
  }

  private signal(type: SignalType, value: string): Signal {
    return { type, hash: keyedSignal(this.secret, type, value) };
  }

  /**
   * Notes a join's signals and checks them: for every strong link (not dismissed) to an ID
   * under an active ban, unless an evasion record of the pair is open already (or was
   * confirmed against that very ban), writes one and calls `hooks.flagged`. Answers the first record written, or null. Never throws:
   * a store failure goes to `hooks.storeFailed` and answers null.
   */
  async joined(did: DigitalId, signals: readonly Signal[]): Promise<EvasionRecord | null> {
    if (signals.length === 0) return null;
    const { retentionMs, crowdLimit } = this.options;
    const pairs: string[] = [];
    try {
      const now = this.now();
      const peers = await this.store.noteSignals(did, signals, now, retentionMs, crowdLimit);
      // Only a signal strong enough on its own can make a strong link: none shared, nothing to check.
      if (!peers.some((p) => SIGNAL_WEIGHTS[p.type] >= STRONG && p.peers.length > 0)) return null;
      const dismissed = new Set(await this.store.dismissedLinks(did));
      const strong = linksFrom(peers, crowdLimit, dismissed, now).filter(
        (link) => link.level === "strong" && !link.dismissed && link.did !== did,
      );
      let first: EvasionRecord | null = null;
      let known: EvasionRecord[] | undefined;
      for (const link of strong) {
        const ban = activeBan(await this.store.sanctionsOf(link.did), this.now());
        if (ban === undefined) continue;
        const pair = `${did}|${link.did}`;
        if (this.writing.has(pair)) continue;
        this.writing.add(pair);
        pairs.push(pair);
        known ??= (await this.store.reviewsOf(did)).filter((r): r is EvasionRecord => r.type === "evasion");
        // Waiting for a person already, or a person confirmed it against this very ban (e.g. extended it).
        if (
          known.some(
            (r) =>
              r.bannedDid === link.did &&
              (r.state === "open" ||
                (r.state === "confirmed" && (r.banSanctionId === ban.id || r.outcome?.sanctionId === ban.id))),
          )
        )
          continue;
        const record: EvasionRecord = {
          type: "evasion",
          id: `${did}.${token(8)}.v`,
          did,
          rev: 1,
          openedAt: this.now(),
          state: "open",
          bannedDid: link.did,
          banSanctionId: ban.id,
          link,
        };
        if ((await this.store.saveReview(record, null, retentionMs, [link.did])) !== "saved") continue;
        known.push(record);
        first ??= record;
        this.hooks.flagged(record);
      }
      return first;
    } catch (e) {
      this.hooks.storeFailed("evasion check", e);
      return null;
    } finally {
      for (const pair of pairs) this.writing.delete(pair);
    }
  }

  /** Every link of an ID with its reasons, strongest first; dismissed links marked. */
  async alts(did: DigitalId): Promise<AltLink[]> {
    assertDigitalId(did);
    const now = this.now();
    const [peers, dismissed] = await Promise.all([
      this.store.signalsOf(did, now, this.options.retentionMs, this.options.crowdLimit),
      this.store.dismissedLinks(did),
    ]);
    return linksFrom(peers, this.options.crowdLimit, new Set(dismissed), now).filter((link) => link.did !== did);
  }

  /** The links a ban with alts acts on: strong or medium, not dismissed (crowded signals never count). */
  async blastRadius(did: DigitalId): Promise<AltLink[]> {
    return (await this.alts(did)).filter((link) => link.level !== "weak" && !link.dismissed);
  }

  /** How many signals of each type are kept about an ID (within retention): counts only. */
  async signalCounts(did: DigitalId): Promise<Record<SignalType, number>> {
    assertDigitalId(did);
    const counts: Record<SignalType, number> = { device: 0, address: 0, prefix: 0 };
    for (const signal of await this.store.signalsOf(did, this.now(), this.options.retentionMs, 0))
      counts[signal.type]++;
    return counts;
  }

  /** Suspected evasions waiting for a person, oldest first. */
  async queue(limit: number): Promise<EvasionRecord[]> {
    return (await this.store.reviewQueue("evasion", limit)).filter((r): r is EvasionRecord => r.type === "evasion");
  }

  /** One evasion record; throws `CASE_NOT_FOUND`. */
  async get(id: string): Promise<EvasionRecord> {
    const record =
      typeof id === "string" && id.endsWith(".v") && didOfReviewId(id) !== null ? await this.store.review(id) : null;
    if (record === null || record.type !== "evasion")
      throw new WardenError("CASE_NOT_FOUND", "no suspected evasion has this id");
    return record;
  }

  /**
   * Decides a suspected evasion: claimed first (compare-and-set: open → confirmed or
   * dismissed; a conflict is `REVIEW_CONFLICT`), then for `ban` / `extend` the caller's
   * `act` issues the sanction (audited, by the deciding person) and answers its id, kept in
   * the outcome; `dismiss` remembers the link so that it never flags again.
   */
  async decide(
    id: string,
    decision: EvasionVerdict,
    by: { who: string },
    act: (record: EvasionRecord) => Promise<string | null>,
  ): Promise<EvasionRecord> {
    const action = decision?.action;
    if (action !== "ban" && action !== "extend" && action !== "dismiss")
      throw new WardenError("INVALID_REQUEST", "action must be ban, extend or dismiss");
    const reason = typeof decision.reason === "string" ? boundText(decision.reason, 500) : "";
    if (reason.length === 0) throw new WardenError("INVALID_REQUEST", "a decision needs a reason");
    const record = await this.get(id);
    if (record.state !== "open")
      throw new WardenError("REVIEW_CONFLICT", `the suspected evasion is already ${record.state}`);
    const keep = this.options.retentionMs;
    const claimed: EvasionRecord = {
      ...record,
      rev: record.rev + 1,
      state: action === "dismiss" ? "dismissed" : "confirmed",
      decidedAt: this.now(),
      decidedBy: by.who,
      outcome: { action: OUTCOMES[action], reason },
    };
    if ((await this.store.saveReview(claimed, record.rev, keep, [record.bannedDid])) === "conflict")
      throw new WardenError("REVIEW_CONFLICT", "the suspected evasion changed meanwhile: read it again");
    if (action === "dismiss") {
      await this.dismiss(record.did, record.bannedDid);
      this.hooks.dismissed?.(claimed);
      return claimed;
    }
    const sanctionId = await act(claimed);
    if (sanctionId === null) return claimed;
    const withId: EvasionRecord = {
      ...claimed,
      rev: claimed.rev + 1,
      outcome: { action: OUTCOMES[action], sanctionId, reason },
    };
    return (await this.store.saveReview(withId, claimed.rev, keep, [record.bannedDid])) === "saved" ? withId : claimed;
  }

  /** Remembers that the link between two IDs was dismissed (both ways, for `dismissedKeepMs`): it never flags again. */
  async dismiss(a: DigitalId, b: DigitalId): Promise<void> {
    assertDigitalId(a);
    assertDigitalId(b);
    if (a === b) throw new WardenError("INVALID_REQUEST", "a link joins two different IDs");
    await this.store.dismissLink(a, b, this.options.dismissedKeepMs);
  }

  /**
   * Notes on an open record the restriction applied automatically while it waits (best
   * effort: a few compare-and-set rounds; a record decided meanwhile is left as it is).
   */
  async noteInterim(id: string, sanctionId: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const record = await this.store.review(id);
      if (record === null || record.type !== "evasion" || record.state !== "open") return;
      const next: EvasionRecord = { ...record, rev: record.rev + 1, interim: sanctionId };
      if ((await this.store.saveReview(next, record.rev, this.options.retentionMs, [record.bannedDid])) === "saved")
        return;
    }
  }
}
