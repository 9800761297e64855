import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventStore } from '@ledger/event-store';
import { LedgerLogger } from '@ledger/api/http/logger';
import { REQUEST_ID_HEADER } from '@ledger/api/http/request-id';

export interface GracefulShutdownOptions {
  app: NestFastifyApplication;
  store: EventStore;
  logger: LedgerLogger;
  graceMs: number;
  /** Called with the exit code once the process may end (tests pass their own). */
  exit?: (code: number) => void;
}

/**
 * A rolling deploy costs clients nothing they cannot see. On SIGTERM (or SIGINT):
 *  1. stop accepting connections; idle keep-alive connections are closed at once;
 *  2. every request already read is answered, with `Connection: close`, so its client
 *     does not send another on that connection;
 *  3. once the last connection has ended, the app closes (the projector applies the batch
 *     it holds) and the store writes what it has accepted (SQLite's group commit);
 *  4. exit 0.
 * If that takes longer than `graceMs` (a handler waiting on a locked or unreachable store, a
 * client that never finishes sending its body), the process exits 1, so the orchestrator sees
 * a shutdown that did not drain, after one warn line per request cut off (method, url, request
 * id, how long it had been in flight, whether its body had arrived) and one error line with
 * the count. Nothing acknowledged is lost by it: an answer is only sent after its events are
 * on disk. A cut-off request was never answered; whatever it may have written is whole (one
 * store transaction, or a txId reservation its retry completes), and its client's retry of the
 * same request is idempotent.
 * A request that arrived on an idle connection as it was being closed never reached the
 * service: its client sees a reset and retries, and the retry is idempotent.
 */
export function installGracefulShutdown({ app, store, logger, graceMs, exit = (code) => process.exit(code) }: GracefulShutdownOptions): {
  shutdown: (signal: string) => Promise<void>;
} {
  const server = app.getHttpServer() as Server;
  const inFlight = new Map<ServerResponse, { req: IncomingMessage; since: number }>();
  let closing: Promise<void> | undefined;

  // Runs before the framework sees the request, so the header is there however it answers.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.set(res, { req, since: Date.now() });
    res.once('close', () => inFlight.delete(res));
  });

  /** One line per request the grace cut off, for the operator to match with client reports. */
  const logCutOff = () => {
    const now = Date.now();
    for (const [res, { req, since }] of inFlight) {
      const requestId = res.getHeader(REQUEST_ID_HEADER) ?? req.headers[REQUEST_ID_HEADER];
      logger.warn(
        { method: req.method, url: req.url, requestId, inFlightMs: now - since, bodyReceived: req.complete },
        'request cut off by shutdown',
      );
    }
  };

  const shutdown = (signal: string): Promise<void> => {
    closing ??= drainAndExit(signal);
    return closing;
  };

  async function drainAndExit(signal: string): Promise<void> {
    const started = Date.now();
    logger.info({ signal, graceMs, requestsInFlight: inFlight.size }, 'shutting down');
    const overdue = setTimeout(() => {
      logCutOff();
      logger.error({ graceMs, requestsInFlight: inFlight.size }, 'shutdown grace exceeded; exiting with requests unanswered');
      exit(1);
    }, graceMs);
    try {
      for (const res of inFlight.keys()) if (!res.headersSent) res.setHeader('Connection', 'close');
      // server.close stops listening and (Node >= 19) closes idle keep-alive connections;
      // it calls back once every connection has ended.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await store.close();
      logger.info({ signal, ms: Date.now() - started }, 'shutdown complete');
      clearTimeout(overdue);
      exit(0);
    } catch (err) {
      clearTimeout(overdue);
      logger.error({ signal, error: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
      exit(1);
    }
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
  return { shutdown };
}
