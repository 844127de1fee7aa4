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
import { clearImmediate, setImmediate } from "node:timers";
import { StoreUnavailableError, ValidationError } from "../../model/errors.ts";
import type { Task, TaskStatus } from "../../model/task.ts";
import { migratePostgres, type UnsafeQueryable } from "./migrations.ts";
import { MessageChannel } from "./_messages.ts";
import {
  byId,
  describe,
  FINISHED_SQL,
  insertRows,
  isConnectionError,
  NOW_MS,
  pageSize,
  type Row,
  rowToTask,
  settle,
  taskToWire,
  updateSql,
  UUID,
  withDeadline,
} from "./_rows.ts";
import type {
  ClaimedTask,
  FencedWrite,
  Lease,
  NodeHeartbeat,
  NodeRecord,
  SharedMessage,
  SharedMessageListener,
  SharedTaskStore,
} from "../shared_store.ts";
import {
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type InsertOutcome,
  type PruneOptions,
  type StatusCounts,
  type TaskPage,
  type TaskQuery,
} from "../store.ts";

/**
 * Whether a batch is one statement: a single insert() call, or only write()
 * calls (or only writeFenced() calls), which share one UPDATE.
 */
function isOneStatement(operations: Operation[]): boolean {
  const [first] = operations;
  if (first === undefined) return false;
  if (first.kind === "insert") return operations.length === 1;
  if (first.kind === "other") return false;
  return operations.every((operation) => operation.kind === first.kind);
}

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

