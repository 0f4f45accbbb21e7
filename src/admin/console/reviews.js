// The review queues: appeals against sanctions, and report cases (players' reports that
// crossed the threshold). A person decides each, with a reason the player is told; the
// server enforces who may (four-eyes: never the sanction's issuer), and the console shows
// its refusal as it comes.
import { api, canAct, seg, session } from "./api.js";
import { fill, h, identityLink, say, section, shortId, span, table, time, when } from "./dom.js";
import { consequence, DURATIONS, KINDS, LASTING } from "./identity.js";

const STATE_WORDS = {
  filed: "filed",
  in_review: "in review",
  upheld: "upheld",
  rejected: "rejected",
  withdrawn: "withdrawn",
  collecting: "collecting",
  open: "open",
  actioned: "actioned",
  dismissed: "dismissed",
};
const stateOf = (s) => h("span", { class: `state ${s}`, dataset: { state: s } }, STATE_WORDS[s] ?? s);

/** A two-step decision: the form, then a confirmation that says what will happen, then the call. */
function decisionForm({ id, fields, validate, summary, submit, label }) {
  const form = h("form", { class: "decide card", id, "aria-labelledby": `${id}-title` });
  const error = h("p", { class: "error", role: "alert" });
  const edit = () => {
    fill(
      form,
      h("h2", { id: `${id}-title` }, label),
      fields(),
      error,
      h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: `${id}-review` }, "Review…")),
    );
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const problem = validate();
    if (problem) {
      error.textContent = problem.message;
      problem.focus?.focus();
      return;
    }
    error.textContent = "";
    const go = h("button", { type: "button", class: "primary danger", id: `${id}-confirm` }, "Confirm");
    fill(
      form,
      h("h2", { id: `${id}-title` }, label),
      h("p", { class: "consequence", id: `${id}-consequence` }, summary()),
      h("p", { class: "help" }, `Recorded in the audit log as ${session.actor}.`),
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: edit }, "Back"), go),
    );
    go.focus();
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        await submit();
      } catch (err) {
        go.disabled = false;
        // FOUR_EYES, CONFIRMATION_REQUIRED, a closed review: the server's own sentence.
        error.textContent = err.code ? `${err.message} (${err.code})` : err.message;
        error.focus?.();
      }
    });
  });
  edit();
  return form;
}

const reasonField = (id, text) => {
  const el = h("textarea", { id, name: "reason", required: true, maxlength: "500", rows: "3" });
  return [el, h("div", { class: "field" }, h("label", { for: id }, text), el)];
};

// ------------------------------------------------------------------------------ appeals

/** A review queue page: its items, oldest first, each with a link to its own page. */
function renderQueue(main, { title, help, path, id, empty, headings, row }) {
  const list = h("div", { id: `${id}-list` }, h("p", null, "Loading…"));
  fill(main, h("h1", { tabindex: "-1" }, title), h("p", { class: "help" }, help), list);
  void (async () => {
    try {
      const { data } = await api("GET", path);
      const items = data[path];
      if (items.length === 0) return fill(list, h("p", { id: `${path}-empty` }, empty));
      fill(
        list,
        table(
          `${title} waiting`,
          [...headings, ""],
          items.map((item) => [
            ...row(item),
            h("a", { href: `#/${path}/${seg(item.id)}`, dataset: { [id]: item.id } }, "Open"),
          ]),
        ),
      );
    } catch (e) {
      fill(list, h("p", { class: "error" }, e.message));
    }
  })();
}

/** The appeal queue, or one appeal when `id` is given. */
export function renderAppeals(main, id) {
  if (id) return renderAppeal(main, id);
  renderQueue(main, {
    title: "Appeals",
    help: "Players' appeals against their sanctions, oldest first. Nobody decides an appeal against their own sanction.",
    path: "appeals",
    id: "appeal",
    empty: "No appeal is waiting.",
    headings: ["Filed", "Player", "Sanction", "State", "Appeal"],
    row: (a) => [
      when(a.openedAt),
      identityLink(a.did),
      h("code", null, a.sanctionId),
      stateOf(a.state),
      h("q", null, a.text.length > 120 ? `${a.text.slice(0, 120)}…` : a.text),
    ],
  });
}

