/**
 * A coarse clock for the hot path. `Date.now()` on every message was most of the guard's
 * cost (and allocated); token buckets need millisecond-ish time, not exact time. One
 * unref'd interval per process refreshes `coarse.now` while any warden holds it — and a
 * warden holds it only while it has a live session, so an idle process runs no timer.
 */
export const coarse = { now: Date.now() };

const RESOLUTION_MS = 4;
let holders = 0;
let timer: NodeJS.Timeout | undefined;

/** Starts the clock (reference-counted); returns the function that releases it. */
export function holdCoarseClock(): () => void {
  holders++;
  if (timer === undefined) {
    coarse.now = Date.now();
    timer = setInterval(() => {
      coarse.now = Date.now();
    }, RESOLUTION_MS);
    timer.unref();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** Whether the clock's timer is running (some warden has a live session in this process). */
export function coarseClockRunning(): boolean {
  return timer !== undefined;
}
