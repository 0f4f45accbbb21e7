// Staff management (admins only): personal tokens, shown once, and their revocation.
import { api } from "./api.js";
import { fill, h, say, table, when } from "./dom.js";

/** Renders the staff page. */
export function renderStaff(main) {
  const list = h("div", { id: "staff-list" });
  const shown = h("div", { id: "new-token", role: "status", "aria-live": "polite" });
  const name = h("input", {
    id: "staff-name",
    required: true,
    maxlength: "64",
    pattern: "[A-Za-z0-9_.@-]{1,64}",
    autocomplete: "off",
  });
  const role = h(
    "select",
    { id: "staff-role" },
    ["viewer", "moderator", "admin"].map((r) => h("option", { value: r, selected: r === "moderator" }, r)),
  );
  const load = async () => {
    try {
      const { data } = await api("GET", "staff");
      fill(
        list,
        table(
          "Staff",
          ["Name", "Role", "Issued", "By", "State", ""],
          data.staff.map((s) => [
            s.name,
            s.role,
            when(s.createdAt),
            s.createdBy,
            s.revokedAt ? ["revoked ", when(s.revokedAt)] : "active",
            s.revokedAt
              ? ""
              : h(
                  "button",
                  {
                    type: "button",
                    class: "small danger",
                    onclick: async (e) => {
                      if (!window.confirm(`Revoke ${s.name}'s token? They are signed out at their next request.`))
                        return;
                      e.target.disabled = true;
                      try {
                        await api("DELETE", `staff/${encodeURIComponent(s.name)}`);
                        say(`${s.name}'s token revoked`, "ok");
                      } catch (err) {
                        say(err.message, "error");
                      }
                      void load();
                    },
                  },
                  `Revoke ${s.name}`,
                ),
          ]),
        ),
      );
    } catch (e) {
      fill(list, h("p", { class: "error" }, e.message));
    }
  };
  fill(
    main,
    h("h1", { tabindex: "-1" }, "Staff"),
    h(
      "form",
      {
        class: "staff-add card",
        "aria-labelledby": "add-title",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const { data } = await api("POST", "staff", { name: name.value.trim(), role: role.value });
            const token = h("input", {
              id: "token-once",
              readonly: true,
              value: data.token,
              "aria-label": "New token",
            });
            fill(
              shown,
              h("p", null, `Token for ${data.staff.name} (${data.staff.role}), shown once — hand it over now:`),
              token,
            );
            token.select();
            name.value = "";
            void load();
          } catch (err) {
            fill(shown, h("p", { class: "error" }, err.message));
          }
        },
      },
      h("h2", { id: "add-title" }, "Issue a personal token"),
      h("div", { class: "field" }, h("label", { for: "staff-name" }, "Name (letters, digits, _ . @ -)"), name),
      h("div", { class: "field" }, h("label", { for: "staff-role" }, "Role"), role),
      h("button", { type: "submit", class: "primary" }, "Issue token"),
    ),
    shown,
    list,
  );
  void load();
}
