import { LedgerConfig } from '@ledger/application';
import { ReadStoreLocation, readStoreLocation } from '@ledger/projections';
import { LogLevel, parseLogLevel } from '@ledger/api/http/logger';
import { ConflictRetryPolicy } from '@ledger/event-store';

/** Everything the service reads from the environment, validated once at start. */
export interface ServiceEnv {
  port: number;
  host: string;
  dataDir: string;
  eventStoreUrl?: string;
  demo: boolean;
  /**
   * LEDGER_PROJECTOR (default on): the API runs the projector itself. Off: `ledger project`
   * runs it in its own process and the API only reads $LEDGER_DATA_DIR/read.db.
   */
  projector: boolean;
  /** LEDGER_SHUTDOWN_GRACE_MS (default 10 s): how long a SIGTERM may take to drain before the process gives up. */
  shutdownGraceMs: number;
  /** LEDGER_READ_STORE: empty for $LEDGER_DATA_DIR/read.db, or a postgres:// URL (read models shared by replicas). */
  readStore: ReadStoreLocation;
  ledger: LedgerConfig;
  /** LEDGER_LOG_LEVEL: trace, debug, info (default), warn, error, fatal or silent. */
  logLevel: LogLevel;
  /** LEDGER_METRICS_PORT: also serve /metrics without a key on this port (unset: only on the API port, admin key). */
  metricsPort?: number;
  /** LEDGER_READY_MAX_LAG: /health/ready is 503 while the read models trail the log by more events than this. */
  readyMaxLag: number;
  /** LEDGER_RATE_LIMIT: requests per second per API key (default 1000; 0: no limit). */
  rateLimitPerSecond: number;
  /** LEDGER_RETRY_ATTEMPTS, LEDGER_RETRY_BASE_MS, LEDGER_RETRY_CAP_MS: over the store's own conflict retry policy. */
  conflictRetry: Partial<ConflictRetryPolicy>;
  /** LEDGER_HOLD_LAPSE_INTERVAL_MS (default 30000; 0 off): how often the API records due holds as lapsed. */
  holdLapseIntervalMs: number;
  /** LEDGER_EXPIRY_INTERVAL_MS (default 60000; 0 off): how often the API records the lapse of due lots. */
  expiryIntervalMs: number;
  /** LEDGER_TIER_REVIEW_INTERVAL_MS (default 3600000; 0 off): how often the API runs the tiers' anniversary review. */
  tierReviewIntervalMs: number;
  /** LEDGER_PENDING_RELEASE_INTERVAL_MS (default 60000; 0 off): how often the API records pending lots past their window as released. */
  pendingReleaseIntervalMs: number;
  /** LEDGER_BIRTHDAY_INTERVAL_MS (default 3600000; 0 off): how often the API gives the day's birthday bonuses. */
  birthdayIntervalMs: number;
}

export function readServiceEnv(env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const port = intVar(env, 'PORT', 3000, 0, 65535);
  const maxBackdateDays = intVar(env, 'LEDGER_MAX_BACKDATE_DAYS', 90, 0, 3650);
  return {
    port,
    host: env.HOST ?? '0.0.0.0',
    dataDir: env.LEDGER_DATA_DIR ?? './data',
    eventStoreUrl: env.LEDGER_EVENTSTORE || undefined,
    demo: !['0', 'false', 'off', 'no'].includes((env.LEDGER_DEMO ?? 'on').toLowerCase()),
    projector: switchVar(env, 'LEDGER_PROJECTOR'),
    shutdownGraceMs: intVar(env, 'LEDGER_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    readStore: readStoreLocation(env.LEDGER_READ_STORE, env.LEDGER_DATA_DIR ?? './data'),
    ledger: { maxBackdateDays, adminKey: env.LEDGER_ADMIN_KEY || undefined },
    logLevel: parseLogLevel(env.LEDGER_LOG_LEVEL),
    metricsPort: env.LEDGER_METRICS_PORT ? intVar(env, 'LEDGER_METRICS_PORT', 0, 1, 65535) : undefined,
    readyMaxLag: intVar(env, 'LEDGER_READY_MAX_LAG', 1_000, 0, 100_000),
    rateLimitPerSecond: intVar(env, 'LEDGER_RATE_LIMIT', 1_000, 0, 1_000_000),
    conflictRetry: {
      attemptsMax: optionalIntVar(env, 'LEDGER_RETRY_ATTEMPTS', 1, 1_000),
      baseDelayMs: optionalIntVar(env, 'LEDGER_RETRY_BASE_MS', 0, 60_000),
      capDelayMs: optionalIntVar(env, 'LEDGER_RETRY_CAP_MS', 0, 600_000),
    },
    holdLapseIntervalMs: intVar(env, 'LEDGER_HOLD_LAPSE_INTERVAL_MS', 30_000, 0, 86_400_000),
    expiryIntervalMs: intVar(env, 'LEDGER_EXPIRY_INTERVAL_MS', 60_000, 0, 86_400_000),
    tierReviewIntervalMs: intVar(env, 'LEDGER_TIER_REVIEW_INTERVAL_MS', 3_600_000, 0, 86_400_000),
    pendingReleaseIntervalMs: intVar(env, 'LEDGER_PENDING_RELEASE_INTERVAL_MS', 60_000, 0, 86_400_000),
    birthdayIntervalMs: intVar(env, 'LEDGER_BIRTHDAY_INTERVAL_MS', 3_600_000, 0, 86_400_000),
  };
}

/** An on/off variable, on unless it says otherwise; anything unrecognised is refused rather than guessed. */
function switchVar(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || ['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new Error(`${name} must be on or off, got "${env[name]}"`);
}

/** Unset: undefined, so the store's own setting holds. */
function optionalIntVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : intVar(env, name, 0, min, max);
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
