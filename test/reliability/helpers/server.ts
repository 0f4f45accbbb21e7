/**
 * Real server processes for the reliability suite:
 * - `startFixtureServer`: test/reliability/fixtures/world-server.ts, any warden options,
 *   with `stats` / `drain` commands over stdin;
 * - `startNpmServer`: rooms/server.ts, the real `npm start` entry (env-configured).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { WardenOptions, WardenStats } from "../../../src/index.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/world-server.ts", import.meta.url));
const NPM_START = fileURLToPath(new URL("../../../rooms/server.ts", import.meta.url));

export interface ServerProcess {
  port: number;
  processId: string;
  child: ChildProcess;
  /** Everything the process printed (stdout and stderr), in order. */
  output: string[];
  /** True while the process runs. */
  alive(): boolean;
  /** Lines of output that report a crash (unhandled rejection, uncaught exception, Node's own). */
  crashLines(): string[];
  /** `warden.stats()` of the process (fixture servers only). */
  stats(): Promise<WardenStats>;
  /** Waits until the recorder wrote everything (fixture servers only). */
  drain(): Promise<boolean>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface FixtureConfig {
  jwtSecret: string;
  /** Redis URL for Colyseus presence + driver (multi-process matchmaking); unset = local. */
  presenceRedisUrl?: string;
  reconnectSeconds?: number;
  warden: WardenOptions;
}

/** Starts the fixture world server with these options. */
export function startFixtureServer(config: FixtureConfig): Promise<ServerProcess> {
  return launch(FIXTURE, { WORLD_CONFIG: JSON.stringify(config) });
}

/** Starts rooms/server.ts (`npm start`) with this environment. */
export function startNpmServer(env: Record<string, string>): Promise<ServerProcess> {
  return launch(NPM_START, { PORT: "0", WARDEN_READY_LINE: "1", ...env });
}

const CRASH =
  /UNHANDLED_REJECTION|UNCAUGHT_EXCEPTION|Unhandled(Promise)?Rejection|triggerUncaughtException|FATAL ERROR/;

function launch(script: string, env: Record<string, string>): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const output: string[] = [];
    const pending = new Map<string, (value: unknown) => void>();
    let nextId = 0;
    let ready = false;
    let partial = "";
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join("")}`)), 30_000);
    const command = (name: string): Promise<unknown> =>
      new Promise((res, rej) => {
        if (child.exitCode !== null || child.signalCode !== null)
          return rej(new Error(`server exited (${child.exitCode ?? child.signalCode})`));
        const id = String(++nextId);
        const t = setTimeout(() => {
          pending.delete(id);
          rej(new Error(`no answer to "${name}"`));
        }, 20_000);
        pending.set(id, (value) => {
          clearTimeout(t);
          res(value);
        });
        child.stdin!.write(`${id} ${name}\n`);
      });
    child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      const text = d.toString();
      output.push(text);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const result = /^RESULT (\d+) (.*)$/.exec(line);
        if (result) {
          pending.get(result[1]!)?.(JSON.parse(result[2]!));
          pending.delete(result[1]!);
          continue;
        }
        const match = /READY (\d+) (\S+)/.exec(line);
        if (match && !ready) {
          ready = true;
          clearTimeout(timer);
          resolve({
            port: Number(match[1]),
            processId: match[2]!,
            child,
            output,
            alive: () => child.exitCode === null && child.signalCode === null,
            crashLines: () =>
              output
                .join("")
                .split("\n")
                .filter((l) => CRASH.test(l)),
            stats: () => command("stats") as Promise<WardenStats>,
            drain: () => command("drain") as Promise<boolean>,
            async kill(signal = "SIGKILL") {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              await exited;
            },
          });
        }
      }
    });
    child.stdin!.on("error", () => {});
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`server exited with ${code ?? signal}:\n${output.join("")}`));
    });
  });
}