function renderAppeal(main, id) {
  const body = h("div", null, h("p", null, "Loading…"));
  fill(main, h("h1", { tabindex: "-1" }, "Appeal"), body);
  const load = async () => {
    let data;
    try {
      ({ data } = await api("GET", `appeals/${seg(id)}`));
    } catch (e) {
      return fill(body, h("p", { class: "error" }, e.message));
    }
    const { appeal, sanction } = data;
    const open = appeal.state === "filed" || appeal.state === "in_review";
    fill(
      body,
      section(
        "The appeal",
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Player"),
          h("dd", null, identityLink(appeal.did)),
          h("dt", null, "State"),
          h("dd", { id: "appeal-state" }, stateOf(appeal.state)),
          h("dt", null, "Filed"),
          h("dd", null, when(appeal.openedAt), ` (${appeal.via === "room" ? "in game" : "player API"})`),
          appeal.reviewer ? [h("dt", null, "In review by"), h("dd", null, appeal.reviewer)] : null,
          appeal.decision
            ? [
                h("dt", null, "Decision"),
                h("dd", null, h("q", null, appeal.decision.reason), appeal.decidedBy ? ` — ${appeal.decidedBy}` : ""),
              ]
            : null,
        ),
        h("blockquote", { id: "appeal-text" }, appeal.text),
      ),
      section(
        "The sanction",
        sanction
          ? h(
              "dl",
              { class: "facts" },
              h("dt", null, "Kind"),
              h("dd", null, sanction.kind),
              h("dt", null, "Reason"),
              h("dd", null, h("q", null, sanction.reason)),
              h("dt", null, "Issued by"),
              h("dd", null, sanction.by),
              h("dt", null, "From"),
              h("dd", null, when(sanction.start)),
              h("dt", null, "Until"),
              h("dd", null, sanction.end === null ? "permanent" : when(sanction.end)),
              sanction.revoked ? [h("dt", null, "Revoked"), h("dd", null, when(sanction.revoked.at))] : null,
            )
          : h("p", null, "The sanction is no longer kept."),
      ),
      open && canAct() ? appealActions(appeal, sanction, load) : null,
    );
  };
  void load();
}

function appealActions(appeal, sanction, reload) {
  const take =
    appeal.state === "filed"
      ? h(
          "button",
          {
            type: "button",
            id: "appeal-take",
            onclick: async (e) => {
              e.target.disabled = true;
              try {
                await api("POST", `appeals/${seg(appeal.id)}/review`);
                say("Taken into review: the player is told a person is looking at it.", "ok");
                void reload();
              } catch (err) {
                e.target.disabled = false;
                say(err.code ? `${err.message} (${err.code})` : err.message, "error");
              }
            },
          },
          "Take into review",
        )
      : null;
  const outcomes = [
    ["upheld", "Uphold: revoke the sanction"],
    ["shortened", "Uphold: shorten it (a new end)"],
    ["rejected", "Reject: the sanction stands"],
  ];
  // Built once: "Back" from the confirmation shows the same fields with what was typed.
  const [reason, reasonBlock] = reasonField("appeal-reason", "Reason (the player is told it)");
  const endInput = h("input", { id: "appeal-end", type: "datetime-local" });
  const endField = h(
    "div",
    { class: "field", id: "appeal-end-field", hidden: true },
    h("label", { for: "appeal-end" }, "New end"),
    endInput,
  );
  const choices = outcomes.map(([value], i) =>
    h("input", {
      type: "radio",
      name: "appeal-outcome",
      value,
      checked: i === 2,
      onchange: () => {
        endField.hidden = picked() !== "shortened";
      },
    }),
  );
  const picked = () => choices.find((c) => c.checked)?.value ?? "rejected";
  const radios = h(
    "fieldset",
    { class: "choices" },
    h("legend", null, "Outcome"),
    outcomes.map(([, label], i) => h("label", { class: "choice" }, choices[i], label)),
  );
  const form = decisionForm({
    id: "appeal-decide",
    label: "Decide",
    fields: () => [radios, endField, reasonBlock],
    validate: () => {
      if (!reason.value.trim()) return { message: "Give a reason: the player is told it.", focus: reason };
      if (picked() === "shortened") {
        const end = Date.parse(endInput.value);
        if (!Number.isFinite(end) || end <= Date.now())
          return { message: "Pick a new end in the future.", focus: endInput };
        if (sanction?.end !== null && sanction?.end !== undefined && end >= sanction.end)
          return { message: "The new end must come before the current one.", focus: endInput };
      }
      return null;
    },
    summary: () => {
      const o = picked();
      const what = sanction ? `the ${sanction.kind}` : "the sanction";
      if (o === "upheld")
        return `The appeal is upheld: ${what} is revoked now and its ladder step forgiven. The player is told, with your reason.`;
      if (o === "shortened")
        return `The appeal is upheld in part: ${what} now ends at ${time(Date.parse(endInput.value))}. The player is told, with your reason.`;
      return `The appeal is rejected: ${what} stands. The player is told, with your reason.`;
    },
    submit: async () => {
      const o = picked();
      const body = { outcome: o === "rejected" ? "rejected" : "upheld", reason: reason.value.trim() };
      if (o === "shortened") body.end = Date.parse(endInput.value);
      await api("POST", `appeals/${seg(appeal.id)}/decide`, body);
      say(`Appeal ${body.outcome}.`, "ok");
      void reload();
    },
  });
  return h("div", { class: "actions" }, take, form);
}

