// The console's shell: sign-in, navigation by the address's #fragment, the role's view.
import { ApiError, canAct, session, signIn, signOut } from "./api.js";
import { renderAudit } from "./audit.js";
import { fill, h, say } from "./dom.js";
import { renderFeed, startFeed, stopFeed } from "./feed.js";
import { renderIdentity, renderSearch } from "./identity.js";
import { renderPending } from "./pending.js";
import { renderAppeals, renderCases } from "./reviews.js";
import { renderStaff } from "./staff.js";

const main = document.getElementById("main");
let leave = null;

function renderSignIn(message) {
  const token = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "token-help",
  });
  const error = h("p", { class: "error", id: "sign-in-error", role: "alert" }, message ?? "");
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  fill(
    main,
    h(
      "form",
      {
        class: "sign-in card",
        "aria-labelledby": "sign-in-title",
        onsubmit: async (e) => {
          e.preventDefault();
          button.disabled = true;
          error.textContent = "";
          try {
            await signIn(token.value.trim());
            token.value = "";
            signedIn();
            if (!location.hash || location.hash === "#/" || location.hash === "#/sign-in") location.hash = "#/feed";
            else route();
          } catch (err) {
            error.textContent =
              err instanceof ApiError && err.status === 401 ? "That token is not valid (or was revoked)." : err.message;
            token.focus();
          } finally {
            button.disabled = false;
          }
        },
      },
      h("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in"),
      h("label", { for: "token" }, "Your personal staff token"),
      token,
      h(
        "p",
        { id: "token-help", class: "help" },
        "An admin issues it (warden staff add, or the Staff page). It stays in this tab only and is forgotten when you close it.",
      ),
      error,
      button,
    ),
  );
  token.focus();
}

function signedIn() {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = `${session.actor} (${session.role})`;
  document.body.dataset.role = session.role;
  for (const el of document.querySelectorAll("[data-role=admin]")) el.hidden = session.role !== "admin";
  // Moderators and admins: report cases hold reporters' words and other players' chat lines.
  for (const el of document.querySelectorAll("[data-role=moderator]")) el.hidden = !canAct();
  startFeed();
}

function signedOut(message) {
  stopFeed();
  signOut();
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  delete document.body.dataset.role;
  leave?.();
  leave = null;
  renderSignIn(message);
}

/** Shows the page the address names. */
function route() {
  if (!session.role) return;
  leave?.();
  leave = null;
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = (path ?? "").split("/");
  const page = parts[0] || "feed";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (page === "feed") leave = renderFeed(main);
  else if (page === "search") renderSearch(main, new URLSearchParams(query ?? "").get("q"));
  else if (page === "id") renderIdentity(main, parts[1] ?? "");
  else if (page === "appeals") renderAppeals(main, parts[1] ? decodeURIComponent(parts[1]) : undefined);
  else if (page === "cases" && canAct()) renderCases(main, parts[1] ? decodeURIComponent(parts[1]) : undefined);
  else if (page === "audit") renderAudit(main);
  else if (page === "pending" && canAct()) renderPending(main);
  else if (page === "staff" && session.role === "admin") renderStaff(main);
  else
    fill(
      main,
      h("h1", { tabindex: "-1" }, "No such page"),
      h("p", null, h("a", { href: "#/feed" }, "Back to the live feed")),
    );
  document.title = `${main.querySelector("h1")?.textContent ?? "Console"} · Warden console`;
  // Focus moves to the new page's heading, so that keyboard and screen-reader users start there.
  main.querySelector("h1")?.focus();
}

window.addEventListener("hashchange", route);
window.addEventListener("warden:signed-out", (e) => signedOut(`Signed out: ${e.detail}.`));
document.getElementById("sign-out").addEventListener("click", () => {
  signedOut("You are signed out.");
  say("Signed out");
});

async function boot() {
  if (!session.token) return renderSignIn();
  try {
    await signIn(session.token);
    signedIn();
    route();
  } catch (e) {
    signedOut(e instanceof ApiError && e.status === 401 ? "Your token is no longer valid." : e.message);
  }
}
void boot();
