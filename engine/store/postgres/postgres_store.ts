/**
 * A shared store in PostgreSQL (npm `postgres`): several ThreadFlow nodes use
 * one database, claim work with `FOR UPDATE SKIP LOCKED` under leases, and
 * talk through `LISTEN/NOTIFY`.
 *
 * Writes are group-committed like the SQLite store ({@linkcode GroupCommit}):
 * the `insert()`, `write()` and `writeFenced()` calls of one event-loop turn
 * share one transaction, and every promise resolves after COMMIT. The state
 * changes a node makes in SQL (claims, sweeps, cancels) live in `_changes.ts`.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import postgres from "postgres";
import { StoreUnavailableError, ValidationError } from "../../model/errors.ts";
import type { StoreQuery, TaskPage } from "../../model/query.ts";
import type { StatusCounts, Task, TaskError } from "../../model/task.ts";
import type {
  StoredTypeControl,
  TypeControlChange,
  TypeLimits,
} from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import { GroupCommit } from "../group_commit.ts";
import type { InsertOutcome, PruneOptions } from "../store.ts";
import type {
  BlockedScope,
  CancelChange,
  ClaimedTask,
  ClusterDepth,
  FencedWrite,
  Lease,
  LimitedClaim,
  NodeHeartbeat,
  NodeRecord,
  SharedMessage,
  SharedMessageListener,
  SharedTaskStore,
  StoreChange,
} from "../shared_store.ts";
import { migratePostgres, type UnsafeQueryable } from "./migrations.ts";
import { MessageChannel } from "./_messages.ts";
import { type Operation, runBatch } from "./_batch.ts";
import * as changes from "./_changes.ts";
import * as nodes from "./_nodes.ts";
import * as control from "./_queue_control.ts";
import * as schedules from "./_schedules.ts";
import { guardConnectionErrors } from "./_guard.ts";
import { ConnectionHealth } from "./_health.ts";
import { COUNTS_BY_TYPE_SQL, countsByTypeOf, listSql } from "./_list.ts";
import { describe, rowToTask, UUID, withDeadline } from "./_rows.ts";

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

/** How long a write keeps being retried while the database is unreachable. */
const DEFAULT_RETRY_WRITES_MS = 60_000;

