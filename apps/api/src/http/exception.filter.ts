import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, DomainErrorKind } from '@ledger/domain';
import { StoreUnavailable } from '@ledger/event-store';
import { ErrorBody, errorBody } from './error-body';

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  refused: 422,
  unavailable: 503,
};

/**
 * The one place errors become responses. Domain refusals carry their own code; anything
 * unexpected is logged with its stack and answered 500 without it.
 */
@Catch()
export class LedgerExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const body = this.toBody(exception, request);
    if (body.statusCode === 503) reply.header('Retry-After', '1');
    void reply.status(body.statusCode).send(body);
  }

  private toBody(exception: unknown, request: FastifyRequest): ErrorBody {
    if (exception instanceof DomainError) {
      return errorBody(STATUS_OF_KIND[exception.kind], exception.code, exception.message, exception.details);
    }
    if (exception instanceof StoreUnavailable) {
      // Nothing was acknowledged; the client retries the same request, which is idempotent.
      request.log.warn({ method: request.method, url: request.url, reason: exception.message }, 'event store unavailable');
      return errorBody(503, 'store_unavailable', 'the event store is unavailable; retry the request');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'object' && response !== null && 'code' in response) return response as ErrorBody;
      const message = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      // Nest raises a bare 400 only for a body it could not parse (our validation sets a code).
      if (status === 400) return errorBody(400, 'invalid_body', message, [{ field: 'body', reason: 'is not valid JSON' }]);
      // Fastify's refusals of a body reach here wrapped by Nest.
      if (status === 413) return errorBody(413, 'invalid_body', message, [{ field: 'body', reason: 'is too large' }]);
      if (status === 415) return errorBody(415, 'invalid_body', message, [{ field: 'body', reason: 'must be application/json' }]);
      return errorBody(status, codeOfStatus(status), message);
    }
    // Fastify's own refusals (malformed JSON, wrong content type, body too large) carry a status.
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return errorBody(fastifyError.statusCode, 'invalid_body', fastifyError.message ?? 'invalid request body', [
        { field: 'body', reason: bodyReason(fastifyError.code) },
      ]);
    }
    // The request's child logger, so the line carries the request id.
    request.log.error(
      {
        method: request.method,
        url: request.url,
        error: exception instanceof Error ? exception.message : String(exception),
        stack: exception instanceof Error ? exception.stack : undefined,
      },
      'unhandled error',
    );
    return errorBody(500, 'internal_error', 'internal error');
  }
}

const codeOfStatus = (status: number): string =>
  ({ 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed' })[status] ?? 'http_error';

const bodyReason = (code: string | undefined): string =>
  ({
    FST_ERR_CTP_INVALID_JSON_BODY: 'is not valid JSON',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'is empty',
    FST_ERR_CTP_BODY_TOO_LARGE: 'is too large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'must be application/json',
  })[code ?? ''] ?? 'is not acceptable';
