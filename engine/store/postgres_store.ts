/**
 * A shared store in PostgreSQL (npm `postgres`): several ThreadFlow nodes use
 * one database, claim work with `FOR UPDATE SKIP LOCKED` under leases, and
 * talk through `LISTEN/NOTIFY`.
 *
 * Writes are group-committed like the SQLite store: the `insert()`,
 * `write()` and `writeFenced()` calls of one event-loop turn share one
 * transaction (consecutive calls of one kind share one statement), and every
 * promise resolves after COMMIT.
 *
 * @module
 */

import postgres from "postgres";
import { Buffer } from "node:buffer";
import { clearImmediate, setImmediate } from "node:timers";
import { StoreUnavailableError, ValidationError } from "../errors.ts";
import type { Task, TaskError, TaskStatus } from "../task.ts";
import { migratePostgres, type UnsafeQueryable } from "./migrations/postgres.ts";
import type {
  ClaimedTask,
  FencedWrite,
  Lease,
  NodeHeartbeat,
  NodeRecord,
  SharedMessage,
  SharedMessageListener,
  SharedTaskStore,
} from "./shared_store.ts";
import {
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type InsertOutcome,
  type PruneOptions,
  type StatusCounts,
  type TaskPage,
  type TaskQuery,
} from "./store.ts";

/** Options for {@linkcode PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Schema holding ThreadFlow's tables; created when missing. Default: the
   * URL's `schema` query parameter, else `threadflow`. Lower-case letters,
   * digits and `_`.
   */
  schema?: string;
  /** Connections in the pool; default 10. */
  maxConnections?: number;
  /** Seconds to wait for a connection; default 5. */
  connectTimeoutSeconds?: number;
  /**
   * While the database is unreachable, `write()`, `writeFenced()` and the
   * other updates are retried with backoff for this long (default 60,000 ms)
   * before their promises reject; they are idempotent, so a retry after a
   * lost acknowledgement is harmless. `insert()` is not retried: it rejects
   * with `StoreUnavailableError` at once (resubmit with an idempotency key).
   */
  retryWritesMs?: number;
  /** `application_name` of the connections; default `threadflow <schema>`. */
  applicationName?: string;
}

type Sql = postgres.Sql;
type Row = Record<string, unknown>;

interface Operation {
  kind: "insert" | "write" | "fenced" | "other";
  tasks: Task[];
  leaseTokens: string[];
  run?: (tx: UnsafeQueryable) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** When its first attempt failed for want of a connection. */
  failedAt?: number;
}

/** NOTIFY payloads must stay under 8000 bytes; keep a margin. */
const MAX_NOTIFY_BYTES = 7900;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')";
const NOW_MS = "(extract(epoch FROM now()) * 1000)::bigint";
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
const MAX_BACKOFF_MS = 5000;
/** How long a write keeps being retried while the database is unreachable. */
const DEFAULT_RETRY_WRITES_MS = 60_000;
/** A node silent for this long is removed from the registry by the next heartbeat of any node. */
const FORGET_NODES_AFTER_MS = 3_600_000;
/** How long prune() trusts its count of finished tasks (new ones wait for the next count). */
const FINISHED_COUNT_TTL_MS = 10_000;

const RECORD = `id uuid, type text, payload text, payload_bytes text, priority smallint,
  status text, attempts integer, max_attempts integer, timeout_ms bigint,
  progress double precision, result text, result_bytes text, error text, created_at bigint,
  run_at bigint, started_at bigint, finished_at bigint, worker_id integer,
  idempotency_key text, node_id text, lease_token uuid`;

const INSERT_SQL = `
  INSERT INTO tasks (id, type, payload, payload_bytes, priority, status, attempts, max_attempts,
    timeout_ms, progress, result, result_bytes, error, created_at, run_at, started_at,
    finished_at, worker_id, idempotency_key, node_id)
  SELECT id, type, payload, decode(payload_bytes, 'base64'), priority, status, attempts,
    max_attempts, timeout_ms, progress, result, decode(result_bytes, 'base64'), error,
    created_at, run_at, started_at, finished_at, worker_id, idempotency_key, node_id
  FROM json_to_recordset($1::text::json) AS v(${RECORD})
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id`;

// The payload, type, creation time and idempotency key never change after
// insert. A write that takes the task out of `running` ends its lease.
function updateSql(fenced: boolean): string {
  return `
  UPDATE tasks t SET priority = v.priority, status = v.status, attempts = v.attempts,
    max_attempts = v.max_attempts, timeout_ms = v.timeout_ms, progress = v.progress,
    result = v.result, result_bytes = decode(v.result_bytes, 'base64'), error = v.error,
    run_at = v.run_at, started_at = v.started_at, finished_at = v.finished_at,
    worker_id = v.worker_id, node_id = v.node_id,
    lease_token = CASE WHEN v.status = 'running' THEN t.lease_token END,
    lease_expires_at = CASE WHEN v.status = 'running' THEN t.lease_expires_at END
  FROM json_to_recordset($1::text::json) AS v(${RECORD})
  WHERE t.id = v.id${fenced ? " AND t.status = 'running' AND t.lease_token = v.lease_token" : ""}
  RETURNING t.id`;
}

