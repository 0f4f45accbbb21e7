/**
 * Staff identities: every person has a personal token with a role, issued and revoked by an
 * admin. The store holds each token only as an HMAC under a key derived from the warden's
 * secret, and each record sealed by a second MAC, so that an insider with Redis access can
 * neither read a token, mint one, promote a viewer nor bring a revoked credential back.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { WardenError } from "../errors.js";
import { randomBase32 } from "../util/base32.js";
import type { StaffRecord, StaffStore } from "../stores/store.js";

/** Roles of the admin surface, each including the one before: viewer ⊂ moderator ⊂ admin. */
export const STAFF_ROLES = ["viewer", "moderator", "admin"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Whether `role` may do what `needed` may. */
export function roleAtLeast(role: StaffRole, needed: StaffRole): boolean {
  return STAFF_ROLES.indexOf(role) >= STAFF_ROLES.indexOf(needed);
}

/** A staff member as the API shows them: never the token or its hash. */
export interface StaffView {
  name: string;
  role: StaffRole;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** A person's name: 1-64 of letters, digits, `_ . @ -` (no spaces: it is part of the actor `staff:<name>`). */
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
/** `wst_<id>_<secret>`: a 16-character base32 id and 32 random bytes, base64url. */
const TOKEN = /^wst_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;

/** Whether a presented bearer token is shaped like a personal staff token (no store read). */
export function isStaffToken(token: string): boolean {
  return token.startsWith("wst_");
}

function sealed(record: Omit<StaffRecord, "mac">): string {
  return JSON.stringify([
    record.id,
    record.name,
    record.role,
    record.createdAt,
    record.createdBy,
    record.revokedAt,
    record.revokedBy,
    record.tokenHash,
  ]);
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

const view = (r: StaffRecord): StaffView => ({
  name: r.name,
  role: r.role,
  createdAt: r.createdAt,
  createdBy: r.createdBy,
  revokedAt: r.revokedAt,
  revokedBy: r.revokedBy,
});

/** Issues, checks, lists and revokes personal staff tokens. */
export class StaffService {
  private readonly tokenKey: Buffer;
  private readonly recordKey: Buffer;
  /** Records whose seal failed, already logged (once each). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly store: StaffStore,
    secret: string | Buffer,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.tokenKey = createHmac("sha256", secret).update("warden staff token v1").digest();
    this.recordKey = createHmac("sha256", secret).update("warden staff record v1").digest();
  }

  private tokenHash(token: string): string {
    return createHmac("sha256", this.tokenKey).update(token, "utf8").digest("hex");
  }

  private seal(record: Omit<StaffRecord, "mac">): StaffRecord {
    return { ...record, mac: createHmac("sha256", this.recordKey).update(sealed(record)).digest("hex") };
  }

  /** The record if its seal holds; a broken seal is logged once (by id, never a token) and read as none. */
  private intact(record: StaffRecord | null): StaffRecord | null {
    if (record === null) return null;
    const { mac, ...body } = record;
    if (typeof mac === "string" && STAFF_ROLES.includes(body.role) && equalHex(this.seal(body).mac, mac)) return record;
    const id = String(record.id).slice(0, 16);
    if (!this.reported.has(id) && this.reported.size < 1000) {
      this.reported.add(id);
      this.warn(`staff record ${id} does not carry this server's seal (edited in the store?): refused`);
    }
    return null;
  }

  /** Issues a personal token; answers it once (it is never shown or stored again). */
  async add(name: string, role: StaffRole, by: string): Promise<{ staff: StaffView; token: string }> {
    if (typeof name !== "string" || !NAME.test(name))
      throw new WardenError("INVALID_REQUEST", "name: 1-64 of letters, digits, _ . @ - (no spaces)");
    if (!STAFF_ROLES.includes(role)) throw new WardenError("INVALID_REQUEST", "role: viewer, moderator or admin");
    if ((await this.list()).some((s) => s.name === name && s.revokedAt === null))
      throw new WardenError("STAFF_CONFLICT", `${name} already has an active credential: revoke it first`);
    const id = randomBase32(16);
    const token = `wst_${id}_${randomBytes(32).toString("base64url")}`;
    const record = this.seal({
      id,
      name,
      role,
      createdAt: this.now(),
      createdBy: by,
      revokedAt: null,
      revokedBy: null,
      tokenHash: this.tokenHash(token),
    });
    await this.store.saveStaff(record);
    return { staff: view(record), token };
  }

  /** The person behind a presented token, or null (unknown, malformed, revoked or tampered with). */
  async authenticate(token: string): Promise<{ name: string; role: StaffRole } | null> {
    const match = TOKEN.exec(token);
    if (!match) return null;
    const record = this.intact(await this.store.staffById(match[1]!));
    if (record === null || record.revokedAt !== null) return null;
    if (!equalHex(this.tokenHash(token), record.tokenHash)) return null;
    return { name: record.name, role: record.role };
  }

  /** Every staff member with an intact record, newest first. */
  async list(): Promise<StaffView[]> {
    const records = (await this.store.listStaff()).map((r) => this.intact(r)).filter((r) => r !== null);
    return records.sort((a, b) => b.createdAt - a.createdAt).map(view);
  }

  /** Revokes a person's active credential: refused at once in every process (each request reads the store). */
  async revoke(name: string, by: string): Promise<StaffView> {
    const records = (await this.store.listStaff()).map((r) => this.intact(r)).filter((r) => r !== null);
    const active = records.find((r) => r.name === name && r.revokedAt === null);
    if (active === undefined) throw new WardenError("STAFF_NOT_FOUND", `no active credential for ${name}`);
    const { mac: _mac, ...body } = active;
    const revoked = this.seal({ ...body, revokedAt: this.now(), revokedBy: by });
    await this.store.saveStaff(revoked);
    return view(revoked);
  }
}
