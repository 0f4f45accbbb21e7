/**
 * What a player reads: the short sentence of a sanction (what, until when, why, how it was
 * decided, how to appeal), of a lifted sanction, and of a due-process notice (their appeal,
 * their report) — per locale, from templates the operator may override. The structured
 * statement travels next to the sentence (see `WardenNotice`): a client can render its own.
 *
 * Templates are plain text with `{name}` placeholders; each key has a fixed set of
 * placeholders, and an operator template naming any other is refused when the warden is
 * created, so that no player ever reads a literal `{reasn}`.
 */
import { boundText } from "../util/text.js";
import { formatInstant } from "../util/time.js";
import { childPath, fail, keysOf, listOf, readObject, show, suggest } from "../util/validate.js";
import { LASTING_KINDS, type PlayerNotice, type Sanction } from "./model.js";

/** Every template key. */
export const NOTICE_KEYS = [
  "sanction.warn",
  "sanction.mute",
  "sanction.freeze",
  "sanction.kick",
  "sanction.ban",
  "until",
  "permanent",
  "rule",
  "decided.policy",
  "decided.person",
  "appeal",
  "erased",
  "lifted",
  "appeal.filed",
  "appeal.in_review",
  "appeal.upheld",
  "appeal.rejected",
  "appeal.withdrawn",
  "report.received",
  "report.actioned",
  "report.not_actioned",
  "report.suspended",
] as const;
export type NoticeKey = (typeof NOTICE_KEYS)[number];

/** A full set of templates, one per key. */
export type NoticeTemplates = Readonly<Record<NoticeKey, string>>;

/** The `notices` option. */
export interface NoticeOptions {
  /**
   * The locale of a player who asked for none, or for one there are no templates for
   * (neither exactly nor by its language): a built-in locale or one given in `locales`.
   * @defaultValue `"en"`
   */
  defaultLocale?: string;
  /**
   * Templates by locale (`"de"`, `"pt-BR"`: a language, optionally with region or script),
   * merged key by key over the built-in ones (`en`, `de`, `fr`, `es`). A key left out of a
   * new locale comes from its language (`pt` for `pt-BR`), then from the default locale,
   * then from `en`. Placeholders per key: see {@link NOTICE_PLACEHOLDERS}.
   * @defaultValue the built-in `en`, `de`, `fr` and `es` ({@link BUILT_IN_NOTICES})
   */
  locales?: Record<string, Partial<Record<NoticeKey, string>>>;
}

/** Placeholders of a due-process notice: the notice's own `ref` and `state`, and its vars. */
const PLAYER_PLACEHOLDERS = ["ref", "state", "handle", "reason", "until", "deadline", "remedy"] as const;

/** The placeholders each key may use. */
export const NOTICE_PLACEHOLDERS: Readonly<Record<NoticeKey, readonly string[]>> = Object.freeze({
  "sanction.warn": ["reason"],
  "sanction.mute": ["until", "reason"],
  "sanction.freeze": ["until", "reason"],
  "sanction.kick": ["reason"],
  "sanction.ban": ["until", "reason"],
  until: ["time"],
  permanent: [],
  rule: ["rule"],
  "decided.policy": [],
  "decided.person": ["role"],
  appeal: ["deadline", "handle"],
  erased: [],
  lifted: ["kind", "reason"],
  "appeal.filed": PLAYER_PLACEHOLDERS,
  "appeal.in_review": PLAYER_PLACEHOLDERS,
  "appeal.upheld": PLAYER_PLACEHOLDERS,
  "appeal.rejected": PLAYER_PLACEHOLDERS,
  "appeal.withdrawn": PLAYER_PLACEHOLDERS,
  "report.received": PLAYER_PLACEHOLDERS,
  "report.actioned": PLAYER_PLACEHOLDERS,
  "report.not_actioned": PLAYER_PLACEHOLDERS,
  "report.suspended": PLAYER_PLACEHOLDERS,
} satisfies Record<NoticeKey, readonly string[]>);

