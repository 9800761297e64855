import { FieldProblem } from '@ledger/domain';

/** Every error the API sends has this shape. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  /** Stable machine-readable reason, e.g. `insufficient_points`. */
  code: string;
  message: string;
  details: FieldProblem[];
}

export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const errorBody = (statusCode: number, code: string, message: string, details: FieldProblem[] = []): ErrorBody => ({
  statusCode,
  error: STATUS_TEXT[statusCode] ?? 'Error',
  code,
  message,
  details,
});
