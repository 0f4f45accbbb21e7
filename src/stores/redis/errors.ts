import { ReplyError } from "ioredis";
import { WardenError, type WardenErrorCode } from "../../errors.js";

/**
 * Error codes of Redis error replies (the reply's first word, as the Redis protocol defines
 * it) that the warden knows, with what each means for a caller. Private to the Redis store:
 * the store contract knows only `WardenError` codes (BullMQ keeps its script codes out of
 * its backend contract too).
 *
 * - `WARDEN_*` codes are answered by the warden's own scripts
 *   (`redis.error_reply("WARDEN_… <detail>")`), always before the script wrote anything;
 *   each script's header lists the ones it may answer.
 * - `STORE_UNAVAILABLE`: Redis cannot serve now; the same call may succeed later.
 * - `STORE_SCRIPT`: retrying cannot help (a bug in a call, or data it refuses).
 */
export const REPLY_CODES = {
  WARDEN_UNREADABLE: {
    code: "STORE_SCRIPT",
    message: "the record to store is not JSON the script can read; nothing was written",
  },
  WARDEN_UNCHAINED: {
    code: "STORE_SCRIPT",
    message: "the audit entries do not chain to the log's head or to one another; nothing was written",
  },
  // The keys of one call must share a Redis Cluster slot (src/stores/redis/keys.ts): a key layout bug, never an outage.
  CROSSSLOT: { code: "STORE_SCRIPT", message: "the keys of the call are not in one Redis Cluster slot" },
  // ioredis loads a script again when Redis answers NOSCRIPT; one that still reaches us met a flushed script cache.
  NOSCRIPT: { code: "STORE_UNAVAILABLE", message: "the script was not in Redis's script cache" },
  BUSY: { code: "STORE_UNAVAILABLE", message: "Redis is busy running a script" },
  LOADING: { code: "STORE_UNAVAILABLE", message: "Redis is loading its data set" },
  MOVED: { code: "STORE_UNAVAILABLE", message: "the key's slot moved to another Redis Cluster node" },
  ASK: { code: "STORE_UNAVAILABLE", message: "the key's slot is migrating to another Redis Cluster node" },
  TRYAGAIN: { code: "STORE_UNAVAILABLE", message: "the Redis Cluster is resharding the keys of the call" },
  CLUSTERDOWN: { code: "STORE_UNAVAILABLE", message: "the Redis Cluster is down" },
  MASTERDOWN: { code: "STORE_UNAVAILABLE", message: "the Redis replica lost its master" },
  READONLY: { code: "STORE_UNAVAILABLE", message: "the Redis node is a read-only replica" },
  OOM: { code: "STORE_UNAVAILABLE", message: "Redis is out of memory (maxmemory) and refuses writes" },
  MISCONF: { code: "STORE_UNAVAILABLE", message: "Redis cannot persist its data and refuses writes" },
  NOAUTH: { code: "STORE_UNAVAILABLE", message: "Redis asks for a password" },
  WRONGPASS: { code: "STORE_UNAVAILABLE", message: "Redis refused the credentials" },
  NOPERM: { code: "STORE_UNAVAILABLE", message: "the Redis user may not run the command or touch the key" },
} as const satisfies Record<string, { code: WardenErrorCode; message: string }>;

/** A reply code {@link REPLY_CODES} knows. */
export type ReplyCode = keyof typeof REPLY_CODES;

/** ioredis's commands that run a Lua script: an error reply to one of them comes from the script. */
const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"]);

/** An error reply from Redis (it got the command and answered with an error), as ioredis raises it. */
interface RedisReplyError extends Error {
  /** Set by ioredis: the command the reply answers. */
  command?: { name?: unknown };
}

function isReplyError(error: unknown): error is RedisReplyError {
  // By name too: an ioredis connection the caller brought may come from another copy of
  // ioredis (and of redis-errors), whose ReplyError is another class.
  return error instanceof ReplyError || (error instanceof Error && error.name === "ReplyError");
}

/** The code of an error reply: its first word (`WRONGTYPE`, `ERR`, `WARDEN_UNCHAINED`…). */
export function replyCode(error: Error): string {
  const space = error.message.indexOf(" ");
  return space < 0 ? error.message : error.message.slice(0, space);
}

/**
 * Maps whatever a Redis call threw to a `WardenError`: the one place where Redis failures
 * get a stable code (BullMQ maps its script codes in one function too). By the error's
 * type, never by guessing from its text:
 *
 * - a `WardenError` is passed on as it is;
 * - an error reply with a code of {@link REPLY_CODES}: that entry's code;
 * - any other error reply to a script: `STORE_SCRIPT` (the script ran and failed);
 * - any other error reply: `STORE_UNAVAILABLE` (Redis refused the command);
 * - anything else got no reply (connection refused, closed or lost, retries exhausted,
 *   a timeout): `STORE_UNAVAILABLE`.
 */
export function storeError(operation: string, cause: unknown): WardenError {
  if (cause instanceof WardenError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  let code: WardenErrorCode = "STORE_UNAVAILABLE";
  let why = "no answer from Redis";
  if (isReplyError(cause)) {
    const reply = replyCode(cause);
    if (Object.hasOwn(REPLY_CODES, reply)) {
      ({ code, message: why } = REPLY_CODES[reply as ReplyCode]);
    } else if (typeof cause.command?.name === "string" && SCRIPT_COMMANDS.has(cause.command.name.toLowerCase())) {
      code = "STORE_SCRIPT";
      why = "the script failed";
    } else {
      why = "Redis refused the command";
    }
  }
  return new WardenError(code, `redis ${operation}: ${why} (${text})`, { cause });
}

/** A script's reply that is not of the shape its header promises. */
export function unexpectedReply(operation: string, reply: unknown, context = ""): WardenError {
  let shown: string;
  try {
    shown = JSON.stringify(reply) ?? String(reply);
  } catch {
    shown = String(reply);
  }
  return new WardenError("STORE_SCRIPT", `redis ${operation} answered ${shown.slice(0, 80)}${context}`);
}
