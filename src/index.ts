/**
 * colyseus-warden — in-world enforcement for Colyseus 0.18.
 * Curated public exports; anything not listed here is internal.
 */
export { createWarden, Warden, JOIN_STORE_UNAVAILABLE, JOIN_TOO_MANY_SESSIONS, type JoinDenial } from "./warden.js";
export { WardenPlugin } from "./plugin/plugin.js";
export {
  DEFAULT_OPTIONS,
  INPUT_TYPE,
  identifyFromJwtClaims,
  type Identity,
  type RestrictionFieldOptions,
  type StoreOption,
  type WardenLogger,
  type WardenOptions,
} from "./options.js";
export { WardenError, ERROR_CATALOGUE, type WardenErrorCode } from "./errors.js";
export type { WardenEvents, BeforeSanctionEvent, EnforcementEvent } from "./events.js";
export { deriveDigitalId, isDigitalId, MAX_SUBJECT_LENGTH, type DigitalId } from "./identity/digital-id.js";
export {
  SANCTION_KINDS,
  describeSanction,
  isActive,
  type Revocation,
  type Sanction,
  type SanctionKind,
  type SanctionRequest,
} from "./sanctions/model.js";
export { SanctionsService, type DraftResult, type IssueResult, type RevokeResult } from "./sanctions/service.js";
export { CLOSE_BANNED, CLOSE_KICKED, NOTICE_TYPE, type WardenNotice } from "./sanctions/enforcer.js";
export { parseDuration, formatDuration } from "./duration.js";
export { AdminService, type Actor, type IdentityExport, type IdentitySummary } from "./admin/service.js";
export { AuditLog, type AuditEntry, type AuditLogOptions, type AuditVerification } from "./admin/audit.js";
export type { AdminApiOptions, AdminRole } from "./admin/http.js";
export type { WardenStats } from "./warden.js";
export type { ReportOutcome } from "./reports/service.js";
export type { OffenseEvent, Detector, Evidence } from "./recorder/offense.js";
export type { GuardOptions, ChatGuardOptions, FloodLimit, ReportOptions } from "./options.js";
export type { PolicyOptions, TrackOptions, LadderStep } from "./policy/ladder.js";
export type { RecorderOptions } from "./recorder/recorder.js";
export { MemoryStore } from "./stores/memory/memory-store.js";
export { RedisStore, type RedisStoreOptions } from "./stores/redis/redis-store.js";
export type {
  WardenStore,
  StoreLifecycle,
  SanctionStore,
  BusStore,
  SessionStore,
  ProcessRegistryStore,
  OffenseStore,
  FeedStore,
  ReportStore,
  ProfileStore,
  AuditStore,
  ErasureStore,
  SessionBinding,
  BusMessage,
  StoreRetention,
  StoreRevokeResult,
  StoreReportResult,
  AuditAppendResult,
  Profile,
  TrackPoints,
} from "./stores/store.js";
export type { AuditHead, AuditFace, AuditAction } from "./stores/audit-records.js";
export type { OffenseRecord, RecordedOffense } from "./recorder/offense.js";
export type { PluginHost } from "./plugin/host.js";