const EN: NoticeTemplates = {
  "sanction.warn": "You have received a warning: {reason}.",
  "sanction.mute": "You are muted {until}: {reason}.",
  "sanction.freeze": "You are frozen {until}: {reason}.",
  "sanction.kick": "You have been removed from the game: {reason}.",
  "sanction.ban": "You are banned {until}: {reason}.",
  until: "until {time}",
  permanent: "permanently",
  rule: "Rule broken: {rule}.",
  "decided.policy": "Decided automatically.",
  "decided.person": "Decided by a {role}.",
  appeal: "You can appeal until {deadline} (reference {handle}).",
  erased: "details erased at your request",
  lifted: "Your {kind} has been lifted: {reason}.",
  "appeal.filed": "We received your appeal {ref}; a person will review it.",
  "appeal.in_review": "Your appeal {ref} is being reviewed.",
  "appeal.upheld": "Your appeal {ref} was upheld: {reason}.",
  "appeal.rejected": "Your appeal {ref} was rejected: {reason}.",
  "appeal.withdrawn": "Your appeal {ref} was withdrawn.",
  "report.received": "Thank you: we received your report {ref}.",
  "report.actioned": "Your report {ref} was reviewed and action was taken. Thank you.",
  "report.not_actioned": "Your report {ref} was reviewed; no action was taken.",
  "report.suspended": "You cannot send reports until {until}: too many of your reports were unfounded.",
};

const DE: NoticeTemplates = {
  "sanction.warn": "Du hast eine Verwarnung erhalten: {reason}.",
  "sanction.mute": "Du bist {until} stummgeschaltet: {reason}.",
  "sanction.freeze": "Deine Spielfigur ist {until} eingefroren: {reason}.",
  "sanction.kick": "Du wurdest aus dem Spiel entfernt: {reason}.",
  "sanction.ban": "Du bist {until} gesperrt: {reason}.",
  until: "bis {time}",
  permanent: "dauerhaft",
  rule: "Verletzte Regel: {rule}.",
  "decided.policy": "Automatisch entschieden.",
  "decided.person": "Von einer Person entschieden ({role}).",
  appeal: "Du kannst bis {deadline} Einspruch einlegen (Referenz {handle}).",
  erased: "Details auf deinen Wunsch gelöscht",
  lifted: "Deine Einschränkung wurde aufgehoben: {reason}.",
  "appeal.filed": "Dein Einspruch {ref} ist eingegangen; eine Person wird ihn prüfen.",
  "appeal.in_review": "Dein Einspruch {ref} wird gerade geprüft.",
  "appeal.upheld": "Deinem Einspruch {ref} wurde stattgegeben: {reason}.",
  "appeal.rejected": "Dein Einspruch {ref} wurde abgelehnt: {reason}.",
  "appeal.withdrawn": "Dein Einspruch {ref} wurde zurückgezogen.",
  "report.received": "Danke: Deine Meldung {ref} ist eingegangen.",
  "report.actioned": "Deine Meldung {ref} wurde geprüft, und es wurden Maßnahmen ergriffen. Danke.",
  "report.not_actioned": "Deine Meldung {ref} wurde geprüft; es wurden keine Maßnahmen ergriffen.",
  "report.suspended": "Du kannst bis {until} keine Meldungen senden: Zu viele deiner Meldungen waren unbegründet.",
};

const FR: NoticeTemplates = {
  "sanction.warn": "Vous avez reçu un avertissement : {reason}.",
  "sanction.mute": "Vous ne pouvez plus écrire dans le chat {until} : {reason}.",
  "sanction.freeze": "Votre personnage est gelé {until} : {reason}.",
  "sanction.kick": "Vous avez été retiré de la partie : {reason}.",
  "sanction.ban": "Votre accès au jeu est bloqué {until} : {reason}.",
  until: "jusqu'au {time}",
  permanent: "définitivement",
  rule: "Règle enfreinte : {rule}.",
  "decided.policy": "Décision automatique.",
  "decided.person": "Décision prise par une personne ({role}).",
  appeal: "Vous pouvez contester cette décision jusqu'au {deadline} (référence {handle}).",
  erased: "détails effacés à votre demande",
  lifted: "Votre sanction a été levée : {reason}.",
  "appeal.filed": "Nous avons bien reçu votre recours {ref} ; une personne va l'examiner.",
  "appeal.in_review": "Votre recours {ref} est en cours d'examen.",
  "appeal.upheld": "Votre recours {ref} a été accepté : {reason}.",
  "appeal.rejected": "Votre recours {ref} a été rejeté : {reason}.",
  "appeal.withdrawn": "Votre recours {ref} a été retiré.",
  "report.received": "Merci : nous avons bien reçu votre signalement {ref}.",
  "report.actioned": "Votre signalement {ref} a été examiné et des mesures ont été prises. Merci.",
  "report.not_actioned": "Votre signalement {ref} a été examiné ; aucune mesure n'a été prise.",
  "report.suspended":
    "Vous ne pouvez plus envoyer de signalements jusqu'au {until} : trop de vos signalements étaient infondés.",
};

