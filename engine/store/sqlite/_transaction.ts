/**
 * Private to the SQLite store: one batch of calls run as one transaction.
 * Most batches fail nowhere and run without a savepoint per call; a batch in
 * which a call throws is rolled back and run again with a savepoint per
 * call, so that only the failing call fails.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { attempt, type Prepare } from "./_rows.ts";

/** How one call of a batch ended: its answer, or the error it threw. */
export type Outcome = { ok: boolean; value: unknown };

/**
 * Runs `calls` in one transaction and commits it. Without `isolated`, a
 * failing call rolls everything back and the answer is `undefined`.
 */
export function runTransaction(
  db: DatabaseSync,
  prepare: Prepare,
  calls: Array<() => unknown>,
  isolated: boolean,
): Outcome[] | undefined {
  prepare("BEGIN IMMEDIATE").run();
  const outcomes: Outcome[] = new Array(calls.length);
  for (let i = 0; i < calls.length; i++) {
    if (!isolated) {
      outcomes[i] = attempt(calls[i]);
      if (!outcomes[i].ok) {
        db.exec("ROLLBACK");
        return undefined;
      }
      continue;
    }
    prepare("SAVEPOINT operation").run();
    const outcome = attempt(calls[i]);
    if (!outcome.ok) prepare("ROLLBACK TO operation").run();
    prepare("RELEASE operation").run();
    outcomes[i] = outcome;
  }
  prepare("COMMIT").run();
  return outcomes;
}
