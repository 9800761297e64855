import type { FastifyReply } from 'fastify';
import { TxOutcome } from '@ledger/application';

/** A retried transaction answers with the original body, marked so the client can tell. */
export function answer<Body>(reply: FastifyReply, outcome: TxOutcome<Body>): Body {
  if (outcome.replay) void reply.header('Idempotent-Replay', 'true');
  return outcome.body;
}
