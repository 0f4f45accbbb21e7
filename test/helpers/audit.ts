import type { AuditEntry } from "../../src/stores/audit-records.js";

/** A minimal audit entry for store-level tests (the chain's hashes are whatever the test says). */
export function auditEntry(seq: number, prev: string, hash: string): AuditEntry {
  return {
    seq,
    at: Date.now(),
    actor: "t",
    face: "code",
    action: "view",
    target: null,
    why: null,
    detail: {},
    prev,
    hash,
  };
}
