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
export type { MetricsRoutesOptions } from "./metrics/http.js";
export { SANCTION_ORIGINS, originOf, type SanctionOrigin } from "./metrics/metrics.js";
export type { WardenStats } from "./warden.js";
export type { ReportOutcome, ReportInput } from "./reports/service.js";
export type { AppealOutcome } from "./plugin/host.js";
export type {
  Appeal,
  AppealState,
  CaseReport,
  CaseState,
  ConductRule,
  EvidenceRecord,
  EvidenceSnapshot,
  ReportCase,
  ReporterStanding,
  ReviewRecord,
  SanctionScope,
  StatementFact,
  StatementOfReasons,
} from "./reviews/model.js";
export { MIN_APPEAL_WINDOW_MS, MAX_REPORT_MUTE_MS, DUE_PROCESS_DEFAULTS } from "./reviews/options.js";
export type { DueProcessOptions, EvidenceOptions } from "./reviews/options.js";
export { REPORT_CATEGORIES, type TransparencyReport } from "./reviews/transparency.js";
export type { AppealDecision } from "./reviews/appeals.js";
export type { ReportReceipt, CaseDecision } from "./reviews/cases.js";
export { DEFAULT_CONDUCT, type Conduct, type ConductOptions } from "./policy/conduct.js";
export { BUILT_IN_NOTICES, NOTICE_KEYS, NoticeText, type NoticeKey, type NoticeOptions } from "./sanctions/notice.js";
export type { PlayerNotice, Grounds } from "./sanctions/model.js";
export {
  EVASION_DEFAULTS,
  type EvasionOptions,
  type EvasionSignalOptions,
  type ResolvedEvasion,
} from "./signals/options.js";
export type { EvasionService } from "./signals/evasion.js";
export {
  SIGNAL_TYPES,
  type AltLink,
  type SharedSignal,
  type Signal,
  type SignalPeers,
  type SignalType,
} from "./signals/model.js";
export type { EvasionRecord } from "./reviews/model.js";
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
  ReviewStore,
  StatsStore,
  SignalStore,
  SaveReviewResult,
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