/**
 * A {@linkcode SharedTaskStore} in PostgreSQL.
 *
 * @example
 * ```ts
 * import { PostgresStore } from "./engine/store/postgres/postgres_store.ts";
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
  #sql: Sql | undefined;
  #closed = false;
  /** Whether this store counts in {@linkcode guardConnectionErrors}. */
  #guarded = false;
  #commits: GroupCommit<Operation>;
  #committed = 0;
  #health: ConnectionHealth;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryWake: (() => void) | undefined;
  readonly #messages: MessageChannel;
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
    parsed.password = "";
    this.name = `postgres://${parsed.host}${parsed.pathname}?schema=${schema}`;
    this.#commits = new GroupCommit((batch) => this.#flush(batch), "immediate");
    this.#health = new ConnectionHealth(this.name, () => this.#query((sql) => sql`SELECT 1`));
    this.#messages = new MessageChannel({
      url: this.#url,
      channel: `${schema}_messages`,
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
    return this.#committed;
  }

  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    return this.#health.onChange(listener);
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
      connection: { application_name: this.#applicationName, search_path: this.schema },
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

  getMany(ids: string[]): Promise<Task[]> {
    const valid = ids.filter((id) => UUID.test(id));
    if (valid.length === 0) return Promise.resolve([]);
    return this.#read(async (sql) => {
      const rows = await sql.unsafe("SELECT * FROM tasks WHERE id = ANY($1::uuid[])", [valid]);
      return rows.map(rowToTask);
    });
  }

  dependents(id: string, limit: number): Promise<Task[]> {
    if (!UUID.test(id)) return Promise.resolve([]);
    return this.#read(async (sql) => {
      const rows = await sql.unsafe(
        `SELECT * FROM tasks WHERE depends_on @> ARRAY[$1::uuid] ORDER BY id DESC LIMIT $2::int`,
        [id, limit],
      );
      return rows.map(rowToTask);
    });
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return this.#read((sql) => control.typeControls(sql));
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    return this.#other((tx) => control.saveTypeControl(tx, type, change.paused, change.limits));
  }

  schedules(): Promise<StoredSchedule[]> {
    return this.#read((sql) => schedules.listSchedules(sql));
  }

  getSchedule(name: string): Promise<StoredSchedule | undefined> {
    return this.#read((sql) => schedules.getSchedule(sql, name));
  }

  insertSchedule(schedule: StoredSchedule): Promise<boolean> {
    return this.#other((tx) => schedules.insertSchedule(tx, schedule));
  }

  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined> {
    return this.#other((tx) => schedules.updateSchedule(tx, name, update));
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#other((tx) => schedules.deleteSchedule(tx, name));
  }

  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]> {
    return this.#query((sql) => schedules.claimDueSchedules(sql, now, owner, leaseMs, limit));
  }

  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean> {
    return this.#other((tx) => schedules.advanceSchedule(tx, name, expectedNextRunAt, advance));
  }

  nextScheduleAt(): Promise<number | null> {
    return this.#read((sql) => schedules.nextScheduleAt(sql));
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql.unsafe("SELECT * FROM tasks WHERE idempotency_key = $1::text", [
        key,
      ]);
      return row ? rowToTask(row) : undefined;
    });
  }

  list(query: StoreQuery): Promise<TaskPage> {
    const { text, params, countText, countParams, page } = listSql(query);
    return this.#read(async (sql) => {
      const rows = await sql.unsafe(text, params);
      if (!query.withTotal) return page(rows);
      const [counted] = await sql.unsafe(countText, countParams);
      return page(rows, Number(counted.n));
    });
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    return this.#read(async (sql) => countsByTypeOf(await sql.unsafe(COUNTS_BY_TYPE_SQL)));
  }

  async counts(): Promise<StatusCounts> {
    return (await this.clusterDepth()).counts;
  }

  clusterDepth(): Promise<ClusterDepth> {
    return this.#read((sql) => changes.clusterDepth(sql));
  }

  compactCounts(): Promise<void> {
    return this.#query((sql) => changes.compactCounts(sql));
  }

  prune(options: PruneOptions): Promise<number> {
    return this.#other((tx) => changes.pruneFinished(tx, options));
  }

  async claim(
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs = 0,
    exclude: readonly string[] = [],
  ): Promise<ClaimedTask[]> {
    if (n <= 0) return [];
    const claimed = await this.#query((sql) =>
      changes.claimTasks(sql, n, nodeId, leaseMs, agingMs, { exclude })
    );
    for (const { leaseToken } of claimed) this.#heldTokens.add(leaseToken);
    return claimed;
  }

  async claimLimited(
    type: string,
    limits: TypeLimits,
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs = 0,
  ): Promise<LimitedClaim> {
    const result = await this.#inTransaction((tx) =>
      control.claimLimited(tx, type, limits, n, { nodeId, leaseMs, agingMs })
    );
    for (const { leaseToken } of result.claimed) this.#heldTokens.add(leaseToken);
    return result;
  }

  resolveBlocked(
    scope: BlockedScope,
  ): Promise<{ changes: StoreChange[]; lastSeen: string | null }> {
    if ("parents" in scope || "children" in scope) {
      const ids = "parents" in scope ? scope.parents : scope.children;
      if (ids.length === 0) return Promise.resolve({ changes: [], lastSeen: null });
    }
    return this.#inTransaction(async (tx) => {
      const resolved = await control.resolveBlocked(tx, scope);
      if (resolved.changes.some((change) => change.task.status === "queued")) {
        await this.#notifyWorkIn(tx);
      }
      return resolved;
    });
  }

  async renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]> {
    // Only leases this object claimed: a process restarted with the same node
    // id must not keep alive the tasks its previous life was running.
    const sent = [...this.#heldTokens];
    if (sent.length === 0) return [];
    const leases = await this.#query((sql) => changes.renewLeases(sql, nodeId, leaseMs, sent));
    // A token that is gone (finished, released, cancelled, reclaimed) never comes back.
    const alive = new Set(leases.map((lease) => lease.leaseToken));
    for (const token of sent) if (!alive.has(token)) this.#heldTokens.delete(token);
    return leases.sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  }

  release(leaseTokens: string[]): Promise<string[]> {
    if (leaseTokens.length === 0) return Promise.resolve([]);
    for (const token of leaseTokens) this.#heldTokens.delete(token);
    return this.#other(async (tx) => {
      const released = await changes.releaseClaims(tx, leaseTokens);
      if (released.length > 0) await this.#notifyWorkIn(tx);
      return released;
    });
  }

  reclaimExpired(): Promise<StoreChange[]> {
    return this.#inTransaction(async (tx) => {
      const { changes: changed, freed } = await changes.reclaimExpired(tx);
      const requeued = changed.some((change) => change.task.status === "queued");
      if (requeued || freed > 0) await this.#notifyWorkIn(tx);
      return changed;
    });
  }

  promoteDue(now?: number): Promise<StoreChange[]> {
    return this.#inTransaction(async (tx) => {
      const due = await changes.promoteDue(tx, now);
      if (due.length > 0) await this.#notifyWorkIn(tx);
      return due;
    });
  }

  cancel(id: string, error?: TaskError): Promise<CancelChange | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.#other((tx) => changes.cancelTask(tx, id, error ?? null));
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

  heartbeat(node: NodeHeartbeat): Promise<void> {
    return this.#query((sql) => nodes.heartbeat(sql, node));
  }

  nodes(maxAgeMs = 15_000): Promise<NodeRecord[]> {
    return this.#query((sql) => nodes.liveNodes(sql, maxAgeMs));
  }

  removeNode(nodeId: string): Promise<void> {
    return this.#query((sql) => nodes.removeNode(sql, nodeId));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#health.close();
    this.#retryWake?.(); // the queued retries then run once more, or reject
    this.#commits.close();
    await this.#commits.settled();
    await this.#messages.close();
    const sql = this.#sql;
    this.#sql = undefined;
    // Our batches are done; only a connection killed under us could linger.
    await sql?.end({ timeout: 1 });
    this.#unguard();
  }

  #unguard(): void {
    if (this.#guarded) guardConnectionErrors(-1);
    this.#guarded = false;
  }

  #notifyWorkIn(tx: UnsafeQueryable): Promise<void> {
    return this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
  }

  // --- group commit ---------------------------------------------------------

  #enqueue<T>(operation: Omit<Operation, "resolve" | "reject">): Promise<T> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.#commits.add({ ...operation, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** A write that is not batched into one statement: its own savepoint in the batch. */
  #other<T>(run: (tx: UnsafeQueryable) => Promise<T>): Promise<T> {
    return this.#enqueue({ kind: "other", tasks: [], leaseTokens: [], run });
  }

  /** Reads see the writes called before them: behind a pending batch, they join it. */
  #read<T>(run: (sql: UnsafeQueryable) => Promise<T>): Promise<T> {
    if (!this.#commits.idle) return this.#other(run);
    return this.#query(run as (sql: Sql) => Promise<T>);
  }

  /** A statement group of its own (not batched), in one transaction. */
  #inTransaction<T>(run: (tx: UnsafeQueryable) => Promise<T>): Promise<T> {
    return this.#query((sql) => sql.begin((tx) => run(tx)) as Promise<T>);
  }

  async #flush(operations: Operation[]): Promise<void> {
    let result;
    for (let conflicts = 0;; conflicts++) {
      try {
        result = await this.#query((sql) =>
          runBatch(sql, operations, (tx) => this.#notifyWorkIn(tx))
        );
        break;
      } catch (error) {
        // Two nodes updating the same rows (a sweep reclaiming expired leases
        // while their node writes them) may deadlock: PostgreSQL rolls one
        // transaction back, which is safe to run again.
        if (isConflict(error) && conflicts < MAX_CONFLICT_RETRIES) {
          await delay(Math.random() * 5 * (conflicts + 1));
          continue;
        }
        await this.#retryOrReject(operations, error);
        return;
      }
    }
    this.#committed++;
    if (result.wakeNodes) this.notifyWork().catch(() => {});
    for (const operation of operations) {
      const outcome = result.outcomes.get(operation)!;
      if (outcome.ok) operation.resolve(outcome.value);
      else operation.reject(outcome.value);
    }
  }

  /**
   * After a batch failed for want of a connection, puts its updates back at
   * the head of the queue (within their retry window) and waits a backoff
   * before the next batch; everything else is rejected.
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
    this.#commits.requeue(retry);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#retryWake = resolve;
    this.#retryTimer = setTimeout(resolve, this.#health.backoffMs);
    await promise;
    clearTimeout(this.#retryTimer);
    this.#retryWake = undefined;
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
  #query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#connection();
    return this.#health.run(() => run(sql));
  }
}

/** How many times a batch rolled back by a deadlock or a serialization failure runs again. */
const MAX_CONFLICT_RETRIES = 5;

/** A deadlock (40P01) or serialization failure (40001): nothing was committed; run it again. */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}