const ES: NoticeTemplates = {
  "sanction.warn": "Has recibido una advertencia: {reason}.",
  "sanction.mute": "No puedes escribir en el chat {until}: {reason}.",
  "sanction.freeze": "Tu personaje está congelado {until}: {reason}.",
  "sanction.kick": "Se te ha sacado de la partida: {reason}.",
  "sanction.ban": "Tu acceso al juego está bloqueado {until}: {reason}.",
  until: "hasta el {time}",
  permanent: "de forma permanente",
  rule: "Norma incumplida: {rule}.",
  "decided.policy": "Decisión automática.",
  "decided.person": "Decisión tomada por una persona ({role}).",
  appeal: "Puedes recurrir hasta el {deadline} (referencia {handle}).",
  erased: "detalles borrados a petición tuya",
  lifted: "Se ha levantado tu sanción: {reason}.",
  "appeal.filed": "Hemos recibido tu recurso {ref}; una persona lo revisará.",
  "appeal.in_review": "Tu recurso {ref} se está revisando.",
  "appeal.upheld": "Tu recurso {ref} ha sido aceptado: {reason}.",
  "appeal.rejected": "Tu recurso {ref} ha sido rechazado: {reason}.",
  "appeal.withdrawn": "Tu recurso {ref} ha sido retirado.",
  "report.received": "Gracias: hemos recibido tu reporte {ref}.",
  "report.actioned": "Tu reporte {ref} ha sido revisado y se han tomado medidas. Gracias.",
  "report.not_actioned": "Tu reporte {ref} ha sido revisado; no se han tomado medidas.",
  "report.suspended": "No puedes enviar reportes hasta el {until}: demasiados de tus reportes eran infundados.",
};

/** The built-in templates by locale. Frozen. */
export const BUILT_IN_NOTICES: Readonly<Record<string, NoticeTemplates>> = Object.freeze({
  en: Object.freeze(EN),
  de: Object.freeze(DE),
  fr: Object.freeze(FR),
  es: Object.freeze(ES),
});

/** The sentence of a notice whose key this version does not know, by language. */
const GENERIC: Readonly<Record<string, { appeal: string; report: string }>> = {
  en: {
    appeal: "There is news about your appeal {ref}: {state}.",
    report: "There is news about your report {ref}: {state}.",
  },
  de: {
    appeal: "Neuigkeiten zu deinem Einspruch {ref}: {state}.",
    report: "Neuigkeiten zu deiner Meldung {ref}: {state}.",
  },
  fr: {
    appeal: "Du nouveau sur votre recours {ref} : {state}.",
    report: "Du nouveau sur votre signalement {ref} : {state}.",
  },
  es: {
    appeal: "Hay novedades sobre tu recurso {ref}: {state}.",
    report: "Hay novedades sobre tu reporte {ref}: {state}.",
  },
};

/** A language tag, BCP 47-ish: `de`, `pt-BR`, `zh-Hant-TW`, `en_GB`. */
const LOCALE_TAG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/;
/** Longest locale tag looked at. */
export const MAX_LOCALE_LENGTH = 35;
/** Longest locale preference read (a list such as `de-AT,de;q=0.9,en;q=0.5`). */
const MAX_PREFERENCE_LENGTH = 256;
/** Most tags of a preference list looked at. */
const MAX_PREFERENCES = 8;
/** Longest template kept. */
const MAX_TEMPLATE = 500;
/** Most locales an operator may give. */
const MAX_LOCALES = 64;
/** Longest sentence sent (a reason of 500 and a rule of 80 fit with room to spare). */
const MAX_SENTENCE = 1200;

const OPTION_KEYS = keysOf<NoticeOptions>({ defaultLocale: true, locales: true });
const PLACEHOLDER = /\{([^{}]*)\}/g;
const TIME_VARS = new Set(["until", "deadline"]);

