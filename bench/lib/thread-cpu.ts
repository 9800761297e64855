import { readFileSync } from 'node:fs';

/**
 * CPU seconds the calling thread has run so far (Linux: /proc/thread-self/schedstat, whose first
 * field is the thread's time on a CPU in ns); undefined where that file does not exist. Node 20
 * has no per-thread CPU clock of its own, and `process.cpuUsage()` sums every thread.
 */
export function threadCpuSeconds(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return undefined;
  }
}
