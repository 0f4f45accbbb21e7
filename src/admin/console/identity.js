// Search by name or ID, the identity page, and acting on an identity (with a confirmation
// that says what will happen).
import { ApiError, api, canAct, seg, session } from "./api.js";
import {
  add,
  dialog,
  fill,
  h,
  identityLink,
  isDid,
  openDialog,
  pairs,
  say,
  section,
  shortId,
  span,
  table,
  time,
  when,
} from "./dom.js";

/** Renders the search page; `q` comes from the address (`#/search?q=…`). */
export function renderSearch(main, q) {
  const input = h("input", {
    id: "q",
    name: "q",
    type: "search",
    required: true,
    maxlength: "64",
    autocomplete: "off",
    value: q ?? "",
    "aria-describedby": "q-help",
  });
  const results = h("div", { id: "results", "aria-live": "polite" });
  fill(
    main,
    h("h1", { tabindex: "-1" }, "Search"),
    h(
      "form",
      {
        class: "search",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/search?q=${encodeURIComponent(input.value.trim())}`;
        },
      },
      h("label", { for: "q" }, "Display name or digital ID"),
      h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
      h(
        "p",
        { id: "q-help", class: "help" },
        "Names are matched ignoring case. Every search is recorded in the audit log.",
      ),
    ),
    results,
  );
  if (q) void search(results, q);
}

async function search(results, q) {
  fill(results, h("p", null, "Searching…"));
  try {
    const { data } = await api("GET", `identities?q=${encodeURIComponent(q)}`);
    const found = data.identities ?? [];
    if (found.length === 0) return void fill(results, h("p", { class: "empty" }, `No identity found for “${q}”.`));
    fill(
      results,
      h("h2", null, `${found.length} found`),
      table(
        "Search results",
        ["Name", "Digital ID", "Live sessions", "Active sanctions", "Points"],
        found.map((s) => [
          identityLink(s.did, s.profile?.name ?? ""),
          shortId(s.did),
          String(s.sessions?.length ?? 0),
          (s.active ?? []).map((x) => x.kind).join(", ") || "none",
          Object.entries(s.points ?? {})
            .map(([t, p]) => `${t} ${p.points}`)
            .join(", ") || "0",
        ]),
      ),
    );
  } catch (e) {
    fill(results, h("p", { class: "error" }, e.message));
  }
}

export const DURATIONS = [
  ["10m", "10 minutes", 600_000],
  ["1h", "1 hour", 3_600_000],
  ["24h", "24 hours", 86_400_000],
  ["7d", "7 days", 7 * 86_400_000],
  ["30d", "30 days", 30 * 86_400_000],
  ["", "Permanent", null],
];
export const LASTING = new Set(["mute", "freeze", "ban"]);
export const KINDS = ["warn", "mute", "freeze", "kick", "ban"];

/** What a sanction does, in a sentence, for the confirmation. */
export function consequence(kind, who, ms) {
  const until = ms === null ? "" : `, until ${time(Date.now() + ms)}`;
  const length = ms === null ? "permanently" : `for ${span(ms)}${until}`;
  switch (kind) {
    case "warn":
      return `${who} gets a warning in every room they are in. Nothing is restricted.`;
    case "mute":
      return `${who} cannot chat ${length}. They stay in their rooms.`;
    case "freeze":
      return `${who}'s moves and messages are ignored ${length}. They stay in their rooms.`;
    case "kick":
      return `${who} is disconnected from every room now. They may join again at once.`;
    default:
      return `${who} is disconnected from every room now and refused at every join ${length}.`;
  }
}

/** The act dialog: kind, duration preset, reason, rule; then a confirmation that says what will happen. */
function actDialog(did, name, kind, reload) {
  const who = name ? `${name} (${did.slice(0, 8)}…)` : did;
  const kindSelect = h(
    "select",
    { id: "act-kind", name: "kind" },
    KINDS.map((k) => h("option", { value: k, selected: k === kind }, k)),
  );
  const durations = h(
    "fieldset",
    { class: "durations", id: "act-durations" },
    h("legend", null, "Duration"),
    DURATIONS.map(([value, label], i) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name: "duration", value, checked: i === 1, dataset: { ms: String(i) } }),
        label,
      ),
    ),
  );
  const reason = h("textarea", { id: "act-reason", name: "reason", required: true, maxlength: "500", rows: "3" });
  const rule = h("input", {
    id: "act-rule",
    name: "rule",
    maxlength: "40",
    pattern: "[a-z0-9_-]{1,40}",
    autocomplete: "off",
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { method: "dialog", class: "act" });
  const showDurations = () => {
    durations.hidden = !LASTING.has(kindSelect.value);
  };
  kindSelect.addEventListener("change", showDurations);
  const chosen = () => {
    const picked = form.querySelector("input[name=duration]:checked");
    return DURATIONS[Number(picked?.dataset.ms ?? 1)];
  };
  const edit = () => {
    fill(
      form,
      h("p", null, "Acting on ", h("strong", null, who), "."),
      h("div", { class: "field" }, h("label", { for: "act-kind" }, "Sanction"), kindSelect),
      durations,
      h("div", { class: "field" }, h("label", { for: "act-reason" }, "Reason (the player is shown it)"), reason),
      h(
        "div",
        { class: "field" },
        h("label", { for: "act-rule" }, "Rule broken (id in your code of conduct, optional)"),
        rule,
      ),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", value: "cancel", onclick: () => dialog().close("cancel") }, "Cancel"),
        h("button", { type: "submit", class: "primary", id: "act-review" }, "Review…"),
      ),
    );
    showDurations();
    reason.focus();
  };
  const confirm = () => {
    const k = kindSelect.value;
    const [value, , ms] = LASTING.has(k) ? chosen() : ["", "", null];
    const body = { kind: k, reason: reason.value.trim(), ...(value ? { duration: value } : {}) };
    if (rule.value.trim()) body.rule = rule.value.trim();
    const go = h("button", { type: "button", class: `primary danger`, id: "act-confirm" }, `Confirm ${k}`);
    fill(
      form,
      h("p", { class: "consequence", id: "act-consequence" }, consequence(k, who, LASTING.has(k) ? ms : null)),
      h("p", null, "Reason: ", h("q", null, body.reason)),
      body.rule ? h("p", null, `Rule: ${body.rule}`) : null,
      h("p", { class: "help" }, `Recorded in the audit log as ${session.actor}.`),
      error,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: edit }, "Back"), go),
    );
    go.focus();
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        const { status, data } = await api("POST", `identities/${seg(did)}/sanctions`, body);
        dialog().close("done");
        if (status === 202)
          say(
            `Proposed, not issued: a second moderator must confirm this permanent ban on the Pending bans page (${data.pending?.id ?? ""}).`,
          );
        else say(`${k} issued: ${data.sanction?.id ?? ""}`, "ok");
        reload();
      } catch (e) {
        go.disabled = false;
        error.textContent = e.message;
      }
    });
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      error.textContent = "Give a reason: the player is shown it.";
      reason.focus();
      return;
    }
    if (rule.value.trim() && !rule.checkValidity()) {
      error.textContent = "A rule id is 1-40 of a-z, 0-9, _ and -.";
      rule.focus();
      return;
    }
    error.textContent = "";
    confirm();
  });
  void openDialog(`Sanction ${name || "this identity"}`, form);
  edit();
}

