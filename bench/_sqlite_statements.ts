/**
 * What the SQLite store's write side spends on one no-op task, for the HTTP
 * benchmark's part (a): its insert and, once the task has run, the write of
 * its end, each in a transaction of {@linkcode TASKS_PER_TRANSACTION} tasks
 * (what 64 connections of submits give the store's group commit). It runs
 * the store's own write code (`SqliteWrites`) on a fresh file in this
 * thread, without the crossing to the write thread or the WAL sync, which
 * happen beside it.
 *
 * @module
 */

import { openDatabase } from "../engine/store/sqlite/_open.ts";
import { SqliteWrites } from "../engine/store/sqlite/_writes.ts";
import { makeTask } from "../tests/store/conformance.ts";
import { emptyCounts, type Task } from "../engine/model/task.ts";

/** Tasks per transaction: about what the store gathers from 64 connections of submits. */
export const TASKS_PER_TRANSACTION = 25;

/** Tasks run first and not counted, so the code measured is compiled. */
const WARM_UP_TASKS = 2_000;

/** Microseconds of the write side per task: inserting it, and writing its end. */
export interface TaskStatements {
  insertUs: number;
  endUs: number;
}

/**
 * Measures `tasks` tasks on a fresh database in `dir`.
 *
 * @example
 * ```ts ignore
 * const { insertUs, endUs } = measureTaskStatements(await Deno.makeTempDir(), 20_000);
 * ```
 */
export function measureTaskStatements(dir: string, tasks: number): TaskStatements {
  const path = `${dir}/statements.db`;
  // Opened, configured and migrated as the store opens its file (the WAL sync is left out).
  const { db, lock } = openDatabase(path, "full");
  try {
    const writes = new SqliteWrites(db, path, undefined, emptyCounts(), () => {});
    let insertMs = 0;
    let endMs = 0;
    let batch = 0;
    let counted = 0;
    for (let done = -WARM_UP_TASKS; done < tasks; done += TASKS_PER_TRANSACTION) {
      const timed = done >= 0;
      if (timed) counted += TASKS_PER_TRANSACTION;
      const group = Array.from({ length: TASKS_PER_TRANSACTION }, noopTask);
      let started = performance.now();
      writes.run(++batch, [{ kind: "insert", tasks: group }]);
      if (timed) insertMs += performance.now() - started;
      const now = Date.now();
      for (const task of group) {
        Object.assign(task, {
          status: "succeeded",
          attempts: 1,
          startedAt: now,
          finishedAt: now,
          workerId: 1,
          result: task.payload,
        });
      }
      started = performance.now();
      writes.run(++batch, [{ kind: "write", tasks: group }]);
      if (timed) endMs += performance.now() - started;
    }
    return { insertUs: (insertMs * 1000) / counted, endUs: (endMs * 1000) / counted };
  } finally {
    db.close();
    lock?.close();
  }
}

function noopTask(): Task {
  return makeTask({ priority: 0, maxAttempts: 3, timeoutMs: 30_000 });
}
