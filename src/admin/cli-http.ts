/**
 * The CLI's HTTP face: a small client of the admin API (`<server>/warden/api`) with a
 * personal token, and the credentials file `warden login` writes.
 *
 * Everything that comes back from the server is treated as untrusted: every request has a
 * deadline, every answer a size bound, every message shown is cut and stripped of control
 * characters, and the token appears in no message.
 */
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { boundText } from "../util/text.js";

/** Exit codes of the CLI (documented in README). */
export const EXIT = { ok: 0, failure: 1, badInput: 2, notFound: 3, auditBroken: 4 } as const;

/** A failure the CLI reports as one line and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Text from the server or a player, fit for one terminal line: no control characters, bounded. */
export function shown(text: unknown, max = 300): string {
  return boundText(String(text), max);
}

/** The admin API's base URL from what the user gave: `https://host[:port][/prefix]` → `…/warden/api`. */
export function apiBase(given: string): string {
  let url: URL;
  try {
    url = new URL(given.trim());
  } catch {
    throw new CliError(`not a URL: ${JSON.stringify(shown(given, 200))}`, EXIT.badInput);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`the server URL must be http:// or https://, got ${shown(url.protocol, 20)}`, EXIT.badInput);
  if (url.username || url.password)
    throw new CliError("the server URL must not hold a user or password (the token is read from stdin)", EXIT.badInput);
  url.search = "";
  url.hash = "";
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith("/warden/api") ? path : `${path}/warden/api`;
  return url.toString().replace(/\/+$/, "");
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** A token only travels over https, or plain http to this machine (or with WARDEN_INSECURE_HTTP=1). */
export function checkTransport(base: string, env: NodeJS.ProcessEnv): void {
  const url = new URL(base);
  if (url.protocol === "https:" || LOOPBACK.test(url.hostname) || env.WARDEN_INSECURE_HTTP === "1") return;
  throw new CliError(
    `refusing to send a token over plain http to ${shown(url.host, 100)}: use https (or WARDEN_INSECURE_HTTP=1 on a trusted network)`,
    EXIT.badInput,
  );
}

/** What `warden login` stores. */
export interface Credentials {
  url: string;
  token: string;
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return env.WARDEN_CREDENTIALS || join(homedir(), ".config", "colyseus-warden", "credentials.json");
}

/**
 * Reads the credentials file, or null when there is none. Refuses a file that anyone but its
 * owner may read or write, that is not a regular file (a symlink may point anywhere), or that
 * belongs to another user.
 */
export async function readCredentials(env: NodeJS.ProcessEnv): Promise<Credentials | null> {
  const path = credentialsPath(env);
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, EXIT.failure);
  }
  if (!info.isFile())
    throw new CliError(`${path} is not a regular file: refusing to read credentials from it`, EXIT.badInput);
  if ((info.mode & 0o077) !== 0)
    throw new CliError(
      `${path} is readable or writable by others (mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}): refusing to use it; run chmod 600 ${path}, or warden login again`,
      EXIT.badInput,
    );
  if (typeof process.getuid === "function" && info.uid !== process.getuid())
    throw new CliError(`${path} belongs to another user: refusing to use it`, EXIT.badInput);
  if (info.size > 64 * 1024) throw new CliError(`${path} is too large to be a credentials file`, EXIT.badInput);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch {
    throw new CliError(`${path} is not valid JSON: run warden login again`, EXIT.badInput);
  }
  const { url, token } = (parsed ?? {}) as Partial<Credentials>;
  if (typeof url !== "string" || typeof token !== "string" || token.length === 0)
    throw new CliError(`${path} holds no {url, token}: run warden login again`, EXIT.badInput);
  return { url, token };
}

/** Writes the credentials with mode 0600 (directory 0700), atomically: never a moment world-readable. */
export async function writeCredentials(env: NodeJS.ProcessEnv, credentials: Credentials): Promise<string> {
  const path = credentialsPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, `${JSON.stringify(credentials)}\n`, { mode: 0o600, flag: "wx" });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return path;
}

export async function removeCredentials(env: NodeJS.ProcessEnv): Promise<boolean> {
  const path = credentialsPath(env);
  try {
    await rm(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new CliError(`cannot remove ${path}: ${(e as Error).message}`, EXIT.failure);
  }
}

/** The largest answer the CLI reads (an export or a page of the audit log fits easily). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

function timeoutOf(env: NodeJS.ProcessEnv): number {
  const value = Number(env.WARDEN_TIMEOUT_MS ?? 15_000);
  return Number.isSafeInteger(value) && value >= 100 && value <= 600_000 ? value : 15_000;
}

/** Error codes of the API that mean "no such thing" (exit 3). */
const NOT_FOUND_CODES = new Set([
  "IDENTITY_NOT_FOUND",
  "SANCTION_NOT_FOUND",
  "APPEAL_NOT_FOUND",
  "CASE_NOT_FOUND",
  "STAFF_NOT_FOUND",
  "PENDING_BAN_NOT_FOUND",
]);

/** Reads a body up to `max` bytes; past it, cancels the stream and fails. */
async function readBounded(res: Response, max: number): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => {});
        throw new CliError(
          `the server's answer is larger than ${max / 1024 / 1024} MiB: refusing to read it`,
          EXIT.failure,
        );
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A client of one server's admin API with one token. */
export class ApiClient {
  readonly timeoutMs: number;

