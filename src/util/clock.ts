/**
 * The guard's clock: exact and timer-free while frames are few, a coarse 4 ms tick while they
 * are many. Both costs were measured (issue 14): `Date.now()` on the hot path costs about
 * 75 ns and 32 B per frame read where it is used (each reading boxed), about 45 ns and 16 B
 * read once per frame here; a 4 ms interval costs 10–25 µs per tick, 2.5–6 ms of CPU a
 * second whatever the load — at a realistic 500 frames a second that is 5–12 µs per frame,
 * a hundred times the readings it saves. So the guard refreshes the time itself, once per frame, while the rate
 * is under {@link BUSY_FRAMES_PER_S}, and the interval takes over above it (and hands back
 * below a quarter of it). One interval per process, unref'd, and only while some warden
 * holds the clock (it has a live session): an idle process runs no timer at all.
 */
export const coarse = {
  /** The time (epoch ms) the guard uses for the frame at hand. */
  now: Date.now(),
  /** True while the interval refreshes `now`; false while the guard refreshes it per frame. */
  ticking: false,
  /** Frames seen since the last tick (the interval's measure of the rate). */
  frames: 0,
};

const RESOLUTION_MS = 4;
/** Above this rate (frames a second, all rooms of the process) the interval is cheaper than a reading per frame. */
export const BUSY_FRAMES_PER_S = 40_000;
/** How long a rate is measured before switching either way. */
const WINDOW_MS = 100;
const TICKS_PER_WINDOW = WINDOW_MS / RESOLUTION_MS;

let holders = 0;
let timer: NodeJS.Timeout | undefined;
/** The rate window; in an object, so that its double field is updated in place (a module `let` boxes every store). */
const rate = { start: 0, frames: 0 };
let ticks = 0;

/** Starts holding the clock (reference-counted); returns the function that lets it go. */
export function holdCoarseClock(): () => void {
  holders++;
  coarse.now = Date.now();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) stopTicking();
  };
}

/**
 * Called by the guard for a frame while the clock is not ticking: reads the time, and
 * starts the interval when frames come faster than {@link BUSY_FRAMES_PER_S}.
 */
export function frameArrived(): void {
  const now = Date.now();
  coarse.now = now;
  if (++rate.frames < (BUSY_FRAMES_PER_S * WINDOW_MS) / 1000) {
    if (now - rate.start >= WINDOW_MS) {
      rate.start = now;
      rate.frames = 0;
    }
    return;
  }
  const busy = now - rate.start < WINDOW_MS;
  rate.start = now;
  rate.frames = 0;
  if (busy && holders > 0) startTicking();
}

function startTicking(): void {
  if (timer !== undefined) return;
  coarse.ticking = true;
  coarse.frames = 0;
  ticks = 0;
  timer = setInterval(() => {
    coarse.now = Date.now();
    if (++ticks < TICKS_PER_WINDOW) return;
    // Under a quarter of the busy rate for a whole window: readings per frame are cheaper again.
    const quiet = coarse.frames < (BUSY_FRAMES_PER_S * WINDOW_MS) / 4000;
    ticks = 0;
    coarse.frames = 0;
    if (quiet) stopTicking();
  }, RESOLUTION_MS);
  timer.unref();
}

function stopTicking(): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  coarse.ticking = false;
  rate.start = Date.now();
  rate.frames = 0;
}

/** Whether the clock's interval is running (frames are coming fast, and some warden holds it). */
export function coarseClockRunning(): boolean {
  return timer !== undefined;
}
