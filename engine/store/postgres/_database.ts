/**
 * Private to the PostgreSQL store: its way to the database. One connection
 * pool (opened with the migrations, closed once the last batch is done), its
 * health, and the group commit: the `insert()`, `write()` and `writeFenced()`
 * calls and the other writes of one event-loop turn share one transaction
 * (`_batch.ts`). A batch rolled back by a deadlock runs again; one that
 * failed for want of a connection is retried with backoff for
 * `retryWritesMs` (inserts excepted).
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import postgres from "postgres";
import { StoreUnavailableError, ValidationError } from "../../model/errors.ts";
import { GroupCommit } from "../group_commit.ts";
import { migratePostgres, type UnsafeQueryable } from "./migrations.ts";
import { type Operation, runBatch } from "./_batch.ts";
import { guardConnectionErrors } from "./_guard.ts";
import { ConnectionHealth } from "./_health.ts";
import { describe, withDeadline } from "./_rows.ts";

type Sql = postgres.Sql;

/** How long a write keeps being retried while the database is unreachable. */
const DEFAULT_RETRY_WRITES_MS = 60_000;
/** How many times a batch rolled back by a deadlock or a serialization failure runs again. */
const MAX_CONFLICT_RETRIES = 5;

/** Where the database is and how to connect to it. */
export interface DatabaseOptions {
  /** The connection URL, without the `schema` parameter. */
  url: string;
  /** The store's name, for error messages. */
  storeName: string;
  schema: string;
  applicationName: string;
  maxConnections: number;
  connectTimeoutSeconds: number;
  /** How long updates are retried while the database is unreachable (default 60,000 ms). */
  retryWritesMs?: number;
}

/**
 * The connection settings of a store on the database at `url`
 * (`postgres://user:password@host:port/db`, optionally `?schema=NAME`), each
 * default filled in. Throws `ValidationError` for a schema name that is not
 * a plain identifier.
 */
export function databaseOptions(
  url: string,
  options: Partial<Omit<DatabaseOptions, "url" | "storeName">>,
): DatabaseOptions {
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
  const connectUrl = parsed.href;
  parsed.password = "";
  return {
    url: connectUrl,
    storeName: `postgres://${parsed.host}${parsed.pathname}?schema=${schema}`,
    schema,
    applicationName: options.applicationName ?? `threadflow ${schema}`,
    maxConnections: options.maxConnections ?? 10,
    connectTimeoutSeconds: options.connectTimeoutSeconds ?? 5,
    retryWritesMs: options.retryWritesMs,
  };
}

/** How a batch tells the other nodes that queued tasks were written. */
export interface DatabaseHooks {
  /** Queues the "work" message inside the batch's transaction. */
  notifyWorkIn(tx: UnsafeQueryable): Promise<void>;
  /** Sends the "work" message after the batch committed. */
  notifyWork(): Promise<void>;
}

/**
 * The connection pool and group commit of one `PostgresStore`.
 *
 * @example
 * ```ts ignore
 * const database = new Database(options, hooks);
 * await database.connect();
 * const rows = await database.read((sql) => sql.unsafe("SELECT 1"));
 * await database.drain();
 * await database.end();
 * ```
 */
export class Database {
  #options: DatabaseOptions;
  #hooks: DatabaseHooks;
  #sql: Sql | undefined;
  #closed = false;
  /** Whether this store counts in {@linkcode guardConnectionErrors}. */
  #guarded = false;
  #commits: GroupCommit<Operation>;
  #committed = 0;
  #health: ConnectionHealth;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryWake: (() => void) | undefined;

