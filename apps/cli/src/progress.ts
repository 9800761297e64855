/**
 * A one-line progress report on stderr for long CLI work: how far, how fast, how long left.
 * Redrawn in place on a terminal, one line per 5 % otherwise (CI logs stay short).
 */
export function progressLine(label: string) {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastPercent = -1;
  let shown = false;
  return {
    update(done: number, total: number) {
      const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      if (!tty && percent < lastPercent + 5) return;
      lastPercent = percent;
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
      const line = `${label}: ${percent}% (${done}/${total}), ${Math.round(rate)}/s, ETA ${eta.toFixed(0)} s`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      shown = true;
    },
    done() {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}
