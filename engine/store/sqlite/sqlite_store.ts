/**
 * A durable local store in one SQLite file, through `node:sqlite` (built into
 * Deno, no driver to install).
 *
 * Writes are group-committed: every `insert()`, `write()` and `prune()` call
 * made in one event-loop turn joins one transaction, and all their promises
 * resolve after its COMMIT, so an acknowledged task is on disk while one
 * fsync is shared by thousands of tasks.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { StoreUnavailableError } from "../../model/errors.ts";
import { nextCursorOf, type StoreQuery, type TaskPage, type TaskSort } from "../../model/query.ts";
import { emptyCounts, type StatusCounts, type Task, type TaskStatus } from "../../model/task.ts";
import {
  changedControl,
  type StoredTypeControl,
  type TypeControlChange,
  type TypeLimits,
} from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import { GroupCommit } from "../group_commit.ts";
import type { InsertOutcome, PruneOptions, TaskStore } from "../store.ts";
import { migrateSqlite } from "./migrations.ts";
import { type CommittedBatch, WalSync } from "./_wal_sync.ts";
import * as schedules from "./_schedules.ts";
import {
  attempt,
  describe,
  INSERT_SQL,
  rowToTask,
  taskToRow,
  taskToUpdateRow,
  UPDATE_SQL,
} from "./_rows.ts";

/** Options for {@linkcode SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * SQLite `synchronous` level. `full` (default) fsyncs the WAL at every
   * commit, so an acknowledged task survives a power loss too; `normal`
   * survives a process crash but may lose the last commits on power loss.
   * Group commit makes `full` cheap: one fsync per event-loop turn.
   */
  synchronous?: "full" | "normal";
}

type Outcome = { ok: boolean; value: unknown };

interface Operation {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Reads skip the savepoint that isolates a failing write. */
  readOnly: boolean;
  /**
   * The engine's record of task changes (`write()`): no caller waits for it,
   * so its sync may wait for the next one a caller does wait for.
   */
  deferrable: boolean;
}

const FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')";

/** ORDER BY of each sort; ties newest first. Run time: the last finished run, unfinished last. */
const ORDER_SQL: Record<TaskSort, string> = {
  created: "id DESC",
  priority: "priority DESC, id DESC",
  runTime: "(finished_at - started_at) DESC NULLS LAST, id DESC",
};

/**
 * A {@linkcode TaskStore} in a SQLite file (WAL mode). The parent folder is
 * created when missing.
 *
 * @example
 * ```ts
 * import { SqliteStore } from "./sqlite_store.ts";
 * const store = new SqliteStore("./data/threadflow.db");
 * const unfinished = await store.open();
 * console.log(`${unfinished.length} tasks to resume`);
 * await store.close();
 * ```
 */
export class SqliteStore implements TaskStore {
  readonly kind = "local" as const;
  readonly name: string;
  /** The database file. */
  readonly path: string;
  readonly #synchronous: "full" | "normal";
  #db: DatabaseSync | undefined;
  #statements = new Map<string, StatementSync>();
  #commits = new GroupCommit<Operation>((batch) => this.#flush(batch), "immediate");
  #closed = false;
  /**
   * Tasks per status, kept in step with every write so `counts()` and the
   * `maxFinished` check of `prune()` cost nothing (a COUNT over a million
   * rows would block the event loop for a good part of a second).
   */
  #counts: StatusCounts = emptyCounts();
  #committed = 0;
  /** Held while open: a second process on the same file would run tasks twice. */
  #lock: Deno.FsFile | undefined;
  /** Syncs the write-ahead log after each commit when `synchronous` is `full`. */
  #wal: WalSync | undefined;

  /** A store on the file at `path` (a path or `file:` URL); nothing is opened until `open()`. */
  constructor(path: string | URL, options: SqliteStoreOptions = {}) {
    this.path = path instanceof URL ? fileURLToPath(path) : path;
    this.name = `sqlite:${this.path}`;
    this.#synchronous = options.synchronous ?? "full";
  }

  /** Group-commit transactions committed so far (for metrics and tests). */
  get commits(): number {
    return this.#committed;
  }

