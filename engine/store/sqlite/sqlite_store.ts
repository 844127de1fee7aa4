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

import type { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { StoreUnavailableError } from "../../model/errors.ts";
import type { StoreQuery, TaskPage } from "../../model/query.ts";
import type { StatusCounts, Task } from "../../model/task.ts";
import type { StoredTypeControl, TypeControlChange } from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import type { InsertOutcome, PruneOptions, TaskStore } from "../store.ts";
import { openDatabase, openFailure } from "./_open.ts";
import {
  countByStatus,
  countByType,
  dependentTasks,
  listTasks,
  unfinishedTasks,
} from "./_queries.ts";
import { cachedPrepare, type Prepare, rowToTask } from "./_rows.ts";
import * as schedules from "./_schedules.ts";
import * as typeControls from "./_type_controls.ts";
import { WriteCalls } from "./_write_calls.ts";
import { inlineWrites, startWriteThread } from "./_write_thread.ts";
import type { InsertAnswer, WriteRequest } from "./_writes.ts";

/** Options for {@linkcode SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * SQLite `synchronous` level. `full` (default) fsyncs the WAL at every
   * commit, so an acknowledged task survives a power loss too; `normal`
   * survives a process crash but may lose the last commits on power loss.
   * Group commit makes `full` cheap: one fsync per event-loop turn.
   */
  synchronous?: "full" | "normal";
  /**
   * Run the writes (statements, COMMIT, checkpoints) on a thread of their
   * own with a second connection, so the event loop that serves requests
   * only reads. Default `true`; a `:memory:` database always writes in the
   * store's thread (a second connection would open another database).
   */
  writeThread?: boolean;
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
  readonly #writeThread: boolean;
  /** The store's connection: every read, and the writes too when they run in this thread. */
  #db: DatabaseSync | undefined;
  #prepare: Prepare = () => {
    throw this.#unavailable();
  };
  /** Write calls, on their way to the write side; set while open. */
  #calls: WriteCalls | undefined;
  /** The last `open()`, which `close()` lets finish first. */
  #opening: Promise<unknown> | undefined;
  #closed = false;
  /** Held while open: a second process on the same file would run tasks twice. */
  #lock: Deno.FsFile | undefined;

  /** A store on the file at `path` (a path or `file:` URL); nothing is opened until `open()`. */
  constructor(path: string | URL, options: SqliteStoreOptions = {}) {
    this.path = path instanceof URL ? fileURLToPath(path) : path;
    this.name = `sqlite:${this.path}`;
    this.#synchronous = options.synchronous ?? "full";
    this.#writeThread = (options.writeThread ?? true) && this.path !== ":memory:";
  }

  /** Group-commit transactions committed so far (for metrics and tests). */
  get commits(): number {
    return this.#calls?.commits ?? 0;
  }

  open(): Promise<Task[]> {
    const opening = this.#open();
    this.#opening = opening;
    return opening;
  }

  async #open(): Promise<Task[]> {
    if (this.#closed) {
      throw new StoreUnavailableError(`The SQLite store at "${this.path}" is closed.`);
    }
    if (this.#db) throw new Error(`The SQLite store at "${this.path}" is already open.`);
    const { db, lock } = openDatabase(this.path, this.#synchronous);
    this.#db = db;
    this.#lock = lock;
    this.#prepare = cachedPrepare(db);
    let calls: WriteCalls | undefined;
    try {
      // Counted once (a scan): the write side keeps them in step from here.
      const counts = countByStatus(this.#prepare);
      calls = new WriteCalls(this.path, counts);
      calls.connect(
        this.#writeThread
          ? await startWriteThread(this.path, this.#synchronous, counts, calls)
          : inlineWrites(db, this.path, this.#synchronous, counts, calls),
      );
      this.#calls = calls;
      return unfinishedTasks(this.#prepare);
    } catch (error) {
      this.#calls = undefined;
      await calls?.close();
      this.#db = undefined;
      this.#lock = undefined;
      db.close();
      lock?.close();
      throw openFailure(this.path, error);
    }
  }

  insert(tasks: Task[]): Promise<InsertOutcome[]> {
    return this.#write<InsertAnswer>({ kind: "insert", tasks }).then((answers) =>
      answers.map((existing, index) =>
        existing === null
          ? { task: { ...tasks[index] }, created: true }
          : { task: existing, created: false }
      )
    );
  }

  write(tasks: Task[]): Promise<void> {
    return this.#write({ kind: "write", tasks });
  }

  get(id: string): Promise<Task | undefined> {
    return this.#read(() => {
      const row = this.#prepare("SELECT * FROM tasks WHERE id = ?").get(id);
      return row ? rowToTask(row) : undefined;
    });
  }

  getMany(ids: string[]): Promise<Task[]> {
    return this.#read(() => {
      const get = this.#prepare("SELECT * FROM tasks WHERE id = ?");
      const found: Task[] = [];
      for (const id of ids) {
        const row = get.get(id);
        if (row) found.push(rowToTask(row));
      }
      return found;
    });
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return this.#read(() => {
      const row = this.#prepare("SELECT * FROM tasks WHERE idempotency_key = ?").get(key);
      return row ? rowToTask(row) : undefined;
    });
  }

  dependents(id: string, limit: number): Promise<Task[]> {
    return this.#read(() => dependentTasks(this.#prepare, id, limit));
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return this.#read(() => typeControls.listTypeControls(this.#prepare));
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    return this.#write({ kind: "saveTypeControl", type, change });
  }

  schedules(): Promise<StoredSchedule[]> {
    return this.#read(() => schedules.listSchedules(this.#prepare));
  }

  getSchedule(name: string): Promise<StoredSchedule | undefined> {
    return this.#read(() => schedules.getSchedule(this.#prepare, name));
  }

  insertSchedule(schedule: StoredSchedule): Promise<boolean> {
    return this.#write({ kind: "insertSchedule", schedule });
  }

  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined> {
    return this.#write({ kind: "updateSchedule", name, update });
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#write({ kind: "deleteSchedule", name });
  }

  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]> {
    return this.#write({ kind: "claimDueSchedules", now, owner, leaseMs, limit });
  }

  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean> {
    return this.#write({ kind: "advanceSchedule", name, expectedNextRunAt, advance });
  }

  nextScheduleAt(): Promise<number | null> {
    return this.#read(() => schedules.nextScheduleAt(this.#prepare));
  }

  list(query: StoreQuery): Promise<TaskPage> {
    return this.#read(() => listTasks(this.#prepare, query));
  }

  counts(): Promise<StatusCounts> {
    return this.#read(() => this.#calls!.counts);
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    return this.#read(() => countByType(this.#prepare));
  }

  prune(options: PruneOptions): Promise<number> {
    return this.#write({ kind: "prune", options });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opening?.catch(() => {}); // its failure is the caller of open()'s to see
    const calls = this.#calls;
    const db = this.#db;
    try {
      await calls?.close();
    } finally {
      this.#calls = undefined;
      this.#db = undefined;
      db?.close();
      this.#lock?.close();
      this.#lock = undefined;
    }
  }

  #unavailable(): StoreUnavailableError {
    return new StoreUnavailableError(
      `The SQLite store at "${this.path}" is ${this.#closed ? "closed" : "not open yet"}.`,
    );
  }

  /** A write call; it settles once its batch is durable. */
  #write<T>(request: WriteRequest): Promise<T> {
    if (!this.#calls || this.#closed) return Promise.reject(this.#unavailable());
    return this.#calls.call(request);
  }

  /** A read on the store's connection, after the writes called before it have committed. */
  #read<T>(run: () => T): Promise<T> {
    if (!this.#calls || this.#closed) return Promise.reject(this.#unavailable());
    return this.#calls.afterWrites(() => {
      if (!this.#db) throw this.#unavailable();
      return run();
    });
  }
}