/**
 * A {@linkcode SharedTaskStore} in PostgreSQL.
 *
 * @example
 * ```ts
 * import { PostgresStore } from "./postgres_store.ts";
 * const store = new PostgresStore("postgres://postgres@127.0.0.1:5432/test");
 * await store.open();
 * const claimed = await store.claim(4, "node-a", 15_000);
 * console.log(`claimed ${claimed.length}`);
 * await store.close();
 * ```
 */
export class PostgresStore implements SharedTaskStore {
  readonly kind = "shared" as const;
  readonly name: string;
  readonly instanceId: string = crypto.randomUUID();
  /** Schema holding the tables. */
  readonly schema: string;
  readonly #url: string;
  readonly #options: PostgresStoreOptions;
  readonly #channel: string;
  #sql: Sql | undefined;
  #closed = false;
  #queue: Operation[] = [];
  #flushTimer: ReturnType<typeof setImmediate> | undefined;
  #flushing: Promise<void> | undefined;
  #healthy = true;
  #healthListeners = new Set<(healthy: boolean) => void>();
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #probeDelayMs = 250;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryWake: (() => void) | undefined;
  #listeners = new Set<SharedMessageListener>();
  /** The connection that LISTENs (its own, so reconnecting it is in our hands). */
  #listenSql: Sql | undefined;
  #listening: Promise<void> | undefined;
  #relistenTimer: ReturnType<typeof setTimeout> | undefined;
  #relistenDelayMs = 250;
  #delivery: Promise<void> = Promise.resolve();
  #outbox: { message: SharedMessage; resolve(): void; reject(error: unknown): void }[] = [];
  #outboxTimer: ReturnType<typeof setImmediate> | undefined;
  /** Finished tasks as last counted by prune(), kept current with its deletions. */
  #finishedCount: { maxFinished: number; count: number; at: number } | undefined;
  #commits = 0;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const parsed = new URL(url);
    const schema = options.schema ?? parsed.searchParams.get("schema") ?? "threadflow";
    if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema)) {
      throw new ValidationError(
        `Schema must be lower-case letters, digits and "_" (at most 48): received ${
          JSON.stringify(schema)
        }.`,
        "schema",
      );
    }
    parsed.searchParams.delete("schema");
    this.#url = parsed.href;
    this.schema = schema;
    this.#options = options;
    this.#channel = `${schema}_messages`;
    parsed.password = "";
    this.name = `postgres://${parsed.host}${parsed.pathname}?schema=${schema}`;
  }

  /** Group-commit transactions committed so far (for metrics and tests). */
  get commits(): number {
    return this.#commits;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** Connects and migrates. Returns `[]`: the queue of a shared store stays in the database. */
  async open(): Promise<Task[]> {
    if (this.#sql) throw new Error(`The store ${this.name} is already open.`);
    if (this.#closed) throw new StoreUnavailableError(`The store ${this.name} is closed.`);
    const connectTimeoutSeconds = this.#options.connectTimeoutSeconds ?? 5;
    const sql = postgres(this.#url, {
      max: this.#options.maxConnections ?? 10,
      connect_timeout: connectTimeoutSeconds,
      onnotice: () => {},
      connection: {
        application_name: this.#options.applicationName ?? `threadflow ${this.schema}`,
        search_path: this.schema,
      },
    });
    try {
      // Bounded: a connection attempt that neither succeeds nor fails must
      // not hold the engine's start forever.
      await withDeadline(
        migratePostgres(sql, this.schema),
        connectTimeoutSeconds * 1000 + 30_000,
        "no answer from the server",
      );
    } catch (error) {
      await withDeadline(sql.end({ timeout: 0 }), 2_000, "").catch(() => {});
      throw new StoreUnavailableError(
        `Cannot open the PostgreSQL store ${this.name}: ${describe(error)}.`,
      );
    }
    this.#sql = sql;
    return [];
  }

  insert(tasks: Task[]): Promise<InsertOutcome[]> {
    return this.#enqueue({ kind: "insert", tasks, leaseTokens: [] });
  }

  write(tasks: Task[]): Promise<void> {
    return this.#enqueue({ kind: "write", tasks, leaseTokens: [] });
  }

  writeFenced(writes: FencedWrite[]): Promise<string[]> {
    return this.#enqueue({
      kind: "fenced",
      tasks: writes.map((w) => w.task),
      leaseTokens: writes.map((w) => w.leaseToken),
    });
  }

  get(id: string): Promise<Task | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.#read(async (sql) => {
      const [row] = await sql.unsafe("SELECT * FROM tasks WHERE id = $1::uuid", [id]);
      return row ? rowToTask(row) : undefined;
    });
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql.unsafe("SELECT * FROM tasks WHERE idempotency_key = $1::text", [
        key,
      ]);
      return row ? rowToTask(row) : undefined;
    });
  }

  list(query: TaskQuery): Promise<TaskPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const addAny = (column: string, type: string, values: readonly unknown[] | undefined) => {
      if (!values || values.length === 0) return;
      params.push(values);
      where.push(`${column} = ANY($${params.length}::${type}[])`);
    };
    addAny("status", "text", query.status);
    addAny("type", "text", query.type);
    addAny("priority", "smallint", query.priority);
    if (query.cursor !== undefined) {
      const lastId = decodeCursor(query.cursor);
      if (lastId === undefined) {
        return Promise.reject(
          new ValidationError(
            `Cursor must be a value returned as nextCursor: received ${
              JSON.stringify(query.cursor)
            }.`,
            "cursor",
          ),
        );
      }
      params.push(lastId);
      where.push(`id < $${params.length}::uuid`);
    }
    const limit = pageSize(query.limit);
    params.push(limit + 1);
    const text = `SELECT * FROM tasks${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
      ORDER BY id DESC LIMIT $${params.length}::int`;
    return this.#read(async (sql) => {
      const rows = await sql.unsafe(text, params);
      const tasks = rows.slice(0, limit).map(rowToTask);
      const more = rows.length > limit;
      return { tasks, nextCursor: more ? encodeCursor(tasks[tasks.length - 1].id) : null };
    });
  }

  counts(): Promise<StatusCounts> {
    return this.#read(async (sql) => {
      const counts = emptyCounts();
      const rows = await sql.unsafe("SELECT status, count(*)::int AS n FROM tasks GROUP BY status");
      for (const row of rows) counts[row.status as TaskStatus] = row.n as number;
      return counts;
    });
  }

  prune(options: PruneOptions): Promise<number> {
    return this.#other(async (tx) => {
      let budget = Math.max(0, Math.trunc(options.batchSize));
      if (budget === 0) return 0;
      const expired = await tx.unsafe(
        `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE ${FINISHED_SQL}
          AND finished_at < $1::float8 ORDER BY finished_at LIMIT $2::int) RETURNING id`,
        [options.finishedBefore, budget],
      );
      budget -= expired.length;
      const maxFinished = Math.max(0, options.maxFinished);
      // Counting a million finished rows takes a good part of a second, and
      // the engine calls prune() in a loop: count once per loop, then keep
      // the figure up to date with what this store deletes.
      const cached = this.#finishedCount;
      const reuse = cached !== undefined && cached.maxFinished === maxFinished &&
        Date.now() - cached.at < FINISHED_COUNT_TTL_MS;
      let finished: number;
      if (reuse) {
        finished = cached.count - expired.length;
      } else {
        const [{ n }] = await tx.unsafe(
          `SELECT count(*)::int AS n FROM tasks WHERE ${FINISHED_SQL}`,
        );
        finished = n as number;
      }
      const excess = Math.min(finished - maxFinished, budget);
      let oldest = 0;
      if (excess > 0) {
        const rows = await tx.unsafe(
          `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE ${FINISHED_SQL}
            AND finished_at IS NOT NULL ORDER BY finished_at LIMIT $1::int) RETURNING id`,
          [excess],
        );
        oldest = rows.length;
      }
      this.#finishedCount = {
        maxFinished,
        count: finished - oldest,
        at: reuse ? cached.at : Date.now(),
      };
      return expired.length + oldest;
    });
  }

  async claim(n: number, nodeId: string, leaseMs: number): Promise<ClaimedTask[]> {
    if (n <= 0) return [];
    const rows = await this.#query((sql) =>
      sql.unsafe(
        `WITH picked AS (
          SELECT id FROM tasks WHERE status = 'queued' AND run_at <= ${NOW_MS}
          ORDER BY priority DESC, id LIMIT $1::int FOR UPDATE SKIP LOCKED)
        UPDATE tasks t SET status = 'running', attempts = t.attempts + 1,
          started_at = ${NOW_MS}, node_id = $2::text, worker_id = NULL, progress = NULL,
          lease_token = gen_random_uuid(), lease_expires_at = ${NOW_MS} + $3::bigint
        FROM picked WHERE t.id = picked.id
        RETURNING t.*`,
        [Math.trunc(n), nodeId, Math.trunc(leaseMs)],
      )
    );
    return rows
      .map((row) => ({
        task: rowToTask(row),
        leaseToken: row.lease_token as string,
        leaseExpiresAt: Number(row.lease_expires_at),
      }))
      .sort((a, b) => b.task.priority - a.task.priority || (a.task.id < b.task.id ? -1 : 1));
  }

  async renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]> {
    const rows = await this.#query((sql) =>
      sql.unsafe(
        `UPDATE tasks SET lease_expires_at = ${NOW_MS} + $2::bigint
        WHERE status = 'running' AND node_id = $1::text AND lease_token IS NOT NULL
        RETURNING id, lease_token, lease_expires_at`,
        [nodeId, Math.trunc(leaseMs)],
      )
    );
    return rows.map((row) => ({
      taskId: row.id as string,
      leaseToken: row.lease_token as string,
      leaseExpiresAt: Number(row.lease_expires_at),
    })).sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  }

  release(writes: FencedWrite[]): Promise<string[]> {
    if (writes.length === 0) return Promise.resolve([]);
    const wire = writes.map((w) => ({ id: w.task.id, lease_token: w.leaseToken }));
    return this.#other(async (tx) => {
      const rows = await tx.unsafe(
        `UPDATE tasks t SET status = 'queued', attempts = greatest(t.attempts - 1, 0),
          started_at = NULL, worker_id = NULL, node_id = NULL, progress = NULL,
          lease_token = NULL, lease_expires_at = NULL
        FROM json_to_recordset($1::text::json) AS v(id uuid, lease_token uuid)
        WHERE t.id = v.id AND t.status = 'running' AND t.lease_token = v.lease_token
        RETURNING t.id`,
        [JSON.stringify(wire)],
      );
      if (rows.length > 0) await this.#notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
      const released = new Set(rows.map((row) => row.id as string));
      return writes.filter((w) => !released.has(w.task.id)).map((w) => w.task.id);
    });
  }

  async reclaimExpired(): Promise<Task[]> {
    const rows = await this.#query((sql) =>
      sql.begin(async (tx) => {
        const changed = await tx.unsafe(
          `WITH expired AS (
            SELECT id FROM tasks WHERE status = 'running' AND lease_expires_at < ${NOW_MS}
            ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
          UPDATE tasks t SET
            status = CASE WHEN t.attempts >= t.max_attempts THEN 'failed' ELSE 'queued' END,
            finished_at = CASE WHEN t.attempts >= t.max_attempts THEN ${NOW_MS} END,
            error = CASE WHEN t.attempts >= t.max_attempts THEN json_build_object(
              'name', 'LeaseExpiredError',
              'message', 'The node ' || coalesce(t.node_id, '?') || ' running the task stopped '
                || 'renewing its lease (it crashed or lost the database), and the task had '
                || 'used its ' || t.max_attempts || ' attempt(s).')::text ELSE t.error END,
            worker_id = NULL, progress = NULL, lease_token = NULL, lease_expires_at = NULL
          FROM expired WHERE t.id = expired.id
          RETURNING t.*`,
        );
        if (changed.some((row) => row.status === "queued")) {
          await this.#notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
        }
        return changed;
      }) as Promise<Row[]>
    );
    return rows.map(rowToTask).sort(byId);
  }

  async promoteDue(now?: number): Promise<Task[]> {
    const rows = await this.#query((sql) =>
      sql.begin(async (tx) => {
        const due = await tx.unsafe(
          `WITH due AS (
            SELECT id FROM tasks WHERE status = 'scheduled'
              AND run_at <= coalesce($1::float8, ${NOW_MS})
            ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
          UPDATE tasks t SET status = 'queued' FROM due WHERE t.id = due.id RETURNING t.*`,
          [now ?? null],
        );
        if (due.length > 0) await this.#notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
        return due;
      }) as Promise<Row[]>
    );
    return rows.map(rowToTask).sort(byId);
  }

  cancel(id: string): Promise<Task | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.#other(async (tx) => {
      const [row] = await tx.unsafe(
        `UPDATE tasks SET status = 'cancelled', finished_at = ${NOW_MS},
          lease_token = NULL, lease_expires_at = NULL
        WHERE id = $1::uuid AND status IN ('scheduled', 'queued', 'running') RETURNING *`,
        [id],
      );
      return row ? rowToTask(row) : undefined;
    });
  }

  notifyWork(): Promise<void> {
    return this.publish({ kind: "work", origin: this.instanceId });
  }

  publish(message: SharedMessage): Promise<void> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#outbox.push({ message, resolve, reject });
      this.#outboxTimer ??= setImmediate(() => this.#sendOutbox());
    });
  }

  async subscribe(listener: SharedMessageListener): Promise<() => Promise<void>> {
    this.#open();
    this.#listeners.add(listener);
    if (this.#listenSql === undefined) {
      this.#listenSql = postgres(this.#url, {
        max: 1,
        max_lifetime: null,
        fetch_types: false,
        connect_timeout: this.#options.connectTimeoutSeconds ?? 5,
        onnotice: () => {},
        connection: {
          application_name: this.#options.applicationName ?? `threadflow ${this.schema}`,
        },
        // postgres.js hands every NOTIFY of the connection to `onnotify`.
        onnotify: (_channel: string, payload: string) => this.#receive(payload),
        onclose: () => this.#scheduleRelisten(0),
      } as postgres.Options<Record<string, postgres.PostgresType>>);
      this.#listening = this.#listen(false);
    }
    try {
      await this.#listening;
    } catch (error) {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) await this.#stopListening();
      throw error;
    }
    return async () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      await this.#stopListening();
    };
  }

  /** Issues LISTEN; after a reconnect, wakes subscribers (notifications sent meanwhile are lost). */
  async #listen(again: boolean): Promise<void> {
    const sql = this.#listenSql;
    if (sql === undefined) return;
    try {
      await sql.unsafe(`LISTEN "${this.#channel}"`);
    } catch (error) {
      if (isConnectionError(error)) {
        throw new StoreUnavailableError(
          `The PostgreSQL store ${this.name} cannot listen for messages: ${describe(error)}.`,
        );
      }
      throw error;
    }
    this.#relistenDelayMs = 250;
    if (again) this.#deliver({ kind: "work", origin: "" });
  }

  /**
   * The listening connection closed (server restart, network): LISTEN again
   * on a new one, with backoff (250 ms doubling to 5 s) until it works.
   */
  #scheduleRelisten(delayMs: number): void {
    if (this.#closed || this.#listenSql === undefined || this.#relistenTimer !== undefined) return;
    this.#relistenTimer = setTimeout(async () => {
      this.#relistenTimer = undefined;
      try {
        await this.#listen(true);
      } catch {
        this.#relistenDelayMs = Math.min(this.#relistenDelayMs * 2, MAX_BACKOFF_MS);
        this.#scheduleRelisten(this.#relistenDelayMs);
      }
    }, delayMs);
  }

  async #stopListening(): Promise<void> {
    const sql = this.#listenSql;
    this.#listenSql = undefined;
    this.#listening = undefined;
    clearTimeout(this.#relistenTimer);
    this.#relistenTimer = undefined;
    await sql?.end({ timeout: 1 }).catch(() => {});
  }

  async heartbeat(node: NodeHeartbeat): Promise<void> {
    await this.#query((sql) =>
      sql.unsafe(
        `INSERT INTO nodes (node_id, started_at, heartbeat_at, workers, info)
        VALUES ($1::text, $2::bigint, ${NOW_MS}, $3::text::jsonb, $4::text::jsonb)
        ON CONFLICT (node_id) DO UPDATE SET started_at = excluded.started_at,
          heartbeat_at = excluded.heartbeat_at, workers = excluded.workers, info = excluded.info`,
        [
          node.nodeId,
          Math.trunc(node.startedAt),
          JSON.stringify(node.workers),
          JSON.stringify(node.info ?? {}),
        ],
      )
    );
    // Nodes that died without removeNode() would stay listed forever otherwise.
    await this.#query((sql) =>
      sql.unsafe(`DELETE FROM nodes WHERE heartbeat_at < ${NOW_MS} - $1::bigint`, [
        FORGET_NODES_AFTER_MS,
      ])
    );
  }

  async nodes(maxAgeMs = 15_000): Promise<NodeRecord[]> {
    const rows = await this.#query((sql) =>
      sql.unsafe(
        `SELECT * FROM nodes WHERE heartbeat_at >= ${NOW_MS} - $1::bigint ORDER BY node_id`,
        [Math.trunc(maxAgeMs)],
      )
    );
    return rows.map((row) => ({
      nodeId: row.node_id as string,
      startedAt: Number(row.started_at),
      heartbeatAt: Number(row.heartbeat_at),
      workers: row.workers as NodeRecord["workers"],
      info: row.info as Record<string, unknown>,
    }));
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.#query((sql) => sql.unsafe("DELETE FROM nodes WHERE node_id = $1::text", [nodeId]));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#retryWake?.(); // the queued retries then run once more, or reject
    clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    while (this.#flushing || this.#queue.length > 0) {
      if (!this.#flushing) this.#startFlush();
      await this.#flushing;
    }
    if (this.#outboxTimer !== undefined) {
      clearImmediate(this.#outboxTimer);
      await this.#sendOutbox();
    }
    this.#listeners.clear();
    await this.#stopListening();
    await this.#delivery;
    const sql = this.#sql;
    this.#sql = undefined;
    // Our queue is drained; only a connection killed under us could linger.
    await sql?.end({ timeout: 1 });
  }

  // --- group commit ---------------------------------------------------------

  #enqueue<T>(operation: Omit<Operation, "resolve" | "reject">): Promise<T> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ ...operation, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushing) this.#flushTimer ??= setImmediate(() => this.#startFlush());
    });
  }

  /** A write that is not batched into one statement: its own savepoint in the batch. */
  #other<T>(run: (tx: UnsafeQueryable) => Promise<T>): Promise<T> {
    return this.#enqueue({ kind: "other", tasks: [], leaseTokens: [], run });
  }

  /** Reads see the writes called before them: behind a pending batch, they join it. */
  #read<T>(run: (sql: UnsafeQueryable) => Promise<T>): Promise<T> {
    if (this.#queue.length > 0 || this.#flushing) return this.#other(run);
    return this.#query(run as (sql: Sql) => Promise<T>);
  }

  #startFlush(): void {
    this.#flushTimer = undefined;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0 && !this.#closed) {
        this.#flushTimer ??= setImmediate(() => this.#startFlush());
      }
    });
  }

  async #flush(): Promise<void> {
    const operations = this.#queue;
    this.#queue = [];
    const outcomes = new Map<Operation, { ok: boolean; value: unknown }>();
    try {
      await this.#query((sql) =>
        sql.begin(async (tx) => {
          let wakeNodes = false;
          for (let i = 0; i < operations.length;) {
            let j = i + 1;
            const kind = operations[i].kind;
            while (kind !== "other" && j < operations.length && operations[j].kind === kind) j++;
            const group = operations.slice(i, j);
            i = j;
            if (kind === "insert") {
              wakeNodes = await this.#insertGroup(tx, group, outcomes) || wakeNodes;
            } else if (kind === "other") {
              const op = group[0];
              outcomes.set(op, await settle(tx.savepoint((sp) => op.run!(sp))));
            } else wakeNodes = await this.#updateGroup(tx, group, outcomes) || wakeNodes;
          }
          if (wakeNodes) await this.#notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
        })
      );
      this.#commits++;
    } catch (error) {
      await this.#retryOrReject(operations, error);
      return;
    }
    for (const operation of operations) {
      const outcome = outcomes.get(operation)!;
      if (outcome.ok) operation.resolve(outcome.value);
      else operation.reject(outcome.value);
    }
  }

  /**
   * After a batch failed for want of a connection, puts its updates back at
   * the head of the queue (within their retry window) and waits a backoff
   * before the next flush; everything else is rejected.
   */
  async #retryOrReject(operations: Operation[], error: unknown): Promise<void> {
    const now = Date.now();
    const window = this.#options.retryWritesMs ?? DEFAULT_RETRY_WRITES_MS;
    const retry: Operation[] = [];
    for (const operation of operations) {
      const retryable = error instanceof StoreUnavailableError && !this.#closed &&
        operation.kind !== "insert" && now - (operation.failedAt ??= now) < window;
      if (retryable) retry.push(operation);
      else operation.reject(error);
    }
    if (retry.length === 0) return;
    this.#queue.unshift(...retry);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#retryWake = resolve;
    this.#retryTimer = setTimeout(resolve, this.#probeDelayMs);
    await promise;
    clearTimeout(this.#retryTimer);
    this.#retryWake = undefined;
  }

  /** Inserts a run of insert() calls in one statement; if it fails, each call alone. */
  async #insertGroup(
    tx: postgres.TransactionSql,
    group: Operation[],
    outcomes: Map<Operation, { ok: boolean; value: unknown }>,
  ): Promise<boolean> {
    const all = group.flatMap((op) => op.tasks);
    const merged = await settle(tx.savepoint((sp) => insertRows(sp, all)));
    if (merged.ok) {
      let offset = 0;
      for (const op of group) {
        const value = (merged.value as InsertOutcome[]).slice(offset, offset + op.tasks.length);
        outcomes.set(op, { ok: true, value });
        offset += op.tasks.length;
      }
    } else if (group.length === 1) {
      outcomes.set(group[0], merged);
    } else {
      for (const op of group) {
        outcomes.set(op, await settle(tx.savepoint((sp) => insertRows(sp, op.tasks))));
      }
    }
    return all.some((task) => task.status === "queued");
  }

  /** Applies a run of write() (or writeFenced()) calls in one UPDATE. */
  async #updateGroup(
    tx: postgres.TransactionSql,
    group: Operation[],
    outcomes: Map<Operation, { ok: boolean; value: unknown }>,
  ): Promise<boolean> {
    const fenced = group[0].kind === "fenced";
    // One row per task (the last write wins): UPDATE ... FROM with two source
    // rows for one target row would apply either.
    const latest = new Map<string, Row>();
    for (const op of group) {
      op.tasks.forEach((task, index) =>
        latest.set(task.id, taskToWire(task, op.leaseTokens[index]))
      );
    }
    if (latest.size === 0) {
      for (const op of group) outcomes.set(op, { ok: true, value: fenced ? [] : undefined });
      return false;
    }
    const rows = await tx.unsafe(updateSql(fenced), [JSON.stringify([...latest.values()])]);
    const applied = new Set(rows.map((row) => row.id as string));
    for (const op of group) {
      const refused = op.tasks.filter((task) => !applied.has(task.id)).map((task) => task.id);
      outcomes.set(op, { ok: true, value: fenced ? refused : undefined });
    }
    return [...latest.values()].some((row) =>
      row.status === "queued" && applied.has(row.id as string)
    );
  }

  // --- messages -------------------------------------------------------------

  async #sendOutbox(): Promise<void> {
    this.#outboxTimer = undefined;
    const batch = this.#outbox;
    this.#outbox = [];
    if (batch.length === 0) return;
    try {
      await this.#query((sql) => this.#notifyIn(sql, batch.map((entry) => entry.message)));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }

  /** Sends messages as few NOTIFYs as fit under the payload limit (inside `sql`'s transaction, if any). */
  async #notifyIn(sql: UnsafeQueryable, messages: SharedMessage[]): Promise<void> {
    const payloads: string[] = [];
    let current: string[] = [];
    let size = 2 + 37; // brackets, sender id and newline
    for (const message of messages) {
      const text = encodeMessage(message);
      const bytes = new TextEncoder().encode(text).length + 1;
      if (current.length > 0 && size + bytes > MAX_NOTIFY_BYTES) {
        payloads.push(`${this.instanceId}\n[${current.join(",")}]`);
        current = [];
        size = 2 + 37;
      }
      current.push(text);
      size += bytes;
    }
    if (current.length > 0) payloads.push(`${this.instanceId}\n[${current.join(",")}]`);
    await sql.unsafe(
      "SELECT pg_notify($1::text, p) FROM unnest($2::text[]) WITH ORDINALITY AS x(p, i) ORDER BY i",
      [
        this.#channel,
        payloads,
      ],
    );
  }

  #receive(payload: string): void {
    // "<sender instanceId>\n<JSON array>": a store skips what it sent itself
    // without parsing it (its engine has those events already).
    const newline = payload.indexOf("\n");
    if (newline < 0 || payload.slice(0, newline) === this.instanceId) return;
    let wire: Row[];
    try {
      wire = JSON.parse(payload.slice(newline + 1));
    } catch {
      return;
    }
    // Delivered in order, even when a by-reference event needs a fetch first.
    this.#delivery = this.#delivery.then(async () => {
      for (const item of wire) {
        const message = await this.#expand(item).catch(() => undefined);
        if (message) this.#deliver(message);
      }
    });
  }

  async #expand(item: Row): Promise<SharedMessage | undefined> {
    const ref = item.ref as { type: string; seq: number; at: number; taskId: string } | undefined;
    if (!ref) return item as unknown as SharedMessage;
    const task = await this.get(ref.taskId);
    if (!task) return undefined; // pruned meanwhile
    const event = { type: ref.type, seq: ref.seq, at: ref.at, task };
    return { kind: "event", origin: item.origin as string, event } as SharedMessage;
  }

  #deliver(message: SharedMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        console.error("A shared-store message listener threw:", error);
      }
    }
  }

  // --- connection health ----------------------------------------------------

  /** The connection pool, for a new call: refused once close() started. */
  #open(): Sql {
    if (this.#closed) throw new StoreUnavailableError(`The store ${this.name} is closed.`);
    return this.#connection();
  }

  /** The connection pool, for work already accepted (close() finishes it). */
  #connection(): Sql {
    if (!this.#sql) {
      throw new StoreUnavailableError(
        `The store ${this.name} is ${this.#closed ? "closed" : "not open yet"}.`,
      );
    }
    return this.#sql;
  }

  /** Runs a query; a lost connection marks the store unhealthy and becomes StoreUnavailableError. */
  async #query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#connection();
    try {
      const value = await run(sql);
      if (!this.#healthy) this.#setHealthy(true);
      return value;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.#setHealthy(false);
      throw new StoreUnavailableError(
        `The PostgreSQL store ${this.name} is unreachable: ${describe(error)}.`,
      );
    }
  }

  #setHealthy(healthy: boolean): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    for (const listener of this.#healthListeners) listener(healthy);
    if (!healthy) {
      this.#probeDelayMs = 250;
      this.#scheduleProbe();
    } else {
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
    }
  }

  /** While unhealthy, pings with backoff (250 ms doubling to 5 s) until the database answers. */
  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer !== undefined) return;
    this.#probeTimer = setTimeout(async () => {
      this.#probeTimer = undefined;
      try {
        await this.#query((sql) => sql`SELECT 1`);
      } catch {
        this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, MAX_BACKOFF_MS);
        if (!this.#healthy) this.#scheduleProbe();
      }
    }, this.#probeDelayMs);
  }
}

