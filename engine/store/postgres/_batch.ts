/**
 * Private to the PostgreSQL store: how one group-commit batch runs. The
 * `insert()`, `write()` and `writeFenced()` calls of a batch share one
 * transaction, and consecutive calls of one kind share one statement; a
 * batch that is one statement on its own skips BEGIN and COMMIT.
 *
 * @module
 */

import type postgres from "postgres";
import type { Task } from "../../model/task.ts";
import type { InsertOutcome } from "../store.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { insertRows, isConnectionError, type Row, settle, taskToWire, updateSql } from "./_rows.ts";

/** One call waiting for its batch. */
export interface Operation {
  kind: "insert" | "write" | "fenced" | "other";
  tasks: Task[];
  leaseTokens: string[];
  run?: (tx: UnsafeQueryable) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** When its first attempt failed for want of a connection. */
  failedAt?: number;
}

/** Each operation's outcome. */
export type Outcomes = Map<Operation, { ok: boolean; value: unknown }>;

/**
 * Runs `operations` on `sql`; returns each one's outcome and whether queued
 * tasks were written (idle nodes should be woken). Throws only when the
 * connection failed (nothing was committed).
 */
export async function runBatch(
  sql: postgres.Sql,
  operations: Operation[],
  notifyWork: (tx: UnsafeQueryable) => Promise<void>,
): Promise<{ outcomes: Outcomes; wakeNodes: boolean }> {
  const outcomes: Outcomes = new Map();
  if (isOneStatement(operations)) {
    // One statement is atomic on its own: skip BEGIN and COMMIT (two round trips).
    const [first] = operations;
    if (first.kind !== "insert") {
      const wakeNodes = await updateGroup(sql, operations, outcomes);
      return { outcomes, wakeNodes };
    }
    const outcome = await settle(insertRows(sql, first.tasks));
    if (!outcome.ok && isConnectionError(outcome.value)) throw outcome.value;
    outcomes.set(first, outcome);
    return { outcomes, wakeNodes: outcome.ok && first.tasks.some(isQueued) };
  }
  await sql.begin(async (tx) => {
    let wakeNodes = false;
    for (let i = 0; i < operations.length;) {
      let j = i + 1;
      const kind = operations[i].kind;
      while (kind !== "other" && j < operations.length && operations[j].kind === kind) j++;
      const group = operations.slice(i, j);
      i = j;
      if (kind === "insert") {
        wakeNodes = await insertGroup(tx, group, outcomes) || wakeNodes;
      } else if (kind === "other") {
        const op = group[0];
        outcomes.set(op, await settle(tx.savepoint((sp) => op.run!(sp))));
      } else wakeNodes = await updateGroup(tx, group, outcomes) || wakeNodes;
    }
    // Inside the transaction: delivered at COMMIT, so a woken node finds the rows.
    if (wakeNodes) await notifyWork(tx);
  });
  return { outcomes, wakeNodes: false };
}

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

function isQueued(task: Task): boolean {
  return task.status === "queued";
}

/** Inserts a run of insert() calls in one statement; if it fails, each call alone. */
async function insertGroup(
  tx: postgres.TransactionSql,
  group: Operation[],
  outcomes: Outcomes,
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
  return all.some(isQueued);
}

/** Applies a run of write() (or writeFenced()) calls in one UPDATE. */
async function updateGroup(
  tx: UnsafeQueryable,
  group: Operation[],
  outcomes: Outcomes,
): Promise<boolean> {
  const fenced = group[0].kind === "fenced";
  // One row per task (the last write wins): UPDATE ... FROM with two source
  // rows for one target row would apply either.
  const latest = new Map<string, Row>();
  for (const op of group) {
    op.tasks.forEach((task, index) => latest.set(task.id, taskToWire(task, op.leaseTokens[index])));
  }
  if (latest.size === 0) {
    for (const op of group) outcomes.set(op, { ok: true, value: fenced ? [] : undefined });
    return false;
  }
  // In id order: the rows are locked as they are listed (as lease renewals take them).
  const sorted = [...latest.values()].sort((
    a,
    b,
  ) => ((a.id as string) < (b.id as string) ? -1 : 1));
  const rows = await tx.unsafe(updateSql(fenced), [JSON.stringify(sorted)]);
  const applied = new Set(rows.map((row) => row.id as string));
  for (const op of group) {
    const refused = op.tasks.filter((task) => !applied.has(task.id)).map((task) => task.id);
    outcomes.set(op, { ok: true, value: fenced ? refused : undefined });
  }
  // Only a plain write makes a task claimable (a fenced one keeps it with its node).
  return !fenced &&
    [...latest.values()].some((row) => row.status === "queued" && applied.has(row.id as string));
}
