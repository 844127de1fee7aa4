/**
 * A durable local store in one SQLite file, through `node:sqlite` (built into
 * Deno, no driver to install).
 *
 * Writes are group-committed: every `insert()`, `write()` and `prune()` call
 * made in one event-loop turn joins one transaction, and all their promises
 * resolve after its COMMIT, so an acknowledged task is on disk while one
 * fsync is shared by thousands of tasks.
 *
 * Its private modules (`_*.ts`) open the file, run a batch as one
 * transaction, sync the WAL, and hold the SQL of rows, queries and schedules.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { StoreUnavailableError } from "../../model/errors.ts";
import type { StoreQuery, TaskPage } from "../../model/query.ts";
import { emptyCounts, type StatusCounts, type Task, type TaskStatus } from "../../model/task.ts";
import type { StoredTypeControl, TypeControlChange } from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import { GroupCommit } from "../group_commit.ts";
import type { InsertOutcome, PruneOptions, TaskStore } from "../store.ts";
import { openDatabase, openFailure } from "./_open.ts";
import {
  countByStatus,
  countByType,
  dependentTasks,
  listTasks,
  pruneFinished,
  unfinishedTasks,
} from "./_queries.ts";
import {
  describe,
  INSERT_SQL,
  rowToTask,
  taskToRow,
  taskToUpdateRow,
  UPDATE_SQL,
} from "./_rows.ts";
import * as schedules from "./_schedules.ts";
import { type Operation, type Outcome, runTransaction, settleWhenDurable } from "./_transaction.ts";
import * as typeControls from "./_type_controls.ts";
import type { WalSync } from "./_wal_sync.ts";

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
    const opened = openDatabase(this.path, this.#synchronous);
    this.#db = opened.db;
    this.#lock = opened.lock;
    this.#wal = opened.wal;
    try {
      this.#recount();
    } catch (error) {
      throw openFailure(this.path, error);
    }
    return unfinishedTasks(this.#prepare);
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
    return this.#enqueue(() => dependentTasks(this.#prepare, id, limit), true);
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return this.#enqueue(() => typeControls.listTypeControls(this.#prepare), true);
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    return this.#enqueue(() => typeControls.saveTypeControl(this.#prepare, type, change), false);
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
    return this.#enqueue(() => listTasks(this.#prepare, query), true);
  }

  counts(): Promise<StatusCounts> {
    return this.#enqueue(() => ({ ...this.#counts }), true);
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    return this.#enqueue(() => countByType(this.#prepare), true);
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
      outcomes = runTransaction(db, this.#prepare, operations, false) ??
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
    return settleWhenDurable(operations, outcomes, this.#wal);
  }

  #retryIsolated(db: DatabaseSync, operations: Operation[], before: StatusCounts): Outcome[] {
    this.#counts = before;
    return runTransaction(db, this.#prepare, operations, true)!;
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

  #pruneNow(options: PruneOptions): number {
    const { succeeded, failed, cancelled } = this.#counts;
    const { deleted, delta } = pruneFinished(
      this.#prepare,
      options,
      succeeded + failed + cancelled,
    );
    this.#addCounts(delta);
    return deleted;
  }

  /** Counts every status afresh (at open, and after a failed commit). */
  #recount(): void {
    this.#counts = countByStatus(this.#prepare);
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
