/**
 * Refusals the world can cause, each with a stable code. The API maps `kind` to a
 * status (invalid_input 400, not_found 404, conflict 409, refused 422,
 * unavailable 503: safe to retry). A bug is not one
 * of these: it is an assertion failure (500, nothing appended).
 */
export type DomainErrorKind = 'invalid_input' | 'not_found' | 'conflict' | 'refused' | 'unavailable';

export interface FieldProblem {
  field: string;
  reason: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(
    readonly code: string,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInput extends DomainError {
  readonly kind = 'invalid_input';
  /** `code` names a refusal a client may want to tell apart, e.g. `currency_mismatch`. */
  constructor(field: string, reason: string, code = 'invalid_input') {
    super(code, `${field} ${reason}`, [{ field, reason }]);
  }
}

export class NotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(
    entity:
      | 'member'
      | 'partner'
      | 'coalition'
      | 'settlement'
      | 'stream'
      | 'transaction'
      | 'key'
      | 'hold'
      | 'lot'
      | 'card'
      | 'program'
      | 'action'
      | 'plan',
    id: string,
  ) {
    super(`${entity}_not_found`, `${entity} ${id} not found`);
  }
}

export class Conflict extends DomainError {
  readonly kind = 'conflict';
}

export class Refused extends DomainError {
  readonly kind = 'refused';
}

export class Unavailable extends DomainError {
  readonly kind = 'unavailable';
}

export const idempotencyConflict = (txId: string) =>
  new Conflict('idempotency_conflict', `transaction ${txId} was already posted with a different payload`);

/** A programming error: the code broke its own invariant. Never a reaction to input. */
export class AssertionFailed extends Error {
  override readonly name = 'AssertionFailed';
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new AssertionFailed(why);
}