  constructor(
    readonly base: string,
    private readonly token: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.timeoutMs = timeoutOf(env);
  }

  /** The host shown in messages (never the token). */
  get where(): string {
    return new URL(this.base).host;
  }

  /**
   * One request; resolves the parsed JSON (or the text with `raw`) of a 2xx answer, and
   * throws a {@link CliError} naming the server's error code and message otherwise.
   */
  async request<T = unknown>(
    method: string,
    path: string,
    options: {
      body?: unknown;
      query?: Record<string, string | number | boolean | undefined>;
      why?: string;
      raw?: boolean;
    } = {},
  ): Promise<{ status: number; body: T }> {
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    // The why travels in the query (UTF-8), where the API reads it too; headers are Latin-1.
    if (options.why) url.searchParams.set("why", boundText(options.why, 500));
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        signal,
        redirect: "error",
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: options.raw ? "text/csv, application/json" : "application/json",
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (e) {
      throw this.networkError(e, signal);
    }
    let text: string;
    try {
      text = await readBounded(res, MAX_RESPONSE_BYTES);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw this.networkError(e, signal);
    }
    if (res.ok && options.raw) return { status: res.status, body: text as T };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(
        `${this.where} answered ${res.status} with something that is not the warden admin API (not JSON): check WARDEN_URL / warden login --url`,
        EXIT.failure,
      );
    }
    if (!res.ok) throw this.refusal(res, parsed);
    if (typeof parsed !== "object" || parsed === null)
      throw new CliError(`${this.where} answered ${res.status} with an unexpected document`, EXIT.failure);
    return { status: res.status, body: parsed as T };
  }

  /** The error of a refused request (`parsed`: its JSON body), as one line and an exit code. */
  refusal(res: Response, parsed: unknown): CliError {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof error?.code === "string" ? shown(error.code, 40) : `HTTP ${res.status}`;
    const message = typeof error?.message === "string" ? shown(error.message) : "no message";
    const hint =
      res.status === 401
        ? " (your token is unknown or revoked: warden login again)"
        : res.status === 429
          ? ` (retry in ${shown(res.headers.get("retry-after") ?? "a few", 10)} s)`
          : "";
    return new CliError(
      `refused by ${this.where}: ${code}: ${message}${hint}`,
      NOT_FOUND_CODES.has(code)
        ? EXIT.notFound
        : res.status >= 500 || res.status === 429 || code === "SANCTION_CANCELLED"
          ? EXIT.failure
          : EXIT.badInput,
    );
  }

  /** Reads a refused streaming answer's body (bounded) into its error. */
  async refusalOf(res: Response): Promise<CliError> {
    const text = await readBounded(res, 64 * 1024).catch(() => "");
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return this.refusal(res, parsed);
  }

  /**
   * Opens a streaming GET (the live feed): resolves the response once its headers arrived,
   * within the deadline; the body then runs until `signal` aborts (no deadline on it).
   */
  async stream(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener("abort", abort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      return await fetch(`${this.base}${path}`, {
        signal: controller.signal,
        redirect: "error",
        headers: { authorization: `Bearer ${this.token}`, accept: "text/event-stream", ...headers },
      });
    } catch (e) {
      throw this.networkError(e, timedOut ? controller.signal : new AbortController().signal);
    } finally {
      clearTimeout(timer);
    }
  }

  networkError(e: unknown, signal: AbortSignal): CliError {
    if (signal.aborted)
      return new CliError(`${this.where} did not answer within ${this.timeoutMs} ms (WARDEN_TIMEOUT_MS)`, EXIT.failure);
    // undici says "fetch failed"; the reason is in its cause (an AggregateError when several addresses were tried).
    const cause = (e as { cause?: { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } }).cause;
    const code = cause?.code ?? cause?.errors?.find((x) => typeof x?.code === "string")?.code;
    const why =
      typeof code === "string"
        ? code
        : typeof cause?.message === "string" && cause.message
          ? cause.message
          : e instanceof Error
            ? e.message
            : String(e);
    return new CliError(`cannot reach ${this.where}: ${shown(why, 120)}`, EXIT.failure);
  }
}

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/** Splits an SSE byte stream into events; comments (keep-alives) call `onComment`. Bounded: one event at most 1 MiB. */
export async function* readSse(body: ReadableStream<Uint8Array>, onComment: () => void): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  let id: string | null = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      if (buffer.length > 1024 * 1024) throw new CliError("the live feed sent a line longer than 1 MiB", EXIT.failure);
      let newline = buffer.search(/\r?\n|\r/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        const width = buffer[newline] === "\r" && buffer[newline + 1] === "\n" ? 2 : 1;
        buffer = buffer.slice(newline + width);
        if (line === "") {
          if (data.length > 0) yield { event, data: data.join("\n"), id };
          event = "message";
          data = [];
          id = null;
        } else if (line.startsWith(":")) onComment();
        else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
          else if (field === "id" && !value.includes("\0")) id = value;
        }
        newline = buffer.search(/\r?\n|\r/);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
