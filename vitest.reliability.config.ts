import { defineConfig } from "vitest/config";

/**
 * The reliability suite (`npm run test:reliability`, issue 6): real damage — Redis killed,
 * paused and restarted, server processes killed with SIGKILL, hundreds of real clients,
 * fuzzed frames. Every file starts its own redis-server on a free port (no global Redis),
 * and files run one after another: their timing assertions need the machine to themselves.
 */
export default defineConfig({
  test: {
    // Colyseus's tooling calls process.send, which crashes vitest's "forks" pool.
    pool: "threads",
    include: ["test/reliability/**/*.test.ts"],
    // One file at a time: the load and latency figures must not be measured against each other.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // A failed reliability test is a finding, not a flake: never retried.
    retry: 0,
    reporters: ["default"],
    // The fuzzing and outage scenarios make Colyseus and its SDK print a stack trace or a
    // hint for every rejected frame and refused reconnection (thousands of lines). Those
    // are the expected reactions under test; the scenarios' own lines ([figures], [warden],
    // assertion output) still show.
    onConsoleLog(log) {
      if (
        /Max payload size exceeded|msgpackr|RoomMessages\.on(Data|Request|DataBytes)|StandardSchema|^decode\.utf8Read\(\)|\[Colyseus reconnection\]|Did you miss \.allowReconnection\(\)|allow-reconnection|Room connection was closed unexpectedly|onMessage\(\) not registered/.test(
          log,
        )
      )
        return false;
      return undefined;
    },
  },
});
