/** A well-formed digital ID that no test binds. */
export const UNKNOWN_DID = "a".repeat(26);

/** Every route of the admin API (method, path, body), for the tests that must cover all of them. */
export const ADMIN_ROUTES: [string, string, unknown?][] = [
  ["GET", `/identities?q=${UNKNOWN_DID}`],
  ["GET", `/identities/${UNKNOWN_DID}`],
  ["GET", `/identities/${UNKNOWN_DID}/sanctions`],
  ["GET", `/identities/${UNKNOWN_DID}/sessions`],
  ["GET", `/identities/${UNKNOWN_DID}/events`],
  ["POST", `/identities/${UNKNOWN_DID}/sanctions`, { kind: "warn", reason: "x" }],
  ["POST", `/sanctions/${UNKNOWN_DID}.aaaaaaaa/revoke`, {}],
  ["GET", `/identities/${UNKNOWN_DID}/export`],
  ["DELETE", `/identities/${UNKNOWN_DID}`, {}],
  ["GET", "/pending-bans"],
  ["GET", `/pending-bans/${UNKNOWN_DID}.aaaaaaaa.b`],
  ["POST", `/pending-bans/${UNKNOWN_DID}.aaaaaaaa.b/confirm`, {}],
  ["POST", `/pending-bans/${UNKNOWN_DID}.aaaaaaaa.b/cancel`, {}],
  ["GET", "/audit"],
  ["GET", "/audit/verify"],
  ["GET", "/feed"],
  ["GET", "/no/such/route"],
];