  open(): Promise<Task[]> {
    try {
      return Promise.resolve(this.#openNow());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #openNow(): Task[] {
    if (this.#closed) {
      throw new StoreUnavailableError(`The SQLite store at "${this.path}" is closed.`);
    }
    if (this.#db) throw new Error(`The SQLite store at "${this.path}" is already open.`);
    try {
      if (this.path !== ":memory:") Deno.mkdirSync(dirname(this.path), { recursive: true });
      const db = new DatabaseSync(this.path);
      try {
        db.exec("PRAGMA busy_timeout = 5000");
        const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
        if (this.path !== ":memory:" && mode.journal_mode !== "wal") {
          throw new Error(`WAL mode could not be enabled (journal_mode is ${mode.journal_mode})`);
        }
        // FULL would fsync the WAL inside COMMIT, blocking the event loop; at NORMAL the
        // store syncs the WAL itself after each commit, asynchronously, before it answers.
        const syncsItself = this.#synchronous === "full" && this.path !== ":memory:";
        db.exec(`PRAGMA synchronous = ${syncsItself ? "NORMAL" : this.#synchronous.toUpperCase()}`);
        db.exec("PRAGMA cache_size = -32000");
        // After a burst, a checkpoint truncates the WAL back to at most 64 MiB.
        db.exec("PRAGMA journal_size_limit = 67108864");
        migrateSqlite(db);
        // SQLite silently opens a file it may not write read-only; a header
        // write (same value) fails now instead of at the first submit.
        const { user_version } = db.prepare("PRAGMA user_version").get() as {
          user_version: number;
        };
        db.exec(`PRAGMA user_version = ${user_version}`);
        if (this.path !== ":memory:") this.#lock = this.#acquireLock();
        if (syncsItself) this.#wal = new WalSync(this.path);
      } catch (error) {
        db.close();
        this.#lock?.close();
        this.#lock = undefined;
        throw error;
      }
      this.#db = db;
      this.#recount();
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(
        `Cannot open the SQLite database at "${this.path}": ${describe(error)}. ` +
          "Expected a writable file path (its folder is created when missing).",
      );
    }
    const rows = this.#statement(
      "SELECT * FROM tasks WHERE status IN ('blocked', 'scheduled', 'queued', 'running') ORDER BY id",
    ).all();
    return rows.map(rowToTask);
  }

  insert(tasks: Task[]): Promise<InsertOutcome[]> {
    return this.#enqueue(() => this.#insertNow(tasks), false);
  }

  write(tasks: Task[]): Promise<void> {
    return this.#enqueue(() => this.#writeNow(tasks), false, true);
  }

  get(id: string): Promise<Task | undefined> {
    return this.#enqueue(() => {
      const row = this.#statement("SELECT * FROM tasks WHERE id = ?").get(id);
      return row ? rowToTask(row) : undefined;
    }, true);
  }