/**
 * The locale preference of a joining player, for {@link NoticeText.locale}: the candidates
 * that are strings (the join options' `locale` first, then the identity's), joined as a
 * list; `""` when there are none. Only bounds here: which locale it means is the warden's
 * to say, once the session attaches.
 */
export function localePreference(...candidates: unknown[]): string {
  const parts: string[] = [];
  for (const candidate of candidates) {
    if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > MAX_PREFERENCE_LENGTH) continue;
    parts.push(candidate);
  }
  return parts.join(",").slice(0, MAX_PREFERENCE_LENGTH * 2);
}

/** `pt-br` → `pt-BR`, `ZH_hant_tw` → `zh-Hant-TW`: the case BCP 47 recommends. */
function canonical(tag: string): string {
  return tag
    .split(/[-_]/)
    .map((part, i) =>
      i === 0
        ? part.toLowerCase()
        : part.length === 2
          ? part.toUpperCase()
          : part.length === 4 && /^[A-Za-z]+$/.test(part)
            ? part[0]!.toUpperCase() + part.slice(1).toLowerCase()
            : part.toLowerCase(),
    )
    .join("-");
}

/** `zh-Hant-TW` → `["zh", "zh-Hant", "zh-Hant-TW"]`. */
function chain(locale: string): string[] {
  const parts = locale.split("-");
  return parts.map((_, i) => parts.slice(0, i + 1).join("-"));
}

/** A time variable as people read it: an epoch-ms number or an ISO 8601 instant; anything else as it is. */
function readableTime(value: string): string {
  if (/^\d{1,16}$/.test(value)) return formatInstant(Number(value), "readable");
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? formatInstant(ms, "readable") : value;
  }
  return value;
}

/**
 * Fills a template. A value that ends a sentence itself (`…spam!`) takes the template's
 * full stop's place; an empty value takes the separator before it away (`lifted: .` → `lifted.`).
 */
function fill(template: string, vars: Readonly<Record<string, string>>): string {
  let out = "";
  let at = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const index = match.index;
    out += template.slice(at, index);
    at = index + match[0].length;
    const name = match[1]!;
    const value = Object.hasOwn(vars, name) ? boundText(vars[name]!, MAX_TEMPLATE) : "";
    const next = template[at];
    if (value === "") {
      if (next === undefined || /[.!?]/.test(next)) out = out.replace(/\s*[:：]\s*$/, "");
      continue;
    }
    out += value;
    if (next === "." && /[.!?…]$/.test(value)) at++;
  }
  out += template.slice(at);
  return out.replace(/\s{2,}/g, " ").trim();
}

/**
 * The player-facing texts of one warden: built-in and operator templates per locale. Build
 * one with {@link resolveNotices} (or `new NoticeText(options)`), which validates; every
 * method after that is total — it never throws, whatever sanction, notice or locale it gets.
 */
export class NoticeText {
  /** The locale of a player who asked for none we have. */
  readonly defaultLocale: string;
  /** Full templates by canonical locale. */
  private readonly tables = new Map<string, NoticeTemplates>();
  /** Lower-cased locale → canonical locale. */
  private readonly known = new Map<string, string>();

