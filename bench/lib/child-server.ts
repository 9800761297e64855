import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ChildServer {
  url: string;
  key?: string;
  child: ChildProcess;
  /** Peak resident set size of the server process so far, in bytes (from /proc). */
  rssBytes(): number;
  stop(): Promise<void>;
}

// Compiled to dist/bench/lib/: the repository root is three levels up.
const root = join(__dirname, '..', '..', '..');

/** Starts `dist/bench/servers.js <args>` and waits for its ready line. */
export function startChildServer(args: string[], timeoutMs = 600_000): Promise<ChildServer> {
  const child = spawn(process.execPath, ['-r', join(root, 'bin', 'aliases.js'), join(root, 'dist', 'bench', 'servers.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bench server ${args[0]} not ready in ${timeoutMs} ms`)), timeoutMs);
    child.on('exit', (code) => reject(new Error(`bench server ${args[0]} exited with ${code}`)));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (!line) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as { port: number; key?: string };
      resolve({
        url: `http://127.0.0.1:${ready.port}`,
        key: ready.key,
        child,
        rssBytes: () => peakRss(child.pid!),
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

function peakRss(pid: number): number {
  // VmHWM is the peak resident set size of the process, in kB.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}
