import { LoggerService } from '@nestjs/common';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** One JSON object per line on stdout (errors on stderr), for log shippers. */
export class JsonLogger implements LoggerService {
  constructor(private readonly quiet = false) {}

  log(message: unknown, context?: string) {
    this.write('info', message, context);
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string) {
    this.write('error', message, context ?? stackOrContext, context ? stackOrContext : undefined);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('debug', message, context);
  }

  /** A structured line with fields of its own (request logs, start-up facts). */
  event(level: Level, msg: string, fields: Record<string, unknown>) {
    if (this.quiet && level !== 'error') return;
    const line = JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields }) + '\n';
    (level === 'error' ? process.stderr : process.stdout).write(line);
  }

  private write(level: Level, message: unknown, context?: string, stack?: string) {
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    this.event(level, typeof message === 'string' ? message : JSON.stringify(message), fields);
  }
}
