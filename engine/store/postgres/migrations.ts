/**
 * Schema versions of the PostgreSQL store, applied in order at open inside
 * the store's schema (the `schema` option, default `threadflow`).
 *
 * Nodes starting together serialise on an advisory lock, so each migration
 * runs once. Never edit a published migration; add the next version instead.
 *
 * @module
 */

import type postgres from "postgres";

/** One schema version. */
export interface PostgresMigration {
  /** Schema version this migration produces (1, 2, …). */
  version: number;
  /** What it changes, in a few words. */
  description: string;
  /** The statements, run in one transaction. */
  sql: string;
}

/** Every schema version, oldest first. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: "tasks with leases, node registry",
    // JSON values are kept as text (exact round trip; jsonb would reorder
    // keys), bytes in the *_bytes columns. Times are ms since epoch (bigint),
    // like the Task model.
    sql: `
      CREATE TABLE tasks (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        payload text,
        payload_bytes bytea,
        priority smallint NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL,
        max_attempts integer NOT NULL,
        timeout_ms bigint NOT NULL,
        progress double precision,
        result text,
        result_bytes bytea,
        error text,
        created_at bigint NOT NULL,
        run_at bigint NOT NULL,
        started_at bigint,
        finished_at bigint,
        worker_id integer,
        idempotency_key text UNIQUE,
        node_id text,
        lease_token uuid,
        lease_expires_at bigint
      );
      CREATE INDEX tasks_claim ON tasks (priority DESC, id) WHERE status = 'queued';
      CREATE INDEX tasks_scheduled ON tasks (run_at) WHERE status = 'scheduled';
      CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'running';
      CREATE INDEX tasks_running_node ON tasks (node_id) WHERE status = 'running';
      CREATE INDEX tasks_status_id ON tasks (status, id);
      CREATE INDEX tasks_type_id ON tasks (type, id);
      CREATE INDEX tasks_finished_at ON tasks (finished_at)
        WHERE status IN ('succeeded', 'failed', 'cancelled');
      CREATE TABLE nodes (
        node_id text PRIMARY KEY,
        started_at bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        workers jsonb NOT NULL,
        info jsonb NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "claimed tasks stay queued; counter tables for cluster stats",
    // A claimed task now stays 'queued' (leased to its node) until a worker
    // starts it, so the claim index holds only unclaimed ready tasks. Counts
    // by status and priority are kept by statement triggers that append
    // deltas (no row is ever contended); any node folds them into the totals.
    sql: `
      DROP INDEX tasks_claim;
      CREATE INDEX tasks_ready ON tasks (priority DESC, run_at, id)
        WHERE status = 'queued' AND lease_token IS NULL;
      CREATE INDEX tasks_claimed ON tasks (lease_expires_at)
        WHERE status = 'queued' AND lease_token IS NOT NULL;
      CREATE TABLE task_counts (
        status text NOT NULL,
        priority smallint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (status, priority)
      );
      CREATE TABLE task_count_deltas (status text NOT NULL, priority smallint NOT NULL,
        n bigint NOT NULL);
      INSERT INTO task_counts (status, priority, n)
        SELECT status, priority, count(*) FROM tasks GROUP BY status, priority;
      CREATE FUNCTION count_inserted_tasks() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          INSERT INTO task_count_deltas (status, priority, n)
            SELECT status, priority, count(*) FROM new_rows GROUP BY status, priority;
          RETURN NULL;
        END $$;
      CREATE FUNCTION count_updated_tasks() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          INSERT INTO task_count_deltas (status, priority, n)
            SELECT status, priority, sum(d) FROM (
              SELECT status, priority, -1 AS d FROM old_rows
              UNION ALL SELECT status, priority, 1 AS d FROM new_rows) AS c
            GROUP BY status, priority HAVING sum(d) <> 0;
          RETURN NULL;
        END $$;
      CREATE FUNCTION count_deleted_tasks() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          INSERT INTO task_count_deltas (status, priority, n)
            SELECT status, priority, -count(*) FROM old_rows GROUP BY status, priority;
          RETURN NULL;
        END $$;
      CREATE TRIGGER tasks_counted_on_insert AFTER INSERT ON tasks
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_tasks();
      CREATE TRIGGER tasks_counted_on_update AFTER UPDATE ON tasks
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION count_updated_tasks();
      CREATE TRIGGER tasks_counted_on_delete AFTER DELETE ON tasks
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_tasks();
    `,
  },
  {
    version: 3,
    description: "task dependencies; per-type limits and pause",
    // A dependent task lists its parents in depends_on; the GIN index finds
    // a task's children (the blocked ones when it ends, all for its page). type_controls holds a
    // type's pause and limits, and the shared token bucket of its rate; a
    // claim of a limited type locks its row. tasks_held_type counts the tasks
    // of a type held by nodes (claimed or running) for its concurrency.
    sql: `
      ALTER TABLE tasks ADD COLUMN depends_on uuid[], ADD COLUMN on_parent_failure text;
      CREATE INDEX tasks_depends_on ON tasks USING gin (depends_on);
      CREATE INDEX tasks_ready_type ON tasks (type, priority DESC, run_at, id)
        WHERE status = 'queued' AND lease_token IS NULL;
      CREATE INDEX tasks_held_type ON tasks (type)
        WHERE status = 'running' OR (status = 'queued' AND lease_token IS NOT NULL);
      CREATE TABLE type_controls (
        type text PRIMARY KEY,
        paused boolean NOT NULL DEFAULT false,
        limits text,
        tokens double precision,
        tokens_at bigint,
        updated_at bigint NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: "schedules; the schedule that submitted a task",
    // A schedule row is claimed for a fire by a conditional UPDATE of its
    // lease (lease_owner, lease_until); each fire's task carries the
    // idempotency key schedule:<name>:<tick ISO>, unique in tasks, so a tick
    // fires once even when a node dies between submitting and advancing.
    sql: `
      ALTER TABLE tasks ADD COLUMN schedule_name text, ADD COLUMN schedule_tick bigint;
      CREATE TABLE schedules (
        name text PRIMARY KEY,
        cron text NOT NULL,
        timezone text NOT NULL,
        task text NOT NULL,
        overlap text NOT NULL,
        catch_up text NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        next_run_at bigint,
        last_tick bigint,
        last_task_id uuid,
        lease_owner text,
        lease_until bigint
      );
      CREATE INDEX schedules_due ON schedules (next_run_at) WHERE NOT paused;
    `,
  },
  {
    version: 5,
    description: "attempt history; retries with changes; list sorts",
    // history: JSON text of the attempts before the current one, NULL until a run ends and the
    // task runs again (most tasks never write it). retry_of links a retry with changes.
    sql: `
      ALTER TABLE tasks ADD COLUMN history text, ADD COLUMN retry_of uuid;
      CREATE INDEX tasks_priority_id ON tasks (priority, id);
    `,
  },
];

/** The schema version the current code expects. */
export const POSTGRES_SCHEMA_VERSION: number =
  POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;

