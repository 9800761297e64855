import { SingleBar } from 'cli-progress';

const UPDATE_INTERVAL_MS = 200;

/**
 * A progress bar on stderr for long CLI work: done, rate and ETA. On a terminal it redraws
 * in place; otherwise (CI, a child process in tests) it prints a line every few seconds.
 */
export function progressBar(label: string, unit: string) {
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {done} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    etaBuffer: 50,
    fps: 5,
    hideCursor: null,
    gracefulExit: true,
  });
  const started = process.hrtime.bigint();
  let running = false;
  let lastUpdateMs = 0;
  const payload = (done: number) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { done: done.toLocaleString('en-US'), rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '0' };
  };
  return {
    /** `value` of `total` is what drives the percentage and the ETA; `done` is the count shown. */
    update(value: number, total: number, done: number) {
      if (!running) {
        bar.start(Math.max(total, 1), 0, payload(done));
        running = true;
      }
      // The ETA averages the last `etaBuffer` updates: a few a second make that ~10 s of
      // history, whatever the caller's rate (a demo calls once per command).
      const now = Date.now();
      if (now - lastUpdateMs < UPDATE_INTERVAL_MS && value < total) return;
      lastUpdateMs = now;
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.min(value, total), payload(done));
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
