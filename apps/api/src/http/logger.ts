import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';

export type LedgerLogger = Logger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Key material that must never reach a log line: the bearer header, and the fields of
 * key-issuing answers and key records, wherever a caller passes them as log fields.
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'key',
  'keyHash',
  'adminKey',
  '*.key',
  '*.keyHash',
  '*.adminKey',
  '*.authorization',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass a buffer to read them back. */
  destination?: DestinationStream;
}

/** One JSON object per line: `level` as a word, `time` in ISO 8601, `msg`, then the fields. */
export function createLogger(options: LoggerOptions = {}): LedgerLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

export function parseLogLevel(raw: string | undefined): LogLevel {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '') return 'info';
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new Error(`LEDGER_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
}

// Nest's start-up chatter (modules loaded, routes mapped) is only of interest when debugging.
const NEST_BOOT_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/** Nest's own log calls, written through the same pino logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: LedgerLogger) {}

  log(message: unknown, context?: string) {
    if (context && NEST_BOOT_CONTEXTS.has(context)) this.write('debug', message, context);
    else this.write('info', message, context);
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string) {
    const fields: Record<string, unknown> = { context: context ?? stackOrContext };
    if (context && stackOrContext) fields.stack = stackOrContext;
    this.logger.error(fields, text(message));
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }

  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'fatal', message: unknown, context?: string) {
    this.logger[level](context ? { context } : {}, text(message));
  }
}

const text = (message: unknown): string => (typeof message === 'string' ? message : JSON.stringify(message));