// --- encoding ---------------------------------------------------------------

async function insertRows(sql: UnsafeQueryable, tasks: Task[]): Promise<InsertOutcome[]> {
  if (tasks.length === 0) return [];
  const rows = await sql.unsafe(INSERT_SQL, [JSON.stringify(tasks.map((t) => taskToWire(t)))]);
  const created = new Set(rows.map((row) => row.id as string));
  const keys = tasks.filter((t) => !created.has(t.id)).map((t) => t.idempotencyKey);
  const existing = new Map<string, Task>();
  if (keys.length > 0) {
    const found = await sql.unsafe("SELECT * FROM tasks WHERE idempotency_key = ANY($1::text[])", [
      keys,
    ]);
    for (const row of found) existing.set(row.idempotency_key as string, rowToTask(row));
  }
  return tasks.map((task) =>
    created.has(task.id)
      ? { task: { ...task }, created: true }
      : { task: existing.get(task.idempotencyKey!)!, created: false }
  );
}

/** `promise`, or a rejection with `message` after `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function settle(promise: Promise<unknown>): Promise<{ ok: boolean; value: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, value: error };
  }
}

/** A task event whose task is small JSON travels whole; otherwise by id, fetched on arrival. */
function encodeMessage(message: SharedMessage): string {
  if (message.kind === "event" && "task" in message.event) {
    const { task, type, seq, at } = message.event;
    const inline = !(task.payload instanceof Uint8Array) && !(task.result instanceof Uint8Array);
    const text = inline ? JSON.stringify(message) : "";
    if (inline && new TextEncoder().encode(text).length < MAX_NOTIFY_BYTES - 2) return text;
    return JSON.stringify({
      kind: "event",
      origin: message.origin,
      ref: { type, seq, at, taskId: task.id },
    });
  }
  return JSON.stringify(message);
}