  /** Validates `options` (throwing `INVALID_OPTION` at `path`) and builds every locale's templates. */
  constructor(options?: NoticeOptions, path = "notices") {
    const given = options === undefined ? undefined : readObject(path, options, OPTION_KEYS);
    const localesPath = childPath(path, "locales");
    const localesGiven =
      given?.locales === undefined
        ? {}
        : readObject(localesPath, given.locales, null, "an object of templates by locale");
    const names = Object.keys(localesGiven);
    if (names.length > MAX_LOCALES) fail(localesPath, `must have at most ${MAX_LOCALES} locales, got ${names.length}`);

    // Partial templates by canonical locale: built-in first, the operator's over them.
    const partial = new Map<string, Partial<Record<NoticeKey, string>>>();
    for (const [locale, templates] of Object.entries(BUILT_IN_NOTICES)) partial.set(locale, { ...templates });
    const seen = new Set<string>();
    for (const name of names) {
      const localePath = childPath(localesPath, name);
      if (name.length > MAX_LOCALE_LENGTH || !LOCALE_TAG.test(name))
        fail(
          localePath,
          `is not a locale: use a language tag such as "de" or "pt-BR" (at most ${MAX_LOCALE_LENGTH} characters)`,
        );
      const locale = canonical(name);
      if (seen.has(locale)) fail(localePath, `is given twice (as ${locale} already)`);
      seen.add(locale);
      const templates = readObject(localePath, localesGiven[name], NOTICE_KEYS, "an object of templates by key");
      const merged = { ...partial.get(locale) };
      for (const key of Object.keys(templates) as NoticeKey[]) {
        if (templates[key] === undefined) continue;
        merged[key] = resolveTemplate(childPath(localePath, key), key, templates[key]);
      }
      partial.set(locale, merged);
    }
    for (const locale of partial.keys()) this.known.set(locale.toLowerCase(), locale);

    const defaultPath = childPath(path, "defaultLocale");
    let defaultLocale = "en";
    if (given?.defaultLocale !== undefined) {
      const value = given.defaultLocale;
      const locale =
        typeof value === "string" && value.length <= MAX_LOCALE_LENGTH && LOCALE_TAG.test(value)
          ? this.known.get(value.toLowerCase().replace(/_/g, "-"))
          : undefined;
      if (locale === undefined) {
        const all = [...partial.keys()];
        const near = typeof value === "string" ? suggest(value, all) : undefined;
        fail(
          defaultPath,
          `must be a locale there are templates for, got ${show(value)}` +
            (near === undefined ? ` (locales: ${listOf(all)})` : ` — did you mean "${near}"?`),
        );
      }
      defaultLocale = locale;
    }
    this.defaultLocale = defaultLocale;

    const layered = (locale: string): Partial<Record<NoticeKey, string>> => {
      const out: Partial<Record<NoticeKey, string>> = {};
      for (const step of chain(locale)) Object.assign(out, partial.get(step));
      return out;
    };
    const fallback = { ...EN, ...layered(defaultLocale) } as NoticeTemplates;
    for (const locale of partial.keys()) this.tables.set(locale, Object.freeze({ ...fallback, ...layered(locale) }));
  }

  /** The locales there are templates for (canonical case). */
  locales(): string[] {
    return [...this.tables.keys()];
  }

  /** The full templates of a locale (the default locale's for one there are none for). */
  templates(locale: string): NoticeTemplates {
    return this.tables.get(this.locale(locale)) ?? this.tables.get(this.defaultLocale)!;
  }

  /**
   * The locale to speak to a player who asked for `requested`: a language tag (`de-AT`) or a
   * preference list (`de-AT,de;q=0.9,en`), each tag bounded to 35 characters. The first tag
   * there are templates for wins, exactly or by a shorter prefix (`de-AT` → `de`); otherwise
   * the default locale. Anything that is not such a string gives the default locale.
   */
  locale(requested: unknown): string {
    if (typeof requested !== "string" || requested.length === 0 || requested.length > MAX_PREFERENCE_LENGTH * 2)
      return this.defaultLocale;
    // A locale resolved already (a session's, once attached) is one of the tables' keys, which
    // the lookup below gives back as it is: found without splitting and matching it again,
    // twice per notice on the path from issue to close (issue 14).
    if (this.tables.has(requested)) return requested;
    const tags = requested.split(",", MAX_PREFERENCES);
    for (const entry of tags) {
      const tag = entry.split(";", 1)[0]!.trim();
      if (tag.length === 0 || tag.length > MAX_LOCALE_LENGTH || !LOCALE_TAG.test(tag)) continue;
      const steps = chain(tag.replace(/_/g, "-").toLowerCase());
      for (let i = steps.length - 1; i >= 0; i--) {
        const found = this.known.get(steps[i]!);
        if (found !== undefined) return found;
      }
    }
    return this.defaultLocale;
  }

  /** One template filled with `vars`, in `locale`. */
  text(key: NoticeKey, vars: Readonly<Record<string, string>>, locale: string): string {
    const template = this.templates(locale)[key] ?? EN[key] ?? "";
    return bounded(fill(template, vars));
  }

