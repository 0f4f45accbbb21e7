import { attempt, fail, show } from "./validate.js";

/** Minimal logger; pino, console and most loggers fit. */
export interface WardenLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** One-line messages on the console, prefixed `[warden]`. */
export const consoleLogger: WardenLogger = {
  info: (m) => console.info(`[warden] ${m}`),
  warn: (m) => console.warn(`[warden] ${m}`),
  error: (m) => console.error(`[warden] ${m}`),
};

/** The `logger` option: anything with info, warn and error methods. */
export function resolveLogger(value: unknown, path = "logger"): WardenLogger {
  if (value === undefined) return consoleLogger;
  const ok = attempt(path, () => {
    if (typeof value !== "object" && typeof value !== "function") return false;
    if (value === null) return false;
    const logger = value as WardenLogger;
    return typeof logger.info === "function" && typeof logger.warn === "function" && typeof logger.error === "function";
  });
  if (!ok) fail(path, `must have info, warn and error methods, got ${show(value)}`);
  return value as WardenLogger;
}
