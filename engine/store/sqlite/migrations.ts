/**
 * Schema versions of the SQLite store, applied in order at open.
 *
 * Each migration runs in its own transaction together with the row that
 * records it in `schema_migrations`, so a crash mid-migration leaves the
 * database at the previous version. Never edit a published migration; add the
 * next version instead.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** One schema version: the SQL that takes the schema from `version - 1` to `version`. */
export interface SqliteMigration {
  /** Schema version this migration produces (1, 2, …). */
  version: number;
  /** What it changes, in a few words. */
  description: string;
  /** The statements, run in one transaction. */
  sql: string;
}

/** Every schema version, oldest first. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: "tasks table with unique idempotency keys",
    // `payload` and `result` have no declared type, so SQLite stores each
    // value as given: JSON text, or a BLOB for bytes, or NULL for `undefined`.
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY NOT NULL,
        type TEXT NOT NULL,
        payload,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        timeout_ms INTEGER NOT NULL,
        progress REAL,
        result,
        error TEXT,
        created_at INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        worker_id INTEGER,
        idempotency_key TEXT,
        node_id TEXT
      );
      CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (idempotency_key);
      CREATE INDEX tasks_status ON tasks (status);
    `,
  },
  {
    version: 2,
    description: "indexes for list filters (newest first) and retention pruning",
    sql: `
      DROP INDEX tasks_status;
      CREATE INDEX tasks_status_id ON tasks (status, id);
      CREATE INDEX tasks_type_id ON tasks (type, id);
      CREATE INDEX tasks_finished_at ON tasks (finished_at)
        WHERE status IN ('succeeded', 'failed', 'cancelled');
    `,
  },
  {
    version: 3,
    description: "task dependencies; per-type limits and pause",
    // depends_on is a JSON array of task ids; it never changes after insert. task_edges
    // (kept by triggers) finds a task's children.
    sql: `
      ALTER TABLE tasks ADD COLUMN depends_on TEXT;
      ALTER TABLE tasks ADD COLUMN on_parent_failure TEXT;
      CREATE TABLE task_edges (
        parent TEXT NOT NULL,
        child TEXT NOT NULL,
        PRIMARY KEY (parent, child)
      ) WITHOUT ROWID;
      CREATE INDEX task_edges_child ON task_edges (child);
      CREATE TRIGGER tasks_edges_added AFTER INSERT ON tasks WHEN new.depends_on IS NOT NULL
      BEGIN
        INSERT OR IGNORE INTO task_edges (parent, child)
          SELECT value, new.id FROM json_each(new.depends_on);
      END;
      CREATE TRIGGER tasks_edges_gone AFTER DELETE ON tasks WHEN old.depends_on IS NOT NULL
      BEGIN
        DELETE FROM task_edges WHERE child = old.id;
      END;
      CREATE TABLE type_controls (
        type TEXT PRIMARY KEY NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        limits TEXT,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: "schedules; the schedule that submitted a task",
    // A schedule's task template is JSON text. lease_owner/lease_until mark a
    // fire under way (a process that stops mid-fire leaves it to expire).
    sql: `
      ALTER TABLE tasks ADD COLUMN schedule_name TEXT;
      ALTER TABLE tasks ADD COLUMN schedule_tick INTEGER;
      CREATE TABLE schedules (
        name TEXT PRIMARY KEY NOT NULL,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL,
        task TEXT NOT NULL,
        overlap TEXT NOT NULL,
        catch_up TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        next_run_at INTEGER,
        last_tick INTEGER,
        last_task_id TEXT,
        lease_owner TEXT,
        lease_until INTEGER
      );
      CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;
    `,
  },
  {
    version: 5,
    description: "attempt history; retries with changes; list sorts",
    // history is a JSON array of the attempts before the current one, NULL until a run ends
    // and the task runs again (most tasks); retry_of links a retry with changes to its task.
    sql: `
      ALTER TABLE tasks ADD COLUMN history TEXT;
      ALTER TABLE tasks ADD COLUMN retry_of TEXT;
      CREATE INDEX tasks_priority_id ON tasks (priority, id);
    `,
  },
  {
    version: 6,
    description: "the idempotency index holds only tasks that have a key",
    // Most tasks have none: a NULL key no longer costs an index entry on every insert (about
    // 1.3 µs of 10). The insert's ON CONFLICT names the same condition.
    sql: `
      DROP INDEX tasks_idempotency_key;
      CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    `,
  },
];

/** The schema version the current code expects. */
export const SQLITE_SCHEMA_VERSION: number = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]
  .version;

/**
 * Brings the database up to `targetVersion` (default: the latest), applying
 * each missing migration in its own transaction. Returns the versions applied.
 * Refuses a database whose schema is newer than this code knows.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { migrateSqlite } from "./migrations.ts";
 * const db = new DatabaseSync(":memory:");
 * migrateSqlite(db); // [1, 2, 3, 4, 5, 6]
 * migrateSqlite(db); // []
 * db.close();
 * ```
 */
export function migrateSqlite(
  db: DatabaseSync,
  targetVersion: number = SQLITE_SCHEMA_VERSION,
): number[] {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY NOT NULL,
      description TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )
  `);
  const currentVersion = db.prepare(
    "SELECT coalesce(max(version), 0) AS version FROM schema_migrations",
  );
  const readVersion = () => (currentVersion.get() as { version: number }).version;
  const found = readVersion();
  if (found > SQLITE_SCHEMA_VERSION) {
    throw new Error(
      `The database schema is version ${found}, newer than this ThreadFlow knows ` +
        `(${SQLITE_SCHEMA_VERSION}): upgrade ThreadFlow or use another database file.`,
    );
  }
  const applied: number[] = [];
  const record = db.prepare(
    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
  );
  for (const migration of SQLITE_MIGRATIONS) {
    if (migration.version > targetVersion) break;
    // BEGIN IMMEDIATE takes the write lock first, so the version read inside
    // is final even when two processes open the same file at once.
    db.exec("BEGIN IMMEDIATE");
    try {
      if (readVersion() >= migration.version) {
        db.exec("COMMIT");
        continue;
      }
      db.exec(migration.sql);
      record.run(migration.version, migration.description, Date.now());
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    applied.push(migration.version);
  }
  return applied;
}