  constructor(options: DatabaseOptions, hooks: DatabaseHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#commits = new GroupCommit((batch) => this.#flush(batch), "immediate");
    this.#health = new ConnectionHealth(
      options.storeName,
      () => this.query((sql) => sql`SELECT 1`),
    );
  }

  /** Group-commit transactions committed so far. */
  get commits(): number {
    return this.#committed;
  }

  /** Whether `drain()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    return this.#health.onChange(listener);
  }

  /** Connects and migrates; rejects with `StoreUnavailableError` saying why it cannot. */
  async connect(): Promise<void> {
    const { storeName, connectTimeoutSeconds } = this.#options;
    if (this.#sql) throw new Error(`The store ${storeName} is already open.`);
    if (this.#closed) throw new StoreUnavailableError(`The store ${storeName} is closed.`);
    if (!this.#guarded) guardConnectionErrors(+1);
    this.#guarded = true;
    const sql = postgres(this.#options.url, {
      max: this.#options.maxConnections,
      connect_timeout: connectTimeoutSeconds,
      onnotice: () => {},
      connection: {
        application_name: this.#options.applicationName,
        search_path: this.#options.schema,
      },
    });
    try {
      // Bounded: a connection attempt that neither succeeds nor fails must
      // not hold the engine's start forever.
      await withDeadline(
        migratePostgres(sql, this.#options.schema),
        connectTimeoutSeconds * 1000 + 30_000,
        "no answer from the server",
      );
    } catch (error) {
      await withDeadline(sql.end({ timeout: 0 }), 2_000, "").catch(() => {});
      this.#unguard();
      throw new StoreUnavailableError(
        `Cannot open the PostgreSQL store ${storeName}: ${describe(error)}.`,
      );
    }
    this.#sql = sql;
  }

  /**
   * Refuses new calls and waits for the batches already accepted (retries
   * still queued run once more, or reject). The pool stays open until
   * {@linkcode Database.end}.
   */
  async drain(): Promise<void> {
    this.#closed = true;
    this.#health.close();
    this.#retryWake?.(); // the queued retries then run once more, or reject
    this.#commits.close();
    await this.#commits.settled();
  }

  /** Closes the connection pool. */
  async end(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    // Our batches are done; only a connection killed under us could linger.
    await sql?.end({ timeout: 1 });
    this.#unguard();
  }

  /** Throws `StoreUnavailableError` for a new call once `drain()` started, or before `connect()`. */
  assertOpen(): void {
    if (this.#closed) {
      throw new StoreUnavailableError(`The store ${this.#options.storeName} is closed.`);
    }
    this.#connection();
  }

  /** Queues a call for the batch of this event-loop turn. */
  enqueue<T>(operation: Omit<Operation, "resolve" | "reject">): Promise<T> {
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.#commits.add({ ...operation, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** A write that is not batched into one statement: its own savepoint in the batch. */
  other<T>(run: (tx: UnsafeQueryable) => Promise<T>): Promise<T> {
    return this.enqueue({ kind: "other", tasks: [], leaseTokens: [], run });
  }

  /** Reads see the writes called before them: behind a pending batch, they join it. */
  read<T>(run: (sql: UnsafeQueryable) => Promise<T>): Promise<T> {
    if (!this.#commits.idle) return this.other(run);
    return this.query(run as (sql: Sql) => Promise<T>);
  }

  /** A statement group of its own (not batched), in one transaction. */
  inTransaction<T>(run: (tx: UnsafeQueryable) => Promise<T>): Promise<T> {
    return this.query((sql) => sql.begin((tx) => run(tx)) as Promise<T>);
  }

  /** Runs a query; a lost connection marks the store unhealthy and becomes StoreUnavailableError. */
  query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = this.#connection();
    return this.#health.run(() => run(sql));
  }

  #unguard(): void {
    if (this.#guarded) guardConnectionErrors(-1);
    this.#guarded = false;
  }

  /** The connection pool, for work already accepted (drain() finishes it). */
  #connection(): Sql {
    if (!this.#sql) {
      throw new StoreUnavailableError(
        `The store ${this.#options.storeName} is ${this.#closed ? "closed" : "not open yet"}.`,
      );
    }
    return this.#sql;
  }

  async #flush(operations: Operation[]): Promise<void> {
    let result;
    for (let conflicts = 0;; conflicts++) {
      try {
        result = await this.query((sql) =>
          runBatch(sql, operations, (tx) => this.#hooks.notifyWorkIn(tx))
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
    if (result.wakeNodes) this.#hooks.notifyWork().catch(() => {});
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
}

/** A deadlock (40P01) or serialization failure (40001): nothing was committed; run it again. */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}
