import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface SqliteBackupProgress {
  totalPages: number;
  remainingPages: number;
}

export interface SqliteBackupResult {
  file: string;
  bytes: number;
  /** Events in the copy, and the position of its newest one (undefined when empty). */
  events: number;
  headPosition: number | undefined;
  seconds: number;
}

const BUSY_TIMEOUT_MS = 5_000;
// The most pages better-sqlite3 lets one step copy: every page, in one snapshot.
const ALL_PAGES = 0x7fffffff;

/**
 * An online, consistent copy of the SQLite event store through SQLite's backup API, safe
 * while another process (the API) appends. The first step only measures the file; the
 * second copies every page under one read snapshot (WAL: writers go on meanwhile), so no
 * write made by another connection can land between two steps and restart the copy. The copy is written beside the target and renamed into place once it
 * passes SQLite's integrity check, so a failed backup never leaves a half file.
 */
export async function backupSqliteStore(
  source: string,
  target: string,
  onProgress?: (p: SqliteBackupProgress) => void,
): Promise<SqliteBackupResult> {
  if (!existsSync(source)) throw new Error(`no event store at ${source}`);
  if (existsSync(target)) throw new Error(`${target} already exists; a backup never overwrites a file`);
  const started = process.hrtime.bigint();
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    await db.backup(partial, {
      progress: (p) => {
        onProgress?.(p);
        return ALL_PAGES;
      },
    });
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    db.close();
  }
  const copy = new Database(partial, { fileMustExist: true });
  let events: number;
  let headPosition: number | undefined;
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy failed SQLite's integrity check: ${String(check)}`);
    const row = copy.prepare('SELECT count(*) AS events, max(position) AS head FROM events').get() as {
      events: number;
      head: number | null;
    };
    events = row.events;
    headPosition = row.head ?? undefined;
  } catch (err) {
    copy.close();
    rmSync(partial, { force: true });
    throw err;
  }
  copy.close();
  renameSync(partial, target);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { file: target, bytes: statSync(target).size, events, headPosition, seconds };
}
