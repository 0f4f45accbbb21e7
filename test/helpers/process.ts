import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("../../rooms/server.ts", import.meta.url));

/** A demo world server running in its own process. */
export interface WorldProcess {
  port: number;
  processId: string;
  child: ChildProcess;
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `rooms/server.ts` (the real `npm start` entry) in a child process and waits for it to listen. */
export function startWorldProcess(env: Record<string, string>): Promise<WorldProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", SERVER], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", WARDEN_READY_LINE: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join("")}`)), 20_000);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      output.push(d.toString());
      const match = /READY (\d+) (\S+)/.exec(d.toString());
      if (match) {
        clearTimeout(timer);
        resolve({
          port: Number(match[1]),
          processId: match[2]!,
          child,
          output,
          async kill(signal = "SIGKILL") {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join("")}`));
    });
  });
}
