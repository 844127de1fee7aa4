/**
 * Options and answers of the `ThreadFlow` facade's methods.
 *
 * @module
 */

import type { WorkerInfo } from "../model/events.ts";
import type { StatusCounts } from "../model/task.ts";
import type { TaskTypeFigures } from "./type_stats.ts";

/** Options for `ThreadFlow.close`. */
export interface CloseOptions {
  /** How long running tasks may take to finish before they are interrupted. Default 10,000 ms. */
  drainMs?: number;
}

/** One node of a cluster and its workers (a single entry without a shared store). */
export interface NodeWorkers {
  nodeId: string;
  workers: WorkerInfo[];
}

/** Options for `ThreadFlow.wait`. */
export interface WaitOptions {
  /** Stops waiting (rejecting with the signal's reason). */
  signal?: AbortSignal;
}

/** Options for `ThreadFlow.submitBatch`. */
export interface SubmitBatchOptions {
  /** Answer `{ task, created }` per input instead of the tasks alone. */
  outcomes?: boolean;
}

/** A task type's figures: {@linkcode ThreadFlow.typeStats}. */
export interface TaskTypeStats extends TaskTypeFigures {
  type: string;
  /** Its tasks in the store by status (on a shared store, the cluster's). */
  counts: StatusCounts;
}
