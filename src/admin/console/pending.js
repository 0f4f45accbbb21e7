// Four-eyes for permanent bans: the proposals waiting for a second moderator, each confirmed
// or cancelled through a confirmation that says what will happen. The server decides who may
// confirm (never the proposer: FOUR_EYES); the page shows its refusal as it is.
import { ApiError, api, seg, session } from "./api.js";
import { dialog, fill, h, identityLink, openDialog, say, shortId, table, when } from "./dom.js";

/** The subject of a proposal in words: its display name (and short ID), or its ID. */
const subject = (p) => (p.name ? `${p.name} (${String(p.did).slice(0, 8)}…)` : String(p.did));

/** A refusal in words a moderator can act on. */
function refusal(e) {
  if (e instanceof ApiError && e.code === "FOUR_EYES")
    return "You proposed this ban, so you cannot confirm it: a second moderator must (four-eyes). You may still cancel it.";
  if (e instanceof ApiError && e.code === "PENDING_BAN_CLOSED") return `Too late: ${e.message}. The list is reloaded.`;
  return e.message;
}

/** The confirmation of a proposed ban: what confirming does, then the act. */
function confirmDialog(p, reload) {
  const error = h("p", { class: "error", id: "pending-error", role: "alert" });
  const go = h("button", { type: "button", class: "primary danger", id: "pending-confirm-go" }, "Confirm the ban");
  const alts = Array.isArray(p.alts) ? p.alts.length : 0;
  void openDialog(
    "Confirm a permanent ban",
    h(
      "form",
      { method: "dialog", class: "act", onsubmit: (e) => e.preventDefault() },
      h(
        "p",
        { class: "consequence", id: "pending-consequence" },
        `${subject(p)} is disconnected from every room now and refused at every join permanently.`,
        alts > 0 ? ` ${alts} linked ID${alts === 1 ? " is" : "s are"} banned with it.` : "",
      ),
      h("p", null, "Reason: ", h("q", null, p.reason)),
      p.rule ? h("p", null, `Rule: ${p.rule}`) : null,
      h(
        "p",
        { class: "help" },
        `Proposed by ${p.proposedBy}. You confirm it as ${session.actor}: the ban is issued in your name and both of you are in the audit log.`,
      ),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => dialog().close("cancel") }, "Back"),
        go,
      ),
    ),
  );
  go.focus();
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      const { data } = await api("POST", `pending-bans/${seg(p.id)}/confirm`, {});
      dialog().close("done");
      say(`Ban ${data.sanction?.id ?? ""} of ${subject(p)} issued.`, "ok");
      reload();
    } catch (e) {
      // The refusal stays in the dialog, read out at once (role=alert); the focus stays on it.
      error.textContent = refusal(e);
      if (e instanceof ApiError && e.code === "PENDING_BAN_CLOSED") reload();
      else go.disabled = false;
    }
  });
}

/** The cancellation of a proposed ban, with a reason kept with it. */
function cancelDialog(p, reload) {
  const reason = h("textarea", { id: "pending-cancel-reason", maxlength: "500", rows: "2" });
  const error = h("p", { class: "error", id: "pending-error", role: "alert" });
  const go = h("button", { type: "button", class: "primary", id: "pending-cancel-go" }, "Cancel the proposal");
  void openDialog(
    "Cancel a proposed ban",
    h(
      "form",
      { method: "dialog", class: "act", onsubmit: (e) => e.preventDefault() },
      h(
        "p",
        { class: "consequence", id: "pending-cancel-consequence" },
        `The proposal to ban ${subject(p)} permanently is dropped: no ban is issued, and it can no longer be confirmed.`,
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "pending-cancel-reason" }, "Reason (kept with the proposal)"),
        reason,
      ),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => dialog().close("cancel") }, "Keep it"),
        go,
      ),
    ),
  );
  reason.focus();
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      await api("POST", `pending-bans/${seg(p.id)}/cancel`, { reason: reason.value.trim() });
      dialog().close("done");
      say(`The proposed ban of ${subject(p)} is cancelled.`, "ok");
      reload();
    } catch (e) {
      error.textContent = refusal(e);
      if (e instanceof ApiError && e.code === "PENDING_BAN_CLOSED") reload();
      else go.disabled = false;
    }
  });
}

/** Renders the pending bans page (moderators and admins). */
export function renderPending(main) {
  const list = h("div", { id: "pending-list", "aria-live": "polite" });
  const load = async () => {
    try {
      const { data } = await api("GET", "pending-bans");
      const pending = Array.isArray(data?.pending) ? data.pending : [];
      if (pending.length === 0) return void fill(list, h("p", { id: "pending-none" }, "No proposed ban is waiting."));
      fill(
        list,
        table(
          "Proposed bans",
          ["Subject", "Proposed by", "Proposed", "Expires", "Reason", ""],
          pending.map((p) => {
            const mine = p.proposedBy === session.actor;
            const who = p.name || String(p.did).slice(0, 8);
            return [
              [identityLink(p.did, p.name), " ", shortId(p.did)],
              [p.proposedBy, mine ? h("span", { class: "help" }, " (you)") : null],
              when(p.openedAt),
              when(p.expiresAt),
              [
                h("q", null, p.reason),
                Array.isArray(p.alts) && p.alts.length > 0 ? ` (with ${p.alts.length} linked ID(s))` : "",
              ],
              h(
                "span",
                { class: "act-buttons", dataset: { pending: p.id } },
                h(
                  "button",
                  {
                    type: "button",
                    class: "small danger",
                    dataset: { act: "confirm" },
                    "aria-label": `Confirm the ban of ${who}`,
                    title: mine ? "You proposed it: a second moderator must confirm it" : null,
                    onclick: () => confirmDialog(p, load),
                  },
                  "Confirm…",
                ),
                h(
                  "button",
                  {
                    type: "button",
                    class: "small",
                    dataset: { act: "cancel" },
                    "aria-label": `Cancel the proposed ban of ${who}`,
                    onclick: () => cancelDialog(p, load),
                  },
                  "Cancel…",
                ),
              ),
            ];
          }),
        ),
      );
    } catch (e) {
      fill(list, h("p", { class: "error", role: "alert" }, e.message));
    }
  };
  fill(
    main,
    h("h1", { tabindex: "-1" }, "Pending bans"),
    h(
      "p",
      { class: "help" },
      "Permanent bans proposed by one moderator wait here until a second one confirms them; until then nothing restricts the player. A proposal not confirmed before it expires is dropped.",
    ),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "button", id: "pending-reload", onclick: () => void load() }, "Reload"),
    ),
    list,
  );
  void load();
}