/** The revoke dialog, with its own confirmation. */
function revokeDialog(sanction, name, reload) {
  const reason = h("textarea", { id: "revoke-reason", maxlength: "500", rows: "2" });
  const wrongful = h("input", { id: "revoke-wrongful", type: "checkbox" });
  const error = h("p", { class: "error", role: "alert" });
  const go = h("button", { type: "button", class: "primary", id: "revoke-confirm" }, `Revoke the ${sanction.kind}`);
  const who = name || sanction.did;
  void openDialog(
    `Revoke ${sanction.kind}`,
    h(
      "form",
      { method: "dialog", class: "act", onsubmit: (e) => e.preventDefault() },
      h(
        "p",
        { class: "consequence", id: "revoke-consequence" },
        `The ${sanction.kind} of ${who} (${sanction.id}) ends now, in every room; `,
        sanction.kind === "ban" ? "they may join again at once." : "they are told.",
      ),
      h("div", { class: "field" }, h("label", { for: "revoke-reason" }, "Reason"), reason),
      h(
        "div",
        { class: "field check" },
        wrongful,
        h("label", { for: "revoke-wrongful" }, "It was wrongful: forgive its step on the ladder too"),
      ),
      error,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => dialog().close("cancel") }, "Cancel"),
        go,
      ),
    ),
  );
  reason.focus();
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      await api("POST", `sanctions/${seg(sanction.id)}/revoke`, {
        reason: reason.value.trim(),
        wrongful: wrongful.checked,
      });
      dialog().close("done");
      say(`${sanction.kind} revoked`, "ok");
      reload();
    } catch (e) {
      go.disabled = false;
      error.textContent = e.message;
    }
  });
}

