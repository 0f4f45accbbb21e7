// The audit log, newest first, page by page, with its verification.
import { api } from "./api.js";
import { add, fill, h, identityLink, isDid, pairs, when } from "./dom.js";

function target(value) {
  if (typeof value !== "string") return "—";
  const did = value.slice(0, 26);
  return isDid(did)
    ? [identityLink(did, ""), value.length > 26 ? h("code", null, value.slice(26)) : ""]
    : h("code", null, value);
}

/** Renders the audit page. */
export function renderAudit(main) {
  const result = h("div", { id: "verify-result", role: "status", "aria-live": "polite" });
  const verify = h("button", { type: "button", id: "verify", class: "primary" }, "Verify the log");
  const rows = h("tbody", { id: "audit-rows" });
  const more = h("button", { type: "button", id: "audit-more", hidden: true }, "Older entries");
  let next = null;
  verify.addEventListener("click", async () => {
    verify.disabled = true;
    fill(result, "Verifying…");
    try {
      const { data } = await api("GET", "audit/verify");
      const cp = data.checkpoints ?? {};
      result.className = data.ok ? "verdict ok" : "verdict bad";
      fill(
        result,
        h("strong", null, data.ok ? "Intact." : "NOT intact."),
        data.ok
          ? ` ${data.entries} entries chained${data.trimmed ? `, ${data.trimmed} trimmed by retention` : ""}${data.legacy ? `, ${data.legacy} legacy (unkeyed)` : ""}.`
          : ` At entry ${data.seq}: ${data.reason}.`,
        ` Checkpoints read ${cp.read ?? 0}, matched ${cp.matched ?? 0}.`,
      );
    } catch (e) {
      result.className = "verdict bad";
      fill(result, e.message);
    } finally {
      verify.disabled = false;
    }
  });
  const load = async () => {
    more.disabled = true;
    try {
      const { data } = await api("GET", `audit?limit=50${next ? `&before=${encodeURIComponent(next)}` : ""}`);
      for (const e of data.entries)
        rows.append(
          h(
            "tr",
            { dataset: { action: e.action, actor: e.actor } },
            h("td", { "data-label": "#" }, String(e.seq)),
            h("td", { "data-label": "When" }, when(e.at)),
            h("td", { "data-label": "Who" }, e.actor, h("span", { class: "face" }, ` (${e.face})`)),
            h("td", { "data-label": "Act" }, h("span", { class: `badge a-${e.action}` }, e.action)),
            h("td", { "data-label": "Target" }, target(e.target)),
            h("td", { "data-label": "Details" }, pairs(e.detail), e.why ? [" why: ", h("q", null, e.why)] : ""),
          ),
        );
      next = data.next;
      more.hidden = next === null;
    } catch (e) {
      add(rows, h("tr", null, h("td", { colspan: "6", class: "error" }, e.message)));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void load());
  fill(
    main,
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Audit log"), verify),
    result,
    h(
      "p",
      { class: "help" },
      "Every look at an identity and every act, newest first. Entries are chained by a key only the servers hold: verifying checks the chain and its checkpoints.",
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "audit", "aria-label": "Audit log, newest first" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["#", "When", "Who", "Act", "Target", "Details"].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        rows,
      ),
    ),
    more,
  );
  void load();
}
