export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export interface LedgerConfig {
  /** How far back a business date may lie (LEDGER_MAX_BACKDATE_DAYS). */
  maxBackdateDays: number;
  /** Accepted as an admin key when set (LEDGER_ADMIN_KEY); never stored. */
  adminKey?: string;
}

export const defaultLedgerConfig = (): LedgerConfig => ({ maxBackdateDays: 90 });
