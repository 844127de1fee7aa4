/**
 * Private to the SQLite store: its writes. One connection runs each batch of
 * write requests as one transaction, keeps the count of tasks per status in
 * step, reports the commit at once and the batch's durability once the WAL
 * is synced. Requests and reports are plain data, so the writes can run on
 * a thread of their own (`_write_thread.ts`) as well as in the caller's.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { emptyCounts, type StatusCounts, type Task, type TaskStatus } from "../../model/task.ts";
import type { TypeControlChange } from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import type { PruneOptions } from "../store.ts";
import { countByStatus, pruneFinished } from "./_queries.ts";
import {
  cachedPrepare,
  describe,
  INSERT_SQL,
  type Prepare,
  rowToTask,
  taskToRow,
  taskToUpdateRow,
  UPDATE_SQL,
} from "./_rows.ts";
import * as schedules from "./_schedules.ts";
import { type Outcome, runTransaction } from "./_transaction.ts";
import * as typeControls from "./_type_controls.ts";
import type { CommittedBatch, WalSync } from "./_wal_sync.ts";

/** One store call that writes, as data. */
export type WriteRequest =
  | { kind: "insert"; tasks: Task[] }
  | { kind: "write"; tasks: Task[] }
  | { kind: "prune"; options: PruneOptions }
  | { kind: "saveTypeControl"; type: string; change: TypeControlChange }
  | { kind: "insertSchedule"; schedule: StoredSchedule }
  | { kind: "updateSchedule"; name: string; update: ScheduleUpdate }
  | { kind: "deleteSchedule"; name: string }
  | { kind: "claimDueSchedules"; now: number; owner: string; leaseMs: number; limit: number }
  | { kind: "advanceSchedule"; name: string; expectedNextRunAt: number; advance: ScheduleAdvance };

/** How one request ended, as it crosses threads: its answer, or its error's name and message. */
export type WriteOutcome =
  | { ok: true; value: unknown }
  | { ok: false; name: string; message: string };

/** What the writes tell the store, in this order for each batch. */
export type WriteReport =
  /** Committed: later reads see it. `ready`: the next batch may come (else a `ready` follows). */
  | {
    kind: "committed";
    batch: number;
    outcomes: WriteOutcome[];
    counts: StatusCounts;
    ready: boolean;
  }
  /** Rolled back as a whole: every request of the batch fails with `message`. */
  | { kind: "failed"; batch: number; message: string; counts: StatusCounts }
  /** The WAL sync that the last batch waited for is done: the next batch may come. */
  | { kind: "ready" }
  /** These batches are on disk. */
  | { kind: "durable"; batches: number[] }
  /** These batches committed but their WAL sync failed: their requests fail with `message`. */
  | { kind: "unsynced"; batches: number[]; message: string };

/**
 * An insert's answer for each task: `null` when it was inserted, else the
 * task that holds its idempotency key.
 */
export type InsertAnswer = Array<Task | null>;

/** Runs batches of write requests on one connection. */
export class SqliteWrites {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #wal: WalSync | undefined;
  readonly #report: (report: WriteReport) => void;
  readonly #prepare: Prepare;
  /**
   * Tasks per status, kept in step with every write so counts and the
   * `maxFinished` check of a prune cost nothing (a COUNT over a million rows
   * takes a good part of a second).
   */
  #counts: StatusCounts;

  /**
   * Writes through `db` (the file at `path`), synced by `wal` when given,
   * told to `report`; `counts` are its tasks per status now (the store counts
   * them once, at open).
   */
  constructor(
    db: DatabaseSync,
    path: string,
    wal: WalSync | undefined,
    counts: StatusCounts,
    report: (report: WriteReport) => void,
  ) {
    this.#db = db;
    this.#path = path;
    this.#wal = wal;
    this.#report = report;
    this.#prepare = cachedPrepare(db);
    this.#counts = { ...counts };
  }

