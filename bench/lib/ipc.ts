/**
 * Child processes of the benchmark: spawning (`node --import tsx`, optionally pinned to a
 * CPU with taskset), a small request/response protocol over the IPC channel, and cleanup.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}
interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

// ---------------------------------------------------------------------------------- child

type Handler = (args: never) => unknown;

/** Child side: answers the parent's requests with `handlers[cmd](args)`. */
export function serve(handlers: Record<string, Handler>): void {
  if (typeof process.send !== "function") throw new Error("bench child started without an IPC channel");
  process.on("message", (message: unknown) => {
    if (typeof message !== "object" || message === null || !("cmd" in message)) return;
    const { id, cmd, args } = message as Request;
    const handler = handlers[cmd];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${cmd}`);
        return (handler as (a: unknown) => unknown)(args);
      })
      .then(
        (result) => process.send!({ id, result } satisfies Reply),
        (e: unknown) =>
          process.send!({ id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies Reply),
      );
  });
  // The parent going away must not leave a child behind.
  process.on("disconnect", () => process.exit(0));
}

/** Child side: tells the parent it is ready, with some data. */
export function ready(data: unknown): void {
  process.send!({ ready: data });
}

// --------------------------------------------------------------------------------- parent

let tasksetAvailable: boolean | undefined;
function hasTaskset(): boolean {
  if (tasksetAvailable === undefined) {
    try {
      execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
      tasksetAvailable = true;
    } catch {
      tasksetAvailable = false;
    }
  }
  return tasksetAvailable;
}

export interface SpawnOptions {
  /** Script under the repository root, run with `node --import tsx`. */
  script: string;
  env?: Record<string, string>;
  /** Extra node flags (`--expose-gc`, `--cpu-prof`, ...). */
  nodeFlags?: string[];
  /** Pin to this CPU with taskset when available. */
  cpu?: number;
  /** Label in error messages. */
  label: string;
  readyTimeoutMs?: number;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** A child process of the benchmark, spoken to with {@link BenchChild.call}. */
export class BenchChild {
  readonly output: string[] = [];
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly exited: Promise<void>;
  readonly pinned: boolean;
  readyData: unknown;

  private constructor(
    readonly child: ChildProcess,
    readonly label: string,
    pinned: boolean,
  ) {
    this.pinned = pinned;
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        children.delete(child);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`${label} exited (${code ?? signal}) during a request:\n${this.tail()}`));
        }
        this.pending.clear();
        resolve();
      }),
    );
    const keep = (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim()) this.output.push(line);
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${label}] ${d.toString()}`);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("message", (message: unknown) => {
      const reply = message as Reply;
      if (typeof reply !== "object" || reply === null || typeof reply.id !== "number") return;
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      if (reply.error !== undefined) p.reject(new Error(`${label}: ${reply.error}`));
      else p.resolve(reply.result);
    });
  }

  /** Starts a child and waits for its `ready` message. */
  static async start(options: SpawnOptions): Promise<BenchChild> {
    const nodeArgs = [
      ...(options.nodeFlags ?? []),
      "--import",
      "tsx",
      fileURLToPath(new URL(options.script, `file://${ROOT}`)),
    ];
    const pin = options.cpu !== undefined && hasTaskset();
    const [command, args] = pin
      ? ["taskset", ["-c", String(options.cpu), process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
    const child = spawn(command, args as string[], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const bench = new BenchChild(child, options.label, pin);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.label} did not start in time:\n${bench.tail()}`)),
        options.readyTimeoutMs ?? 30_000,
      );
      const onMessage = (message: unknown) => {
        if (typeof message === "object" && message !== null && "ready" in message) {
          clearTimeout(timer);
          child.off("message", onMessage);
          bench.readyData = (message as { ready: unknown }).ready;
          resolve();
        }
      };
      child.on("message", onMessage);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${options.label} exited with ${code} before it was ready:\n${bench.tail()}`));
      });
    });
    return bench;
  }

  /** Sends a request; rejects if the child fails it, dies, or takes longer than `timeoutMs`. */
  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: "${cmd}" timed out after ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to exit (SIGTERM, so that --cpu-prof profiles are written), then kills it. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join("\n");
  }
}
