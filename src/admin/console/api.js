// The console's only way to the server: the admin HTTP API at `../api/`, relative to the
// console, with the signed-in person's own token (kept in this tab's sessionStorage only).

const BASE = new URL("../api/", document.baseURI);
const KEY = "warden.console.token";

/** Who is signed in: the token, and the role and actor the server said it has. */
export const session = { token: sessionStorage.getItem(KEY), role: null, actor: null };

/** An answer of the API that is not a success. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

function headers(token, json) {
  const out = { authorization: `Bearer ${token}` };
  if (json) out["content-type"] = "application/json";
  return out;
}

async function call(method, path, body, token) {
  let res;
  try {
    res = await fetch(new URL(path, BASE), {
      method,
      headers: headers(token, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "the server could not be reached");
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = data?.error ?? {};
    throw new ApiError(
      res.status,
      typeof error.code === "string" ? error.code : `HTTP_${res.status}`,
      typeof error.message === "string" ? error.message : `the server answered ${res.status}`,
    );
  }
  return { status: res.status, data };
}

/** Calls the API as the signed-in person; a 401 signs them out (the token was revoked). */
export async function api(method, path, body) {
  if (!session.token) throw new ApiError(401, "UNAUTHORIZED", "not signed in");
  try {
    return await call(method, path, body, session.token);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut();
      window.dispatchEvent(new CustomEvent("warden:signed-out", { detail: e.message }));
    }
    throw e;
  }
}

/** Signs in with a token: the server's `GET /whoami` decides the role. */
export async function signIn(token) {
  const { data } = await call("GET", "whoami", undefined, token);
  session.token = token;
  session.role = data.role;
  session.actor = data.actor;
  sessionStorage.setItem(KEY, token);
  return data;
}

/** Forgets the token. */
export function signOut() {
  session.token = null;
  session.role = null;
  session.actor = null;
  sessionStorage.removeItem(KEY);
}

/** Whether the signed-in person may act (moderator or admin). */
export const canAct = () => session.role === "moderator" || session.role === "admin";

/** Encodes one path segment. */
export const seg = (value) => encodeURIComponent(String(value));

/**
 * Opens the live feed (`GET /feed`, Server-Sent Events). EventSource cannot send an
 * Authorization header, so the stream is read with fetch(). Reconnects after a drop (later
 * after each failure, as the server's Retry-After says on 429). `onEvent(name, data)` per
 * event; `onState("live" | "reconnecting" | "closed", why)`. Returns the function that stops it.
 */
export function openFeed(onEvent, onState) {
  let stopped = false;
  let controller = null;
  let failures = 0;
  const run = async () => {
    while (!stopped && session.token) {
      controller = new AbortController();
      let wait = Math.min(30_000, 1000 * 2 ** failures);
      try {
        const res = await fetch(new URL("feed", BASE), {
          headers: headers(session.token, false),
          cache: "no-store",
          credentials: "omit",
          signal: controller.signal,
        });
        if (res.status === 401) {
          onState("closed", "your token is no longer valid");
          window.dispatchEvent(new CustomEvent("warden:signed-out", { detail: "token no longer valid" }));
          signOut();
          return;
        }
        if (res.status === 429) wait = Math.max(wait, 1000 * Number(res.headers.get("retry-after") ?? 5));
        if (!res.ok || res.body === null) throw new Error(`the feed answered ${res.status}`);
        failures = 0;
        onState("live", "");
        await readEvents(res.body, onEvent);
        if (!stopped) throw new Error("the feed closed");
      } catch (e) {
        if (stopped) return;
        failures = Math.min(failures + 1, 5);
        onState("reconnecting", e instanceof Error ? e.message : String(e));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
    onState("closed", "");
  };
}

/** Longest event the console accepts from the stream (a bigger one is skipped, the stream read on). */
const MAX_EVENT = 256 * 1024;

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      dispatch(block, onEvent);
      end = buffer.indexOf("\n\n");
    }
    if (buffer.length > MAX_EVENT) buffer = "";
  }
}

function dispatch(block, onEvent) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (data === "") return;
  let parsed;
  try {
    parsed = JSON.parse(data);
  } catch {
    return; // A line the console cannot read is skipped; the feed goes on.
  }
  onEvent(name, parsed);
}