function ladderView(track, points, ladder) {
  const steps = ladder?.steps ?? [];
  const current = [...steps].reverse().find((s) => points.points >= s.at);
  const next = steps.find((s) => points.points < s.at);
  const step = (s) => `${s.kind}${s.duration ? ` ${span(s.duration)}` : LASTING.has(s.kind) ? " permanent" : ""}`;
  return h(
    "li",
    { class: "track", dataset: { track } },
    h("strong", null, track),
    `: ${points.points} points (${points.count} offense${points.count === 1 ? "" : "s"})`,
    h(
      "span",
      { class: "standing" },
      current ? ` — at “${step(current)}” (from ${current.at})` : " — below the first step",
      next ? `; next: ${step(next)} at ${next.at}` : steps.length ? "; at the top of the ladder" : "",
    ),
    steps.length
      ? h(
          "ol",
          { class: "ladder", "aria-label": `${track} ladder` },
          steps.map((s) =>
            h(
              "li",
              { class: s === current ? "here" : "", "aria-current": s === current ? "step" : null },
              `${s.at} → ${step(s)}`,
            ),
          ),
        )
      : null,
  );
}

function sanctionRow(s, name, reload) {
  const active = !s.revoked && (s.end === null || s.end > Date.now()) && s.end !== s.start;
  const state = s.revoked ? "revoked" : active ? "active" : "ended";
  const revoke =
    canAct() && active
      ? h(
          "button",
          {
            type: "button",
            class: "small",
            dataset: { act: "revoke", sanction: s.id },
            onclick: () => revokeDialog(s, name, reload),
          },
          "Revoke",
        )
      : null;
  return h(
    "li",
    { class: `sanction ${state}`, dataset: { sanction: s.id, state } },
    h(
      "div",
      { class: "line" },
      h("span", { class: `badge k-${s.kind}` }, s.kind),
      " ",
      h("span", { class: "state" }, state),
      " ",
      revoke,
    ),
    h("div", null, h("q", null, s.reason)),
    h(
      "div",
      { class: "meta" },
      "from ",
      when(s.start),
      s.end === null ? " — permanent" : s.end !== s.start ? [" to ", when(s.end)] : "",
      ` · by ${s.by}`,
      s.statement?.rule ? ` · rule ${s.statement.rule.id}: ${s.statement.rule.title ?? ""}` : "",
      s.statement?.ladder ? ` · ${s.statement.ladder.track} step ${s.statement.ladder.step + 1}` : "",
    ),
    s.statement?.facts?.events?.length
      ? h(
          "ul",
          { class: "facts", "aria-label": "Facts in the statement of reasons" },
          s.statement.facts.events.map((f) =>
            h("li", null, when(f.at), ` ${f.kind ?? ""} (${f.track ?? ""}) `, pairs(f.evidence)),
          ),
        )
      : null,
    s.revoked
      ? h(
          "div",
          { class: "meta" },
          "revoked ",
          when(s.revoked.at),
          ` by ${s.revoked.by}`,
          s.revoked.reason ? [": ", h("q", null, s.revoked.reason)] : "",
        )
      : null,
  );
}

