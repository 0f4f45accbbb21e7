/** What `identify` returns: the verified account subject and an optional display name. */
export interface Identity {
  /** Server-verified account id (1-512 characters, no NUL). Hashed into the digital ID; never stored or logged. */
  subject: string;
  /**
   * The identity provider that vouched for the subject (a JWT's `iss`), when the game has
   * more than one or its tokens name it: the digital ID is then derived from issuer and
   * subject together, so that the same account id at two providers is two people. Leave
   * it out and the ID is derived from the subject alone. Adding it later gives every
   * player of that issuer a new ID (their old ID's sanctions do not follow).
   */
  issuer?: string;
  /** Display name, shown to moderators; bounded and cleaned before use. */
  name?: string;
  /**
   * The player's preferred locale for notices (`"de"`, `"pt-BR"`, or a preference list such
   * as `"de-AT,de;q=0.9"`), used when the join options name none. Bounded and resolved to a
   * locale the warden has texts for, else its default.
   */
  locale?: string;
}

/**
 * Reads `sub`, `iss` (the issuer, see {@link Identity.issuer}), `name` and `locale` (see
 * {@link Identity.locale}) from a decoded JWT payload.
 */
export function identifyFromJwtClaims(auth: unknown): Identity | null {
  if (typeof auth !== "object" || auth === null) return null;
  const { sub, iss, name, locale } = auth as { sub?: unknown; iss?: unknown; name?: unknown; locale?: unknown };
  if (typeof sub !== "string" || sub.length === 0) return null;
  const identity: Identity = { subject: sub };
  // Tokens that name their issuer get IDs qualified by it (see Identity.issuer).
  if (typeof iss === "string" && iss.length > 0) identity.issuer = iss;
  if (typeof name === "string") identity.name = name;
  // Bounded like any claim read here; which locale it means is decided when notices are sent.
  if (typeof locale === "string" && locale.length > 0 && locale.length <= 256) identity.locale = locale;
  return identity;
}