const MAX_BACKOFF_MS = 5000;
/** How long a write keeps being retried while the database is unreachable. */
const DEFAULT_RETRY_WRITES_MS = 60_000;
/** A node silent for this long is removed from the registry by the next heartbeat of any node. */
const FORGET_NODES_AFTER_MS = 3_600_000;
/** How long prune() trusts its count of finished tasks (new ones wait for the next count). */
const FINISHED_COUNT_TTL_MS = 10_000;

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
  /** Whether this store counts in {@linkcode guardConnectionErrors}. */
  #guarded = false;
  #queue: Operation[] = [];
  #flushTimer: ReturnType<typeof setImmediate> | undefined;
  #flushing: Promise<void> | undefined;
  #healthy = true;
  #healthListeners = new Set<(healthy: boolean) => void>();
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #probeDelayMs = 250;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryWake: (() => void) | undefined;
  readonly #messages: MessageChannel;
  /** Finished tasks as last counted by prune(), kept current with its deletions. */
  #finishedCount: { maxFinished: number; count: number; at: number } | undefined;
  #commits = 0;
  /** Lease tokens this object claimed and has not seen end; renewLeases() renews only these. */
  #heldTokens = new Set<string>();

  /**
   * A store on the database at `url` (`postgres://user:password@host:port/db`,
   * optionally `?schema=NAME`); nothing is connected until `open()`. Throws
   * `ValidationError` for a schema name that is not a plain identifier.
   */
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
    this.#messages = new MessageChannel({
      url: this.#url,
      channel: this.#channel,
      instanceId: this.instanceId,
      applicationName: this.#applicationName,
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 5,
      storeName: this.name,
      query: (run) => this.#query(run),
      fetchTask: (id) => this.get(id),
    });
  }

  get #applicationName(): string {
    return this.#options.applicationName ?? `threadflow ${this.schema}`;
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
    if (!this.#guarded) guardConnectionErrors(+1);
    this.#guarded = true;
    const connectTimeoutSeconds = this.#options.connectTimeoutSeconds ?? 5;
    const sql = postgres(this.#url, {
      max: this.#options.maxConnections ?? 10,
      connect_timeout: connectTimeoutSeconds,
      onnotice: () => {},
      connection: {
        application_name: this.#applicationName,
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
      this.#unguard();
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
    for (const row of rows) this.#heldTokens.add(row.lease_token as string);
    return rows
      .map((row) => ({
        task: rowToTask(row),
        leaseToken: row.lease_token as string,
        leaseExpiresAt: Number(row.lease_expires_at),
      }))
      .sort((a, b) => b.task.priority - a.task.priority || (a.task.id < b.task.id ? -1 : 1));
  }

  async renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]> {
    // Only leases this object claimed: a process restarted with the same node
    // id must not keep alive the tasks its previous life was running.
    const sent = [...this.#heldTokens];
    if (sent.length === 0) return [];
    const rows = await this.#query((sql) =>
      sql.unsafe(
        `UPDATE tasks SET lease_expires_at = ${NOW_MS} + $2::bigint
        WHERE status = 'running' AND node_id = $1::text AND lease_token = ANY($3::uuid[])
        RETURNING id, lease_token, lease_expires_at`,
        [nodeId, Math.trunc(leaseMs), sent],
      )
    );
    // A token that is gone (finished, released, cancelled, reclaimed) never comes back.
    const alive = new Set(rows.map((row) => row.lease_token as string));
    for (const token of sent) if (!alive.has(token)) this.#heldTokens.delete(token);
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
      if (rows.length > 0) {
        await this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
      }
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
          await this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
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
        if (due.length > 0) {
          await this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
        }
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
    return this.#messages.publish(message);
  }

  subscribe(listener: SharedMessageListener): Promise<() => Promise<void>> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#messages.subscribe(listener);
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
    await this.#messages.close();
    const sql = this.#sql;
    this.#sql = undefined;
    // Our queue is drained; only a connection killed under us could linger.
    await sql?.end({ timeout: 1 });
    this.#unguard();
  }

  #unguard(): void {
    if (this.#guarded) guardConnectionErrors(-1);
    this.#guarded = false;
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
      if (isOneStatement(operations)) {
        // One statement is atomic on its own: skip BEGIN and COMMIT (two
        // round trips). Idle nodes are woken after the commit instead of at it.
        const wakeNodes = await this.#query(async (sql) => {
          const [first] = operations;
          if (first.kind !== "insert") return this.#updateGroup(sql, operations, outcomes);
          const outcome = await settle(insertRows(sql, first.tasks));
          if (!outcome.ok && isConnectionError(outcome.value)) throw outcome.value;
          outcomes.set(first, outcome);
          return outcome.ok && first.tasks.some((task) => task.status === "queued");
        });
        this.#commits++;
        if (wakeNodes) this.notifyWork().catch(() => {});
      } else {await this.#query((sql) =>
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
            if (wakeNodes) {
              await this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
            }
          })
        ).then(() => this.#commits++);}
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
    tx: UnsafeQueryable,
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

let openStores = 0;
let lastLeakLog = 0;

/**
 * While PostgreSQL restarts, postgres.js (under Deno's node:net) lets some
 * connection failures escape outside any query this store awaits: a socket's
 * connect or write error as an unhandled rejection, and a write to a socket
 * already closed (`nextWrite` run from `setImmediate`; upstream
 * porsager/postgres#1154 and #1208) as an uncaught TypeError. Unhandled,
 * either would end the process, though the store already treats the
 * connection as lost (health probe, retried writes). While a store is open
 * these two kinds are logged and swallowed here; everything else is left alone.
 */
function guardConnectionErrors(delta: 1 | -1): void {
  const before = openStores;
  openStores = Math.max(0, openStores + delta);
  if (before === 0 && openStores === 1) {
    globalThis.addEventListener("unhandledrejection", onUnhandledRejection);
    globalThis.addEventListener("error", onUncaughtError);
  } else if (before === 1 && openStores === 0) {
    globalThis.removeEventListener("unhandledrejection", onUnhandledRejection);
    globalThis.removeEventListener("error", onUncaughtError);
  }
}

function onUnhandledRejection(event: PromiseRejectionEvent): void {
  if (!isConnectionError(event.reason)) return;
  event.preventDefault();
  logEscaped(event.reason);
}

function onUncaughtError(event: ErrorEvent): void {
  const error = event.error;
  const closedSocketWrite = error instanceof TypeError &&
    error.message.includes("reading 'write'") &&
    /nextWrite|postgres/.test(error.stack ?? "");
  if (!closedSocketWrite && !isConnectionError(error)) return;
  event.preventDefault();
  logEscaped(error);
}

function logEscaped(error: unknown): void {
  const now = Date.now();
  if (now - lastLeakLog > 10_000) {
    lastLeakLog = now;
    console.warn(
      `ThreadFlow: a PostgreSQL connection error escaped its query: ${describe(error)}.`,
    );
  }
}
