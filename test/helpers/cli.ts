import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/warden.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `warden` bin in a child process (same Node as the tests). `input` is written
 * to its stdin (a pipe, not a terminal), which is then closed.
 */
export function warden(
  args: string[],
  env: Record<string, string | undefined>,
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: options.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

/** The break-glass warning every `--direct` run prints on stderr. */
export const BREAKGLASS_LINE = /^warden: break-glass: /;

/** stderr without the break-glass warning line. */
export function errorLines(stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((l) => l !== "" && !BREAKGLASS_LINE.test(l));
}