/** Renders an identity's page. */
export function renderIdentity(main, did) {
  if (!isDid(did))
    return void fill(
      main,
      h("h1", { tabindex: "-1" }, "Not a digital ID"),
      h("p", null, "A digital ID is 26 characters a-z and 2-7."),
    );
  const title = h("h1", { tabindex: "-1", id: "identity-name" }, "Identity");
  const body = h("div", { class: "identity" }, h("p", null, "Loading…"));
  fill(main, title, body);
  const load = async () => {
    const [summary, history, events, evidence] = await Promise.allSettled([
      api("GET", `identities/${seg(did)}`),
      api("GET", `identities/${seg(did)}/sanctions?all=true`),
      api("GET", `identities/${seg(did)}/events?limit=50`),
      canAct() ? api("GET", `identities/${seg(did)}/evidence`) : Promise.resolve(null),
    ]);
    if (summary.status === "rejected") {
      title.textContent = "Identity";
      const e = summary.reason;
      return void fill(
        body,
        h(
          "p",
          { class: "error" },
          e instanceof ApiError && e.status === 404 ? "The store holds nothing about this ID." : e.message,
        ),
      );
    }
    const s = summary.value.data;
    const name = s.profile?.name ?? "";
    title.textContent = name || "Unnamed identity";
    const sanctions = history.status === "fulfilled" ? history.value.data.sanctions : [];
    sanctions.sort((a, b) => b.start - a.start);
    const actions = canAct()
      ? h(
          "div",
          { class: "act-buttons", role: "group", "aria-label": "Act on this identity" },
          KINDS.map((k) =>
            h(
              "button",
              {
                type: "button",
                class: `act k-${k}`,
                dataset: { act: k },
                onclick: () => actDialog(did, name, k, reload),
              },
              k[0].toUpperCase() + k.slice(1),
            ),
          ),
        )
      : null;
    const eventRows = events.status === "fulfilled" ? events.value.data.events : [];
    const records = evidence.status === "fulfilled" && evidence.value ? evidence.value.data.evidence : [];
    fill(
      body,
      h(
        "div",
        { class: "id-head" },
        h("p", null, "Digital ID ", h("code", { class: "did-full" }, did)),
        h(
          "p",
          { class: "meta" },
          "First seen ",
          when(s.profile?.firstSeen),
          " · name last seen ",
          when(s.profile?.nameSeen),
        ),
        actions,
      ),
      h(
        "div",
        { class: "grid" },
        section(
          "Live sessions",
          s.sessions.length === 0
            ? h("p", { class: "empty" }, "Not connected.")
            : table(
                "Live sessions",
                ["Room", "Room ID", "Since", "Process"],
                s.sessions.map((b) => [
                  b.roomName,
                  h("code", null, b.roomId),
                  when(b.since),
                  h("code", null, b.processId),
                ]),
              ),
        ),
        section(
          "Standing on the ladder",
          Object.keys(s.points).length === 0
            ? h("p", { class: "empty" }, "No points on any track.")
            : h(
                "ul",
                { class: "tracks" },
                Object.entries(s.points).map(([t, p]) => ladderView(t, p, s.ladders?.[t])),
              ),
        ),
      ),
      section(
        "Sanctions",
        sanctions.length === 0
          ? h("p", { class: "empty" }, "None.")
          : h(
              "ul",
              { class: "sanctions", id: "sanctions" },
              sanctions.map((x) => sanctionRow(x, name, reload)),
            ),
      ),
      section(
        "Offense history",
        eventRows.length === 0
          ? h("p", { class: "empty" }, "No offense recorded.")
          : table(
              "Offense history, newest first",
              ["When", "Track", "Kind", "Detector", "Points", "Room", "Evidence"],
              eventRows.map((e) => [
                when(e.at),
                e.track,
                e.kind,
                e.detector,
                String(e.severity),
                e.room?.name ?? "",
                pairs(e.evidence),
              ]),
            ),
      ),
      canAct()
        ? section(
            "Evidence",
            records.length === 0
              ? h("p", { class: "empty" }, "No chat snapshot kept.")
              : records.map((r) =>
                  h(
                    "figure",
                    { class: "evidence" },
                    h("figcaption", null, `${r.kind} in ${r.snapshot.room?.name ?? "?"}, `, when(r.snapshot.takenAt)),
                    h(
                      "ol",
                      { class: "lines" },
                      r.snapshot.lines.map((l) =>
                        h(
                          "li",
                          { class: l.did === did ? "self" : "" },
                          when(l.at),
                          " ",
                          l.did === did ? h("strong", null, name || "them") : shortId(l.did),
                          ": ",
                          l.text,
                        ),
                      ),
                    ),
                  ),
                ),
          )
        : null,
      canAct()
        ? section(
            "Reports and appeals",
            h(
              "p",
              { class: "help" },
              "Reports by and against this ID, its appeals and cases are in its full record (an export, recorded in the audit log).",
            ),
            h(
              "button",
              { type: "button", id: "load-record", onclick: (e) => void loadRecord(e.target) },
              "Load the full record",
            ),
          )
        : null,
    );
  };
  const loadRecord = async (button) => {
    button.disabled = true;
    try {
      const { data } = await api("GET", `identities/${seg(did)}/export`);
      const out = h("div", { class: "record" });
      add(
        out,
        h("h3", null, `Reports against (${data.reportsAgainst.length})`),
        data.reportsAgainst.length
          ? table(
              "Reports against",
              ["When", "Reporter", "Weight"],
              data.reportsAgainst.map((r) => [
                when(r.at),
                r.reporter ? identityLink(r.reporter, "") : "—",
                String(r.weight ?? ""),
              ]),
            )
          : h("p", { class: "empty" }, "None."),
        h("h3", null, `Reports filed (${data.reportsFiled.length})`),
        data.reportsFiled.length
          ? table(
              "Reports filed",
              ["Receipt", "Status"],
              data.reportsFiled.map((r) => [String(r.receipt ?? r.id ?? ""), String(r.status ?? r.state ?? "")]),
            )
          : h("p", { class: "empty" }, "None."),
        h("h3", null, `Appeals (${data.appeals.length})`),
        data.appeals.length
          ? table(
              "Appeals",
              ["Opened", "Sanction", "State", "Text"],
              data.appeals.map((a) => [when(a.openedAt), String(a.sanctionId), String(a.state), String(a.text ?? "")]),
            )
          : h("p", { class: "empty" }, "None."),
        h("h3", null, `Report cases (${data.cases.length})`),
        data.cases.length
          ? table(
              "Report cases",
              ["Opened", "State", "Reports"],
              data.cases.map((c) => [when(c.openedAt), String(c.state), String(c.count ?? c.reports?.length ?? 0)]),
            )
          : h("p", { class: "empty" }, "None."),
      );
      button.replaceWith(out);
    } catch (e) {
      button.disabled = false;
      say(e.message, "error");
    }
  };
  const reload = () => void load().catch((e) => say(e.message, "error"));
  reload();
}
