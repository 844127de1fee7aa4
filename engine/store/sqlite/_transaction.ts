/**
 * Private to the SQLite store: one group-commit batch run as one
 * transaction, and its calls settled once it is durable. Most batches fail
 * nowhere and run without a savepoint per call; a batch in which a call
 * throws is rolled back and run again with a savepoint per call, so that
 * only the failing call fails.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { attempt, type Prepare } from "./_rows.ts";
import type { CommittedBatch, WalSync } from "./_wal_sync.ts";

/** One store call waiting in a batch. */
export interface Operation {
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

/** How one call of a batch ended: its answer, or the error it threw. */
export type Outcome = { ok: boolean; value: unknown };

/**
 * Runs `operations` in one transaction and commits it. Without `isolated`,
 * a failing write rolls everything back and the answer is `undefined`.
 */
export function runTransaction(
  db: DatabaseSync,
  prepare: Prepare,
  operations: Operation[],
  isolated: boolean,
): Outcome[] | undefined {
  prepare("BEGIN IMMEDIATE").run();
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
    prepare("SAVEPOINT operation").run();
    const outcome = attempt(operation.run);
    if (!outcome.ok) prepare("ROLLBACK TO operation").run();
    prepare("RELEASE operation").run();
    outcomes[i] = outcome;
  }
  prepare("COMMIT").run();
  return outcomes;
}

/**
 * Settles each call of a committed batch with its outcome once the commit is
 * durable: at once without a WAL sync of the store's own (or for reads
 * alone); with the next sync a caller waits for when only the engine's
 * record of task changes wrote; otherwise after a sync of its own.
 */
export function settleWhenDurable(
  operations: Operation[],
  outcomes: Outcome[],
  wal: WalSync | undefined,
): Promise<void> | void {
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
  if (wal === undefined || operations.every((operation) => operation.readOnly)) {
    return batch.settle();
  }
  if (operations.every((operation) => operation.readOnly || operation.deferrable)) {
    return wal.later(batch);
  }
  return wal.now(batch);
}
