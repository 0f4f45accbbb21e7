import type { DigitalId } from "../../identity/digital-id.js";

/**
 * The one place that builds Redis key names (BullMQ's QueueKeys idea).
 *
 * Every key of one digital ID carries the ID as a hash tag (`{<did>}`), so all of them
 * live in one Redis Cluster slot and one script may touch them together. Keys that are
 * not about one ID (the process registry) carry their own tag.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash: sanction id → sanction JSON; `<id>:r` → revocation JSON. */
  sanctions(did: DigitalId): string {
    return `${this.prefix}:{${did}}:sanctions`;
  }

  /** Hash: session id → binding JSON. */
  sessions(did: DigitalId): string {
    return `${this.prefix}:{${did}}:sessions`;
  }

  /** Sorted set: process id → alive-until (epoch ms). */
  processes(): string {
    return `${this.prefix}:{procs}:alive`;
  }

  /** Set of `<did> <sessionId>` bound by one process, so its bindings can be swept if it dies. */
  processSessions(processId: string): string {
    return `${this.prefix}:{procs}:sessions:${processId}`;
  }

  /** Pub/sub channel of sanctions and revocations. */
  busChannel(): string {
    return `${this.prefix}:bus`;
  }
}
