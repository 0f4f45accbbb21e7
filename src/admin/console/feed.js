// The live feed: one stream for the whole signed-in session (kept while other pages are
// open), the newest items first, filters by track, kind and room, and pause.
import { openFeed } from "./api.js";
import { fill, h, identityLink, pairs, shortId, span, when } from "./dom.js";

/** Most items kept in memory (older ones fall off). */
const KEEP = 500;

const state = {
  items: [],
  waiting: [],
  paused: false,
  status: "closed",
  why: "",
  filters: { track: "", kind: "", room: "" },
  seen: { track: new Set(), kind: new Set(), room: new Set() },
  stop: null,
  view: null,
};
let counter = 0;

/** An SSE event as one feed item. */
function itemOf(name, data) {
  const key = `f${++counter}`;
  if (name === "offense")
    return {
      key,
      type: "offense",
      at: data.at,
      did: data.did,
      name: data.name,
      track: data.track ?? "",
      kind: data.kind ?? "",
      room: data.room?.name ?? "",
      roomId: data.room?.id ?? "",
      detail: data,
    };
  if (name === "sanction")
    return {
      key,
      type: "sanction",
      at: data.start,
      did: data.did,
      name: data.name,
      track: data.statement?.ladder?.track ?? "",
      kind: data.kind ?? "",
      room: "",
      detail: data,
    };
  if (name === "revocation")
    return {
      key,
      type: "revocation",
      at: data.revocation?.at,
      did: data.did,
      name: data.name,
      track: "",
      kind: "revoked",
      room: "",
      detail: data,
    };
  return null;
}

function onEvent(name, data) {
  const item = itemOf(name, data);
  if (item === null) return;
  for (const field of ["track", "kind", "room"]) if (item[field]) state.seen[field].add(item[field]);
  if (state.paused) {
    state.waiting.unshift(item);
    state.waiting.length = Math.min(state.waiting.length, KEEP);
  } else {
    state.items.unshift(item);
    state.items.length = Math.min(state.items.length, KEEP);
  }
  state.view?.added(state.paused ? null : item);
}

/** Starts the stream (after sign-in). */
export function startFeed() {
  if (state.stop !== null) return;
  state.stop = openFeed(onEvent, (status, why) => {
    state.status = status;
    state.why = why;
    state.view?.status();
  });
}

/** Stops the stream and forgets its items (sign-out). */
export function stopFeed() {
  state.stop?.();
  state.stop = null;
  state.items = [];
  state.waiting = [];
  state.paused = false;
  for (const set of Object.values(state.seen)) set.clear();
}

const matches = (item) =>
  (!state.filters.track || item.track === state.filters.track) &&
  (!state.filters.kind || item.kind === state.filters.kind) &&
  (!state.filters.room || item.room === state.filters.room);

function summary(item) {
  const d = item.detail;
  if (item.type === "offense")
    return [
      h("span", { class: `badge t-${item.track}` }, item.track || "offense"),
      " ",
      h("strong", null, item.kind),
      ` by ${d.detector ?? "?"} (+${d.severity ?? 0}) in `,
      h("span", { class: "room" }, item.room || "?"),
      " ",
      pairs(d.evidence),
    ];
  if (item.type === "sanction") {
    const lasting = d.end === null ? (["mute", "freeze", "ban"].includes(d.kind) ? "permanent" : "") : "";
    const length = typeof d.end === "number" && d.end > d.start ? span(d.end - d.start) : lasting;
    return [
      h("span", { class: `badge k-${d.kind}` }, d.kind),
      length ? ` ${length}` : "",
      ` by ${d.by}: `,
      h("q", null, d.reason ?? ""),
    ];
  }
  return [
    h("span", { class: "badge k-revoked" }, "revoked"),
    ` ${d.sanctionId ?? ""} by ${d.revocation?.by ?? "?"}`,
    d.revocation?.reason ? [": ", h("q", null, d.revocation.reason)] : "",
  ];
}

function row(item) {
  return h(
    "li",
    { class: `entry e-${item.type}`, dataset: { key: item.key, did: item.did ?? "", type: item.type } },
    h("span", { class: "at" }, when(item.at)),
    h("span", { class: "name" }, identityLink(item.did, item.name), " ", shortId(item.did)),
    h("span", { class: "what" }, summary(item)),
  );
}

function select(field, label) {
  const el = h(
    "select",
    {
      id: `filter-${field}`,
      onchange: (e) => {
        state.filters[field] = e.target.value;
        state.view?.redraw();
      },
    },
    h("option", { value: "" }, "All"),
  );
  const refresh = () => {
    const have = new Set([...el.options].map((o) => o.value));
    for (const value of [...state.seen[field]].sort()) if (!have.has(value)) el.append(h("option", { value }, value));
    el.value = state.filters[field];
  };
  refresh();
  return { refresh, node: h("div", { class: "field" }, h("label", { for: `filter-${field}` }, label), el) };
}

/** Renders the feed page into `main`. */
export function renderFeed(main) {
  const track = select("track", "Track");
  const kind = select("kind", "Kind");
  const room = select("room", "Room");
  const status = h("p", { class: "feed-status", id: "feed-status" });
  const count = h("span", { class: "waiting" });
  const pause = h("button", {
    type: "button",
    id: "pause",
    "aria-pressed": String(state.paused),
    onclick: () => {
      state.paused = !state.paused;
      if (!state.paused) {
        state.items = [...state.waiting, ...state.items].slice(0, KEEP);
        state.waiting = [];
        view.redraw();
      }
      drawPause();
    },
  });
  const drawPause = () => {
    pause.setAttribute("aria-pressed", String(state.paused));
    pause.textContent = state.paused ? "Resume" : "Pause";
    count.textContent = state.paused ? `${state.waiting.length} new while paused` : "";
  };
  const list = h("ol", {
    class: "feed",
    id: "feed",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": "Live feed, newest first",
  });
  const empty = h("p", { class: "empty" }, "Nothing yet: offenses and sanctions appear here the moment they happen.");
  const view = {
    added(item) {
      track.refresh();
      kind.refresh();
      room.refresh();
      if (item === null) return drawPause();
      if (matches(item)) {
        list.prepend(row(item));
        while (list.children.length > KEEP) list.lastElementChild?.remove();
      }
      empty.hidden = list.children.length > 0;
    },
    redraw() {
      fill(list, state.items.filter(matches).map(row));
      empty.hidden = list.children.length > 0;
    },
    status() {
      status.dataset.state = state.status;
      status.textContent =
        state.status === "live"
          ? "Live"
          : state.status === "reconnecting"
            ? `Reconnecting… (${state.why})`
            : `Not connected${state.why ? `: ${state.why}` : ""}`;
    },
  };
  state.view = view;
  fill(
    main,
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Live feed"), status),
    h(
      "form",
      { class: "filters", "aria-label": "Filter the feed", onsubmit: (e) => e.preventDefault() },
      track.node,
      kind.node,
      room.node,
      h("div", { class: "field actions" }, pause, count),
    ),
    empty,
    list,
  );
  view.status();
  view.redraw();
  drawPause();
  return () => {
    if (state.view === view) state.view = null;
  };
}