function encodeValue(value: unknown): [string | null, string | null] {
  if (value === undefined) return [null, null];
  if (value instanceof Uint8Array) {
    return [null, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")];
  }
  return [JSON.stringify(value) ?? null, null];
}

function decodeValue(text: unknown, bytes: unknown): unknown {
  if (bytes instanceof Uint8Array) return new Uint8Array(bytes);
  if (text === null || text === undefined) return undefined;
  return JSON.parse(text as string);
}

function taskToWire(task: Task, leaseToken?: string): Row {
  const [payload, payloadBytes] = encodeValue(task.payload);
  const [result, resultBytes] = encodeValue(task.result);
  return {
    id: task.id,
    type: task.type,
    payload,
    payload_bytes: payloadBytes,
    priority: task.priority,
    status: task.status,
    attempts: task.attempts,
    max_attempts: task.maxAttempts,
    timeout_ms: task.timeoutMs,
    progress: task.progress ?? null,
    result,
    result_bytes: resultBytes,
    error: task.error ? JSON.stringify(task.error) : null,
    created_at: task.createdAt,
    run_at: task.runAt,
    started_at: task.startedAt ?? null,
    finished_at: task.finishedAt ?? null,
    worker_id: task.workerId ?? null,
    idempotency_key: task.idempotencyKey ?? null,
    node_id: task.nodeId ?? null,
    lease_token: leaseToken ?? null,
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function rowToTask(row: Row): Task {
  return {
    id: row.id as string,
    type: row.type as string,
    payload: decodeValue(row.payload, row.payload_bytes),
    priority: row.priority as number,
    status: row.status as TaskStatus,
    attempts: row.attempts as number,
    maxAttempts: row.max_attempts as number,
    timeoutMs: Number(row.timeout_ms),
    progress: row.progress as number | null,
    result: decodeValue(row.result, row.result_bytes),
    error: row.error === null ? null : JSON.parse(row.error as string) as TaskError,
    createdAt: Number(row.created_at),
    runAt: Number(row.run_at),
    startedAt: numberOrNull(row.started_at),
    finishedAt: numberOrNull(row.finished_at),
    workerId: row.worker_id as number | null,
    idempotencyKey: row.idempotency_key as string | null,
    nodeId: row.node_id as string | null,
  };
}

function byId(a: Task, b: Task): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit)));
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

/** postgres.js connection errors, socket errors, and PostgreSQL's connection-class SQLSTATEs. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // 53300 too_many_connections, 53400 configuration_limit_exceeded: transient too.
  return code.startsWith("CONNECT") || code.startsWith("08") || code.startsWith("57P") ||
    code === "53300" || code === "53400" ||
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(
      code,
    );
}