// ---------------------------------------------------------------------------- report cases

/** The report-case queue, or one case when `id` is given (moderators and admins). */
export function renderCases(main, id) {
  if (id) return renderCase(main, id);
  renderQueue(main, {
    title: "Report cases",
    help: "Players reported by others, once the reports' weight crossed the threshold. Reports alone never sanction: a person decides here.",
    path: "cases",
    id: "case",
    empty: "No report case is waiting.",
    headings: ["Queued", "Player", "Reports", "Weight", "Categories"],
    row: (c) => [
      when(c.queuedAt ?? c.openedAt),
      identityLink(c.did),
      String(c.count),
      String(Math.round(c.weight * 100) / 100),
      [...new Set(c.reports.map((r) => r.category))].join(", "),
    ],
  });
}

function renderCase(main, id) {
  const body = h("div", null, h("p", null, "Loading…"));
  fill(main, h("h1", { tabindex: "-1" }, "Report case"), body);
  const load = async () => {
    let record;
    try {
      ({
        data: { case: record },
      } = await api("GET", `cases/${seg(id)}`));
    } catch (e) {
      return fill(body, h("p", { class: "error" }, e.message));
    }
    const lines = record.evidence?.lines ?? [];
    fill(
      body,
      section(
        "The case",
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "Player"),
          h("dd", null, identityLink(record.did)),
          h("dt", null, "State"),
          h("dd", { id: "case-state" }, stateOf(record.state)),
          h("dt", null, "Reports"),
          h("dd", null, `${record.count} (weight ${Math.round(record.weight * 100) / 100})`),
          record.interim ? [h("dt", null, "Meanwhile"), h("dd", null, h("code", null, record.interim))] : null,
          record.outcome
            ? [
                h("dt", null, "Outcome"),
                h(
                  "dd",
                  null,
                  record.outcome.action,
                  ": ",
                  h("q", null, record.outcome.reason),
                  record.decidedBy ? ` — ${record.decidedBy}` : "",
                ),
              ]
            : null,
        ),
      ),
      section(
        "Reports",
        table(
          "Reports in this case",
          ["When", "Reporter", "Category", "Reason", "Room", "Weight"],
          record.reports.map((r) => [
            when(r.at),
            shortId(r.reporter),
            r.category,
            h("q", null, r.reason),
            r.room,
            String(r.weight),
          ]),
        ),
      ),
      lines.length > 0
        ? section(
            "Evidence: the room's last lines",
            h(
              "ol",
              { class: "evidence" },
              lines.map((l) =>
                h(
                  "li",
                  { class: l.did === record.did ? "subject" : "" },
                  h("span", { class: "at" }, time(l.at)),
                  " ",
                  identityLink(l.did),
                  ": ",
                  l.text,
                ),
              ),
            ),
          )
        : null,
      record.state === "open" && canAct() ? caseActions(record, load) : null,
    );
  };
  void load();
}