  getMany(ids: string[]): Promise<Task[]> {
    return this.#enqueue(() => {
      const get = this.#statement("SELECT * FROM tasks WHERE id = ?");
      const found: Task[] = [];
      for (const id of ids) {
        const row = get.get(id);
        if (row) found.push(rowToTask(row));
      }
      return found;
    }, true);
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return this.#enqueue(() => this.#getByKeyNow(key), true);
  }

  dependents(id: string, limit: number): Promise<Task[]> {
    return this.#enqueue(
      () =>
        this.#statement(
          `SELECT t.* FROM task_edges e JOIN tasks t ON t.id = e.child WHERE e.parent = ?
          ORDER BY e.child DESC LIMIT ?`,
        ).all(id, limit).map(rowToTask),
      true,
    );
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return this.#enqueue(
      () => this.#statement("SELECT * FROM type_controls ORDER BY type").all().map(rowToControl),
      true,
    );
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    return this.#enqueue(() => {
      const row = this.#statement("SELECT * FROM type_controls WHERE type = ?").get(type);
      const control = changedControl(type, row ? rowToControl(row) : undefined, change);
      this.#statement(
        `INSERT INTO type_controls (type, paused, limits, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (type) DO UPDATE SET paused = excluded.paused, limits = excluded.limits,
          updated_at = excluded.updated_at`,
      ).run(
        type,
        control.paused ? 1 : 0,
        control.limits === null ? null : JSON.stringify(control.limits),
        Date.now(),
      );
      return control;
    }, false);
  }

  schedules(): Promise<StoredSchedule[]> {
    return this.#enqueue(() => schedules.listSchedules(this.#prepare), true);
  }

  getSchedule(name: string): Promise<StoredSchedule | undefined> {
    return this.#enqueue(() => schedules.getSchedule(this.#prepare, name), true);
  }

  insertSchedule(schedule: StoredSchedule): Promise<boolean> {
    return this.#enqueue(() => schedules.insertSchedule(this.#prepare, schedule), false);
  }

  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined> {
    return this.#enqueue(() => schedules.updateSchedule(this.#prepare, name, update), false);
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#enqueue(() => schedules.deleteSchedule(this.#prepare, name), false);
  }

  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]> {
    return this.#enqueue(
      () => schedules.claimDueSchedules(this.#prepare, now, owner, leaseMs, limit),
      false,
    );
  }

  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean> {
    return this.#enqueue(
      () => schedules.advanceSchedule(this.#prepare, name, expectedNextRunAt, advance),
      false,
    );
  }

  nextScheduleAt(): Promise<number | null> {
    return this.#enqueue(() => schedules.nextScheduleAt(this.#prepare), true);
  }

  list(query: StoreQuery): Promise<TaskPage> {
    return this.#enqueue(() => this.#listNow(query), true);
  }

  counts(): Promise<StatusCounts> {
    return this.#enqueue(() => ({ ...this.#counts }), true);
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    return this.#enqueue(() => this.#countsByTypeNow(), true);
  }

  prune(options: PruneOptions): Promise<number> {
    return this.#enqueue(() => this.#pruneNow(options), false);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#commits.close();
    await this.#commits.settled();
    await this.#wal?.settled();
    const db = this.#db;
    this.#db = undefined;
    if (db) {
      try {
        db.exec("PRAGMA optimize");
      } finally {
        db.close();
        this.#wal?.close();
        this.#wal = undefined;
        this.#lock?.close();
        this.#lock = undefined;
      }
    }
  }

  /**
   * Queues an operation for the transaction of this event-loop turn. A read
   * with nothing queued runs at once (while the last batch's WAL sync is under
   * way it sees that batch's writes); otherwise it runs in order inside the
   * batch, so it sees the writes called before it.
   */
  #enqueue<T>(run: () => T, readOnly: boolean, deferrable = false): Promise<T> {
    if (!this.#db || this.#closed) {
      return Promise.reject(
        new StoreUnavailableError(
          `The SQLite store at "${this.path}" is ${this.#closed ? "closed" : "not open yet"}.`,
        ),
      );
    }
    if (readOnly && this.#commits.size === 0) {
      try {
        return Promise.resolve(run());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#commits.add({
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
        readOnly,
        deferrable,
      });
    });
  }

  /**
   * Runs a batch in one transaction, then settles its promises once the
   * transaction is durable: with `synchronous: "full"` the WAL is synced by
   * an asynchronous `fdatasync`, so the event loop serves requests (and the
   * next batch gathers) while the disk works, instead of blocking in COMMIT.
   */
  #flush(operations: Operation[]): Promise<void> | void {
    const db = this.#db!;
    const before = { ...this.#counts };
    let outcomes: Outcome[];
    try {
      // Most batches fail nowhere: they run without a savepoint per call. A call that throws
      // rolls the transaction back, and the batch runs again with a savepoint per call, so
      // that only the failing call fails.
      outcomes = this.#transaction(db, operations, false) ??
        this.#retryIsolated(db, operations, before);
      this.#committed++;
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      try {
        this.#recount(); // the counts already include the calls just rolled back
      } catch {
        // The database is failing; the next successful open recounts.
      }
      const failure = new StoreUnavailableError(
        `Could not commit to the SQLite database at "${this.path}": ${describe(error)}.`,
      );
      for (const operation of operations) operation.reject(failure);
      return;
    }
    const batch: CommittedBatch = {
      settle() {
        operations.forEach((operation, index) => {
          const outcome = outcomes[index];
          if (outcome.ok) operation.resolve(outcome.value);
          else operation.reject(outcome.value);
        });
      },
      fail(error) {
        for (const operation of operations) operation.reject(error);
      },
    };
    if (this.#wal === undefined || operations.every((operation) => operation.readOnly)) {
      return batch.settle();
    }
    if (operations.every((operation) => operation.readOnly || operation.deferrable)) {
      return this.#wal.later(batch);
    }
    return this.#wal.now(batch);
  }

  #retryIsolated(db: DatabaseSync, operations: Operation[], before: StatusCounts): Outcome[] {
    this.#counts = before;
    return this.#transaction(db, operations, true)!;
  }

  /**
   * Runs `operations` in one transaction and commits it. Without `isolated`,
   * a failing write rolls everything back and the answer is `undefined`.
   */
  #transaction(
    db: DatabaseSync,
    operations: Operation[],
    isolated: boolean,
  ): Outcome[] | undefined {
    this.#statement("BEGIN IMMEDIATE").run();
    const outcomes: Outcome[] = new Array(operations.length);
    for (let i = 0; i < operations.length; i++) {
      const operation = operations[i];
      if (operation.readOnly || !isolated) {
        outcomes[i] = attempt(operation.run);
        if (!outcomes[i].ok && !operation.readOnly) {
          db.exec("ROLLBACK");
          return undefined;
        }
        continue;
      }
      this.#statement("SAVEPOINT operation").run();
      const outcome = attempt(operation.run);
      if (!outcome.ok) this.#statement("ROLLBACK TO operation").run();
      this.#statement("RELEASE operation").run();
      outcomes[i] = outcome;
    }
    this.#statement("COMMIT").run();
    return outcomes;
  }

  /**
   * Takes an exclusive lock on `PATH.lock` (a separate file: closing a second
   * handle on the database file itself would drop SQLite's own locks).
   */
  #acquireLock(): Deno.FsFile {
    const lockPath = `${this.path}.lock`;
    const file = Deno.openSync(lockPath, { read: true, write: true, create: true });
    if (!file.tryLockSync(true)) {
      file.close();
      throw new StoreUnavailableError(
        `Cannot open the SQLite database at "${this.path}": another process has it open ` +
          `("${lockPath}" is locked). Stop that process, or give this one its own file.`,
      );
    }
    return file;
  }

  #insertNow(tasks: Task[]): InsertOutcome[] {
    const insert = this.#statement(INSERT_SQL);
    const delta = emptyCounts();
    const outcomes = tasks.map((task) => {
      const { changes } = insert.run(...taskToRow(task));
      if (Number(changes) === 1) {
        delta[task.status]++;
        return { task: { ...task }, created: true };
      }
      // Only the idempotency key can conflict quietly (ON CONFLICT ... DO NOTHING).
      return { task: this.#getByKeyNow(task.idempotencyKey!)!, created: false };
    });
    // Reached only when every statement succeeded: the call's savepoint is kept.
    this.#addCounts(delta);
    return outcomes;
  }

  #writeNow(tasks: Task[]): void {
    const update = this.#statement(UPDATE_SQL);
    const currentStatus = this.#statement("SELECT status FROM tasks WHERE id = ?");
    const delta = emptyCounts();
    for (const task of tasks) {
      const before = currentStatus.get(task.id) as { status: TaskStatus } | undefined;
      if (before === undefined) continue; // not stored (never inserted, or pruned): ignored
      delta[before.status]--;
      delta[task.status]++;
      update.run(...taskToUpdateRow(task));
    }
    this.#addCounts(delta);
  }

  #getByKeyNow(key: string): Task | undefined {
    const row = this.#statement("SELECT * FROM tasks WHERE idempotency_key = ?").get(key);
    return row ? rowToTask(row) : undefined;
  }

  #listNow(query: StoreQuery): TaskPage {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    const addIn = (column: string, values: readonly (string | number)[] | undefined) => {
      if (!values || values.length === 0) return;
      where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
      params.push(...values);
    };
    addIn("status", query.status);
    addIn("type", query.type);
    addIn("priority", query.priority);
    if (query.idRange !== undefined) {
      where.push("id BETWEEN ? AND ?");
      params.push(...query.idRange);
    }
    const filter = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
    const filterParams = [...params];
    if (query.after !== undefined) {
      where.push("id < ?");
      params.push(query.after);
    }
    const limit = query.limit;
    params.push(limit + 1, query.offset ?? 0);
    const sql = `SELECT * FROM tasks${
      where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""
    } ORDER BY ${ORDER_SQL[query.sort ?? "created"]} LIMIT ? OFFSET ?`;
    const rows = this.#statement(sql).all(...params);
    const tasks = rows.slice(0, limit).map(rowToTask);
    const page: TaskPage = {
      tasks,
      nextCursor: nextCursorOf(query, tasks, rows.length > limit),
    };
    if (query.withTotal) {
      const counted = this.#statement(`SELECT count(*) AS n FROM tasks${filter}`)
        .get(...filterParams) as { n: number };
      page.total = counted.n;
    }
    return page;
  }

  #countsByTypeNow(): Record<string, StatusCounts> {
    const byType: Record<string, StatusCounts> = {};
    const rows = this.#statement(
      "SELECT type, status, count(*) AS n FROM tasks GROUP BY type, status",
    ).all() as { type: string; status: TaskStatus; n: number }[];
    for (const row of rows) (byType[row.type] ??= emptyCounts())[row.status] = row.n;
    return byType;
  }

  // INDEXED BY: without statistics the planner prefers (status, id) and sorts
  // every finished row; the partial index on finished_at reads just the oldest.
  #pruneNow(options: PruneOptions): number {
    let budget = Math.max(0, Math.trunc(options.batchSize));
    if (budget === 0) return 0;
    const delta = emptyCounts();
    const expired = this.#statement(`
      DELETE FROM tasks WHERE id IN (
        SELECT id FROM tasks INDEXED BY tasks_finished_at
        WHERE ${FINISHED_SQL} AND finished_at < ?
        ORDER BY finished_at LIMIT ?) RETURNING status`).all(options.finishedBefore, budget);
    for (const row of expired) delta[row.status as TaskStatus]--;
    budget -= expired.length;
    const finished = this.#counts.succeeded + this.#counts.failed + this.#counts.cancelled +
      delta.succeeded + delta.failed + delta.cancelled;
    const excess = Math.min(finished - Math.max(0, options.maxFinished), budget);
    let oldest: Record<string, unknown>[] = [];
    if (excess > 0) {
      oldest = this.#statement(`
        DELETE FROM tasks WHERE id IN (
          SELECT id FROM tasks INDEXED BY tasks_finished_at
          WHERE ${FINISHED_SQL} AND finished_at IS NOT NULL
          ORDER BY finished_at LIMIT ?) RETURNING status`).all(excess);
      for (const row of oldest) delta[row.status as TaskStatus]--;
    }
    this.#addCounts(delta);
    return expired.length + oldest.length;
  }

  /** Counts every status afresh (at open, and after a failed commit). */
  #recount(): void {
    const counts = emptyCounts();
    const rows = this.#statement("SELECT status, count(*) AS n FROM tasks GROUP BY status")
      .all() as { status: TaskStatus; n: number }[];
    for (const row of rows) counts[row.status] = row.n;
    this.#counts = counts;
  }

  #addCounts(delta: StatusCounts): void {
    for (const status of Object.keys(delta) as TaskStatus[]) this.#counts[status] += delta[status];
  }

  #prepare = (sql: string): StatementSync => this.#statement(sql);

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db!.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function rowToControl(row: Record<string, unknown>): StoredTypeControl {
  return {
    type: row.type as string,
    paused: row.paused === 1,
    limits: row.limits === null ? null : JSON.parse(row.limits as string) as TypeLimits,
  };
}