  /** Tasks per status as committed. */
  get counts(): StatusCounts {
    return { ...this.#counts };
  }

  /** Runs `requests` as one transaction and reports on it as batch `batch`. */
  run(batch: number, requests: WriteRequest[]): void {
    const db = this.#db;
    const before = { ...this.#counts };
    const calls = requests.map((request) => () => this.#apply(request));
    let outcomes: Outcome[];
    try {
      outcomes = runTransaction(db, this.#prepare, calls, false) ??
        this.#runIsolated(calls, before);
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      try {
        this.#counts = countByStatus(this.#prepare); // they include the calls rolled back
      } catch {
        // The database is failing; the next successful open recounts.
      }
      const message = `Could not commit to the SQLite database at "${this.#path}": ${
        describe(error)
      }.`;
      this.#report({ kind: "failed", batch, message, counts: this.counts });
      return;
    }
    const committed: CommittedBatch = {
      settle: () => this.#report({ kind: "durable", batches: [batch] }),
      fail: (error) =>
        this.#report({ kind: "unsynced", batches: [batch], message: describe(error) + "." }),
    };
    // The engine's record of task changes (`write`) has no caller waiting: its sync may wait
    // for the next one a caller waits for.
    const deferrable = requests.every((request) => request.kind === "write");
    const syncing = this.#wal === undefined
      ? undefined
      : deferrable
      ? this.#wal.later(committed)
      : this.#wal.now(committed);
    this.#report({
      kind: "committed",
      batch,
      outcomes: outcomes.map(toWire),
      counts: this.counts,
      ready: syncing === undefined,
    });
    if (this.#wal === undefined) committed.settle();
    syncing?.then(() => this.#report({ kind: "ready" }));
  }

  /** Waits for every WAL sync, then lets SQLite refresh its planner statistics. */
  async close(): Promise<void> {
    await this.#wal?.settled();
    this.#db.exec("PRAGMA optimize");
  }

  #runIsolated(calls: Array<() => unknown>, before: StatusCounts): Outcome[] {
    this.#counts = before;
    return runTransaction(this.#db, this.#prepare, calls, true)!;
  }

  #apply(request: WriteRequest): unknown {
    const prepare = this.#prepare;
    switch (request.kind) {
      case "insert":
        return this.#insert(request.tasks);
      case "write":
        return this.#write(request.tasks);
      case "prune":
        return this.#prune(request.options);
      case "saveTypeControl":
        return typeControls.saveTypeControl(prepare, request.type, request.change);
      case "insertSchedule":
        return schedules.insertSchedule(prepare, request.schedule);
      case "updateSchedule":
        return schedules.updateSchedule(prepare, request.name, request.update);
      case "deleteSchedule":
        return schedules.deleteSchedule(prepare, request.name);
      case "claimDueSchedules": {
        const { now, owner, leaseMs, limit } = request;
        return schedules.claimDueSchedules(prepare, now, owner, leaseMs, limit);
      }
      case "advanceSchedule": {
        const { name, expectedNextRunAt, advance } = request;
        return schedules.advanceSchedule(prepare, name, expectedNextRunAt, advance);
      }
    }
  }

  #insert(tasks: Task[]): InsertAnswer {
    const insert = this.#prepare(INSERT_SQL);
    const delta = emptyCounts();
    const answer = tasks.map((task) => {
      const { changes } = insert.run(...taskToRow(task));
      if (Number(changes) === 1) {
        delta[task.status]++;
        return null;
      }
      // Only the idempotency key can conflict quietly (ON CONFLICT ... DO NOTHING).
      const row = this.#prepare("SELECT * FROM tasks WHERE idempotency_key = ?")
        .get(task.idempotencyKey!);
      return rowToTask(row!);
    });
    // Reached only when every statement succeeded: the call's savepoint is kept.
    this.#addCounts(delta);
    return answer;
  }

  #write(tasks: Task[]): void {
    const update = this.#prepare(UPDATE_SQL);
    const currentStatus = this.#prepare("SELECT status FROM tasks WHERE id = ?");
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

  #prune(options: PruneOptions): number {
    const { succeeded, failed, cancelled } = this.#counts;
    const { deleted, delta } = pruneFinished(
      this.#prepare,
      options,
      succeeded + failed + cancelled,
    );
    this.#addCounts(delta);
    return deleted;
  }

  #addCounts(delta: StatusCounts): void {
    for (const status of Object.keys(delta) as TaskStatus[]) this.#counts[status] += delta[status];
  }
}

function toWire(outcome: Outcome): WriteOutcome {
  if (outcome.ok) return { ok: true, value: outcome.value };
  const error = outcome.value;
  return error instanceof Error
    ? { ok: false, name: error.name, message: error.message }
    : { ok: false, name: "Error", message: String(error) };
}
