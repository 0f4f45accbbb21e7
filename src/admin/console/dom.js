// DOM helpers of the console. Data reaches the page only as text nodes and attribute values
// (never as HTML): a player's display name such as `<img onerror=…>` stays text.

/**
 * Creates an element. `attrs`: `class`, `dataset`, `on<event>` handlers, any other attribute
 * (true = present, null/false/undefined = absent). Children: nodes, or anything else as text.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "href" && !/^(#|\.\/)/.test(String(value))) throw new Error("h(): only in-console links");
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  add(el, children);
  return el;
}

/** Appends children (nested arrays flattened; null, undefined and false skipped; the rest as text). */
export function add(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Empties an element and fills it anew. */
export function fill(el, ...children) {
  el.replaceChildren();
  return add(el, children);
}

const pad = (n) => String(n).padStart(2, "0");

/** A time as `YYYY-MM-DD HH:MM:SS` in the moderator's own time zone. */
export function time(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A `<time>` element for an instant. */
export function when(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return h("span", null, "—");
  return h("time", { datetime: new Date(ms).toISOString() }, time(ms));
}

/** A duration in words: `10 minutes`, `1 hour`, `7 days`. */
export function span(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  const units = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, word] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${word}${n === 1 ? "" : "s"}`;
    }
  }
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/** A digital ID, shortened for the eye (the full one in its title and for screen readers). */
export function shortId(did) {
  const text = String(did ?? "");
  return h("code", { class: "did", title: text }, text.length > 12 ? `${text.slice(0, 8)}…` : text);
}

/** Whether a string is a digital ID (26 base32 characters). */
export const isDid = (value) => typeof value === "string" && /^[a-z2-7]{26}$/.test(value);

/** A link to an identity's page, labelled with its display name (or its ID). */
export function identityLink(did, name) {
  if (!isDid(did)) return h("span", null, name || String(did ?? ""));
  return h("a", { href: `#/id/${did}`, class: "who-link", dataset: { did } }, name || `${did.slice(0, 8)}…`);
}

/** Evidence or audit details as `key=value` pairs, each its own text. */
export function pairs(record) {
  if (record === null || typeof record !== "object") return h("span", null);
  const out = h("span", { class: "pairs" });
  for (const [key, value] of Object.entries(record)) {
    if (value === null || value === undefined || typeof value === "object") continue;
    // Instants (epoch ms) read as times: `end=2026-… 14:05:00`, not `end=1796629001380`.
    const shown = /^(at|start|end|until|takenAt)$/.test(key) && typeof value === "number" ? time(value) : String(value);
    out.append(h("span", { class: "pair" }, h("span", { class: "k" }, key), "=", shown));
  }
  return out;
}

/** A section with a heading (for landmarks and the page outline). */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { "aria-labelledby": id, class: "card" }, h("h2", { id }, title), ...children);
}

/** A table with a caption-less head row and one row per item. */
export function table(label, headings, rows) {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { "aria-label": label },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          headings.map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((cells) =>
          h(
            "tr",
            null,
            cells.map((c, i) => h("td", { "data-label": headings[i] }, c)),
          ),
        ),
      ),
    ),
  );
}

let toastTimer;
/** Says something in the page's status region (read by screen readers). */
export function say(message, kind = "info") {
  const el = document.getElementById("toast");
  if (el === null) return;
  el.className = `toast show ${kind}`;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.className = "toast";
  }, 6000);
}

/** The console's one modal dialog. */
export const dialog = () => document.getElementById("dialog");

/** Opens the modal dialog with `children`; resolves with its return value when it closes. */
export function openDialog(title, children) {
  const d = dialog();
  fill(d, h("h2", { id: "dialog-title" }, title), children);
  d.showModal();
  return new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue), { once: true }));
}