function caseActions(record, reload) {
  // Built once: "Back" from the confirmation shows the same fields with what was typed.
  const [reason, reasonBlock] = reasonField(
    "case-reason",
    "Reason (the player and the reporters are told the outcome)",
  );
  const kind = h(
    "select",
    { id: "case-kind" },
    KINDS.map((k) => h("option", { value: k, selected: k === "warn" }, k)),
  );
  const duration = h(
    "select",
    { id: "case-duration" },
    DURATIONS.map(([value, label], i) => h("option", { value, selected: i === 1, dataset: { i: String(i) } }, label)),
  );
  const rule = h("input", { id: "case-rule", maxlength: "40", pattern: "[a-z0-9_-]{1,40}", autocomplete: "off" });
  const unfounded = h("input", { id: "case-unfounded", type: "checkbox" });
  const who = `${record.did.slice(0, 8)}…`;
  const sanctionFields = h(
    "div",
    { id: "case-sanction-fields" },
    h("div", { class: "field" }, h("label", { for: "case-kind" }, "Sanction"), kind),
    h("div", { class: "field" }, h("label", { for: "case-duration" }, "Duration (mute, freeze, ban)"), duration),
    h("div", { class: "field" }, h("label", { for: "case-rule" }, "Rule broken (optional)"), rule),
  );
  const dismissFields = h(
    "div",
    { id: "case-dismiss-fields", hidden: true },
    h("label", { class: "choice" }, unfounded, "The reports were made in bad faith (counts against every reporter)"),
  );
  const actions = [
    ["sanction", "Sanction the player"],
    ["dismiss", "Dismiss the reports"],
  ];
  const toggle = () => {
    sanctionFields.hidden = picked() !== "sanction";
    dismissFields.hidden = picked() !== "dismiss";
  };
  const choices = actions.map(([value], i) =>
    h("input", { type: "radio", name: "case-action", value, checked: i === 0, onchange: toggle }),
  );
  const picked = () => choices.find((c) => c.checked)?.value ?? "sanction";
  const radios = h(
    "fieldset",
    { class: "choices" },
    h("legend", null, "Outcome"),
    actions.map(([, label], i) => h("label", { class: "choice" }, choices[i], label)),
  );
  return decisionForm({
    id: "case-decide",
    label: "Decide",
    fields: () => [radios, sanctionFields, dismissFields, reasonBlock],
    validate: () => {
      if (!reason.value.trim()) return { message: "Give a reason.", focus: reason };
      if (rule.value.trim() && !rule.checkValidity())
        return { message: "A rule id is 1-40 of a-z, 0-9, _ and -.", focus: rule };
      return null;
    },
    summary: () => {
      if (picked() === "dismiss")
        return `The reports are dismissed${unfounded.checked ? " as made in bad faith (each reporter's standing drops)" : ""}. The player is not sanctioned; every reporter is told.`;
      const k = kind.value;
      const ms = LASTING.has(k) ? DURATIONS[Number(duration.selectedOptions[0]?.dataset.i ?? 1)][2] : null;
      return `${consequence(k, who, ms)} Every reporter is told the outcome.${LASTING.has(k) && ms !== null ? ` (${span(ms)})` : ""}`;
    },
    submit: async () => {
      const body =
        picked() === "dismiss"
          ? { action: "dismiss", reason: reason.value.trim(), unfounded: unfounded.checked }
          : {
              action: "sanction",
              kind: kind.value,
              reason: reason.value.trim(),
              ...(LASTING.has(kind.value) && duration.value ? { duration: duration.value } : {}),
              ...(rule.value.trim() ? { rule: rule.value.trim() } : {}),
            };
      await api("POST", `cases/${seg(record.id)}/decide`, body);
      say(body.action === "dismiss" ? "Reports dismissed." : `${body.kind} issued.`, "ok");
      void reload();
    },
  });
}
