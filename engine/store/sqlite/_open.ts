/**
 * Private to the SQLite store: opening its file. WAL mode, the sync level,
 * the schema migrations, a check that the file is writable, and a lock file
 * that keeps a second process off the same database.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { StoreUnavailableError } from "../../model/errors.ts";
import { migrateSqlite } from "./migrations.ts";
import { describe } from "./_rows.ts";
import { WalSync } from "./_wal_sync.ts";

/** An open database and the lock the store holds beside it. */
export interface OpenDatabase {
  db: DatabaseSync;
  /** Held while open (none for `:memory:`). */
  lock: Deno.FsFile | undefined;
}

/**
 * Opens (or creates, with its folder) the database at `path` and migrates
 * it. Throws `StoreUnavailableError` saying why it cannot.
 */
export function openDatabase(path: string, synchronous: "full" | "normal"): OpenDatabase {
  try {
    if (path !== ":memory:") Deno.mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    let lock: Deno.FsFile | undefined;
    try {
      configure(db, path, synchronous);
      const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
      if (path !== ":memory:" && mode.journal_mode !== "wal") {
        throw new Error(`WAL mode could not be enabled (journal_mode is ${mode.journal_mode})`);
      }
      migrateSqlite(db);
      // SQLite silently opens a file it may not write read-only; a header
      // write (same value) fails now instead of at the first submit.
      const { user_version } = db.prepare("PRAGMA user_version").get() as {
        user_version: number;
      };
      db.exec(`PRAGMA user_version = ${user_version}`);
      if (path !== ":memory:") lock = acquireLock(path);
      return { db, lock };
    } catch (error) {
      db.close();
      lock?.close();
      throw error;
    }
  } catch (error) {
    throw openFailure(path, error);
  }
}

/** A second connection to the open, migrated database at `path`, for the store's writes. */
export function openWriteConnection(path: string, synchronous: "full" | "normal"): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    configure(db, path, synchronous);
    return db;
  } catch (error) {
    db.close();
    throw openFailure(path, error);
  }
}

/**
 * What syncs the WAL of the database at `path` after each commit: none
 * unless `synchronous` is `full` on a file (see {@linkcode configure}).
 */
export function walSync(path: string, synchronous: "full" | "normal"): WalSync | undefined {
  return syncsItself(path, synchronous) ? new WalSync(path) : undefined;
}

function syncsItself(path: string, synchronous: "full" | "normal"): boolean {
  return synchronous === "full" && path !== ":memory:";
}

function configure(db: DatabaseSync, path: string, synchronous: "full" | "normal"): void {
  db.exec("PRAGMA busy_timeout = 5000");
  // FULL would fsync the WAL inside COMMIT, blocking the thread; at NORMAL the
  // store syncs the WAL itself after each commit, asynchronously, before it answers.
  const level = syncsItself(path, synchronous) ? "NORMAL" : synchronous.toUpperCase();
  db.exec(`PRAGMA synchronous = ${level}`);
  // 8 MiB of pages: a queue's hot pages (recent rows, the queued index) fit, and the
  // cache is full soon instead of growing with the file for most of an hour.
  db.exec("PRAGMA cache_size = -8000");
  // After a burst, a checkpoint truncates the WAL back to at most 64 MiB.
  db.exec("PRAGMA journal_size_limit = 67108864");
}

/** The error a failure to open the database at `path` is reported as. */
export function openFailure(path: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  return new StoreUnavailableError(
    `Cannot open the SQLite database at "${path}": ${describe(error)}. ` +
      "Expected a writable file path (its folder is created when missing).",
  );
}

/**
 * Takes an exclusive lock on `PATH.lock` (a separate file: closing a second
 * handle on the database file itself would drop SQLite's own locks).
 */
function acquireLock(path: string): Deno.FsFile {
  const lockPath = `${path}.lock`;
  const file = Deno.openSync(lockPath, { read: true, write: true, create: true });
  if (!file.tryLockSync(true)) {
    file.close();
    throw new StoreUnavailableError(
      `Cannot open the SQLite database at "${path}": another process has it open ` +
        `("${lockPath}" is locked). Stop that process, or give this one its own file.`,
    );
  }
  return file;
}
