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
import { emptyCounts, type StatusCounts, type Task } from "../../model/task.ts";
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
  unfinishedTasks,
} from "./_queries.ts";
import { rowToTask } from "./_rows.ts";
import * as schedules from "./_schedules.ts";
import * as typeControls from "./_type_controls.ts";
import {
  inlineWrites,
  startWriteThread,
  type WriteChannel,
  type WriteListener,
} from "./_write_thread.ts";
import type { InsertAnswer, WriteOutcome, WriteReport, WriteRequest } from "./_writes.ts";

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

/** A write call waiting for its batch to be durable. */
interface PendingWrite {
  request: WriteRequest;
  /** The number of this write call: reads wait for the writes called before them. */
  seq: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A batch sent to the writes, until it is durable or failed. */
interface SentBatch {
  writes: PendingWrite[];
  /** Set once committed. */
  outcomes?: WriteOutcome[];
}

/** A read waiting for the writes called before it to commit. */
interface WaitingRead {
  seq: number;
  run(): void;
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
  #statements = new Map<string, StatementSync>();
  #writes: WriteChannel | undefined;
  /** The last `open()`, which `close()` lets finish first. */
  #opening: Promise<unknown> | undefined;
  #commits = new GroupCommit<PendingWrite>((batch) => this.#flush(batch), "immediate");
  #closed = false;
  /** Set when the write thread died: every write since fails with it. */
  #lost: StoreUnavailableError | undefined;
  #batches = 0;
  #sent = new Map<number, SentBatch>();
  /** Resolves when the writes may take the next batch. */
  #ready: PromiseWithResolvers<void> | undefined;
  /** Write calls made so far, and how many of them have committed (or failed). */
  #called = 0;
  #done = 0;
  #waitingReads: WaitingRead[] = [];
  /** Tasks per status as committed, as the writes report them with every batch. */
  #counts: StatusCounts = emptyCounts();
  #committed = 0;
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
    return this.#committed;
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
    try {
      this.#counts = countByStatus(this.#prepare);
      const listener: WriteListener = {
        report: (report) => this.#onReport(report),
        lost: (error) => this.#onLost(error),
      };
      this.#writes = this.#writeThread
        ? await startWriteThread(this.path, this.#synchronous, listener)
        : inlineWrites(db, this.path, this.#synchronous, listener);
      return unfinishedTasks(this.#prepare);
    } catch (error) {
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
      const row = this.#statement("SELECT * FROM tasks WHERE id = ?").get(id);
      return row ? rowToTask(row) : undefined;
    });
  }

  getMany(ids: string[]): Promise<Task[]> {
    return this.#read(() => {
      const get = this.#statement("SELECT * FROM tasks WHERE id = ?");
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
      const row = this.#statement("SELECT * FROM tasks WHERE idempotency_key = ?").get(key);
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
    return this.#read(() => ({ ...this.#counts }));
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
    this.#commits.close();
    await this.#commits.settled();
    const writes = this.#writes;
    const db = this.#db;
    this.#writes = undefined;
    this.#db = undefined;
    try {
      await writes?.close();
    } finally {
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

  /** Queues a write for the batch of this event-loop turn; it settles once durable. */
  #write<T>(request: WriteRequest): Promise<T> {
    if (!this.#writes || this.#closed) return Promise.reject(this.#unavailable());
    if (this.#lost) return Promise.reject(this.#lost);
    return new Promise<T>((resolve, reject) => {
      this.#commits.add({
        request,
        seq: ++this.#called,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
  }

  /**
   * Runs a read on the store's connection: at once when every write called
   * before it has committed (while a batch's WAL sync is under way it sees
   * that batch), else as soon as they have.
   */
  #read<T>(run: () => T): Promise<T> {
    if (!this.#db || this.#closed) return Promise.reject(this.#unavailable());
    if (this.#done >= this.#called) {
      try {
        return Promise.resolve(run());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#waitingReads.push({
        seq: this.#called,
        run: () => {
          if (!this.#db) return reject(this.#unavailable());
          try {
            resolve(run());
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  }

  /** Sends a turn's writes as one batch; the next waits until the writes are ready for it. */
  #flush(writes: PendingWrite[]): Promise<void> | void {
    if (this.#lost || !this.#writes) {
      const error = this.#lost ?? this.#unavailable();
      for (const write of writes) write.reject(error);
      return this.#doneThrough(writes.at(-1)!.seq);
    }
    const batch = ++this.#batches;
    this.#sent.set(batch, { writes });
    const ready = Promise.withResolvers<void>();
    this.#ready = ready;
    try {
      this.#writes.send(batch, writes.map((write) => write.request));
    } catch (cause) {
      // Nothing was sent: a value the thread cannot be handed (the engine checks payloads, so
      // this is a bug) fails this batch's calls, not the store.
      this.#sent.delete(batch);
      const error = new StoreUnavailableError(
        `Could not hand a batch of writes to the SQLite store at "${this.path}": ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
      );
      for (const write of writes) write.reject(error);
      this.#doneThrough(writes.at(-1)!.seq);
      return;
    }
    return ready.promise;
  }

  #onReport(report: WriteReport): void {
    switch (report.kind) {
      case "committed": {
        const sent = this.#sent.get(report.batch)!;
        sent.outcomes = report.outcomes;
        this.#counts = report.counts;
        this.#committed++;
        if (report.ready) this.#ready?.resolve();
        return this.#doneThrough(sent.writes.at(-1)!.seq);
      }
      case "failed": {
        const sent = this.#sent.get(report.batch)!;
        this.#sent.delete(report.batch);
        this.#counts = report.counts;
        const error = new StoreUnavailableError(report.message);
        for (const write of sent.writes) write.reject(error);
        this.#ready?.resolve();
        return this.#doneThrough(sent.writes.at(-1)!.seq);
      }
      case "ready":
        return this.#ready?.resolve();
      case "durable":
        for (const batch of report.batches) {
          const sent = this.#sent.get(batch)!;
          this.#sent.delete(batch);
          sent.writes.forEach((write, index) => settle(write, sent.outcomes![index]));
        }
        return;
      case "unsynced": {
        const error = new StoreUnavailableError(report.message);
        for (const batch of report.batches) {
          for (const write of this.#sent.get(batch)!.writes) write.reject(error);
          this.#sent.delete(batch);
        }
      }
    }
  }

  /** The write thread died: what it held fails, and so does every write from now on. */
  #onLost(error: StoreUnavailableError): void {
    this.#lost ??= error;
    for (const sent of this.#sent.values()) {
      for (const write of sent.writes) write.reject(error);
    }
    this.#sent.clear();
    this.#ready?.resolve();
    this.#doneThrough(this.#called);
  }

  /** Write calls up to `seq` have committed or failed: the reads waiting for them run. */
  #doneThrough(seq: number): void {
    this.#done = Math.max(this.#done, seq);
    while (this.#waitingReads.length > 0 && this.#waitingReads[0].seq <= this.#done) {
      this.#waitingReads.shift()!.run();
    }
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

/** Settles a write with its outcome from the writes (an error comes as its name and message). */
function settle(write: PendingWrite, outcome: WriteOutcome): void {
  if (outcome.ok) return write.resolve(outcome.value);
  const error = outcome.name === "StoreUnavailableError"
    ? new StoreUnavailableError(outcome.message)
    : new Error(outcome.message);
  if (!(error instanceof StoreUnavailableError)) error.name = outcome.name;
  write.reject(error);
}