/** The one method of a postgres.js `sql` (or transaction) the store code needs. */
export interface UnsafeQueryable {
  /** Runs `query` with `$1`… bound to `parameters`; resolves with the rows. */
  unsafe(query: string, parameters?: unknown[]): PromiseLike<Record<string, unknown>[]>;
}

/**
 * Creates `schema` when missing and brings it up to `targetVersion` (default:
 * the latest) in one transaction, under an advisory lock so nodes starting
 * together migrate once. Returns the versions applied. `schema` must be a
 * plain lower-case identifier (checked by the store).
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { migratePostgres } from "./migrations.ts";
 * const sql = postgres("postgres://postgres@127.0.0.1:5432/test");
 * await migratePostgres(sql, "threadflow");
 * await sql.end();
 * ```
 */
export function migratePostgres(
  sql: postgres.Sql,
  schema: string,
  targetVersion: number = POSTGRES_SCHEMA_VERSION,
): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1::text))", [`threadflow:${schema}`]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
    await tx.unsafe(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const [row] = await tx.unsafe(
      "SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations",
    );
    const current = row.version as number;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `The schema "${schema}" is at version ${current}, newer than this ThreadFlow knows ` +
          `(${POSTGRES_SCHEMA_VERSION}): upgrade ThreadFlow or use another schema.`,
      );
    }
    const applied: number[] = [];
    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version <= current || migration.version > targetVersion) continue;
      await tx.unsafe(migration.sql);
      await tx.unsafe(
        "INSERT INTO schema_migrations (version, description) VALUES ($1::int, $2::text)",
        [migration.version, migration.description],
      );
      applied.push(migration.version);
    }
    return applied;
  }) as Promise<number[]>;
}