  /**
   * The short sentence of a sanction: what and until when, why (its reason, and the rule
   * broken), how it was decided, and until when and with which reference it can be
   * appealed. A statement erased at the player's request (or a record whose reason was
   * erased) says so instead of the reason, and quotes no rule.
   */
  sanction(s: Sanction, locale: string): string {
    try {
      const t = this.templates(locale);
      const st = s.statement;
      const erased = st?.erased === true || s.reason === "(erased)";
      const until = !LASTING_KINDS.has(s.kind)
        ? ""
        : s.end === null
          ? t.permanent
          : fill(t.until, { time: formatInstant(s.end, "readable") });
      const what = t[`sanction.${s.kind}` as NoticeKey] ?? t["sanction.warn"];
      const parts = [fill(what, { until, reason: erased ? t.erased : s.reason })];
      if (!erased && st?.rule) parts.push(fill(t.rule, { rule: st.rule.title }));
      if (st !== undefined)
        parts.push(st.automated.decision ? t["decided.policy"] : fill(t["decided.person"], { role: st.decidedBy }));
      else if (s.by === "policy") parts.push(t["decided.policy"]);
      if (st !== undefined)
        parts.push(fill(t.appeal, { deadline: formatInstant(st.appeal.until, "readable"), handle: st.appeal.handle }));
      return bounded(parts.filter((p) => p !== "").join(" "));
    } catch {
      // Only a sanction that never went through the codec gets here: still say something.
      return bounded(`${String(s?.kind)}: ${String(s?.reason)}`);
    }
  }

  /** The sentence of a lifted sanction; an empty `reason` (it ran out) is left out. */
  lifted(s: Pick<Sanction, "kind">, reason: string, locale: string): string {
    return this.text("lifted", { kind: String(s.kind), reason: typeof reason === "string" ? reason : "" }, locale);
  }

  /**
   * The sentence of a due-process notice: its key's template filled with its vars, `ref` and
   * `state` (`until` and `deadline` read as times when they are epoch ms or ISO instants).
   * A key this version does not know gives a generic sentence about the appeal or report.
   */
  player(notice: PlayerNotice, locale: string): string {
    try {
      const resolved = this.locale(locale);
      const vars: Record<string, string> = {};
      for (const name of PLAYER_PLACEHOLDERS) {
        const value = notice.vars?.[name];
        if (typeof value === "string") vars[name] = TIME_VARS.has(name) ? readableTime(value) : value;
      }
      vars.ref = String(notice.ref);
      vars.state = String(notice.state).replace(/_/g, " ");
      const key = notice.key as NoticeKey;
      if (Object.hasOwn(NOTICE_PLACEHOLDERS, key) && NOTICE_PLACEHOLDERS[key] === PLAYER_PLACEHOLDERS)
        return this.text(key, vars, resolved);
      const generic =
        chain(resolved)
          .reverse()
          .map((step) => GENERIC[step])
          .find((g) => g !== undefined) ??
        GENERIC[this.defaultLocale.split("-")[0]!] ??
        GENERIC.en!;
      return bounded(fill(notice.topic === "report" ? generic.report : generic.appeal, vars));
    } catch {
      return "";
    }
  }
}

/**
 * Validates the `notices` option (see {@link NoticeOptions}) and returns the texts; throws
 * `WardenError("INVALID_OPTION")` naming the path, e.g.
 * `createWarden: option "notices.locales.de.appeal" uses the unknown placeholder {dedline} — did you mean {deadline}?`.
 */
export function resolveNotices(value: unknown, path = "notices"): NoticeText {
  return new NoticeText(value as NoticeOptions | undefined, path);
}

/** A template as the operator wrote it, checked: a non-empty string whose placeholders its key knows. */
function resolveTemplate(path: string, key: NoticeKey, value: unknown): string {
  if (typeof value !== "string" || value.length > MAX_TEMPLATE || boundText(value, MAX_TEMPLATE).length === 0)
    fail(path, `must be a non-empty string of at most ${MAX_TEMPLATE} characters, got ${show(value)}`);
  const allowed = NOTICE_PLACEHOLDERS[key];
  for (const match of value.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (allowed.includes(name)) continue;
    const near = suggest(name, allowed);
    const can =
      allowed.length === 0 ? "it takes no placeholders" : `it can use ${listOf(allowed.map((p) => `{${p}}`))}`;
    fail(
      path,
      `uses the unknown placeholder {${name.slice(0, 40)}}` +
        (near === undefined ? ` (${can})` : ` — did you mean {${near}}? (${can})`),
    );
  }
  return boundText(value, MAX_TEMPLATE);
}

function bounded(sentence: string): string {
  return sentence.length <= MAX_SENTENCE ? sentence : `${boundText(sentence, MAX_SENTENCE - 1)}…`;
}
