/**
 * Every error colyseus-warden throws is a {@link WardenError} with a stable `code`.
 *
 * The catalogue below is the single list of codes: each entry gives the HTTP status the
 * admin API answers with and a sentence for the docs. `test/errors.test.ts` checks that
 * README.md documents every code.
 */
export const ERROR_CATALOGUE = {
  INVALID_OPTION: { status: 500, description: "createWarden() was given an option it cannot use." },
  INVALID_SANCTION: {
    status: 400,
    description: "A sanction request is malformed (unknown kind, bad duration, missing reason…).",
  },
  INVALID_DID: { status: 400, description: "A string is not a well-formed digital ID." },
  INVALID_DURATION: {
    status: 400,
    description: "A duration is not of the form 30s, 10m, 2h or 7d, or is longer than 3650d (10 years).",
  },
  SANCTION_NOT_FOUND: { status: 404, description: "No stored sanction has this id." },
  IDENTITY_NOT_FOUND: { status: 404, description: "The store holds nothing about this digital ID." },
  NOT_FOUND: { status: 404, description: "No admin API route has this path." },
  INVALID_REQUEST: {
    status: 400,
    description: "A request body or query is malformed (see the message for the field).",
  },
  UNAUTHORIZED: { status: 401, description: "No bearer token, or not a token the admin API knows." },
  FORBIDDEN: {
    status: 403,
    description:
      "The token's role may not do this (a viewer tried to sanction, revoke, export, forget, decide, or read cases, evidence, alts or suspected evasions).",
  },
  APPEAL_NOT_FOUND: { status: 404, description: "No appeal has this id, or it is not the caller's." },
  CASE_NOT_FOUND: { status: 404, description: "No report case has this id." },
  STAFF_NOT_FOUND: { status: 404, description: "No active staff credential has this name." },
  STAFF_CONFLICT: { status: 409, description: "This name already has an active staff credential." },
  APPEAL_NOT_ALLOWED: {
    status: 409,
    description:
      "The appeal cannot be filed or changed: already filed for this sanction, past its deadline, or already decided.",
  },
  REVIEW_CONFLICT: {
    status: 409,
    description: "The appeal or case changed meanwhile (another moderator acted): read it again.",
  },
  FOUR_EYES: {
    status: 403,
    description:
      "A moderator may not decide the appeal of a sanction they issued, nor confirm a permanent ban they proposed.",
  },
  CONFIRMATION_REQUIRED: {
    status: 409,
    description:
      "Four-eyes is on: a permanent ban is proposed (POST /identities/:did/sanctions) and lands when a second moderator confirms it.",
  },
  PENDING_BAN_NOT_FOUND: { status: 404, description: "No proposed permanent ban has this id." },
  PENDING_BAN_CLOSED: {
    status: 409,
    description: "The proposed ban was already confirmed, cancelled or has expired (another moderator may have acted).",
  },
  RATE_LIMITED: {
    status: 429,
    description: "Too many requests (appeals, player API calls, a staff credential's budget): try again later.",
  },
  SANCTION_CANCELLED: { status: 409, description: "A sanction:before listener vetoed the sanction." },
  STORE_UNAVAILABLE: { status: 503, description: "The store (Redis) did not answer in time or refused the command." },
  STORE_SCRIPT: { status: 500, description: "A store script answered with an unexpected result." },
  INTERNAL: {
    status: 500,
    description: "An unexpected failure; the details are in the server log, not in the answer.",
  },
  CLOSED: { status: 503, description: "The warden was closed and takes no more work." },
} as const satisfies Record<string, { status: number; description: string }>;

/** A stable, documented error code. */
export type WardenErrorCode = keyof typeof ERROR_CATALOGUE;

/** Base class of every error thrown by colyseus-warden. */
export class WardenError extends Error {
  override readonly name = "WardenError";
  /** Stable machine-readable code; see {@link ERROR_CATALOGUE}. */
  readonly code: WardenErrorCode;

  constructor(code: WardenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** HTTP status the admin API answers with for this error. */
  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** Turns anything thrown into an Error, so that no promise is ever rejected with a non-Error. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
