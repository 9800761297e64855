/**
 * Worker threads that run the project's own library code: a close's statement, the
 * projector. The worker starts from a bootstrap's source text that makes `@ledger/*`
 * resolve to the libraries (the compiled tree, or the TypeScript sources transpiled on load
 * when a test runner loads them), then loads `entry` and calls its export `run`. The worker
 * reads what it was given with `libraryWorkerData()`.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { ResourceLimits, Worker, workerData } from 'node:worker_threads';

interface BootstrapData {
  /** Where the libraries are: `<root>/libs` of the sources, or of the compiled tree. */
  libsRoot: string;
  /** The module the worker loads once `@ledger/*` resolves. */
  entry: string;
  /** Its export that the worker calls. */
  run: string;
  /** Set when running from TypeScript sources (a test runner): the compiler the worker transpiles them with. */
  typescript?: string;
  data: unknown;
}

/** Starts a worker thread that calls `require(entry)[run]()`; `data` is what `libraryWorkerData()` gives it. */
export function startLibraryWorker(entry: string, run: string, data: unknown, resourceLimits?: ResourceLimits): Worker {
  const bootstrap: BootstrapData = {
    // This file is <root>/libs/event-store/src/library-worker.(ts|js).
    libsRoot: join(__dirname, '..', '..'),
    entry,
    run,
    typescript: __filename.endsWith('.ts') ? require.resolve('typescript') : undefined,
    data,
  };
  return new Worker(`(${libraryWorkerBootstrap.toString()})()`, { eval: true, workerData: { libraryWorker: bootstrap }, resourceLimits });
}

/**
 * The one answer of a worker that answers once: what `answer` makes of a message (a value, an
 * error, or undefined for a message that is not the answer, such as progress), or the worker's
 * own error, or its exit before it answered.
 */
export function workerAnswer<M, T>(
  worker: Worker,
  name: string,
  answer: (message: M) => { value: T } | { error: Error } | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      done();
    };
    worker.on('message', (message: M) => {
      const a = answer(message);
      if (a === undefined) return;
      if ('value' in a) settle(() => resolve(a.value));
      else settle(() => reject(a.error));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the ${name} exited (code ${code}) before answering`))));
  });
}

/** A worker's failure as it crosses to the caller in one message: the error's name and message. */
export type WorkerFailure = { name: string; message: string };

export function workerFailure(error: unknown): WorkerFailure {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message };
}

/** Inside a worker started by `startLibraryWorker`: the data it was started with. */
export function libraryWorkerData<T>(): T {
  return (workerData as { libraryWorker: BootstrapData }).libraryWorker.data as T;
}

/**
 * Runs in the worker from its source text, like the SQLite writer's program: it may use
 * nothing from this module's scope, only `require` inside its body.
 */
function libraryWorkerBootstrap(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- run from its source text in a worker: no module scope */
  const { workerData: given } = require('node:worker_threads') as typeof import('node:worker_threads');
  const Module = require('node:module') as any;
  const path = require('node:path') as typeof import('node:path');
  const boot = (given as { libraryWorker: BootstrapData }).libraryWorker;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function resolveLedgerAlias(request: string, ...rest: unknown[]) {
    if (request.startsWith('@ledger/')) {
      const [, lib, ...sub] = request.split('/');
      request = path.join(boot.libsRoot, lib, 'src', ...sub);
    }
    return resolve.call(this, request, ...rest);
  };
  if (boot.typescript) {
    // Transpiled once per source text and kept in a temporary directory: a test suite starts
    // many of these workers, and compiling the libraries again each time takes seconds.
    const fs = require('node:fs') as typeof import('node:fs');
    const os = require('node:os') as typeof import('node:os');
    const crypto = require('node:crypto') as typeof import('node:crypto');
    const cacheDir = path.join(os.tmpdir(), 'ledger-library-worker-ts');
    let ts: any;
    Module._extensions['.ts'] = (module: any, filename: string) => {
      const source = fs.readFileSync(filename, 'utf8');
      const cached = path.join(cacheDir, `${crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex')}.js`);
      let output: string;
      try {
        output = fs.readFileSync(cached, 'utf8');
      } catch {
        ts ??= require(boot.typescript!);
        output = ts.transpileModule(source, {
          fileName: filename,
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
            experimentalDecorators: true,
          },
        }).outputText;
        try {
          fs.mkdirSync(cacheDir, { recursive: true });
          const partial = `${cached}.${process.pid}.${Date.now()}`;
          fs.writeFileSync(partial, output);
          fs.renameSync(partial, cached);
        } catch {
          // A cache that cannot be written only costs the next worker the same compile.
        }
      }
      module._compile(output, filename);
    };
  }
  require(boot.entry)[boot.run]();
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * Background work beside the requests the service answers: on Linux the calling thread
 * (not the process) is niced by `nice` (0..19), so on a busy machine the request thread is
 * scheduled first. Best effort: elsewhere, or without the right, it runs at normal priority.
 */
export function lowerThisThreadsPriority(nice: number): void {
  try {
    // /proc/thread-self links to <pid>/task/<tid>; setpriority on a tid changes that thread alone.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not allowed: the same work, at the same priority as the rest.
  }
}
