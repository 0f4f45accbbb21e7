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
  /**
   * The player signed in anonymously (an `@colyseus/auth` anonymous token): the subject is
   * the token's `anonymousId`, in a namespace of its own (issuer `anonymous`), so it never
   * equals an account's ID. Refused at join when the `anonymousPlayers` option is `"refuse"`.
   */
  anonymous?: true;
}

/** Issuer of the subjects of anonymous players: their IDs never meet an account's. */
export const ANONYMOUS_ISSUER = "anonymous";

/**
 * Reads the account from a decoded JWT payload: `sub` (standard JWTs), else `id` (what
 * `@colyseus/auth` puts in its tokens: the user's id, a string or a whole number), else
 * `anonymousId` (an `@colyseus/auth` anonymous sign-in: {@link Identity.anonymous}); `iss`
 * (the issuer, see {@link Identity.issuer}), `name` (or `username`, `displayName`) and
 * `locale` (see {@link Identity.locale}).
 */
export function identifyFromJwtClaims(auth: unknown): Identity | null {
  if (typeof auth !== "object" || auth === null) return null;
  const claims = auth as Record<string, unknown>;
  const { sub, iss, id, anonymousId, locale } = claims;
  const named = [claims.name, claims.username, claims.displayName].find((n) => typeof n === "string");
  let identity: Identity;
  if (typeof sub === "string" && sub.length > 0) identity = { subject: sub };
  else if ((typeof id === "string" && id.length > 0) || (typeof id === "number" && Number.isSafeInteger(id)))
    identity = { subject: String(id) };
  else if (typeof anonymousId === "string" && anonymousId.length > 0)
    return {
      subject: anonymousId,
      issuer: typeof iss === "string" && iss.length > 0 ? `${iss} ${ANONYMOUS_ISSUER}` : ANONYMOUS_ISSUER,
      anonymous: true,
      ...(typeof named === "string" ? { name: named } : {}),
      ...(typeof locale === "string" && locale.length > 0 && locale.length <= 256 ? { locale } : {}),
    };
  else return null;
  // Tokens that name their issuer get IDs qualified by it (see Identity.issuer).
  if (typeof iss === "string" && iss.length > 0) identity.issuer = iss;
  if (typeof named === "string") identity.name = named;
  // Bounded like any claim read here; which locale it means is decided when notices are sent.
  if (typeof locale === "string" && locale.length > 0 && locale.length <= 256) identity.locale = locale;
  return identity;
}
